#include "match/kernels.hpp"

#include <array>

namespace laneface::match::kernels {
namespace {

// Eight independent partial sums: the compiler vectorises this with the baseline SSE2
// instruction set (a single running sum would serialise on the add latency).
float dot_portable(const float* a, const float* b, std::size_t dim) {
  std::array<float, 8> acc{};
  std::size_t d = 0;
  for (; d + 8 <= dim; d += 8) {
    for (std::size_t i = 0; i < 8; ++i) acc[i] += a[d + i] * b[d + i];
  }
  float s = 0;
  for (float v : acc) s += v;
  for (; d < dim; ++d) s += a[d] * b[d];
  return s;
}

const bool kAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");

}  // namespace

bool has_avx2() { return kAvx2; }

void dot_rows(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
              float* out) {
  if (kAvx2) return avx2::dot_rows(query, rows, n_rows, dim, out);
  for (std::size_t r = 0; r < n_rows; ++r) out[r] = dot_portable(query, rows + r * dim, dim);
}

void dot_rows_batch(const float* queries, std::size_t n_queries, const float* rows,
                    std::size_t n_rows, std::size_t dim, float* out) {
  std::size_t q = 0;
  if (kAvx2) {
    for (; q + kQueryBlock <= n_queries; q += kQueryBlock) {
      avx2::dot_rows_block(queries + q * dim, rows, n_rows, dim, n_rows, out + q * n_rows);
    }
  }
  for (; q < n_queries; ++q) dot_rows(queries + q * dim, rows, n_rows, dim, out + q * n_rows);
}

void dot_rows_i8(const std::int8_t* query, const std::int8_t* rows, std::size_t n_rows,
                 std::size_t dim, std::int32_t* out) {
  if (kAvx2) return avx2::dot_rows_i8(query, rows, n_rows, dim, out);
  for (std::size_t r = 0; r < n_rows; ++r) {
    const std::int8_t* row = rows + r * dim;
    std::int32_t s = 0;
    for (std::size_t d = 0; d < dim; ++d) s += std::int32_t(query[d]) * row[d];
    out[r] = s;
  }
}

}  // namespace laneface::match::kernels
