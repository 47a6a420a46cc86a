#include "sluice/flood/monitor.h"

namespace sluice::flood {

Sample ReadSample(const std::function<double()>& now_s,
                  const std::function<void(Sample&)>& read_remote,
                  const std::function<void(Sample&)>& read_counters) {
  Sample s;
  s.begun_s = now_s();
  read_remote(s);
  read_counters(s);
  s.t_s = now_s();
  return s;
}

bool ShowsDrainEnd(const Sample& s, bool begun_after_burst) {
  return begun_after_burst && s.backlog && *s.backlog == 0 && s.acked > 0;
}

}  // namespace sluice::flood
