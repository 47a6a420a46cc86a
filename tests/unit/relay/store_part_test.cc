// The relay's real store part with the changelog off (its changelog half runs against a real broker
// in tests/integration/relay/changelog_test.cc): resolutions are stamped with wall-clock time,
// which the retention purger and the changelog's readers count in.
#include "store_part.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "sluice/testing/simulated_clock.h"

namespace sluice::relay {
namespace {

namespace fs = std::filesystem;

TEST(StorePartTest, ResolutionsCarryWallClockTimeNotTheMonotonicClock) {
  const fs::path dir = fs::temp_directory_path() / ("store-part-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Wall time now, so that the retention purger (on the real clock) keeps the entry.
  testing::SimulatedClock clock(RealClock().WallMillis());
  RelayOptions options;
  options.idempotency.store.path = (dir / "relay.db").string();
  options.changelog.enabled = false;
  auto store = OpenStorePart(options, clock, std::make_shared<metrics::Registry>());
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  StoreEntry e;
  e.entry.event_id = "e-1";
  e.entry.salesforce_id = "003000000000001AAA";
  e.source = {"t", 0};
  std::promise<Status> done;
  (*store)->Record({e}, [&done](const Status& s) { done.set_value(s); });
  ASSERT_TRUE(done.get_future().get().ok());
  auto found = (*store)->CheckBatch({"e-1"});
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE((*found)[0].has_value());
  EXPECT_EQ((*found)[0]->recorded_ms, clock.WallMillis());
  EXPECT_EQ((*found)[0]->salesforce_id, "003000000000001AAA");
  (*store)->Close();
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sluice::relay
