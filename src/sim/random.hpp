#pragma once
// Portable random numbers for the simulator: std::mt19937 (its output sequence is fixed by the
// standard) with distributions implemented here, because std::uniform_real_distribution and
// friends may differ between standard libraries. Same seed → same lane, on any platform.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace laneface::sim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(mix(seed)) {}
  // A child generator for a sub-task (a vehicle, a camera), independent of draw order elsewhere.
  static Rng child(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
    return Rng(mix(seed ^ mix(a * 0x9E3779B97F4A7C15ull + b + 1)));
  }

  std::uint32_t next() { return static_cast<std::uint32_t>(gen_()); }
  // Uniform in [0, 1) with 53 bits.
  double uniform() {
    const std::uint64_t hi = next() >> 5, lo = next() >> 6;
    return (static_cast<double>(hi) * 67108864.0 + static_cast<double>(lo)) / 9007199254740992.0;
  }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  // Uniform integer in [a, b] (inclusive), without modulo bias.
  int integer(int a, int b) {
    if (b <= a) return a;
    const std::uint32_t range = static_cast<std::uint32_t>(b - a) + 1u;
    const std::uint32_t limit = static_cast<std::uint32_t>(-range) % range;  // 2^32 mod range
    for (;;) {
      const std::uint32_t x = next();
      if (x >= limit) return a + static_cast<int>(x % range);
    }
  }
  bool chance(double p) { return uniform() < p; }
  // Standard normal (Box-Muller, one value per call).
  double normal(double mean = 0, double sd = 1) {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Index drawn with the given non-negative weights (at least one positive).
  std::size_t weighted(const std::vector<double>& w) {
    double total = 0;
    for (double x : w) total += x;
    double r = uniform() * total;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (r < w[i]) return i;
      r -= w[i];
    }
    return w.empty() ? 0 : w.size() - 1;
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(integer(0, static_cast<int>(i) - 1));
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  static std::uint32_t mix(std::uint64_t x) {  // splitmix64 finaliser, folded to 32 bits
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return static_cast<std::uint32_t>(x ^ (x >> 32));
  }
  std::mt19937 gen_;
};

// A closed range the preset draws from.
struct Range {
  double lo = 0, hi = 0;
  double draw(Rng& rng) const { return rng.uniform(lo, hi); }
};

}  // namespace laneface::sim
