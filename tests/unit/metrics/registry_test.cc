#include "sluice/metrics/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sluice::metrics {
namespace {

// A strict reader of the text exposition format 0.0.4, enough to prove that what we render parses
// line by line: HELP/TYPE comments, samples with escaped label values, numeric values.
struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<std::string> label_order;
  double value = 0;
};

struct Parsed {
  std::vector<ParsedSample> samples;
  std::map<std::string, std::string> types;
  std::map<std::string, std::string> helps;
};

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// Parses `text`; on failure records a message in `error` naming the line.
Parsed Parse(const std::string& text, std::string* error) {
  Parsed out;
  if (!text.empty() && text.back() != '\n') *error = "no final newline";
  std::istringstream in(text);
  std::string line;
  std::string family;
  int number = 0;
  auto fail = [&](const std::string& why) {
    if (error->empty()) *error = "line " + std::to_string(number) + ": " + why + ": " + line;
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const bool help = line[2] == 'H';
      const size_t sp = line.find(' ', 7);
      if (sp == std::string::npos) {
        fail("comment without text");
        continue;
      }
      const std::string name = line.substr(7, sp - 7);
      const std::string rest = line.substr(sp + 1);
      if (help) {
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' &&
              (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))) {
            fail("bad escape in HELP");
          }
          if (rest[i] == '\\') ++i;
        }
        out.helps[name] = rest;
      } else {
        if (rest != "counter" && rest != "gauge" && rest != "histogram") fail("bad type");
        if (out.types.count(name)) fail("family repeated");
        out.types[name] = rest;
        family = name;
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      fail("unexpected line");
      continue;
    }
    ParsedSample s;
    size_t i = 0;
    while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
    s.name = line.substr(0, i);
    if (s.name.empty()) fail("no metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t start = i;
        while (i < line.size() && IsNameChar(line[i], i == start) && line[i] != ':') ++i;
        const std::string label = line.substr(start, i - start);
        if (label.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          fail("bad label");
          break;
        }
        i += 2;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            const char e = line[i++];
            if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else if (e == 'n')
              value += '\n';
            else
              fail("bad escape in label value");
          } else {
            value += c;
          }
        }
        if (!closed) fail("unterminated label value");
        if (s.labels.count(label)) fail("label repeated");
        s.labels[label] = value;
        s.label_order.push_back(label);
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') {
        fail("unterminated labels");
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no space before value");
      continue;
    }
    const std::string value = line.substr(i + 1);
    if (value == "+Inf") {
      s.value = INFINITY;
    } else if (value == "-Inf") {
      s.value = -INFINITY;
    } else if (value == "NaN") {
      s.value = NAN;
    } else {
      char* end = nullptr;
      s.value = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0') fail("bad value");
    }
    // Every sample belongs to the family declared just before it.
    const std::string& type = out.types[family];
    const bool ok_name =
        s.name == family ||
        (type == "histogram" && (s.name == family + "_bucket" || s.name == family + "_sum" ||
                                 s.name == family + "_count"));
    if (!ok_name) fail("sample outside its family");
    out.samples.push_back(std::move(s));
  }
  return out;
}

TEST(RegistryTest, RendersExactExpositionText) {
  Registry r;
  Counter* consumed = *r.AddCounter("sluice_consumed_total", "Records consumed.");
  consumed->Increment(3);
  Family<Counter>* dead = *r.AddCounterFamily("sluice_dead_lettered_total",
                                              "Events sent to the DLQ.", {"class", "code"});
  dead->WithLabels({"permanent", "REQUIRED_FIELD_MISSING"}).Increment(2);
  dead->WithLabels({"invalid_envelope", "NOT_JSON"}).Increment();
  Gauge* in_flight =
      *r.AddGauge("sluice_in_flight", "Requests in flight.\nSecond line with \\ backslash.");
  in_flight->Set(2.5);
  HistogramOptions ho;
  ho.divisor = 1e6;
  ho.bounds = {1000, 2000, 4000};
  Histogram* latency = *r.AddHistogram("sluice_delivery_latency_seconds", "Delivery latency.", ho);
  for (uint64_t us : {500, 1000, 1001, 3000, 9000000}) latency->Record(us);
  auto up = r.AddCallbackGauge("sluice_up", "Whether it is up.", [] { return 1.0; });
  ASSERT_TRUE(up.ok());

  const std::string expected =
      "# HELP sluice_consumed_total Records consumed.\n"
      "# TYPE sluice_consumed_total counter\n"
      "sluice_consumed_total 3\n"
      "# HELP sluice_dead_lettered_total Events sent to the DLQ.\n"
      "# TYPE sluice_dead_lettered_total counter\n"
      "sluice_dead_lettered_total{class=\"invalid_envelope\",code=\"NOT_JSON\"} 1\n"
      "sluice_dead_lettered_total{class=\"permanent\",code=\"REQUIRED_FIELD_MISSING\"} 2\n"
      "# HELP sluice_delivery_latency_seconds Delivery latency.\n"
      "# TYPE sluice_delivery_latency_seconds histogram\n"
      "sluice_delivery_latency_seconds_bucket{le=\"0.001\"} 2\n"
      "sluice_delivery_latency_seconds_bucket{le=\"0.002\"} 3\n"
      "sluice_delivery_latency_seconds_bucket{le=\"0.004\"} 4\n"
      "sluice_delivery_latency_seconds_bucket{le=\"+Inf\"} 5\n"
      "sluice_delivery_latency_seconds_sum 9.005501\n"
      "sluice_delivery_latency_seconds_count 5\n"
      "# HELP sluice_in_flight Requests in flight.\\nSecond line with \\\\ backslash.\n"
      "# TYPE sluice_in_flight gauge\n"
      "sluice_in_flight 2.5\n"
      "# HELP sluice_up Whether it is up.\n"
      "# TYPE sluice_up gauge\n"
      "sluice_up 1\n";
  const std::string text = r.RenderPrometheus();
  EXPECT_EQ(text, expected);
  std::string error;
  Parsed parsed = Parse(text, &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(parsed.samples.size(), 11u);
  EXPECT_EQ(parsed.types["sluice_delivery_latency_seconds"], "histogram");
}

TEST(RegistryTest, EmptyRegistryRendersNothing) {
  Registry r;
  EXPECT_EQ(r.RenderPrometheus(), "");
}

TEST(RegistryTest, LabeledHistogramPutsLeLast) {
  Registry r;
  HistogramOptions ho;
  ho.bounds = {1, 2};
  Family<Histogram>* f = *r.AddHistogramFamily("req_size", "Sizes.", {"topic"}, ho);
  f->WithLabels({"a"}).Record(2);
  f->WithLabels({"a"}).Record(7);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("req_size_bucket{topic=\"a\",le=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("req_size_bucket{topic=\"a\",le=\"2\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("req_size_bucket{topic=\"a\",le=\"+Inf\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("req_size_sum{topic=\"a\"} 9\n"), std::string::npos) << text;
  EXPECT_NE(text.find("req_size_count{topic=\"a\"} 2\n"), std::string::npos) << text;
}

TEST(RegistryTest, DefaultHistogramLadderIsCumulativeAndConsistent) {
  Registry r;
  Histogram* h = *r.AddHistogram("lat_us", "Latency.");
  for (uint64_t v = 0; v < 5000; v += 7) h->Record(v);
  std::string error;
  Parsed parsed = Parse(r.RenderPrometheus(), &error);
  ASSERT_EQ(error, "");
  double last = -1;
  int buckets = 0;
  double count = -1;
  for (const auto& s : parsed.samples) {
    if (s.name == "lat_us_bucket") {
      ++buckets;
      EXPECT_GE(s.value, last);
      last = s.value;
      const double le = s.labels.at("le") == "+Inf" ? INFINITY : std::stod(s.labels.at("le"));
      // Ladder bounds are bucket edges, so each cumulative count is exact.
      double exact = 0;
      for (uint64_t v = 0; v < 5000; v += 7) exact += static_cast<double>(v) <= le ? 1 : 0;
      EXPECT_EQ(s.value, exact) << "le=" << s.labels.at("le");
    }
    if (s.name == "lat_us_count") count = s.value;
  }
  EXPECT_EQ(buckets, 32);  // 2^0 .. 2^30, then +Inf
  EXPECT_EQ(count, last);
}

TEST(RegistryTest, HostileLabelValuesAreEscaped) {
  Registry r;
  Family<Counter>* f = *r.AddCounterFamily("errors_total", "Errors.", {"code"});
  f->WithLabels({"a\"b\\c\nd"}).Increment();
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("errors_total{code=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;

  const std::vector<std::string> hostile = {
      "\"",     "\\",         "\n",        "\\\"", "\\n",   "}", "{x=\"1\"}",        ",code=\"y\"",
      "",       "  spaces  ", "tab\there", "\r\n", "end\\", "#", "\"\"\"\\\\\\\n\n", "héllo",
      "日本語", "emoji 😀"};
  for (const std::string& v : hostile) f->WithLabels({v}).Increment(2);
  std::string error;
  Parsed parsed = Parse(r.RenderPrometheus(), &error);
  ASSERT_EQ(error, "");
  std::map<std::string, double> seen;
  for (const auto& s : parsed.samples) seen[s.labels.at("code")] = s.value;
  for (const std::string& v : hostile) EXPECT_EQ(seen[v], 2) << "value: " << v;
  EXPECT_EQ(seen["a\"b\\c\nd"], 1);
}

TEST(RegistryTest, InvalidUtf8AndOversizedLabelValuesAreSanitized) {
  Registry r;
  FamilyOptions fo;
  fo.max_label_value_bytes = 255;
  Family<Counter>* f = *r.AddCounterFamily("x_total", "X.", {"v"}, fo);
  f->WithLabels({"\xff\xfeok\xc3"}).Increment();
  std::string long_value;
  for (int i = 0; i < 1000; ++i) long_value += "\xc3\xa9";  // é, two bytes each
  f->WithLabels({long_value}).Increment();
  f->WithLabels({long_value + "different tail"}).Increment();  // same first 255 bytes
  std::string error;
  Parsed parsed = Parse(r.RenderPrometheus(), &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(parsed.samples.size(), 2u);
  std::map<std::string, double> seen;
  for (const auto& s : parsed.samples) seen[s.labels.at("v")] = s.value;
  EXPECT_EQ(seen["\xEF\xBF\xBD\xEF\xBF\xBDok\xEF\xBF\xBD"], 1);
  std::string cut;
  for (int i = 0; i < 127; ++i) cut += "\xc3\xa9";  // 254 bytes: a whole character boundary
  EXPECT_EQ(seen[cut], 2);
}

TEST(RegistryTest, LabelCardinalityIsCapped) {
  Registry r;
  FamilyOptions fo;
  fo.max_series = 3;
  Family<Counter>* f = *r.AddCounterFamily("codes_total", "Codes.", {"class", "code"}, fo);
  Counter& a = f->WithLabels({"permanent", "A"});
  for (const char* code : {"A", "B", "C", "D", "E", "E"})
    f->WithLabels({"permanent", code}).Increment();
  EXPECT_EQ(f->size(), 4u);  // three kept + the overflow series
  EXPECT_EQ(f->overflowed(), 3u);
  EXPECT_EQ(&f->WithLabels({"permanent", "A"}), &a);  // existing series still found
  EXPECT_EQ(a.Value(), 1u);
  EXPECT_EQ(f->WithLabels({"other", "other"}).Value(), 3u);
  // A wrong number of label values is a bug, never a crash: it lands in the overflow series too.
  f->WithLabels({"just_one"}).Increment();
  EXPECT_EQ(f->WithLabels({"other", "other"}).Value(), 4u);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("codes_total{class=\"other\",code=\"other\"} 4\n"), std::string::npos);
  EXPECT_EQ(text.find("code=\"D\""), std::string::npos);

  // The default cap is 1,000 per family.
  Family<Gauge>* g = *r.AddGaugeFamily("lag", "Lag.", {"partition"});
  for (int p = 0; p < 1500; ++p) g->WithLabels({std::to_string(p)}).Set(p);
  EXPECT_EQ(g->size(), 1001u);
  EXPECT_EQ(g->overflowed(), 500u);
}

TEST(RegistryTest, RegistrationErrors) {
  Registry r;
  EXPECT_EQ(r.AddCounter("", "h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddCounter("9lives", "h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddCounter("has space", "h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddCounter("bad-dash", "h").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddCounter("name\n# TYPE evil counter", "h").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(r.AddCounter("ns:ok_total", "h").ok());
  EXPECT_EQ(r.AddCounterFamily("a", "h", {"__reserved"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddCounterFamily("b", "h", {"x", "x"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddCounterFamily("c", "h", {"has:colon"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r.AddHistogramFamily("d", "h", {"le"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(r.AddCounterFamily("e", "h", {"le"}).ok());  // only histograms reserve it
  HistogramOptions bad;
  bad.bounds = {5, 5};
  EXPECT_EQ(r.AddHistogram("f", "h", bad).status().code(), StatusCode::kInvalidArgument);
  bad.bounds = {};
  bad.divisor = 0;
  EXPECT_EQ(r.AddHistogram("g", "h", bad).status().code(), StatusCode::kInvalidArgument);
  bad.divisor = 1;
  bad.histogram.precision_bits = 0;
  EXPECT_EQ(r.AddHistogram("h", "h", bad).status().code(), StatusCode::kInvalidArgument);

  EXPECT_TRUE(r.AddGauge("dup", "h").ok());
  EXPECT_EQ(r.AddCounter("dup", "h").status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(r.AddHistogram("lat", "h").ok());
  EXPECT_EQ(r.AddCounter("lat_count", "h").status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(r.AddCounter("size_sum", "h").ok());
  EXPECT_EQ(r.AddHistogram("size", "h").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(r.AddCallbackGauge("cb", "h", nullptr).status().code(), StatusCode::kInvalidArgument);
  // Failed registrations left nothing behind.
  std::string error;
  Parsed parsed = Parse(r.RenderPrometheus(), &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(parsed.types.size(), 5u);  // ns:ok_total, e, dup, lat, size_sum
}

TEST(RegistryTest, CallbackFamiliesSumDuplicatesCapAndUnregister) {
  Registry r;
  std::atomic<int> calls{0};
  FamilyOptions fo;
  fo.max_series = 2;
  auto handle = r.AddCallbackFamily(
      "lag_records", "Lag per partition.", MetricType::kGauge, {"topic", "partition"},
      [&] {
        ++calls;
        return std::vector<Sample>{{{"t", "0"}, 5},     {{"t", "0"}, 1},    // summed with the first
                                   {{"t", "1"}, 7},     {{"t", "2"}, 100},  // beyond the cap: other
                                   {{"t", "3"}, 1},                         // beyond the cap: other
                                   {{"wrong arity"}, 9}};
      },
      fo);
  ASSERT_TRUE(handle.ok());
  const std::string expected =
      "# HELP lag_records Lag per partition.\n"
      "# TYPE lag_records gauge\n"
      "lag_records{topic=\"other\",partition=\"other\"} 101\n"
      "lag_records{topic=\"t\",partition=\"0\"} 6\n"
      "lag_records{topic=\"t\",partition=\"1\"} 7\n";
  EXPECT_EQ(r.RenderPrometheus(), expected);
  EXPECT_EQ(calls.load(), 1);
  // Moving the handle keeps the registration; resetting removes it, and the name is free again.
  CallbackHandle moved = std::move(*handle);
  EXPECT_EQ(r.RenderPrometheus(), expected);
  moved.Reset();
  EXPECT_EQ(r.RenderPrometheus(), "");
  EXPECT_EQ(calls.load(), 2);
  {
    auto again = r.AddCallbackGauge("lag_records", "Again.", [] { return 2.0; });
    ASSERT_TRUE(again.ok());
    EXPECT_NE(r.RenderPrometheus().find("lag_records 2\n"), std::string::npos);
  }
  EXPECT_EQ(r.RenderPrometheus(), "");  // destroyed with its scope
  EXPECT_EQ(r.AddCallbackFamily("h", "h", MetricType::kHistogram, {},
                                [] { return std::vector<Sample>{}; })
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(RegistryTest, SpecialGaugeValues) {
  Registry r;
  (*r.AddGauge("a", "h"))->Set(INFINITY);
  (*r.AddGauge("b", "h"))->Set(-INFINITY);
  (*r.AddGauge("c", "h"))->Set(NAN);
  (*r.AddGauge("d", "h"))->Set(1e300);
  (*r.AddGauge("e", "h"))->Set(-0.125);
  Gauge* f = *r.AddGauge("f", "h");
  f->Increment();
  f->Increment();
  f->Decrement();
  f->Add(0.5);
  const std::string text = r.RenderPrometheus();
  for (const char* line :
       {"a +Inf\n", "b -Inf\n", "c NaN\n", "d 1e+300\n", "e -0.125\n", "f 1.5\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
  }
  std::string error;
  Parse(text, &error);
  EXPECT_EQ(error, "");
}

TEST(RegistryTest, ConcurrentUpdatesAndScrapesLoseNothing) {
  Registry r;
  Family<Counter>* f = *r.AddCounterFamily("events_total", "Events.", {"code"});
  Family<Histogram>* h = *r.AddHistogramFamily("lat", "Latency.", {"code"});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::atomic<int> running{kThreads};
  std::atomic<int> scrapes{0};
  std::string scrape_error;
  std::thread scraper([&] {
    while (running.load() > 0 || scrapes.load() == 0) {
      std::string error;
      Parse(r.RenderPrometheus(), &error);
      if (!error.empty() && scrape_error.empty()) scrape_error = error;
      ++scrapes;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string code = "c" + std::to_string((i + t) % 50);
        f->WithLabels({code}).Increment();
        h->WithLabels({code}).Record(static_cast<uint64_t>(i));
      }
      --running;
    });
  }
  for (auto& t : threads) t.join();
  scraper.join();
  EXPECT_EQ(scrape_error, "");
  EXPECT_GT(scrapes.load(), 0);
  uint64_t total = 0;
  uint64_t recorded = 0;
  for (int c = 0; c < 50; ++c) {
    total += f->WithLabels({"c" + std::to_string(c)}).Value();
    recorded += h->WithLabels({"c" + std::to_string(c)}).data().Count();
  }
  EXPECT_EQ(total, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(recorded, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(f->size(), 50u);
}

}  // namespace
}  // namespace sluice::metrics
