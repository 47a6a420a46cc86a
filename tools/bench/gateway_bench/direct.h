// sluice-bench-gateway --mode direct: the same open-loop schedule produced straight to Kafka with
// the gateway's producer settings, no HTTP and no gateway, so a run can show which part of the
// time to 202 is the gateway's and which is librdkafka's, the broker's and the machine's.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::bench {

// Thread-safety: a value type.
struct DirectOptions {
  std::string bootstrap;  // required
  std::string topic = "sf.contact.events";
  double rate = 0;      // batches per second (a batch stands for one request)
  int batch = 100;      // events per batch
  double seconds = 10;  // run time
  uint64_t keys = 100000;
};

// Produces rate * seconds batches of `batch` events, each batch due at its slot of the schedule,
// and times each batch from its due time to the delivery report of its last event (no coordinated
// omission). Prints one JSON line like the HTTP modes ("mode":"direct"). Returns the exit code.
int RunDirect(const DirectOptions& options);

}  // namespace sluice::bench
