#include "match/search_bench.hpp"

#include <omp.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "core/parallel.hpp"
#include "match/index_impl.hpp"
#include "match/kernels.hpp"

namespace laneface::match {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kClusters = 1024;
constexpr std::size_t kChunk = 4096;
constexpr float kClusterWeight = 0.5f;  // identity = 0.5 centre + 0.87 own direction
constexpr float kNoise = 1.0f;          // query = identity + noise of this norm: cosine ~0.71

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void random_unit(std::mt19937_64& rng, float* out, std::size_t dim) {
  std::normal_distribution<float> normal;
  double ss = 0;
  for (std::size_t d = 0; d < dim; ++d) {
    out[d] = normal(rng);
    ss += double(out[d]) * out[d];
  }
  const float inv = float(1 / std::sqrt(ss));
  for (std::size_t d = 0; d < dim; ++d) out[d] *= inv;
}

void normalise(float* v, std::size_t dim) {
  double ss = 0;
  for (std::size_t d = 0; d < dim; ++d) ss += double(v[d]) * v[d];
  const float inv = float(1 / std::sqrt(ss));
  for (std::size_t d = 0; d < dim; ++d) v[d] *= inv;
}

// The naive baseline: one heap vector per template and a single running sum per score.
Id naive_top1(const std::vector<std::vector<float>>& gallery, const float* query) {
  Id best = -1;
  float best_score = -1e30f;
  for (std::size_t i = 0; i < gallery.size(); ++i) {
    float s = 0;
    for (std::size_t d = 0; d < gallery[i].size(); ++d) s += gallery[i][d] * query[d];
    if (s > best_score) best_score = s, best = Id(i);
  }
  return best;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

// Runs fn(q) for q in [0, n) on one thread (FAISS too); returns wall ms per query, and in
// *cpu_ms the calling thread's CPU ms per query (robust when other processes share the cores).
template <class Fn>
double ms_per_query(std::size_t n, Fn&& fn, double* cpu_ms = nullptr) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto t0 = Clock::now();
  const double c0 = thread_cpu_ms();
  for (std::size_t q = 0; q < n; ++q) fn(q);
  if (cpu_ms) *cpu_ms = n ? (thread_cpu_ms() - c0) / double(n) : 0;
  omp_set_num_threads(saved);
  return n ? seconds_since(t0) * 1e3 / double(n) : 0;
}

double round3(double v) { return std::round(v * 1000) / 1000; }

}  // namespace

SyntheticSet make_synthetic(std::size_t size, std::size_t n_queries, std::size_t dim,
                            std::uint64_t seed, int threads) {
  SyntheticSet s;
  s.dim = dim;
  std::vector<float> centres(kClusters * dim);
  std::mt19937_64 rng(seed);
  for (std::size_t c = 0; c < kClusters; ++c) random_unit(rng, centres.data() + c * dim, dim);
  s.gallery.resize(size * dim);
  const float own = std::sqrt(1 - kClusterWeight * kClusterWeight);
  core::parallel_for((size + kChunk - 1) / kChunk, threads, [&](std::size_t chunk) {
    std::mt19937_64 r(seed * 1000003 + chunk + 1);
    for (std::size_t i = chunk * kChunk; i < std::min(size, (chunk + 1) * kChunk); ++i) {
      float* row = s.gallery.data() + i * dim;
      random_unit(r, row, dim);
      const float* centre = centres.data() + (r() % kClusters) * dim;
      for (std::size_t d = 0; d < dim; ++d) row[d] = kClusterWeight * centre[d] + own * row[d];
      normalise(row, dim);
    }
  });
  s.queries.resize(n_queries * dim);
  std::vector<float> noise(dim);
  for (std::size_t q = 0; q < n_queries; ++q) {
    const Id mate = Id(rng() % size);
    s.mates.push_back(mate);
    random_unit(rng, noise.data(), dim);
    float* query = s.queries.data() + q * dim;
    for (std::size_t d = 0; d < dim; ++d) query[d] = s.gallery[mate * dim + d] + kNoise * noise[d];
    normalise(query, dim);
  }
  return s;
}

nlohmann::json run_search_bench(const SearchBenchOptions& o,
                                const std::function<void(const std::string&)>& log) {
  nlohmann::json report = nlohmann::json::array();
  const std::size_t dim = o.dim, nq = o.queries;
  for (const std::size_t size : o.sizes) {
    auto t0 = Clock::now();
    const SyntheticSet data = make_synthetic(size, nq, dim, o.seed, o.threads);
    log("size " + std::to_string(size) + ": generated in " + std::to_string(seconds_since(t0)) +
        " s");
    std::vector<Id> ids(size);
    std::iota(ids.begin(), ids.end(), Id{0});
    auto query = [&](std::size_t q) {
      return std::span<const float>(data.queries).subspan(q * dim, dim);
    };
    const std::size_t timed = std::min(nq, o.timed_queries);

    nlohmann::json row{
        {"size", size}, {"dim", dim}, {"queries", nq}, {"avx2", kernels::has_avx2()}};
    std::vector<Id> truth(nq);  // exact float top-1 per query
    nlohmann::json indexes = nlohmann::json::array();
    for (const IndexKind kind :
         {IndexKind::kExactFloat, IndexKind::kExactInt8, IndexKind::kFaissIvf}) {
      auto index = create_index(kind, dim, Metric::kInnerProduct, o.faiss);
      t0 = Clock::now();
      index->add_batch(ids, data.gallery);
      nlohmann::json entry{{"kind", to_string(kind)},
                           {"build_s", round3(seconds_since(t0))},
                           {"memory_mb", round3(index->memory_bytes() / 1048576.0)}};
      auto recall = [&](const std::vector<std::vector<Hit>>& hits) {
        std::size_t same = 0;
        for (std::size_t q = 0; q < nq; ++q) same += !hits[q].empty() && hits[q][0].id == truth[q];
        return double(same) / double(nq);
      };
      if (kind == IndexKind::kFaissIvf) {
        nlohmann::json sweep = nlohmann::json::array();
        for (const int nprobe : o.nprobes) {
          index->set_search_breadth(nprobe);
          std::vector<std::vector<Hit>> hits(nq);
          const double ms =
              ms_per_query(nq, [&](std::size_t q) { hits[q] = index->search(query(q), 1); });
          sweep.push_back(
              {{"nprobe", nprobe}, {"ms_per_query", round3(ms)}, {"recall_at_1", recall(hits)}});
          log("  faiss_ivf nprobe " + std::to_string(nprobe) + ": " + std::to_string(ms) +
              " ms/query, recall@1 " + std::to_string(recall(hits)));
        }
        entry["nlist"] = o.faiss.nlist;
        entry["sweep"] = sweep;
        // The operating point: the fewest cells that reach 99 % recall@1 (else the most).
        nlohmann::json chosen = sweep.back();
        for (const auto& s : sweep) {
          if (s["recall_at_1"].get<double>() >= 0.99) {
            chosen = s;
            break;
          }
        }
        entry.update(chosen);
      } else {
        const auto hits = index->search_batch(data.queries, 1);
        if (kind == IndexKind::kExactFloat) {
          for (std::size_t q = 0; q < nq; ++q) truth[q] = hits[q].at(0).id;
          std::size_t mated = 0;
          for (std::size_t q = 0; q < nq; ++q) mated += truth[q] == data.mates[q];
          row["exact_top1_is_mate"] = double(mated) / double(nq);
          t0 = Clock::now();
          index->search_batch(std::span<const float>(data.queries).first(timed * dim), 1);
          entry["ms_per_query_batched"] = round3(seconds_since(t0) * 1e3 / double(timed));
        }
        entry["recall_at_1"] = recall(hits);
        std::vector<std::vector<Hit>> single(timed);
        double cpu = 0;
        entry["ms_per_query"] = round3(ms_per_query(
            timed, [&](std::size_t q) { single[q] = index->search(query(q), 1); }, &cpu));
        entry["cpu_ms_per_query"] = round3(cpu);
        if (kind == IndexKind::kExactFloat) {
          // The same float rows scanned in full, one query at a time (no int8 prefilter): the
          // prefiltered search must return the very same hit and score.
          auto full = detail::make_exact_float(dim, Metric::kInnerProduct, false);
          full->add_batch(ids, data.gallery);
          std::vector<std::vector<Hit>> plain(timed);
          entry["full_scan_ms_per_query"] = round3(ms_per_query(
              timed, [&](std::size_t q) { plain[q] = full->search(query(q), 1); }, &cpu));
          entry["full_scan_cpu_ms_per_query"] = round3(cpu);
          std::size_t same = 0;
          for (std::size_t q = 0; q < timed; ++q) {
            same +=
                plain[q].at(0).id == single[q].at(0).id && plain[q][0].score == single[q][0].score;
          }
          entry["single_query"] = "int8-bounded prefilter, float rescore (exact)";
          entry["prefilter_identical_to_full_scan"] = double(same) / double(timed);
        }
      }
      log("  " + entry.dump());
      indexes.push_back(entry);
    }
    row["indexes"] = indexes;
    if (size <= o.naive_max_size) {
      std::vector<std::vector<float>> naive(size);
      for (std::size_t i = 0; i < size; ++i)
        naive[i].assign(&data.gallery[i * dim], &data.gallery[(i + 1) * dim]);
      const std::size_t n = std::min<std::size_t>(timed, 50);
      std::size_t agree = 0;
      double naive_cpu = 0;
      const double ms = ms_per_query(
          n, [&](std::size_t q) { agree += naive_top1(naive, query(q).data()) == truth[q]; },
          &naive_cpu);
      const double exact_ms = indexes[0]["ms_per_query"].get<double>();
      row["naive_scalar"] = {{"ms_per_query", round3(ms)},
                             {"cpu_ms_per_query", round3(naive_cpu)},
                             {"agrees_with_exact", double(agree) / double(n)}};
      // The same ratios in CPU time of the searching thread (wall time suffers when other
      // processes share the cores; CPU time much less).
      row["cpu_exact_speedup_vs_naive"] =
          round3(naive_cpu / indexes[0]["cpu_ms_per_query"].get<double>());
      row["cpu_exact_full_scan_speedup_vs_naive"] =
          round3(naive_cpu / indexes[0]["full_scan_cpu_ms_per_query"].get<double>());
      row["cpu_exact_int8_speedup_vs_naive"] =
          round3(naive_cpu / indexes[1]["cpu_ms_per_query"].get<double>());
      row["exact_speedup_vs_naive"] = round3(ms / exact_ms);
      row["exact_full_scan_speedup_vs_naive"] =
          round3(ms / indexes[0]["full_scan_ms_per_query"].get<double>());
      row["exact_batched_speedup_vs_naive"] =
          round3(ms / indexes[0]["ms_per_query_batched"].get<double>());
      row["exact_int8_speedup_vs_naive"] = round3(ms / indexes[1]["ms_per_query"].get<double>());
      log("  naive scalar: " + std::to_string(ms) + " ms/query, exact " +
          std::to_string(ms / exact_ms) + "x faster");
    }
    report.push_back(row);
  }
  return report;
}

}  // namespace laneface::match
