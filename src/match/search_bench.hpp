#pragma once
// `laneface bench search`: synthetic galleries, every index kind, speed and recall.
// Templates are L2-normalised and clustered (each identity leans towards one of 1024
// cluster centres, so impostors in a cluster score about 0.25); a query is a noisy copy of
// a gallery entry (genuine cosine about 0.7), as a real probe is of its enrolment.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "match/search_index.hpp"

namespace laneface::match {

struct SyntheticSet {
  std::size_t dim = 0;
  std::vector<float> gallery;  // size x dim, row-major; row i has id i
  std::vector<float> queries;  // n_queries x dim
  std::vector<Id> mates;       // the gallery row each query was copied from
};

SyntheticSet make_synthetic(std::size_t size, std::size_t n_queries, std::size_t dim,
                            std::uint64_t seed, int threads);

struct SearchBenchOptions {
  std::vector<std::size_t> sizes{100000, 1000000};
  std::size_t dim = 512;
  std::size_t queries = 1000;
  std::size_t timed_queries = 200;      // single-query timing of the exact scans (the slow ones)
  std::size_t naive_max_size = 100000;  // the naive scalar baseline runs at sizes up to this
  IndexOptions faiss;
  std::vector<int> nprobes{8, 16, 32, 64};
  int threads = 2;  // data generation and index building; every search runs on one core
  std::uint64_t seed = 7;
};

// Returns the report (one object per size); `log` receives human-readable progress lines.
nlohmann::json run_search_bench(const SearchBenchOptions& options,
                                const std::function<void(const std::string&)>& log);

}  // namespace laneface::match
