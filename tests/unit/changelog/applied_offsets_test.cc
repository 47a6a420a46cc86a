#include "sluice/changelog/applied_offsets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sluice::changelog {
namespace {

namespace fs = std::filesystem;

class AppliedOffsetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("applied-offsets-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "store.db.changelog.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }

  fs::path dir_;
  std::string path_;
};

TEST_F(AppliedOffsetsTest, AMissingFileReadsFromTheStart) {
  std::string damaged;
  auto a = AppliedOffsets::Load(path_, &damaged);
  EXPECT_TRUE(damaged.empty());
  EXPECT_EQ(a.Next({"t.delivered", 0}), 0);
}

TEST_F(AppliedOffsetsTest, SavedOffsetsComeBackAndNeverGoBackwards) {
  auto a = AppliedOffsets::Load(path_);
  a.Advance({"t.delivered", 0}, 10);
  a.Advance({"t.delivered", 0}, 4);  // lower: ignored
  a.Advance({"u.delivered", 2}, 99);
  ASSERT_TRUE(a.Save().ok());
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  auto b = AppliedOffsets::Load(path_);
  EXPECT_EQ(b.Next({"t.delivered", 0}), 10);
  EXPECT_EQ(b.Next({"u.delivered", 2}), 99);
  EXPECT_EQ(b.Next({"u.delivered", 1}), 0);
  ASSERT_TRUE(AppliedOffsets::Remove(path_).ok());
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(AppliedOffsets::Remove(path_).ok());  // missing is fine
}

TEST_F(AppliedOffsetsTest, ADamagedFileIsEmptyAndSaysWhy) {
  for (const char* text :
       {"", "not json", "[]", "{\"version\":2,\"partitions\":[]}", "{\"version\":1}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":-1,\"next\":3}]}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"next\":\"3\"}]}",
        "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"next\":5},7]}"}) {
    Write(text);
    std::string damaged;
    auto a = AppliedOffsets::Load(path_, &damaged);
    EXPECT_FALSE(damaged.empty()) << text;
    EXPECT_EQ(a.Next({"t", 0}), 0) << text;
    EXPECT_TRUE(a.all().empty()) << text;
  }
}

TEST_F(AppliedOffsetsTest, SavingIntoAMissingDirectoryFailsWithThePath) {
  auto a = AppliedOffsets::Load((dir_ / "gone" / "x.json").string());
  a.Advance({"t", 0}, 1);
  Status s = a.Save();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gone"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace sluice::changelog
