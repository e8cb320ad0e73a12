// Exact search: every stored vector is scored. Vectors live contiguously, row-major, so a
// search is one sequential scan through the kernels (kernels.hpp).
//   float: the vectors as given.
//   int8:  each vector scaled by its own max |value| / 127 and rounded; scores are the
//          int32 inner product times both scales (a quarter of the memory traffic).
// L2 scores use ||q - x||^2 = ||q||^2 + ||x||^2 - 2 <q, x> with stored squared norms.
//
// A single float query is answered in two passes that return exactly what a full float scan
// returns (the same hits, the same float scores), reading a quarter of the memory:
//   1. an int8 scan over a quantised shadow copy gives each row an approximate inner product
//      and a guaranteed error bound (Cauchy-Schwarz on the quantisation residuals, plus a
//      margin for float rounding): |<q,x> - <q~,x~>| <= |q| |ex| + |eq| |x| + |eq| |ex|,
//      where q~, x~ are the dequantised vectors and eq = q - q~, ex = x - x~ (norms stored);
//   2. every row whose upper bound reaches the k-th best lower bound is rescored by the float
//      kernel, best upper bound first, stopping once no remaining row can enter the top k.
// Rows that pass 1 prunes provably cannot be in the top k, so the result is exact, not a
// re-ranked approximation. search_batch (many queries) scans the float rows directly.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <unordered_map>

#include "core/error.hpp"
#include "match/index_impl.hpp"
#include "match/kernels.hpp"

namespace laneface::match::detail {
namespace {

using core::Error;
using core::ErrorKind;

constexpr std::size_t kRowBlock = 2048;  // rows scored per kernel call (buffer stays in L1/L2)

float squared_norm(std::span<const float> v) {
  float s = 0;
  for (float x : v) s += x * x;
  return s;
}

// |v - scale * codes|, the quantisation residual's norm, in double.
float residual_norm(std::span<const float> v, const std::int8_t* codes, float scale) {
  double s = 0;
  for (std::size_t d = 0; d < v.size(); ++d) {
    const double e = double(v[d]) - double(scale) * codes[d];
    s += e * e;
  }
  return float(std::sqrt(s));
}

// Quantises v into out (v.size() codes); returns the scale.
float quantise(std::span<const float> v, std::int8_t* out) {
  float max_abs = 0;
  for (float x : v) max_abs = std::max(max_abs, std::abs(x));
  const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
  for (std::size_t d = 0; d < v.size(); ++d)
    out[d] = static_cast<std::int8_t>(std::lround(v[d] / scale));
  return scale;
}

template <class Code>
class ExactIndex final : public SearchIndex {
  static constexpr bool kInt8 = std::is_same_v<Code, std::int8_t>;

 public:
  ExactIndex(std::size_t dim, Metric metric, bool prefilter = true)
      : dim_(dim), metric_(metric), prefilter_(prefilter) {}
  std::size_t dim() const override { return dim_; }
  Metric metric() const override { return metric_; }
  std::size_t size() const override { return ids_.size(); }

  std::size_t memory_bytes() const override {
    return codes_.capacity() * sizeof(Code) + shadow_.capacity() +
           residuals_.capacity() * sizeof(float) +
           (scales_.capacity() + sq_norms_.capacity()) * sizeof(float) +
           ids_.capacity() * sizeof(Id) +
           rows_.size() * (sizeof(Id) + sizeof(std::size_t) + 2 * sizeof(void*)) +
           rows_.bucket_count() * sizeof(void*);
  }

  void add(Id id, std::span<const float> v) override {
    check_vector(v, "template " + std::to_string(id));
    if (!rows_.emplace(id, ids_.size()).second) {
      throw Error(ErrorKind::kInvalidInput,
                  "template " + std::to_string(id) + ": already in the index");
    }
    ids_.push_back(id);
    sq_norms_.push_back(squared_norm(v));
    const std::size_t at = codes_.size();
    codes_.resize(at + dim_);
    if constexpr (kInt8) {
      scales_.push_back(quantise(v, codes_.data() + at));
    } else {
      std::copy(v.begin(), v.end(), codes_.begin() + at);
      shadow_.resize(at + dim_);
      scales_.push_back(quantise(v, shadow_.data() + at));
      residuals_.push_back(residual_norm(v, shadow_.data() + at, scales_.back()));
      max_sq_norm_ = std::max(max_sq_norm_, sq_norms_.back());  // never lowered: stays a bound
      max_residual_ = std::max(max_residual_, residuals_.back());
    }
  }

  void add_batch(std::span<const Id> ids, std::span<const float> vectors) override {
    codes_.reserve(codes_.size() + vectors.size());
    if constexpr (!kInt8) shadow_.reserve(shadow_.size() + vectors.size());
    ids_.reserve(ids_.size() + ids.size());
    SearchIndex::add_batch(ids, vectors);
  }

  bool remove(Id id) override {
    const auto it = rows_.find(id);
    if (it == rows_.end()) return false;
    const std::size_t row = it->second, last = ids_.size() - 1;
    rows_.erase(it);
    if (row != last) {  // the last row moves into the hole
      std::copy_n(codes_.begin() + last * dim_, dim_, codes_.begin() + row * dim_);
      ids_[row] = ids_[last];
      sq_norms_[row] = sq_norms_[last];
      scales_[row] = scales_[last];
      if constexpr (!kInt8) {
        std::copy_n(shadow_.begin() + last * dim_, dim_, shadow_.begin() + row * dim_);
        residuals_[row] = residuals_[last];
      }
      rows_[ids_[row]] = row;
    }
    ids_.pop_back();
    sq_norms_.pop_back();
    scales_.pop_back();
    codes_.resize(last * dim_);
    if constexpr (!kInt8) {
      shadow_.resize(last * dim_);
      residuals_.pop_back();
    }
    return true;
  }

  std::vector<Hit> search(std::span<const float> query, std::size_t k) const override {
    check_vector(query, "query");
    if constexpr (!kInt8) {
      if (prefilter_) return search_prefiltered(query, k);
    }
    TopK top(k);
    const float q_norm = squared_norm(query);
    std::vector<float> scores(kRowBlock);
    [[maybe_unused]] std::vector<std::int8_t> q_codes(kInt8 ? dim_ : 0);
    [[maybe_unused]] std::vector<std::int32_t> raw(kInt8 ? kRowBlock : 0);
    [[maybe_unused]] float q_scale = 1;
    if constexpr (kInt8) q_scale = quantise(query, q_codes.data());
    for (std::size_t r0 = 0; r0 < ids_.size(); r0 += kRowBlock) {
      const std::size_t n = std::min(kRowBlock, ids_.size() - r0);
      if constexpr (kInt8) {
        kernels::dot_rows_i8(q_codes.data(), codes_.data() + r0 * dim_, n, dim_, raw.data());
        for (std::size_t i = 0; i < n; ++i) scores[i] = float(raw[i]) * q_scale * scales_[r0 + i];
      } else {
        kernels::dot_rows(query.data(), codes_.data() + r0 * dim_, n, dim_, scores.data());
      }
      collect(scores.data(), r0, n, q_norm, top);
    }
    return top.take();
  }

  std::vector<std::vector<Hit>> search_batch(std::span<const float> queries,
                                             std::size_t k) const override {
    if constexpr (kInt8) {
      return SearchIndex::search_batch(queries, k);
    } else {
      const std::size_t nq = queries.size() / dim_;
      for (std::size_t q = 0; q < nq; ++q) check_vector(queries.subspan(q * dim_, dim_), "query");
      std::vector<TopK> tops(nq, TopK(k));
      std::vector<float> q_norms(nq), scores(kernels::kQueryBlock * kRowBlock);
      for (std::size_t q = 0; q < nq; ++q)
        q_norms[q] = squared_norm(queries.subspan(q * dim_, dim_));
      for (std::size_t q0 = 0; q0 < nq; q0 += kernels::kQueryBlock) {
        const std::size_t m = std::min(kernels::kQueryBlock, nq - q0);
        for (std::size_t r0 = 0; r0 < ids_.size(); r0 += kRowBlock) {
          const std::size_t n = std::min(kRowBlock, ids_.size() - r0);
          kernels::dot_rows_batch(queries.data() + q0 * dim_, m, codes_.data() + r0 * dim_, n, dim_,
                                  scores.data());
          for (std::size_t i = 0; i < m; ++i)
            collect(scores.data() + i * n, r0, n, q_norms[q0 + i], tops[q0 + i]);
        }
      }
      std::vector<std::vector<Hit>> out;
      for (auto& t : tops) out.push_back(t.take());
      return out;
    }
  }

 private:
  // The two-pass exact search described at the top of this file (float rows only).
  std::vector<Hit> search_prefiltered(std::span<const float> query, std::size_t k) const {
    TopK top(k);
    if (k == 0 || ids_.empty()) return top.take();
    const float q_sq = squared_norm(query);
    std::vector<std::int8_t> q_codes(dim_);
    const float q_scale = quantise(query, q_codes.data());
    const double q_norm = std::sqrt(double(q_sq));
    const double q_res = residual_norm(query, q_codes.data(), q_scale);
    // Float rounding of the float kernel and of the approximate score: a sum of dim products
    // is within dim * 2^-24 * |q| |x| of the real value; doubled, with room to spare.
    const double rounding = (4.0 * double(dim_) + 16) * 0x1p-24;
    auto to_score = [&](double dot, std::size_t row) {
      if (metric_ == Metric::kInnerProduct) return dot;
      return -std::sqrt(std::max(0.0, double(q_sq) + sq_norms_[row] - 2 * dot));
    };
    // Pass 1: bounds. lower_top holds the k best lower bounds; a row whose upper bound is below
    // the running k-th lower bound can never enter the top k (that bound only rises).
    TopK lower_top(k);
    struct Bound {
      std::size_t row;
      double upper;
    };
    std::vector<Bound> candidates;
    std::vector<std::int32_t> raw(kRowBlock);
    // Inner product: one bound for every row (from the largest stored norm and residual) lets
    // most rows be dismissed on their approximate score alone, before their own bound.
    const bool quick = metric_ == Metric::kInnerProduct;
    const double n_max = std::sqrt(double(max_sq_norm_)), r_max = max_residual_;
    const double err_max = q_norm * r_max + q_res * (n_max + r_max) +
                           2 * rounding * (q_norm + q_res) * (n_max + r_max) + 1e-30;
    for (std::size_t r0 = 0; r0 < ids_.size(); r0 += kRowBlock) {
      const std::size_t n = std::min(kRowBlock, ids_.size() - r0);
      kernels::dot_rows_i8(q_codes.data(), shadow_.data() + r0 * dim_, n, dim_, raw.data());
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t row = r0 + i;
        const double approx = double(raw[i]) * q_scale * scales_[row];
        if (quick && approx + err_max < lower_top.floor()) continue;
        const double x_norm = std::sqrt(double(sq_norms_[row]));
        double err = q_norm * residuals_[row] + q_res * x_norm + q_res * residuals_[row] +
                     rounding * (q_norm * x_norm + std::abs(approx)) + 1e-30;
        if (metric_ == Metric::kL2) err += rounding * (double(q_sq) + sq_norms_[row]);
        const double lower = to_score(approx - err, row), upper = to_score(approx + err, row);
        float lower_f = float(lower);  // rounded down, so the k-th lower bound never overshoots
        if (double(lower_f) > lower)
          lower_f = std::nextafter(lower_f, -std::numeric_limits<float>::infinity());
        if (lower_f > lower_top.floor()) lower_top.push(Id(row), lower_f);
        if (upper >= lower_top.floor()) candidates.push_back({row, upper});
      }
    }
    // Pass 2: rescore with the float kernel, best upper bound first. The float floor of
    // lower_top may sit a rounding below the double bound; that only keeps extra candidates.
    const double floor = lower_top.floor();
    std::erase_if(candidates, [&](const Bound& b) { return b.upper < floor; });
    std::sort(candidates.begin(), candidates.end(),
              [](const Bound& a, const Bound& b) { return a.upper > b.upper; });
    for (const Bound& b : candidates) {
      if (b.upper < top.floor()) break;  // no remaining row can reach the top k
      float dot = 0;
      kernels::dot_rows(query.data(), codes_.data() + b.row * dim_, 1, dim_, &dot);
      collect(&dot, b.row, 1, q_sq, top);
    }
    return top.take();
  }

  // Turns inner products of rows [r0, r0 + n) into scores and offers them to top.
  void collect(float* dots, std::size_t r0, std::size_t n, float q_norm, TopK& top) const {
    if (metric_ == Metric::kL2) {
      for (std::size_t i = 0; i < n; ++i) {
        dots[i] = -std::sqrt(std::max(0.0f, q_norm + sq_norms_[r0 + i] - 2 * dots[i]));
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (dots[i] > top.floor()) top.push(ids_[r0 + i], dots[i]);
    }
  }

  std::size_t dim_;
  Metric metric_;
  std::vector<Code> codes_;                   // size() * dim_, row-major
  std::vector<float> scales_;                 // per-row scale of codes_ (int8) / shadow_ (float)
  std::vector<std::int8_t> shadow_;           // float only: int8 copy of the rows for pass 1
  std::vector<float> residuals_;              // float only: per-row |x - scale * shadow|
  float max_sq_norm_ = 0, max_residual_ = 0;  // float only: >= every row's (for pass 1)
  bool prefilter_;
  std::vector<float> sq_norms_;               // per-row squared norm of the original vector
  std::vector<Id> ids_;                       // per-row id
  std::unordered_map<Id, std::size_t> rows_;  // id -> row
};

}  // namespace

std::unique_ptr<SearchIndex> make_exact_float(std::size_t dim, Metric metric, bool prefilter) {
  return std::make_unique<ExactIndex<float>>(dim, metric, prefilter);
}
std::unique_ptr<SearchIndex> make_exact_int8(std::size_t dim, Metric metric) {
  return std::make_unique<ExactIndex<std::int8_t>>(dim, metric);
}

}  // namespace laneface::match::detail
