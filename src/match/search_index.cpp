#include "match/search_index.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.hpp"

namespace laneface::match {

using core::Error;
using core::ErrorKind;

namespace {
constexpr std::array<std::string_view, 3> kKindNames{"exact_float", "exact_int8", "faiss_ivf"};
bool worse(const Hit& a, const Hit& b) { return a.score > b.score; }
}  // namespace

std::string_view to_string(Metric metric) {
  switch (metric) {
    case Metric::kL2:
      return "l2";
    case Metric::kFused:
      return "fused";
    case Metric::kInnerProduct:
      break;
  }
  return "inner_product";
}
std::string_view to_string(IndexKind kind) { return kKindNames.at(static_cast<std::size_t>(kind)); }

IndexKind parse_index_kind(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<IndexKind>(i);
  }
  throw Error(ErrorKind::kInvalidInput,
              "index kind '" + std::string(name) +
                  "': unknown (known: exact_float, exact_int8, faiss_ivf)");
}

void SearchIndex::check_vector(std::span<const float> vector, std::string_view what) const {
  if (vector.size() != dim()) {
    throw Error(ErrorKind::kInvalidInput,
                std::string(what) + ": has " + std::to_string(vector.size()) +
                    " values, the index holds " + std::to_string(dim()) + "-D vectors");
  }
  if (!std::all_of(vector.begin(), vector.end(), [](float v) { return std::isfinite(v); })) {
    throw Error(ErrorKind::kInvalidInput, std::string(what) + ": holds a value that is not finite");
  }
}

void SearchIndex::add_batch(std::span<const Id> ids, std::span<const float> vectors) {
  if (vectors.size() != ids.size() * dim()) {
    throw Error(ErrorKind::kInvalidInput, "add_batch: " + std::to_string(ids.size()) + " ids but " +
                                              std::to_string(vectors.size()) +
                                              " values (dimension " + std::to_string(dim()) + ")");
  }
  for (std::size_t i = 0; i < ids.size(); ++i) add(ids[i], vectors.subspan(i * dim(), dim()));
}

std::vector<std::vector<Hit>> SearchIndex::search_batch(std::span<const float> queries,
                                                        std::size_t k) const {
  std::vector<std::vector<Hit>> out;
  for (std::size_t q = 0; q + dim() <= queries.size(); q += dim())
    out.push_back(search(queries.subspan(q, dim()), k));
  return out;
}

void TopK::push(Id id, float score) {
  if (k_ == 0) return;
  if (heap_.size() < k_) {
    heap_.push_back({id, score});
    std::push_heap(heap_.begin(), heap_.end(), worse);
  } else if (score > heap_.front().score) {
    std::pop_heap(heap_.begin(), heap_.end(), worse);
    heap_.back() = {id, score};
    std::push_heap(heap_.begin(), heap_.end(), worse);
  }
}

std::vector<Hit> TopK::take() {
  std::sort(heap_.begin(), heap_.end(), [](const Hit& a, const Hit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  return std::move(heap_);
}

}  // namespace laneface::match

#include "match/index_impl.hpp"

namespace laneface::match {

std::unique_ptr<SearchIndex> create_index(IndexKind kind, std::size_t dim, Metric metric,
                                          const IndexOptions& options) {
  if (dim == 0) throw Error(ErrorKind::kInvalidInput, "create_index: dimension must be positive");
  if (metric == Metric::kFused) {
    throw Error(ErrorKind::kInvalidInput,
                "create_index: fused scores need their parts: use create_fused_index");
  }
  switch (kind) {
    case IndexKind::kExactFloat:
      return detail::make_exact_float(dim, metric);
    case IndexKind::kExactInt8:
      return detail::make_exact_int8(dim, metric);
    case IndexKind::kFaissIvf:
      return detail::make_faiss_ivf(dim, metric, options);
  }
  throw Error(ErrorKind::kInternal, "create_index: unhandled index kind");
}

}  // namespace laneface::match
