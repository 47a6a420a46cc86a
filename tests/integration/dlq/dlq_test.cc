// sluice-dlq (the binary) against a real broker: stats and filters on a DLQ the real relay filled
// from sfsim failures, a filtered replay the relay then delivers exactly once, a replay killed
// with SIGKILL and rerun, the loop guard, dry runs, malformed records, and unreachable brokers.
#include "sluice/envelope/dlq.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/dlq/kafka_io.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/producer.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/process.h"
#include "sluice/testing/relay_harness.h"

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const bool kBrokerRegistered = RegisterKafkaBrokerEnvironment();

std::string Bootstrap() {
  auto b = KafkaBroker::Shared();
  return b.ok() ? (*b)->bootstrap() : "";
}

using ToolRun = CapturedRun;

// Runs sluice-dlq with --bootstrap of the test broker (unless `bootstrap` is given).
ToolRun Dlq(std::vector<std::string> args, const std::string& bootstrap = "") {
  std::vector<std::string> argv = {BinPath("sluice-dlq"), "--bootstrap",
                                   bootstrap.empty() ? Bootstrap() : bootstrap};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCapturing(argv, minutes(3));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

std::unique_ptr<kafka::Producer> MakeProducer() {
  kafka::ProducerOptions o;
  o.bootstrap = Bootstrap();
  auto p = kafka::Producer::Create(o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(p).value() : nullptr;
}

// A DLQ record as the relay writes it, for `source_topic`.
kafka::ProducerRecord RelayStyleRecord(const std::string& dlq, const std::string& source_topic,
                                       int i, int source_partitions, int64_t replay_count = 0) {
  TestEvent e = MakeContactEvent("R-" + std::to_string(i), i, true);
  kafka::Headers original = {{"trace-id", "t" + std::to_string(i)}};
  if (replay_count > 0) original.emplace_back("sluice.replay.count", std::to_string(replay_count));
  envelope::DlqInfo info;
  info.error_class = "retry_exhausted";
  info.error_code = "UNABLE_TO_LOCK_ROW";
  info.error_message = "unable to obtain exclusive access to this record";
  info.attempts = 30;
  info.first_attempt_ms = 1763700000000;
  info.last_attempt_ms = 1763700060000;
  info.source_topic = source_topic;
  info.source_partition = i % source_partitions;
  info.source_offset = i;
  info.source_timestamp_ms = 1763699990000;
  info.relay_instance = "relay-0@test";
  return kafka::ProducerRecord(dlq, e.key, e.value, envelope::MakeDlqHeaders(original, info));
}

Status ProduceAll(kafka::Producer& p, const std::vector<kafka::ProducerRecord>& records) {
  for (const auto& r : records) RETURN_IF_ERROR(p.Produce(r));
  return p.Flush(minutes(2));
}

// Every committed record of `topic`, read to the end with read_committed.
std::vector<kafka::Message> ReadAll(const std::string& topic) {
  dlq::KafkaOptions o;
  o.bootstrap = Bootstrap();
  o.timeout = seconds(30);
  std::vector<kafka::Message> out;
  dlq::ScanSummary summary;
  Status s = dlq::ScanTopic(
      o, topic,
      [&](const kafka::Message& m) {
        out.push_back(m);
        return true;
      },
      &summary);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(summary.incomplete.empty());
  return out;
}

int64_t HighWatermarkSum(const std::string& topic) {
  auto broker = KafkaBroker::Shared();
  auto admin = (*broker)->admin();
  auto marks = (*admin)->Watermarks(topic, seconds(30));
  EXPECT_TRUE(marks.ok()) << marks.status();
  int64_t sum = 0;
  if (marks.ok()) {
    for (const auto& m : *marks) sum += m.high;
  }
  return sum;
}

int64_t CommittedSum(const std::string& group, const std::string& topic) {
  auto broker = KafkaBroker::Shared();
  auto admin = (*broker)->admin();
  auto c = (*admin)->CommittedOffsets(group, topic, seconds(30));
  int64_t sum = 0;
  if (c.ok()) {
    for (const auto& po : *c) sum += po.offset > 0 ? po.offset : 0;
  }
  return sum;
}

std::string Header(const kafka::Message& m, const std::string& name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(DlqToolTest, StatsFiltersAndAFilteredReplayTheRelayDeliversOnce) {
  RelayHarness::Options options;
  options.partitions = 3;
  // Lock-row failures exhaust a short retry budget quickly.
  options.delivery["retry"] =
      "{initial: 10ms, multiplier: 2, cap: 50ms, max_attempts: 2, max_elapsed: 30s}";
  auto h = RelayHarness::Create(options);
  ASSERT_TRUE(h.ok()) << h.status();
  RelayHarness& relay = **h;

  // 20 events Salesforce rejects (REQUIRED_FIELD_MISSING) ...
  std::vector<TestEvent> invalid;
  for (int i = 0; i < 20; ++i)
    invalid.push_back(MakeContactEvent("INV-" + std::to_string(i), i, false));
  ASSERT_TRUE(relay.Produce(invalid).ok());
  ASSERT_TRUE(relay.StartRelay().ok());
  auto dlq = relay.ReadDlq(20, minutes(2));
  ASSERT_TRUE(dlq.ok());
  ASSERT_EQ(dlq->size(), 20u);

  // ... and 15 valid ones that meet locked rows until the retry budget is gone.
  ASSERT_TRUE(relay.sfsim().ScheduleFault(R"({"kind":"rates","lock_row_rate":1})").ok());
  std::vector<TestEvent> locked;
  std::set<std::string> locked_ids;
  for (int i = 0; i < 15; ++i) {
    locked.push_back(MakeContactEvent("LCK-" + std::to_string(i), i, true));
    locked_ids.insert(locked.back().event_id);
  }
  ASSERT_TRUE(relay.Produce(locked).ok());
  dlq = relay.ReadDlq(35, minutes(2));
  ASSERT_TRUE(dlq.ok());
  ASSERT_EQ(dlq->size(), 35u);
  // The outage is over.
  ASSERT_TRUE(relay.sfsim().ScheduleFault(R"({"kind":"rates","lock_row_rate":0})").ok());

  const std::string topic = relay.dlq_topic();
  ToolRun stats = Dlq({"stats", "--topic", topic, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  auto doc = Json(stats.out);
  EXPECT_EQ(doc["total"].GetInt(), 35);
  EXPECT_EQ(doc["with_warnings"].GetInt(), 0);
  EXPECT_EQ(doc["by_class"]["permanent"].GetInt(), 20);
  EXPECT_EQ(doc["by_class"]["retry_exhausted"].GetInt(), 15);
  EXPECT_EQ(doc["by_sobject"]["Contact"].GetInt(), 35);
  EXPECT_EQ(doc["by_source_topic"][relay.topic().c_str()].GetInt(), 35);
  std::map<std::string, int> codes;
  for (const auto& row : doc["by_class_code"].GetArray()) {
    codes[row["code"].GetString()] = row["count"].GetInt();
  }
  EXPECT_EQ(codes["REQUIRED_FIELD_MISSING"], 20);
  EXPECT_EQ(codes["UNABLE_TO_LOCK_ROW"], 15);
  EXPECT_FALSE(doc["oldest"].IsNull());

  ToolRun table = Dlq({"stats", "--topic", topic});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("permanent / REQUIRED_FIELD_MISSING"), std::string::npos) << table.out;

  ToolRun list = Dlq({"list", "--topic", topic, "--error-code", "UNABLE_TO_LOCK_ROW", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto lines = Lines(list.out);
  ASSERT_EQ(lines.size(), 15u);
  for (const auto& line : lines) {
    auto row = Json(line);
    EXPECT_STREQ(row["error_class"].GetString(), "retry_exhausted");
    EXPECT_TRUE(locked_ids.count(row["event_id"].GetString())) << line;
  }
  EXPECT_EQ(Lines(Dlq({"list", "--topic", topic, "--key", "INV-3"}).out).size(), 1u);
  EXPECT_EQ(Lines(Dlq({"list", "--topic", topic, "--limit", "5"}).out).size(), 5u);
  EXPECT_EQ(Lines(Dlq({"list", "--topic", topic, "--error-class", "permanent", "--sobject",
                       "contact", "--since", "1h"})
                      .out)
                .size(),
            20u);
  EXPECT_EQ(Lines(Dlq({"list", "--topic", topic, "--until", "2000-01-01"}).out).size(), 0u);

  // show: one record whole.
  auto first = Json(lines.front());
  ToolRun show =
      Dlq({"show", "--topic", topic, "--partition", std::to_string(first["partition"].GetInt()),
           "--offset", std::to_string(first["offset"].GetInt64())});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("sluice.error.code: UNABLE_TO_LOCK_ROW"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("envelope      valid: upsert Contact"), std::string::npos);

  // Replay only the lock failures.
  ToolRun replay =
      Dlq({"replay", "--topic", topic, "--error-code", "UNABLE_TO_LOCK_ROW", "--json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  auto summary = Json(replay.out);
  EXPECT_EQ(summary["replayed"].GetInt(), 15);
  EXPECT_EQ(summary["skipped"].GetInt(), 20);
  EXPECT_EQ(summary["refused"].GetInt(), 0);
  EXPECT_TRUE(summary["complete"].GetBool());

  // The relay delivers each exactly once.
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        auto ledger = relay.Ledger();
        if (!ledger.ok()) return false;
        size_t n = 0;
        for (const auto& row : *ledger) n += locked_ids.count(row.event_id);
        return n >= locked_ids.size();
      },
      minutes(2)));
  auto ledger = relay.Ledger();
  ASSERT_TRUE(ledger.ok());
  std::map<std::string, int> writes;
  for (const auto& row : *ledger) ++writes[row.event_id];
  for (const auto& id : locked_ids) EXPECT_EQ(writes[id], 1) << id;
  for (const auto& e : invalid) EXPECT_EQ(writes.count(e.event_id), 0u);

  // The replayed records are the originals plus the replay headers, on their source partitions.
  auto source = ReadAll(relay.topic());
  int replayed_seen = 0;
  for (const auto& m : source) {
    if (Header(m, "sluice.replay.count").empty()) continue;
    ++replayed_seen;
    EXPECT_EQ(Header(m, "sluice.replay.count"), "1");
    EXPECT_EQ(Header(m, "sluice.replayed.from").rfind(topic + "/", 0), 0u);
    EXPECT_EQ(Header(m, "sluice.error.class"), "");
    EXPECT_EQ(Header(m, "sluice.source.topic"), "");
  }
  EXPECT_EQ(replayed_seen, 15);

  // The same filter again resumes after the end: nothing more is sent.
  ToolRun again = Dlq({"replay", "--topic", topic, "--error-code", "UNABLE_TO_LOCK_ROW", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Json(again.out)["replayed"].GetInt(), 0);
  // The validation failures were left in place: another filter still finds them (dry
  // run).
  ToolRun dry = Dlq({"replay", "--topic", topic, "--error-code", "REQUIRED_FIELD_MISSING",
                     "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(Json(dry.out)["replayed"].GetInt(), 20);
}

TEST(DlqToolTest, ReplayKilledMidwayAndRerunPublishesEachRecordExactlyOnce) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto source = (*broker)->CreateTopic(3, "src");
  auto dlq = (*broker)->CreateTopic(3, "dlq");
  ASSERT_TRUE(source.ok() && dlq.ok());
  constexpr int kRecords = 6000;
  std::vector<kafka::ProducerRecord> records;
  for (int i = 0; i < kRecords; ++i) records.push_back(RelayStyleRecord(*dlq, *source, i, 3));
  auto producer = MakeProducer();
  ASSERT_TRUE(producer && ProduceAll(*producer, records).ok());

  const std::string group = KafkaBroker::UniqueName("replay-group");
  // Slow enough (1,000/s in transactions of 100) to be killed half way.
  ChildOptions child;
  child.stderr_path = (std::filesystem::temp_directory_path() / (group + ".log")).string();
  auto first = ChildProcess::Start(
      {BinPath("sluice-dlq"), "--bootstrap", Bootstrap(), "replay", "--topic", *dlq, "--group",
       group, "--rate", "1000", "--batch-size", "100", "--progress", "none"},
      child);
  ASSERT_TRUE(first.ok()) << first.status();
  int64_t committed_before_kill = 0;
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        committed_before_kill = CommittedSum(group, *dlq);
        return committed_before_kill >= 1500;
      },
      minutes(2)));
  (*first)->Signal(SIGKILL);
  ASSERT_EQ((*first)->Wait(seconds(30)).value_or(-1), 128 + SIGKILL);
  // Right after the kill the group's offsets may be unreadable from outside (a transactional
  // commit stays unstable until the rerun fences the dead producer), so the test relies only on
  // what it saw before the kill: commits never go back, so at least that much was done.

  ToolRun rerun =
      Dlq({"replay", "--topic", *dlq, "--group", group, "--batch-size", "100", "--json"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  auto summary = Json(rerun.out);
  EXPECT_TRUE(summary["complete"].GetBool());
  EXPECT_GT(summary["replayed"].GetInt64(), 0) << "the replay finished before it was killed";
  EXPECT_LE(summary["replayed"].GetInt64(), kRecords - committed_before_kill);
  EXPECT_EQ(CommittedSum(group, *dlq), kRecords);

  std::map<std::string, int> seen;
  for (const auto& m : ReadAll(*source)) ++seen[m.key];
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRecords));
  int doubles = 0;
  for (const auto& [key, n] : seen) doubles += n > 1 ? 1 : 0;
  EXPECT_EQ(doubles, 0);
  std::filesystem::remove(child.stderr_path);
}

TEST(DlqToolTest, LoopGuardRefusesAndExitsOne) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto source = (*broker)->CreateTopic(1, "src");
  auto dlq = (*broker)->CreateTopic(1, "dlq");
  ASSERT_TRUE(source.ok() && dlq.ok());
  std::vector<kafka::ProducerRecord> records;
  for (int i = 0; i < 5; ++i) records.push_back(RelayStyleRecord(*dlq, *source, i, 1, i));  // 0..4
  auto producer = MakeProducer();
  ASSERT_TRUE(producer && ProduceAll(*producer, records).ok());

  ToolRun run = Dlq({"replay", "--topic", *dlq});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("replayed 3 times already (--max-replays 3)"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("replayed 4 times already"), std::string::npos);
  auto out = ReadAll(*source);
  ASSERT_EQ(out.size(), 3u);
  std::set<std::string> counts;
  for (const auto& m : out) counts.insert(Header(m, "sluice.replay.count"));
  EXPECT_EQ(counts, (std::set<std::string>{"1", "2", "3"}));

  // A higher guard in a new group lets the operator decide otherwise, per key.
  ToolRun more = Dlq({"replay", "--topic", *dlq, "--max-replays", "10", "--key", "R-4", "--json"});
  ASSERT_EQ(more.exit_code, 0) << more.err;
  EXPECT_EQ(Json(more.out)["replayed"].GetInt(), 1);
}

TEST(DlqToolTest, DryRunWritesNothing) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto source = (*broker)->CreateTopic(2, "src");
  auto dlq = (*broker)->CreateTopic(2, "dlq");
  ASSERT_TRUE(source.ok() && dlq.ok());
  std::vector<kafka::ProducerRecord> records;
  for (int i = 0; i < 50; ++i) records.push_back(RelayStyleRecord(*dlq, *source, i, 2));
  auto producer = MakeProducer();
  ASSERT_TRUE(producer && ProduceAll(*producer, records).ok());
  const std::string group = KafkaBroker::UniqueName("dry");

  ToolRun dry = Dlq({"replay", "--topic", *dlq, "--group", group, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(Lines(dry.out).size() >= 50, true);
  EXPECT_NE(dry.out.find("would replay"), std::string::npos);
  // No record, no transaction marker, no committed offset.
  EXPECT_EQ(HighWatermarkSum(*source), 0);
  EXPECT_EQ(CommittedSum(group, *dlq), 0);
  auto broker_admin = (*broker)->admin();
  auto committed = (*broker_admin)->CommittedOffsets(group, *dlq, seconds(30));
  if (committed.ok()) {
    for (const auto& po : *committed) EXPECT_EQ(po.offset, kafka::kOffsetInvalid);
  }
  // The real replay afterwards still sends everything.
  ToolRun real = Dlq({"replay", "--topic", *dlq, "--group", group, "--json"});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_EQ(Json(real.out)["replayed"].GetInt(), 50);
}

TEST(DlqToolTest, MalformedRecordsAreListedWithWarningsAndNeverCrash) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto source = (*broker)->CreateTopic(1, "src");
  auto dlq = (*broker)->CreateTopic(1, "dlq");
  ASSERT_TRUE(source.ok() && dlq.ok());
  std::vector<kafka::ProducerRecord> records = {
      kafka::ProducerRecord(*dlq, "plain", "no headers at all"),
      kafka::ProducerRecord(*dlq, std::nullopt, std::nullopt,
                            {{"sluice.error.class", "permanent"}}),
      kafka::ProducerRecord(*dlq, std::string("\xff\xfe\x1b[2J", 6), std::string("\x00\x01\xff", 3),
                            {{"sluice.error.class", "\x1b]0;pwned\x07"},
                             {"sluice.error.code", std::string(5000, 'C')},
                             {"sluice.attempts", "many"},
                             {"sluice.source.topic", *source},
                             {"sluice.source.partition", "-99999999999999999999"},
                             {"sluice.replay.count", "\xff"}}),
      kafka::ProducerRecord(*dlq, "deep", std::string(100000, '['),
                            {{"sluice.error.class", "invalid_envelope"},
                             {"sluice.error.code", "too_deep"},
                             {"sluice.source.topic", *source},
                             {"sluice.error.class", "permanent"}}),
      kafka::ProducerRecord(
          *dlq, "bad-topic", "{}",
          {{"sluice.error.class", "permanent"}, {"sluice.source.topic", "no such/topic\n"}}),
  };
  auto producer = MakeProducer();
  ASSERT_TRUE(producer && ProduceAll(*producer, records).ok());

  ToolRun list = Dlq({"list", "--topic", *dlq});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto lines = Lines(list.out);
  ASSERT_EQ(lines.size(), records.size());
  for (const auto& line : lines) {
    EXPECT_NE(line.find(" ! "), std::string::npos) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  }
  EXPECT_NE(list.err.find("have problems"), std::string::npos);
  ToolRun json = Dlq({"list", "--topic", *dlq, "--json"});
  ASSERT_EQ(json.exit_code, 0);
  for (const auto& line : Lines(json.out)) Json(line);

  ToolRun stats = Dlq({"stats", "--topic", *dlq, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_EQ(Json(stats.out)["with_warnings"].GetInt(), static_cast<int>(records.size()));

  for (size_t offset = 0; offset < records.size(); ++offset) {
    ToolRun show =
        Dlq({"show", "--topic", *dlq, "--partition", "0", "--offset", std::to_string(offset)});
    EXPECT_EQ(show.exit_code, 0) << offset << show.err;
    EXPECT_EQ(show.out.find('\x1b'), std::string::npos);
  }
  ToolRun missing = Dlq({"show", "--topic", *dlq, "--partition", "0", "--offset", "999"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("has no offset 999"), std::string::npos) << missing.err;

  // Replay refuses what it cannot vouch for, replays the rest, and exits 1.
  ToolRun replay = Dlq({"replay", "--topic", *dlq, "--json"});
  EXPECT_EQ(replay.exit_code, 1) << replay.out << replay.err;
  auto summary = Json(replay.out);
  EXPECT_EQ(summary["read"].GetInt(), static_cast<int>(records.size()));
  EXPECT_EQ(summary["refused"].GetInt(), 4);
  EXPECT_EQ(summary["replayed"].GetInt(), 1);  // the deeply nested one has a source topic
}

TEST(DlqToolTest, MissingTopicIsAClearError) {
  ToolRun run = Dlq({"stats", "--topic", KafkaBroker::UniqueName("absent")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("does not exist"), std::string::npos) << run.err;
}

TEST(DlqToolTest, UnreachableBrokerFailsClearlyWithinTheDeadline) {
  // A loopback port with nothing listening.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string bootstrap = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  close(fd);

  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--timeout", "2s", "stats", "--topic", "t.dlq"},
           {"--timeout", "2s", "list", "--topic", "t.dlq"},
           {"--timeout", "2s", "show", "--topic", "t.dlq", "--partition", "0", "--offset", "0"},
           {"--timeout", "2s", "replay", "--topic", "t.dlq"},
           {"--timeout", "2s", "replay", "--topic", "t.dlq", "--dry-run"}}) {
    ToolRun run = Dlq(args, bootstrap);  // RunCommand's own deadline bounds the wait
    EXPECT_EQ(run.exit_code, 2) << args[2];
    EXPECT_NE(run.err.find("cannot reach Kafka at " + bootstrap), std::string::npos) << run.err;
  }
}

}  // namespace
}  // namespace sluice::testing
