#include "sluice/flow/random.h"

#include <cmath>
#include <memory>
#include <random>

namespace sluice::flow {

UniformSource SeededUniform(uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine]() {
    // generate_canonical gives [0, 1) in theory; libstdc++ can return 1.0 on rounding, so clamp.
    return ClampUnit(std::generate_canonical<double, 53>(*engine));
  };
}

double ClampUnit(double u) {
  if (!(u > 0.0)) return 0.0;  // Also catches NaN.
  if (u >= 1.0) return std::nextafter(1.0, 0.0);
  return u;
}

}  // namespace sluice::flow
