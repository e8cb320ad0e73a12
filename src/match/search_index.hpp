#pragma once
// Nearest-template search behind one interface: exact float32 and int8 scans (the default)
// and a FAISS inverted-file index for large galleries. Scores follow Recognizer::compare:
// higher is more alike, so a calibrated threshold applies to every index alike.
//   kInnerProduct: <q, x>; on L2-normalised templates this is the cosine (fr_feature).
//   kL2:           -||q - x|| (dlib_resnet).
//   kFused:        a fused recognizer's score (create_fused_index): the sum over its parts of
//                  (part score - mean) / stddev, each part scored with its own metric.
// Thread-safety: const member functions (search) may run concurrently; add/remove need
// exclusive access.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace laneface::match {

using Id = std::int64_t;

enum class Metric { kInnerProduct, kL2, kFused };
enum class IndexKind { kExactFloat, kExactInt8, kFaissIvf };

std::string_view to_string(Metric metric);
std::string_view to_string(IndexKind kind);
// Throws core::Error(kInvalidInput) naming the unknown name and the known ones.
IndexKind parse_index_kind(std::string_view name);

struct Hit {
  Id id = 0;
  float score = 0;
};

struct IndexOptions {
  // kFaissIvf: inverted lists (cells) and cells visited per query. Until
  // kTrainPerList * nlist vectors have been added the index searches them exactly; the
  // first vectors past that train the cells.
  int nlist = 1024;
  int nprobe = 32;
};
inline constexpr int kTrainPerList = 40;

class SearchIndex {
 public:
  virtual ~SearchIndex() = default;
  virtual std::size_t dim() const = 0;
  virtual Metric metric() const = 0;

  // Throws core::Error(kInvalidInput) for a vector of another dimension, a non-finite
  // value, or an id already present; nothing is added then.
  virtual void add(Id id, std::span<const float> vector) = 0;
  // ids.size() vectors, row-major. Same checks as add; faster for bulk loads.
  virtual void add_batch(std::span<const Id> ids, std::span<const float> vectors);
  // False when the id is not present.
  virtual bool remove(Id id) = 0;

  // The k best (highest score first; fewer when the index holds fewer). Throws
  // core::Error(kInvalidInput) for a query of another dimension.
  virtual std::vector<Hit> search(std::span<const float> query, std::size_t k) const = 0;
  // queries.size() / dim() queries, row-major: one result list each.
  virtual std::vector<std::vector<Hit>> search_batch(std::span<const float> queries,
                                                     std::size_t k) const;

  // Approximate indexes: how many cells a search visits (FAISS nprobe). Exact ones ignore it.
  virtual void set_search_breadth(int /*breadth*/) {}

  virtual std::size_t size() const = 0;
  // Bytes held for vectors, ids and index structures (not allocator slack).
  virtual std::size_t memory_bytes() const = 0;

 protected:
  void check_vector(std::span<const float> vector, std::string_view what) const;
};

// Requires dim > 0 and a single-model metric (not kFused).
std::unique_ptr<SearchIndex> create_index(IndexKind kind, std::size_t dim, Metric metric,
                                          const IndexOptions& options = {});

// One model of a fused score: its templates' length, metric (kInnerProduct or kL2) and the
// z-normalisation of its scores (vision::FusionParams).
struct FusedPart {
  std::size_t dim = 0;
  Metric metric = Metric::kInnerProduct;
  double mean = 0;
  double stddev = 1;
};

// Exact search over fused templates (the parts' templates concatenated in part order): each
// query scores every stored template part by part with the kernels and sums the normalised
// part scores, so hits and scores are those of the fused recognizer's compare (to float
// rounding). Throws core::Error(kInvalidInput) for fewer than two parts, a zero dimension, a
// kFused part or a stddev that is not positive.
std::unique_ptr<SearchIndex> create_fused_index(std::vector<FusedPart> parts);

// Keeps the k highest-scoring hits seen.
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }
  float floor() const {
    return heap_.size() < k_ ? -std::numeric_limits<float>::infinity() : heap_.front().score;
  }
  void push(Id id, float score);
  std::vector<Hit> take();  // best first

 private:
  std::size_t k_;
  std::vector<Hit> heap_;  // min-heap on score
};

}  // namespace laneface::match
