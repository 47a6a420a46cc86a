// jemalloc's settings for sluice-relay, read by jemalloc at start-up (the MALLOC_CONF environment
// variable still overrides them). Linked only when jemalloc is (see CMakeLists.txt).
//  - narenas:2: one arena per core of the machines we size for. jemalloc's default of four per CPU
//    kept ~100 MiB more of freed memory at a 5,000,000-event backlog (267 MiB peak RSS instead of
//    164 MiB; tools/bench/relay memory).
//  - dirty_decay_ms:1000, muzzy_decay_ms:0: freed pages go back to the system within a second, so
//    the RSS follows the buffer's cap (delivery.max_buffered_events) rather than its history.
extern "C" {
// NOLINTNEXTLINE: the name and type jemalloc looks for.
const char* malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
