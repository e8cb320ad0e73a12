#pragma once
// Inner-product kernels for exact search over contiguous row-major storage. Each function
// picks AVX2+FMA at run time when the CPU has it, else a portable loop the compiler can
// vectorise with the baseline instruction set. Results differ from a scalar loop only by
// float summation order.
#include <cstddef>
#include <cstdint>

namespace laneface::match::kernels {

// True when the AVX2+FMA paths are in use.
bool has_avx2();

// out[r] = <query, rows[r]> for r in [0, n_rows); rows are `dim` floats each.
void dot_rows(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
              float* out);

// out[q * n_rows + r] = <queries[q], rows[r]> for q in [0, n_queries): every row is read
// once per block of kQueryBlock queries, which turns a memory-bound scan compute-bound.
inline constexpr std::size_t kQueryBlock = 8;
void dot_rows_batch(const float* queries, std::size_t n_queries, const float* rows,
                    std::size_t n_rows, std::size_t dim, float* out);

// out[r] = <query, rows[r]> over int8 codes, exact in int32 (dim < 2^17).
void dot_rows_i8(const std::int8_t* query, const std::int8_t* rows, std::size_t n_rows,
                 std::size_t dim, std::int32_t* out);

namespace avx2 {  // kernels_avx2.cpp, compiled with -mavx2 -mfma; call only when has_avx2()
void dot_rows(const float* query, const float* rows, std::size_t n_rows, std::size_t dim,
              float* out);
void dot_rows_block(const float* queries, const float* rows, std::size_t n_rows, std::size_t dim,
                    std::size_t out_stride, float* out);  // exactly kQueryBlock queries
void dot_rows_i8(const std::int8_t* query, const std::int8_t* rows, std::size_t n_rows,
                 std::size_t dim, std::int32_t* out);
}  // namespace avx2

}  // namespace laneface::match::kernels
