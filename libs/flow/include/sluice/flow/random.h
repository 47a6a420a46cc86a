// Injected randomness for libs/flow: jitter is drawn from a UniformSource so tests can seed it.
#pragma once

#include <cstdint>
#include <functional>

namespace sluice::flow {

// Returns numbers uniformly distributed in [0, 1). Components clamp whatever it returns into that
// range (NaN counts as 0), so a faulty source cannot produce negative or unbounded delays.
// Thread-safety: a UniformSource is called under the lock of the component that owns it; sharing
// one source between components that run on different threads needs a source that is itself
// thread-safe.
using UniformSource = std::function<double()>;

// A UniformSource over std::mt19937_64 seeded with `seed`; the same seed gives the same sequence.
// The returned source is not thread-safe (see above).
UniformSource SeededUniform(uint64_t seed);

// Clamps `u` into [0, 1); NaN becomes 0.
double ClampUnit(double u);

}  // namespace sluice::flow
