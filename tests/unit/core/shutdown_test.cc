#include "sluice/core/shutdown.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

namespace sluice {
namespace {

TEST(ShutdownTokenTest, RequestIsSeenByWaiters) {
  ShutdownToken token;
  EXPECT_FALSE(token.requested());
  EXPECT_FALSE(token.WaitFor(std::chrono::milliseconds(0)));
  std::thread t([&] { token.Request(); });
  EXPECT_TRUE(token.WaitFor(std::chrono::seconds(10)));
  t.join();
  EXPECT_TRUE(token.requested());
}

TEST(ShutdownTokenTest, SigtermBecomesARequest) {
  auto token = InstallSignalHandlers();
  ASSERT_FALSE(token->requested());
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  EXPECT_TRUE(token->WaitFor(std::chrono::seconds(10)));
}

}  // namespace
}  // namespace sluice
