#include "sluice/flood/verifier.h"

#include <algorithm>

namespace sluice::flood {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void PutHex(uint64_t v, int digits, char* out) {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kHex[v & 0xf];
    v >>= 4;
  }
}

bool GetHex(std::string_view s, uint64_t* v) {
  uint64_t r = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    r = (r << 4) | static_cast<uint64_t>(d);
  }
  *v = r;
  return true;
}

// a - b, saturated to the int64 range (ledger times come from another process: never trust them
// not to overflow).
int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}

}  // namespace

void EventIdCodec::EncodeTo(int64_t index, char* out) const {
  const uint64_t i = static_cast<uint64_t>(index) & static_cast<uint64_t>(kMaxIndex);
  PutHex(run_id_ >> 16, 8, out);
  out[8] = '-';
  PutHex(run_id_ & 0xffff, 4, out + 9);
  out[13] = '-';
  std::copy_n("4f10", 4, out + 14);
  out[18] = '-';
  out[19] = '8';
  PutHex(i >> 48, 3, out + 20);
  out[23] = '-';
  PutHex(i & ((uint64_t{1} << 48) - 1), 12, out + 24);
}

std::string EventIdCodec::Encode(int64_t index) const {
  std::string s(kLength, '0');
  EncodeTo(index, s.data());
  return s;
}

std::optional<int64_t> EventIdCodec::Decode(std::string_view id) const {
  if (id.size() != kLength || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') {
    return std::nullopt;
  }
  if (id.substr(14, 4) != "4f10" || id[19] != '8') return std::nullopt;
  uint64_t hi = 0, lo = 0, ihi = 0, ilo = 0;
  if (!GetHex(id.substr(0, 8), &hi) || !GetHex(id.substr(9, 4), &lo) ||
      !GetHex(id.substr(20, 3), &ihi) || !GetHex(id.substr(24, 12), &ilo)) {
    return std::nullopt;
  }
  if (((hi << 16) | lo) != run_id_) return std::nullopt;
  return static_cast<int64_t>((ihi << 48) | ilo);
}

int64_t ProducedLog::Append(const ProducedEvent& e) {
  if (events_.size() >= events_.capacity()) return -1;
  events_.push_back(e);
  return static_cast<int64_t>(events_.size()) - 1;
}

Verifier::Verifier(const ProducedLog& log, VerifierOptions options)
    : log_(log),
      options_(options),
      ledger_count_(static_cast<size_t>(log.size()), 0),
      in_dlq_(static_cast<size_t>(log.size()), 0) {
  result_.latency_us = metrics::LogLinearHistogram(options_.latency_histogram);
  if (options_.bin_ns <= 0) options_.bin_ns = 1'000'000'000;
  if (options_.max_bins <= 0) options_.max_bins = 1;
  if (options_.latency_bin_ns <= 0) options_.latency_bin_ns = 1'000'000'000;
  if (options_.max_latency_bins <= 0) options_.max_latency_bins = 1;
  if (options_.max_listed < 0) options_.max_listed = 0;
}

void Verifier::AddLedgerEntry(const LedgerEntry& entry) {
  const std::optional<int64_t> index = log_.codec().Decode(entry.event_id);
  if (!index || *index >= log_.size()) {
    ++result_.foreign_ledger_entries;
    return;
  }
  const size_t i = static_cast<size_t>(*index);
  const ProducedEvent& e = log_.at(*index);
  uint8_t& count = ledger_count_[i];
  if (count < 255) ++count;
  if (count > 1) {
    ++result_.duplicates;
    if (count == 2) {
      ++result_.duplicated_events;
      if (static_cast<int64_t>(result_.duplicate_ids.size()) < options_.max_listed) {
        result_.duplicate_ids.push_back(entry.event_id);
      }
    }
    return;
  }
  if (!e.valid) {
    ++result_.invalid_delivered;
    return;
  }
  // An event the producer reported as certainly not written cannot arrive; if one does, it is
  // still counted as delivered (it is in the ledger) and the report shows produce_failed beside it.
  ++result_.delivered;

  // Order per key: a first delivery must not come after a later sequence of the same key.
  uint32_t& high = key_high_[e.key];  // highest delivered key_seq + 1 (0: none yet)
  if (high > 0 && e.key_seq + 1 < high) {
    ++result_.out_of_order;
    if (static_cast<int64_t>(result_.out_of_order_list.size()) < options_.max_listed) {
      result_.out_of_order_list.push_back({entry.event_id, e.key, e.key_seq, high - 1});
    }
  } else {
    high = e.key_seq + 1;
  }

  const int64_t at_ns = SaturatingSub(entry.received_unix_ns, options_.run_start_unix_ns);
  if (!result_.first_delivery_ns || at_ns < *result_.first_delivery_ns) {
    result_.first_delivery_ns = at_ns;
  }
  if (!result_.last_delivery_ns || at_ns > *result_.last_delivery_ns) {
    result_.last_delivery_ns = at_ns;
  }
  int64_t bin = at_ns < 0 ? 0 : at_ns / options_.bin_ns;
  if (bin >= options_.max_bins) bin = options_.max_bins - 1;
  if (static_cast<int64_t>(result_.delivered_per_bin.size()) <= bin) {
    result_.delivered_per_bin.resize(static_cast<size_t>(bin) + 1, 0);
  }
  ++result_.delivered_per_bin[static_cast<size_t>(bin)];
  const int64_t second =
      std::min<int64_t>(at_ns < 0 ? 0 : at_ns / 1'000'000'000, options_.max_bins - 1);
  if (static_cast<int64_t>(result_.delivered_per_second.size()) <= second) {
    result_.delivered_per_second.resize(static_cast<size_t>(second) + 1, 0);
  }
  ++result_.delivered_per_second[static_cast<size_t>(second)];

  int64_t latency_ns = SaturatingSub(at_ns, e.intended_ns);
  if (latency_ns < 0) {
    ++result_.negative_latencies;
    latency_ns = 0;
  }
  const auto latency_us = static_cast<uint64_t>(latency_ns / 1000);
  result_.latency_us.Record(latency_us);
  const int64_t lbin = std::min<int64_t>(at_ns < 0 ? 0 : at_ns / options_.latency_bin_ns,
                                         options_.max_latency_bins - 1);
  auto& bins = result_.latency_us_per_bin;
  if (static_cast<int64_t>(bins.size()) <= lbin) bins.resize(static_cast<size_t>(lbin) + 1);
  auto& h = bins[static_cast<size_t>(lbin)];
  if (!h) h = std::make_shared<metrics::LogLinearHistogram>(kLatencyBinHistogram);
  h->Record(latency_us);
}

void Verifier::AddDlqEventId(std::string_view event_id) {
  const std::optional<int64_t> index = log_.codec().Decode(event_id);
  if (!index || *index >= log_.size()) return;
  uint8_t& seen = in_dlq_[static_cast<size_t>(*index)];
  if (seen) return;
  seen = 1;
  if (log_.at(*index).valid) {
    ++result_.valid_in_dlq;
    if (static_cast<int64_t>(result_.valid_in_dlq_ids.size()) < options_.max_listed) {
      result_.valid_in_dlq_ids.emplace_back(event_id);
    }
  } else {
    ++result_.invalid_in_dlq;
  }
}

Verification Verifier::Finish() {
  Verification& r = result_;
  r.produced = log_.size();
  for (int64_t i = 0; i < log_.size(); ++i) {
    const ProducedEvent& e = log_.at(i);
    const bool written = e.state == ProducedEvent::kAcked;
    switch (e.state) {
      case ProducedEvent::kAcked:
        ++r.acked;
        break;
      case ProducedEvent::kFailed:
        ++r.produce_failed;
        break;
      case ProducedEvent::kUncertain:
        ++r.produce_uncertain;
        break;
      case ProducedEvent::kPending:
        break;
    }
    const bool seen = ledger_count_[static_cast<size_t>(i)] > 0;
    if (!e.valid) {
      ++r.invalid_produced;
      if (written && !in_dlq_[static_cast<size_t>(i)]) {
        ++r.invalid_not_in_dlq;
        if (static_cast<int64_t>(r.invalid_not_in_dlq_ids.size()) < options_.max_listed) {
          r.invalid_not_in_dlq_ids.push_back(log_.codec().Encode(i));
        }
      }
      continue;
    }
    if (written || e.state == ProducedEvent::kUncertain) ++r.expected;
    // Only an acknowledged event is certainly in Kafka: an uncertain one that never arrives is
    // not counted missing (the report shows produce_uncertain next to it).
    if (written && !seen && !in_dlq_[static_cast<size_t>(i)]) {
      ++r.missing;
      if (static_cast<int64_t>(r.missing_ids.size()) < options_.max_listed) {
        r.missing_ids.push_back(log_.codec().Encode(i));
      }
    }
  }
  return std::move(result_);
}

}  // namespace sluice::flood
