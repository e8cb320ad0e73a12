// Exact search over fused templates (search_index.hpp, create_fused_index). Each part's
// vectors live contiguously, row-major, so a query is one kernel scan per part over a block
// of rows, then the normalised part scores are summed per row:
//   inner product part: s = <q, x>
//   L2 part:            s = -sqrt(||q||^2 + ||x||^2 - 2 <q, x>)   (stored squared norms)
// The fused score is not an inner product of one vector (the L2 part is not linear in <q,x>),
// so no single-metric index can rank it exactly; this scan does, at the cost of a float scan
// of every part.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.hpp"
#include "match/kernels.hpp"
#include "match/search_index.hpp"

namespace laneface::match {
namespace {

using core::Error;
using core::ErrorKind;

constexpr std::size_t kRowBlock = 2048;

class FusedIndex final : public SearchIndex {
 public:
  explicit FusedIndex(std::vector<FusedPart> parts) : parts_(std::move(parts)) {
    if (parts_.size() < 2) {
      throw Error(ErrorKind::kInvalidInput,
                  "fused index: needs at least two parts, got " + std::to_string(parts_.size()));
    }
    for (const auto& p : parts_) {
      if (p.dim == 0 || p.metric == Metric::kFused || !(p.stddev > 0) || !std::isfinite(p.mean)) {
        throw Error(ErrorKind::kInvalidInput,
                    "fused index: each part needs a dimension, a single-model metric, a finite "
                    "mean and a positive stddev");
      }
      offset_.push_back(dim_);
      dim_ += p.dim;
    }
    rows_.resize(parts_.size());
    sq_norms_.resize(parts_.size());
  }

  std::size_t dim() const override { return dim_; }
  Metric metric() const override { return Metric::kFused; }
  std::size_t size() const override { return ids_.size(); }
  const std::vector<FusedPart>& parts() const { return parts_; }

  std::size_t memory_bytes() const override {
    std::size_t b = ids_.capacity() * sizeof(Id) +
                    row_of_.size() * (sizeof(Id) + sizeof(std::size_t) + 2 * sizeof(void*)) +
                    row_of_.bucket_count() * sizeof(void*);
    for (std::size_t p = 0; p < parts_.size(); ++p)
      b += (rows_[p].capacity() + sq_norms_[p].capacity()) * sizeof(float);
    return b;
  }

  void add(Id id, std::span<const float> v) override {
    check_vector(v, "template " + std::to_string(id));
    if (row_of_.count(id))
      throw Error(ErrorKind::kInvalidInput, "template " + std::to_string(id) + ": already added");
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const auto part = v.subspan(offset_[p], parts_[p].dim);
      rows_[p].insert(rows_[p].end(), part.begin(), part.end());
      sq_norms_[p].push_back(squared_norm(part));
    }
    row_of_.emplace(id, ids_.size());
    ids_.push_back(id);
  }

  bool remove(Id id) override {
    const auto it = row_of_.find(id);
    if (it == row_of_.end()) return false;
    const std::size_t row = it->second, last = ids_.size() - 1;
    row_of_.erase(it);
    if (row != last) {  // move the last row into the hole
      for (std::size_t p = 0; p < parts_.size(); ++p) {
        const std::size_t d = parts_[p].dim;
        std::copy_n(rows_[p].begin() + std::ptrdiff_t(last * d), d,
                    rows_[p].begin() + std::ptrdiff_t(row * d));
        sq_norms_[p][row] = sq_norms_[p][last];
      }
      ids_[row] = ids_[last];
      row_of_[ids_[row]] = row;
    }
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      rows_[p].resize(last * parts_[p].dim);
      sq_norms_[p].pop_back();
    }
    ids_.pop_back();
    return true;
  }

  std::vector<Hit> search(std::span<const float> query, std::size_t k) const override {
    check_vector(query, "query");
    TopK top(k);
    const std::size_t n = ids_.size();
    std::vector<float> dots(std::min(n, kRowBlock));
    std::vector<double> fused(dots.size());
    std::vector<float> q_sq(parts_.size());
    for (std::size_t p = 0; p < parts_.size(); ++p)
      q_sq[p] = squared_norm(query.subspan(offset_[p], parts_[p].dim));
    for (std::size_t start = 0; start < n; start += kRowBlock) {
      const std::size_t rows = std::min(kRowBlock, n - start);
      std::fill_n(fused.begin(), rows, 0.0);
      for (std::size_t p = 0; p < parts_.size(); ++p) {
        const FusedPart& part = parts_[p];
        kernels::dot_rows(query.data() + offset_[p], rows_[p].data() + start * part.dim, rows,
                          part.dim, dots.data());
        for (std::size_t r = 0; r < rows; ++r) {
          double s = dots[r];
          if (part.metric == Metric::kL2)
            s = -std::sqrt(std::max(0.0, double(q_sq[p]) + sq_norms_[p][start + r] - 2.0 * s));
          fused[r] += (s - part.mean) / part.stddev;
        }
      }
      for (std::size_t r = 0; r < rows; ++r) top.push(ids_[start + r], float(fused[r]));
    }
    return top.take();
  }

 private:
  static float squared_norm(std::span<const float> v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    return float(s);
  }

  std::vector<FusedPart> parts_;
  std::vector<std::size_t> offset_;
  std::size_t dim_ = 0;
  std::vector<std::vector<float>> rows_;      // per part, row-major
  std::vector<std::vector<float>> sq_norms_;  // per part, per row
  std::vector<Id> ids_;
  std::unordered_map<Id, std::size_t> row_of_;
};

}  // namespace

std::unique_ptr<SearchIndex> create_fused_index(std::vector<FusedPart> parts) {
  return std::make_unique<FusedIndex>(std::move(parts));
}

}  // namespace laneface::match
