// The rules of sluice-flood's monitor thread that decide what a sample says, kept apart from the
// I/O (runner.cc) so they are tested on their own.
//
// Thread-safety: pure functions; the callables run on the calling thread.
#pragma once

#include <functional>

#include "sluice/flood/report.h"

namespace sluice::flood {

// Reads one sample: `begun_s` first, then `read_remote` (sfsim, the relay, the DLQ, the group's
// lag: slow, maybe hundreds of milliseconds), then `read_counters` (the generator's produced and
// acked), then `t_s`. In this order nothing in the sample was delivered, or is in the backlog,
// before it was produced: delivered <= produced always holds. Reading the counters first (as
// sluice-flood once did) let a slow first lag query give produced=73 beside delivered=4512.
Sample ReadSample(const std::function<double()>& now_s,
                  const std::function<void(Sample&)>& read_remote,
                  const std::function<void(Sample&)>& read_counters);

// Whether `s` shows the end of the drain: a backlog of zero with something acknowledged, in a
// sample begun after the last acknowledgement. A sample begun while producing can read a lag of
// zero because the relay had caught up with what was acknowledged so far; ending the drain on it
// stopped the run while the relay still had thousands of events to deliver.
bool ShowsDrainEnd(const Sample& s, bool begun_after_burst);

}  // namespace sluice::flood
