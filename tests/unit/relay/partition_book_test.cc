#include "partition_book.h"

#include <gtest/gtest.h>

namespace sluice::relay {
namespace {

std::unique_ptr<EventRecord> Event(PartitionBook& book, flow::PartitionId pid) {
  auto e = std::make_unique<EventRecord>();
  e->seq = book.NextSeq();
  e->pid = pid;
  return e;
}

TEST(PartitionBookTest, InProgressCountsCallsStoreWritesAndDlqProducesPerPartition) {
  PartitionBook book;
  const auto& a = book.Assign({"t", 0}, 0);
  const auto& b = book.Assign({"t", 1}, 0);
  EventRecord& e1 = book.Add(Event(book, a.id));
  EventRecord& e2 = book.Add(Event(book, a.id));
  EventRecord& e3 = book.Add(Event(book, b.id));
  EXPECT_EQ(book.InProgress(), 0);
  book.SetStage(e1, Stage::kSending);
  book.SetStage(e2, Stage::kStoring);
  book.SetStage(e3, Stage::kDeadLettering);
  EXPECT_EQ(book.InProgress(a.id), 2);
  EXPECT_EQ(book.InProgress(b.id), 1);
  EXPECT_EQ(book.InProgress(), 3);
  EXPECT_EQ(book.Count(Stage::kStoring), 1u);
  book.SetStage(e1, Stage::kQueued);  // requeued
  EXPECT_EQ(book.InProgress(a.id), 1);
  book.Erase(e2.seq);
  EXPECT_EQ(book.InProgress(a.id), 0);
  EXPECT_EQ(book.Count(Stage::kStoring), 0u);
  EXPECT_EQ(book.events(), 2u);
}

TEST(PartitionBookTest, PartitionsAreFoundByNameAndIdUntilUnassigned) {
  PartitionBook book;
  const flow::PartitionId id = book.Assign({"t", 3}, 42).id;
  ASSERT_NE(book.Find(id), nullptr);
  EXPECT_EQ(book.Find(kafka::TopicPartition{"t", 3})->last_progress_ms, 42);
  book.Unassign(id);
  EXPECT_EQ(book.Find(id), nullptr);
  EXPECT_EQ(book.Find(kafka::TopicPartition{"t", 3}), nullptr);
  // A partition assigned again gets a new id: results for the old one cannot touch it.
  EXPECT_NE(book.Assign({"t", 3}, 0).id, id);
}

TEST(PartitionBookTest, LeadersAndPendingKeysLeaveWithTheirEvents) {
  PartitionBook book;
  const flow::PartitionId a = book.Assign({"t", 0}, 0).id;
  const flow::PartitionId b = book.Assign({"t", 1}, 0).id;
  EventRecord& first = book.Add(Event(book, a));
  first.valid = true;
  first.event.event_id = "id-1";
  first.msg.key = "k";
  book.SetLeader(first);
  book.Admitted(first);
  EXPECT_EQ(book.Leader("id-1"), &first);
  EXPECT_TRUE(book.KeyPending(a, first.msg));
  EXPECT_FALSE(book.KeyPending(b, first.msg));  // per partition
  const kafka::Message msg = first.msg;         // `first` goes with Erase
  book.Erase(first.seq);
  EXPECT_EQ(book.Leader("id-1"), nullptr);
  EXPECT_FALSE(book.KeyPending(a, msg));
}

}  // namespace
}  // namespace sluice::relay
