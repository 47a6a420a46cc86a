#include "sluice/flood/monitor.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::flood {
namespace {

// A simulated run: time advances while the remote figures are read (a slow lag query), and the
// generator and the relay make progress meanwhile.
struct World {
  double now = 0;
  int64_t produced = 0;
  int64_t delivered = 0;
  void Advance(double seconds) {
    now += seconds;
    produced += static_cast<int64_t>(seconds * 10000);
    delivered = std::min(produced, delivered + static_cast<int64_t>(seconds * 8000));
  }
};

TEST(MonitorTest, ASampleNeverShowsMoreDeliveredThanProduced) {
  World w;
  w.Advance(0.0073);  // the generator is a few milliseconds ahead of the first sample
  for (int i = 0; i < 20; ++i) {
    const Sample s =
        ReadSample([&] { return w.now; },
                   [&](Sample& s) {
                     w.Advance(0.5);  // the first lag query of a run can take this long
                     s.delivered = w.delivered;
                     s.backlog = w.produced - w.delivered;
                   },
                   [&](Sample& s) {
                     s.produced = w.produced;
                     s.acked = w.produced;
                   });
    ASSERT_TRUE(s.delivered);
    EXPECT_LE(*s.delivered, s.produced) << "sample " << i;
    EXPECT_LE(*s.backlog, s.produced) << "sample " << i;
    EXPECT_LT(s.begun_s, s.t_s);
    EXPECT_EQ(s.t_s, w.now);  // stamped when the counters were read
    w.Advance(0.25);
  }
}

TEST(MonitorTest, TheDrainEndsOnlyOnASampleBegunAfterTheBurst) {
  Sample s;
  s.acked = 1000;
  s.backlog = 0;
  EXPECT_TRUE(ShowsDrainEnd(s, /*begun_after_burst=*/true));
  // Caught up with what was acknowledged so far, while still producing: not the end.
  EXPECT_FALSE(ShowsDrainEnd(s, /*begun_after_burst=*/false));
  s.backlog = 4400;
  EXPECT_FALSE(ShowsDrainEnd(s, true));
  s.backlog.reset();  // lag unknown
  EXPECT_FALSE(ShowsDrainEnd(s, true));
  s.backlog = 0;
  s.acked = 0;  // nothing produced yet
  EXPECT_FALSE(ShowsDrainEnd(s, true));
}

}  // namespace
}  // namespace sluice::flood
