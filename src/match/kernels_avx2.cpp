// AVX2+FMA kernels. This file is compiled with -mavx2 -mfma (src/CMakeLists.txt) and is
// only entered after a run-time CPU check (kernels.cpp); it includes no library headers, so
// no AVX2 copy of a shared inline function can leak into code that runs without the check.
#include <immintrin.h>

#include "match/kernels.hpp"

namespace laneface::match::kernels::avx2 {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float dot(const float* a, const float* b, std::size_t dim) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
         acc3 = _mm256_setzero_ps();
  std::size_t d = 0;
  for (; d + 32 <= dim; d += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 8), _mm256_loadu_ps(b + d + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 16), _mm256_loadu_ps(b + d + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 24), _mm256_loadu_ps(b + d + 24), acc3);
  }
  for (; d + 8 <= dim; d += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), acc0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; d < dim; ++d) s += a[d] * b[d];
  return s;
}

}  // namespace

void dot_rows(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
              float* out) {
  for (std::size_t r = 0; r < n_rows; ++r) out[r] = dot(query, rows + r * dim, dim);
}

void dot_rows_block(const float* q, const float* rows, std::size_t n_rows, std::size_t dim,
                    std::size_t out_stride, float* out) {
  static_assert(kQueryBlock == 8);
  for (std::size_t r = 0; r < n_rows; ++r) {
    const float* row = rows + r * dim;
    __m256 acc[8];
    for (auto& a : acc) a = _mm256_setzero_ps();
    std::size_t d = 0;
    for (; d + 8 <= dim; d += 8) {
      const __m256 x = _mm256_loadu_ps(row + d);
      for (std::size_t i = 0; i < 8; ++i)
        acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i * dim + d), x, acc[i]);
    }
    for (std::size_t i = 0; i < 8; ++i) {
      float s = hsum(acc[i]);
      for (std::size_t e = d; e < dim; ++e) s += q[i * dim + e] * row[e];
      out[i * out_stride + r] = s;
    }
  }
}

void dot_rows_i8(const std::int8_t* query, const std::int8_t* rows, std::size_t n_rows,
                 std::size_t dim, std::int32_t* out) {
  for (std::size_t r = 0; r < n_rows; ++r) {
    const std::int8_t* row = rows + r * dim;
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    std::size_t d = 0;
    for (; d + 32 <= dim; d += 32) {
      const __m256i a0 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(query + d)));
      const __m256i b0 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + d)));
      const __m256i a1 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(query + d + 16)));
      const __m256i b1 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + d + 16)));
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a1, b1));
    }
    const __m256i acc = _mm256_add_epi32(acc0, acc1);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    std::int32_t total = _mm_cvtsi128_si32(s);
    for (; d < dim; ++d) total += std::int32_t(query[d]) * row[d];
    out[r] = total;
  }
}

}  // namespace laneface::match::kernels::avx2
