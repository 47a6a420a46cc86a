#include "sluice/flood/sampling.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace sluice::flood {
namespace {

// log1p(x) / x, continuous at 0.
double Log1pOverX(double x) {
  if (std::abs(x) > 1e-8) return std::log1p(x) / x;
  return 1 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

// expm1(x) / x, continuous at 0.
double Expm1OverX(double x) {
  if (std::abs(x) > 1e-8) return std::expm1(x) / x;
  return 1 + x * 0.5 * (1 + x / 3.0 * (1 + 0.25 * x));
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

bool ParseInt(std::string_view text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

bool ParseDouble(std::string_view text, double* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty() &&
         std::isfinite(*out);
}

Status CheckSize(int64_t size, std::string_view text) {
  if (size < 0 || size > kMaxPayloadBytes) {
    return InvalidArgumentError("payload size in " + Quote(text) + " must be between 0 and " +
                                std::to_string(kMaxPayloadBytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

double UniformUnit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Status ParseKeyShape(std::string_view text, KeySpace* space) {
  if (text == "uniform") {
    space->shape = KeySpace::Shape::kUniform;
    return Status::Ok();
  }
  if (text == "zipf") {
    space->shape = KeySpace::Shape::kZipf;
    return Status::Ok();
  }
  if (text.substr(0, 5) == "zipf:") {
    double e = 0;
    if (!ParseDouble(text.substr(5), &e) || e <= 0 || e > 100) {
      return InvalidArgumentError("malformed zipf exponent in " + Quote(text) +
                                  " (expected zipf:EXPONENT with 0 < EXPONENT <= 100)");
    }
    space->shape = KeySpace::Shape::kZipf;
    space->exponent = e;
    return Status::Ok();
  }
  return InvalidArgumentError("unknown key distribution " + Quote(text) +
                              " (expected uniform, zipf or zipf:EXPONENT)");
}

Result<KeySampler> KeySampler::Create(const KeySpace& space, uint64_t seed) {
  if (space.keys <= 0) return InvalidArgumentError("the key space needs at least one key");
  if (space.keys > (int64_t{1} << 48)) return InvalidArgumentError("the key space is too large");
  if (space.shape == KeySpace::Shape::kZipf &&
      (!std::isfinite(space.exponent) || space.exponent <= 0 || space.exponent > 100)) {
    return InvalidArgumentError("the zipf exponent must be in (0, 100]");
  }
  return KeySampler(space, seed);
}

KeySampler::KeySampler(const KeySpace& space, uint64_t seed) : space_(space), rng_(seed) {
  if (space_.shape == KeySpace::Shape::kZipf) {
    // Ranks are 1-based inside the sampler: h(x) = x^-e is the unnormalised weight; H is its
    // antiderivative, shifted so the integral over [k-0.5, k+0.5] bounds h(k) from above.
    h_x1_ = H(1.5) - 1.0;
    h_n_ = H(static_cast<double>(space_.keys) + 0.5);
    s_ = 2.0 - HInverse(H(2.5) - std::pow(2.0, -space_.exponent));
  }
}

// H(x) = (x^(1-e) - 1) / (1 - e), and log(x) when e == 1, written to stay accurate near e == 1.
double KeySampler::H(double x) const {
  const double log_x = std::log(x);
  return Expm1OverX((1.0 - space_.exponent) * log_x) * log_x;
}

double KeySampler::HInverse(double x) const {
  double t = x * (1.0 - space_.exponent);
  if (t < -1.0) t = -1.0;  // rounding guard: log1p(-1) is the edge of the domain
  return std::exp(Log1pOverX(t) * x);
}

int64_t KeySampler::Next() {
  if (space_.shape == KeySpace::Shape::kUniform) {
    return static_cast<int64_t>(UniformUnit(rng_) * static_cast<double>(space_.keys));
  }
  const double n = static_cast<double>(space_.keys);
  // Rejection-inversion: draw u uniformly in the area under the hat function, invert to x, round
  // to the nearest rank k, and accept when the point lies under h(k)'s share. The acceptance rate
  // is high (> 0.9 for typical exponents), so the loop is short.
  for (;;) {
    const double u = h_n_ + UniformUnit(rng_) * (h_x1_ - h_n_);
    const double x = HInverse(u);
    double k = std::floor(x + 0.5);
    if (k < 1) k = 1;
    if (k > n) k = n;
    if (k - x <= s_ || u >= H(k + 0.5) - std::pow(k, -space_.exponent)) {
      return static_cast<int64_t>(k) - 1;
    }
  }
}

Result<PayloadSizes> ParsePayloadSizes(std::string_view text) {
  PayloadSizes out;
  int64_t n = 0;
  if (ParseInt(text, &n)) {
    RETURN_IF_ERROR(CheckSize(n, text));
    out.shape = PayloadSizes::Shape::kFixed;
    out.fixed = n;
    return out;
  }
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgumentError("malformed payload size " + Quote(text) +
                                " (expected N, fixed:N, uniform:MIN-MAX or weighted:N=W,...)");
  }
  const std::string_view kind = text.substr(0, colon);
  const std::string_view rest = text.substr(colon + 1);
  if (kind == "fixed") {
    if (!ParseInt(rest, &n)) return InvalidArgumentError("malformed size in " + Quote(text));
    RETURN_IF_ERROR(CheckSize(n, text));
    out.shape = PayloadSizes::Shape::kFixed;
    out.fixed = n;
    return out;
  }
  if (kind == "uniform") {
    const size_t dash = rest.find('-');
    if (dash == std::string_view::npos || !ParseInt(rest.substr(0, dash), &out.min) ||
        !ParseInt(rest.substr(dash + 1), &out.max)) {
      return InvalidArgumentError("malformed range in " + Quote(text) + " (expected MIN-MAX)");
    }
    RETURN_IF_ERROR(CheckSize(out.min, text));
    RETURN_IF_ERROR(CheckSize(out.max, text));
    if (out.min > out.max) return InvalidArgumentError("MIN > MAX in " + Quote(text));
    out.shape = PayloadSizes::Shape::kUniform;
    return out;
  }
  if (kind == "weighted") {
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t comma = rest.find(',', pos);
      if (comma == std::string_view::npos) comma = rest.size();
      const std::string_view item = rest.substr(pos, comma - pos);
      const size_t eq = item.find('=');
      int64_t size = 0;
      double weight = 0;
      if (eq == std::string_view::npos || !ParseInt(item.substr(0, eq), &size) ||
          !ParseDouble(item.substr(eq + 1), &weight) || weight < 0) {
        return InvalidArgumentError("malformed weighted size " + Quote(item) + " in " +
                                    Quote(text) + " (expected SIZE=WEIGHT)");
      }
      RETURN_IF_ERROR(CheckSize(size, text));
      out.weighted.emplace_back(size, weight);
      if (out.weighted.size() > 1000) return InvalidArgumentError("too many weighted sizes");
      pos = comma + 1;
    }
    double total = 0;
    for (const auto& [size, weight] : out.weighted) total += weight;
    if (!(total > 0) || !std::isfinite(total)) {
      return InvalidArgumentError("weights in " + Quote(text) + " must sum to more than 0");
    }
    out.shape = PayloadSizes::Shape::kWeighted;
    return out;
  }
  return InvalidArgumentError("unknown payload size distribution " + Quote(kind) +
                              " (expected fixed, uniform or weighted)");
}

Result<PayloadSampler> PayloadSampler::Create(const PayloadSizes& sizes, uint64_t seed) {
  switch (sizes.shape) {
    case PayloadSizes::Shape::kFixed:
      RETURN_IF_ERROR(CheckSize(sizes.fixed, "fixed"));
      break;
    case PayloadSizes::Shape::kUniform:
      RETURN_IF_ERROR(CheckSize(sizes.min, "uniform"));
      RETURN_IF_ERROR(CheckSize(sizes.max, "uniform"));
      if (sizes.min > sizes.max) return InvalidArgumentError("payload size min > max");
      break;
    case PayloadSizes::Shape::kWeighted: {
      if (sizes.weighted.empty()) return InvalidArgumentError("no weighted payload sizes");
      double total = 0;
      for (const auto& [size, weight] : sizes.weighted) {
        RETURN_IF_ERROR(CheckSize(size, "weighted"));
        if (!(weight >= 0) || !std::isfinite(weight)) {
          return InvalidArgumentError("payload weights must be finite and >= 0");
        }
        total += weight;
      }
      if (!(total > 0)) return InvalidArgumentError("payload weights must sum to more than 0");
      break;
    }
  }
  return PayloadSampler(sizes, seed);
}

PayloadSampler::PayloadSampler(const PayloadSizes& sizes, uint64_t seed)
    : sizes_(sizes), rng_(seed) {
  if (sizes_.shape == PayloadSizes::Shape::kWeighted) {
    double total = 0;
    for (const auto& [size, weight] : sizes_.weighted) total += weight;
    double run = 0;
    for (const auto& [size, weight] : sizes_.weighted) {
      run += weight / total;
      cumulative_.push_back(run);
    }
    cumulative_.back() = 1.0;
  }
}

int64_t PayloadSampler::Next() {
  switch (sizes_.shape) {
    case PayloadSizes::Shape::kFixed:
      return sizes_.fixed;
    case PayloadSizes::Shape::kUniform: {
      const double span = static_cast<double>(sizes_.max - sizes_.min + 1);
      return sizes_.min + static_cast<int64_t>(UniformUnit(rng_) * span);
    }
    case PayloadSizes::Shape::kWeighted: {
      const double u = UniformUnit(rng_);
      auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
      if (it == cumulative_.end()) --it;
      return sizes_.weighted[static_cast<size_t>(it - cumulative_.begin())].first;
    }
  }
  return sizes_.fixed;
}

}  // namespace sluice::flood
