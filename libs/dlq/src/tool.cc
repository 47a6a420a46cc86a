#include "sluice/dlq/tool.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "sluice/dlq/cli.h"
#include "sluice/dlq/format.h"
#include "sluice/dlq/kafka_io.h"
#include "sluice/dlq/replay.h"
#include "sluice/dlq/stats.h"

namespace sluice::dlq {
namespace {

void Print(std::FILE* f, const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), f);
  std::fflush(f);
}

int Fail(const ToolIo& io, const Status& s) {
  Print(io.err, "sluice-dlq: " + s.message() + "\n");
  return kExitError;
}

void ReportIncomplete(const ToolIo& io, const ScanSummary& summary) {
  for (const auto& p : summary.incomplete) {
    Print(io.err, "sluice-dlq: warning: stopped waiting for records: " + p + "\n");
  }
}

bool Interrupted(const ToolIo& io) { return io.shutdown != nullptr && io.shutdown->requested(); }

int Stats(const Command& c, const ToolIo& io) {
  DlqStats stats;
  ScanSummary summary;
  Status s = ScanTopic(
      c.kafka, c.topic,
      [&](const kafka::Message& m) {
        DlqRecord r = Inspect(m);
        if (c.filter.Matches(r)) stats.Add(r);
        return !Interrupted(io);
      },
      &summary);
  if (!s.ok()) return Fail(io, s);
  Print(io.out, c.json ? StatsToJson(stats, c.topic) + "\n" : FormatStatsTable(stats, c.topic));
  ReportIncomplete(io, summary);
  return summary.incomplete.empty() && !summary.stopped_early ? kExitOk : kExitPartial;
}

int List(const Command& c, const ToolIo& io) {
  int64_t shown = 0, warned = 0;
  ScanSummary summary;
  bool limit_hit = false;
  Status s = ScanTopic(
      c.kafka, c.topic,
      [&](const kafka::Message& m) {
        DlqRecord r = Inspect(m);
        if (!c.filter.Matches(r)) return !Interrupted(io);
        if (!r.warnings.empty()) ++warned;
        Print(io.out, (c.json ? ListJson(r) : FormatListLine(r)) + "\n");
        ++shown;
        if (c.limit > 0 && shown >= c.limit) {
          limit_hit = true;
          return false;
        }
        return !Interrupted(io);
      },
      &summary);
  if (!s.ok()) return Fail(io, s);
  if (warned > 0) {
    Print(io.err, fmt::format("sluice-dlq: warning: {} of {} records listed have problems (see "
                              "'!' on their lines or \"warnings\" in JSON)\n",
                              warned, shown));
  }
  ReportIncomplete(io, summary);
  return summary.incomplete.empty() && (!summary.stopped_early || limit_hit) ? kExitOk
                                                                             : kExitPartial;
}

int Show(const Command& c, const ToolIo& io) {
  auto m = ReadRecord(c.kafka, c.topic, c.partition, c.offset);
  if (!m.ok()) return Fail(io, m.status());
  DlqRecord r = Inspect(*m);
  Print(io.out, c.json ? ShowJson(r) + "\n" : FormatShow(r));
  return kExitOk;
}

// Progress on stderr: a redrawn line on a terminal, a plain line every 5 s otherwise; dry-run
// decisions on stdout.
class Observer : public ReplayObserver {
 public:
  Observer(const ToolIo& io, bool bar, bool lines, bool dry_run, bool json)
      : io_(io), bar_(bar), lines_(lines), dry_run_(dry_run), json_(json) {}
  ~Observer() override {
    if (drawn_) Print(io_.err, "\n");
  }

  void OnDecision(const DlqRecord& r, const Decision& d) override {
    if (!dry_run_ || d.verdict == Decision::Verdict::kSkip) return;
    std::string line;
    if (json_) return;  // the JSON summary carries the counts; refusals are listed there
    if (d.verdict == Decision::Verdict::kReplay) {
      line = fmt::format("would replay {}/{} -> {}{}  key={}  replays={}\n", r.partition, r.offset,
                         d.record.topic,
                         d.record.partition >= 0 ? fmt::format("[{}]", d.record.partition) : "",
                         r.key ? Printable(*r.key, 80) : "(null)", r.replay_count + 1);
    } else {
      line = fmt::format("would refuse {}/{}  key={}: {}\n", r.partition, r.offset,
                         r.key ? Printable(*r.key, 80) : "(null)", Printable(d.reason, 300));
    }
    ClearBar();
    Print(io_.out, line);
  }

  void OnProgress(const ReplayProgress& p) override {
    if (!bar_ && !lines_) return;
    const std::string text = fmt::format(
        "{} {}/{} read ({:.1f}%), {} {}, {} skipped, {} refused, {:.0f} s",
        dry_run_ ? "dry run" : "replay", p.read, p.to_read,
        p.to_read > 0 ? 100.0 * static_cast<double>(p.read) / static_cast<double>(p.to_read)
                      : 100.0,
        p.replayed, dry_run_ ? "would be sent" : "replayed", p.skipped, p.refused, p.elapsed_s);
    if (bar_) {
      Print(io_.err, "\r\x1b[K" + text);
      drawn_ = true;
    } else if (p.elapsed_s - last_line_s_ >= 5 || p.read == p.to_read) {
      if (p.read == last_read_ && p.elapsed_s - last_line_s_ < 5) return;
      last_line_s_ = p.elapsed_s;
      last_read_ = p.read;
      Print(io_.err, text + "\n");
    }
  }

 private:
  void ClearBar() {
    if (drawn_) Print(io_.err, "\r\x1b[K");
  }

  const ToolIo& io_;
  bool bar_, lines_, dry_run_, json_;
  bool drawn_ = false;
  double last_line_s_ = -1e9;
  int64_t last_read_ = -1;
};

std::string SummaryJson(const ReplayReport& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const std::string& s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("group");
  str(r.group_id);
  w.Key("dry_run");
  w.Bool(r.dry_run);
  w.Key("to_read");
  w.Int64(r.to_read);
  w.Key("read");
  w.Int64(r.read);
  w.Key("replayed");
  w.Int64(r.replayed);
  w.Key("skipped");
  w.Int64(r.skipped);
  w.Key("refused");
  w.Int64(r.refused);
  w.Key("by_topic");
  w.StartObject();
  for (const auto& [t, n] : r.by_topic) {
    w.Key(t.data(), static_cast<rapidjson::SizeType>(t.size()));
    w.Int64(n);
  }
  w.EndObject();
  w.Key("refusals");
  w.StartArray();
  for (const auto& x : r.refusals) {
    w.StartObject();
    w.Key("partition");
    w.Int(x.partition);
    w.Key("offset");
    w.Int64(x.offset);
    w.Key("key");
    str(envelope::SanitizeUtf8(x.key, 1024));
    w.Key("replay_count");
    w.Int64(x.replay_count);
    w.Key("reason");
    str(envelope::SanitizeUtf8(x.reason, 2048));
    w.EndObject();
  }
  w.EndArray();
  w.Key("transactions");
  w.Int64(r.transactions);
  w.Key("aborted_transactions");
  w.Int64(r.aborted_transactions);
  w.Key("limit_reached");
  w.Bool(r.limit_reached);
  w.Key("interrupted");
  w.Bool(r.interrupted);
  w.Key("complete");
  w.Bool(r.complete);
  w.Key("stopped_because");
  str(r.stopped_because);
  w.Key("elapsed_s");
  w.Double(r.elapsed_s);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string SummaryText(const ReplayReport& r) {
  std::string out;
  out += fmt::format("group         {}\n", r.group_id);
  out += fmt::format("read          {} of {}\n", r.read, r.to_read);
  out += fmt::format("{}{}\n", r.dry_run ? "would replay  " : "replayed      ", r.replayed);
  for (const auto& [t, n] : r.by_topic) out += fmt::format("  to {}  {}\n", t, n);
  out += fmt::format("skipped       {} (not matching; left on the DLQ)\n", r.skipped);
  out += fmt::format("refused       {}\n", r.refused);
  for (const auto& x : r.refusals) {
    out += fmt::format("  {}/{}  key={}  replays={}: {}\n", x.partition, x.offset, x.key,
                       x.replay_count, Printable(x.reason, 400));
  }
  if (static_cast<int64_t>(r.refusals.size()) < r.refused) {
    out += fmt::format("  ... and {} more\n", r.refused - static_cast<int64_t>(r.refusals.size()));
  }
  if (!r.dry_run) {
    out += fmt::format("transactions  {} committed, {} aborted\n", r.transactions,
                       r.aborted_transactions);
  }
  out += fmt::format("elapsed       {:.1f} s ({:.0f} records/s read)\n", r.elapsed_s,
                     r.elapsed_s > 0 ? static_cast<double>(r.read) / r.elapsed_s : 0.0);
  if (r.limit_reached) out += "stopped       --limit reached; run again to continue\n";
  if (!r.complete) {
    out += fmt::format("stopped       {}; run the same command again to resume\n",
                       r.stopped_because.empty() ? "early" : r.stopped_because);
  }
  return out;
}

int Replay(const Command& c, const ToolIo& io) {
  const std::string group =
      c.group.empty() ? ReplayGroupId(c.topic, c.replay.to_topic, c.filter) : c.group;
  auto made = c.replay.dry_run ? MakeDryRunReplayIo(c.kafka, c.topic, group)
                               : MakeKafkaReplayIo(c.kafka, c.topic, group);
  if (!made.ok()) return Fail(io, made.status());
  const bool bar =
      c.progress == ProgressMode::kBar || (c.progress == ProgressMode::kAuto && io.err_is_tty);
  const bool lines =
      c.progress == ProgressMode::kLines || (c.progress == ProgressMode::kAuto && !io.err_is_tty);
  if (!c.json) Print(io.err, fmt::format("sluice-dlq: progress group {}\n", group));
  ReplayReport report;
  {
    Observer observer(io, bar, lines, c.replay.dry_run, c.json);
    ReplayOptions options = c.replay;
    options.clock = c.kafka.clock;
    auto r = RunReplay(options, group, **made, &observer, io.shutdown);
    if (!r.ok()) {
      made->reset();
      return Fail(io, r.status());
    }
    report = std::move(r).value();
  }
  made->reset();  // flush and close before printing the verdict
  Print(io.out, c.json ? SummaryJson(report) : SummaryText(report));
  if (report.refused > 0 || !report.complete) return kExitPartial;
  return kExitOk;
}

}  // namespace

int RunTool(const std::vector<std::string>& argv, const ToolIo& io) {
  auto cmd = ParseCommandLine(argv, RealClock().WallMillis());
  if (!cmd.ok()) return Fail(io, cmd.status());
  switch (cmd->kind) {
    case Command::Kind::kHelp:
      Print(io.out, cmd->help);
      return kExitOk;
    case Command::Kind::kStats:
      return Stats(*cmd, io);
    case Command::Kind::kList:
      return List(*cmd, io);
    case Command::Kind::kShow:
      return Show(*cmd, io);
    case Command::Kind::kReplay:
      return Replay(*cmd, io);
  }
  return kExitError;
}

}  // namespace sluice::dlq
