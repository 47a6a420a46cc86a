#include "sluice/dlq/format.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>

#include "sluice/envelope/event.h"
#include "sluice/kafka/message.h"

namespace sluice::dlq {
namespace {

constexpr size_t kShowValueBytes = 64 * 1024;

// Decodes one UTF-8 sequence of valid UTF-8 (SanitizeUtf8 output) at `i`; returns its length.
size_t Utf8Length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xE) return 3;
  return 4;
}

uint32_t CodePoint(std::string_view s, size_t i, size_t len) {
  const auto b = [&](size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k]));
  };
  switch (len) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

// Characters a terminal may act on: C0/C1 controls, DEL, and the bidirectional overrides that
// reorder what is shown.
bool Dangerous(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

std::string Escaped(uint32_t cp) {
  switch (cp) {
    case '\n':
      return "\\n";
    case '\t':
      return "\\t";
    case '\r':
      return "\\r";
    default:
      return cp < 0x100 ? fmt::format("\\x{:02x}", cp) : fmt::format("\\u{:04x}", cp);
  }
}

// Printable, optionally keeping newlines (for multi-line values in show).
std::string MakePrintable(std::string_view text, size_t max_bytes, bool keep_newlines) {
  const std::string valid = envelope::SanitizeUtf8(text, text.size() * 3 + 16);
  std::string out;
  out.reserve(std::min(valid.size(), max_bytes) + 8);
  for (size_t i = 0; i < valid.size();) {
    size_t len = Utf8Length(static_cast<unsigned char>(valid[i]));
    if (i + len > valid.size()) len = valid.size() - i;
    const uint32_t cp = CodePoint(valid, i, len);
    std::string piece = Dangerous(cp) && !(keep_newlines && cp == '\n')
                            ? Escaped(cp)
                            : std::string(valid.substr(i, len));
    if (out.size() + piece.size() > max_bytes) {
      out += "...";
      return out;
    }
    out += piece;
    i += len;
  }
  return out;
}

std::string Valid(std::string_view s, size_t max = envelope::kMaxDlqMessageBytes) {
  return envelope::SanitizeUtf8(s, max);
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void String(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void Key(Writer& w, const char* k) { w.Key(k); }

void WriteListFields(Writer& w, const DlqRecord& r) {
  Key(w, "topic");
  String(w, r.topic);
  Key(w, "partition");
  w.Int(r.partition);
  Key(w, "offset");
  w.Int64(r.offset);
  Key(w, "timestamp_ms");
  w.Int64(r.timestamp_ms);
  Key(w, "failed_at");
  String(w, FormatTime(r.failed_at_ms));
  Key(w, "failed_at_ms");
  w.Int64(r.failed_at_ms);
  Key(w, "error_class");
  String(w, Valid(r.info.error_class));
  Key(w, "error_code");
  String(w, Valid(r.info.error_code));
  Key(w, "error_message");
  String(w, Valid(r.info.error_message));
  Key(w, "attempts");
  w.Int64(r.info.attempts);
  Key(w, "source_topic");
  String(w, Valid(r.info.source_topic));
  Key(w, "source_partition");
  w.Int(r.info.source_partition);
  Key(w, "source_offset");
  w.Int64(r.info.source_offset);
  Key(w, "relay_instance");
  String(w, Valid(r.info.relay_instance));
  Key(w, "sobject");
  String(w, r.sobject);
  Key(w, "event_id");
  String(w, r.event_id);
  Key(w, "key");
  if (r.key) {
    String(w, Valid(*r.key, 4096));
  } else {
    w.Null();
  }
  Key(w, "replay_count");
  w.Int64(r.replay_count);
  Key(w, "replayed_from");
  String(w, r.replayed_from);
  Key(w, "value_omitted");
  w.Bool(r.value_omitted);
  Key(w, "warnings");
  w.StartArray();
  for (const auto& warning : r.warnings) String(w, Valid(warning));
  w.EndArray();
}

std::string OrNone(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

std::string FormatTime(int64_t ms) {
  if (ms < 0) return "-";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "-";
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) return "-";
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms % 1000));
}

std::string Printable(std::string_view text, size_t max_bytes) {
  return MakePrintable(text, max_bytes, false);
}

std::string FormatListLine(const DlqRecord& r) {
  std::string line = fmt::format(
      "{}/{}  {}  {}/{}  {}  {}  key={}", r.partition, r.offset, FormatTime(r.failed_at_ms),
      OrNone(Printable(r.info.error_class, 64)), OrNone(Printable(r.info.error_code, 64)),
      OrNone(Printable(r.info.source_topic, 128)), OrNone(Printable(r.sobject, 64)),
      r.key ? Printable(*r.key, 80) : std::string("(null)"));
  if (r.replay_count > 0) line += fmt::format("  replays={}", r.replay_count);
  if (!r.info.error_message.empty()) line += "  \"" + Printable(r.info.error_message, 120) + "\"";
  for (const auto& w : r.warnings) line += "  ! " + Printable(w, 200);
  return line;
}

std::string ListJson(const DlqRecord& r) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  WriteListFields(w, r);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string ShowJson(const DlqRecord& r) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  WriteListFields(w, r);
  Key(w, "headers");
  w.StartArray();
  for (const auto& [name, value] : r.headers) {
    w.StartArray();
    String(w, Valid(name, 4096));
    String(w, Valid(value, 64 * 1024));
    w.EndArray();
  }
  w.EndArray();
  Key(w, "value");
  if (r.value) {
    String(w, envelope::SanitizeUtf8(*r.value, r.value->size() * 3 + 16));
  } else {
    w.Null();
  }
  Key(w, "envelope_error");
  if (r.value) {
    auto event = envelope::ParseEvent(*r.value, r.headers);
    if (event.ok()) {
      w.Null();
    } else {
      String(w, Valid(event.status().message()));
    }
  } else {
    String(w, "no value");
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string FormatShow(const DlqRecord& r) {
  std::string out;
  out += fmt::format("record        {}\n", Printable(r.Location(), 400));
  out += fmt::format("timestamp     {} ({})\n", FormatTime(r.timestamp_ms), r.timestamp_ms);
  out += fmt::format("failed at     {}\n", FormatTime(r.failed_at_ms));
  if (r.is_dlq) {
    out += fmt::format("error         {} / {}\n", OrNone(Printable(r.info.error_class)),
                       OrNone(Printable(r.info.error_code)));
    out += fmt::format("message       {}\n", OrNone(Printable(r.info.error_message, 1200)));
    out += fmt::format("attempts      {} (first {}, last {})\n", r.info.attempts,
                       FormatTime(r.info.first_attempt_ms), FormatTime(r.info.last_attempt_ms));
    out += fmt::format("source        {}/{}/{} at {}\n", OrNone(Printable(r.info.source_topic)),
                       r.info.source_partition, r.info.source_offset,
                       FormatTime(r.info.source_timestamp_ms));
    out += fmt::format("relay         {}\n", OrNone(Printable(r.info.relay_instance)));
  }
  out += fmt::format("replays       {}{}\n", r.replay_count,
                     r.replayed_from.empty() ? "" : " (from " + Printable(r.replayed_from) + ")");
  for (const auto& w : r.warnings) out += "warning       " + Printable(w, 400) + "\n";
  out += fmt::format("key           {}\n", r.key ? Printable(*r.key, 1024) : "(null)");
  out += fmt::format("headers       {}\n", r.headers.size());
  for (const auto& [name, value] : r.headers) {
    out += fmt::format("  {}: {}\n", Printable(name, 256), Printable(value, 2048));
  }
  if (!r.value) {
    out += "value         (null)\n";
    return out;
  }
  auto event = envelope::ParseEvent(*r.value, r.headers);
  if (event.ok()) {
    out += fmt::format("envelope      valid: {} {} (event {})\n",
                       envelope::OperationName(event->operation), Printable(event->sobject),
                       event->event_id);
  } else {
    out += "envelope      invalid: " + Printable(event.status().message(), 600) + "\n";
  }
  out += fmt::format("value         {} bytes\n", r.value->size());
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(r.value->data(), r.value->size());
  std::string body;
  if (!doc.HasParseError()) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> pw(buf);
    pw.SetIndent(' ', 2);
    doc.Accept(pw);
    body = std::string(buf.GetString(), buf.GetSize());
  } else {
    body = *r.value;
  }
  out += MakePrintable(body, kShowValueBytes, true);
  out += "\n";
  return out;
}

}  // namespace sluice::dlq
