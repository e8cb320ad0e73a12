// FAISS inverted-file index (IndexIVFFlat): k-means cells over the gallery, a query scans
// the nprobe cells nearest to it. Chosen over HNSW because it supports remove_ids (retention
// must drop templates) and builds a 1M x 512 gallery in ~20 s on two cores (bench search);
// an HNSW graph of that size was not measured here but costs many distance evaluations per
// insert. Until kTrainPerList * nlist vectors are present the
// vectors sit in a flat (exact) FAISS index; the vector that reaches that count trains the
// cells and moves everything into the IVF index.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>

#include <cmath>
#include <unordered_set>

#include "core/error.hpp"
#include "match/index_impl.hpp"

namespace laneface::match::detail {
namespace {

using core::Error;
using core::ErrorKind;
using FaissId = faiss::Index::idx_t;

class FaissIvfIndex final : public SearchIndex {
 public:
  FaissIvfIndex(std::size_t dim, Metric metric, const IndexOptions& options)
      : dim_(dim), metric_(metric), options_(options) {
    if (options.nlist < 1 || options.nprobe < 1) {
      throw Error(ErrorKind::kConfig, "faiss_ivf: nlist and nprobe must be positive");
    }
    index_ = std::make_unique<faiss::IndexIDMap2>(new faiss::IndexFlat(dim, faiss_metric()));
    static_cast<faiss::IndexIDMap2*>(index_.get())->own_fields = true;
  }

  std::size_t dim() const override { return dim_; }
  Metric metric() const override { return metric_; }
  std::size_t size() const override { return static_cast<std::size_t>(index_->ntotal); }
  void set_search_breadth(int breadth) override {
    options_.nprobe = std::max(1, breadth);
    if (auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index_.get())) ivf->nprobe = options_.nprobe;
  }

  std::size_t memory_bytes() const override {
    const std::size_t cells = trained() ? std::size_t(options_.nlist) * dim_ * sizeof(float) : 0;
    return size() * (dim_ * sizeof(float) + sizeof(FaissId)) + cells +
           ids_.size() * (sizeof(Id) + 2 * sizeof(void*)) + ids_.bucket_count() * sizeof(void*);
  }

  void add(Id id, std::span<const float> v) override { add_batch(std::span(&id, 1), v); }

  void add_batch(std::span<const Id> ids, std::span<const float> vectors) override {
    if (vectors.size() != ids.size() * dim_)
      SearchIndex::add_batch(ids, vectors);  // throws the message
    std::unordered_set<Id> fresh;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      check_vector(vectors.subspan(i * dim_, dim_), "template " + std::to_string(ids[i]));
      if (ids_.count(ids[i]) || !fresh.insert(ids[i]).second) {
        throw Error(ErrorKind::kInvalidInput,
                    "template " + std::to_string(ids[i]) + ": already in the index");
      }
    }
    std::size_t done = 0;
    while (done < ids.size() && !trained()) {  // fill the flat index up to the training size
      const std::size_t n = std::min(ids.size() - done, train_size() - size());
      faiss_call([&] { index_->add_with_ids(n, vectors.data() + done * dim_, ids.data() + done); });
      done += n;
      if (size() >= train_size()) train();
    }
    if (done < ids.size()) {
      faiss_call([&] {
        index_->add_with_ids(ids.size() - done, vectors.data() + done * dim_, ids.data() + done);
      });
    }
    ids_.insert(fresh.begin(), fresh.end());
  }

  bool remove(Id id) override {
    if (!ids_.count(id)) return false;
    const FaissId one = id;
    faiss_call([&] { index_->remove_ids(faiss::IDSelectorArray(1, &one)); });
    ids_.erase(id);
    return true;
  }

  std::vector<Hit> search(std::span<const float> query, std::size_t k) const override {
    check_vector(query, "query");
    return std::move(search_many(query, k).front());
  }

  std::vector<std::vector<Hit>> search_batch(std::span<const float> queries,
                                             std::size_t k) const override {
    for (std::size_t q = 0; q + dim_ <= queries.size(); q += dim_)
      check_vector(queries.subspan(q, dim_), "query");
    return search_many(queries, k);
  }

 private:
  faiss::MetricType faiss_metric() const {
    return metric_ == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  }
  bool trained() const { return dynamic_cast<const faiss::IndexIVFFlat*>(index_.get()) != nullptr; }
  std::size_t train_size() const { return std::size_t(kTrainPerList) * options_.nlist; }

  template <class Fn>
  static void faiss_call(Fn&& fn) {
    try {
      fn();
    } catch (const faiss::FaissException& e) {
      throw Error(ErrorKind::kInternal, std::string("faiss: ") + e.what());
    }
  }

  void train() {
    auto* flat_map = static_cast<faiss::IndexIDMap2*>(index_.get());
    const auto* flat = static_cast<const faiss::IndexFlat*>(flat_map->index);
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(new faiss::IndexFlat(dim_, faiss_metric()),
                                                     dim_, options_.nlist, faiss_metric());
    ivf->own_fields = true;
    ivf->nprobe = options_.nprobe;
    faiss_call([&] {
      ivf->train(flat->ntotal, flat->get_xb());
      ivf->add_with_ids(flat->ntotal, flat->get_xb(), flat_map->id_map.data());
    });
    index_ = std::move(ivf);
  }

  std::vector<std::vector<Hit>> search_many(std::span<const float> queries, std::size_t k) const {
    const std::size_t nq = queries.size() / dim_;
    std::vector<std::vector<Hit>> out(nq);
    if (k == 0 || size() == 0) return out;
    k = std::min(k, size());
    std::vector<float> distances(nq * k);
    std::vector<FaissId> labels(nq * k);
    faiss_call([&] { index_->search(nq, queries.data(), k, distances.data(), labels.data()); });
    for (std::size_t q = 0; q < nq; ++q) {
      for (std::size_t j = 0; j < k; ++j) {
        const FaissId label = labels[q * k + j];
        if (label < 0) break;  // fewer than k in the visited cells
        const float d = distances[q * k + j];
        out[q].push_back({label, metric_ == Metric::kL2 ? -std::sqrt(std::max(0.0f, d)) : d});
      }
    }
    return out;
  }

  std::size_t dim_;
  Metric metric_;
  IndexOptions options_;
  std::unique_ptr<faiss::Index> index_;  // IndexIDMap2(IndexFlat) until trained, then IndexIVFFlat
  std::unordered_set<Id> ids_;
};

}  // namespace

std::unique_ptr<SearchIndex> make_faiss_ivf(std::size_t dim, Metric metric,
                                            const IndexOptions& options) {
  return std::make_unique<FaissIvfIndex>(dim, metric, options);
}

}  // namespace laneface::match::detail
