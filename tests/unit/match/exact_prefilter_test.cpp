// The exact float index answers single queries with an int8-bounded prefilter and a float
// rescore (src/match/exact_index.cpp). It must return exactly what a plain full float scan
// returns: the same ids in the same order with bit-identical scores.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "match/index_impl.hpp"
#include "match/search_index.hpp"

namespace lm = laneface::match;

namespace {

// Rows in tight clusters (many near-ties around every query) with norms from 0.2 to 5.
std::vector<float> clustered_rows(std::size_t n, std::size_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> norm(0.2f, 5.0f);
  const std::size_t clusters = 16;
  std::vector<float> centres(clusters * dim);
  for (auto& x : centres) x = normal(rng);
  std::vector<float> v(n * dim);
  for (std::size_t r = 0; r < n; ++r) {
    const float* c = centres.data() + (r % clusters) * dim;
    const float spread = r % 3 == 0 ? 1e-3f : 0.05f;  // a third are near-duplicates
    double ss = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      v[r * dim + d] = c[d] + spread * normal(rng);
      ss += double(v[r * dim + d]) * v[r * dim + d];
    }
    const float scale = norm(rng) / float(std::sqrt(ss));
    for (std::size_t d = 0; d < dim; ++d) v[r * dim + d] *= scale;
  }
  return v;
}

void expect_identical(const std::vector<lm::Hit>& a, const std::vector<lm::Hit>& b,
                      const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id) << what << " rank " << i;
    EXPECT_EQ(a[i].score, b[i].score) << what << " rank " << i;  // bit-identical
  }
}

class PrefilterTest : public ::testing::TestWithParam<lm::Metric> {};

TEST_P(PrefilterTest, IdenticalToFullScanOnClusteredNearDuplicates) {
  const lm::Metric metric = GetParam();
  for (const std::size_t dim : {std::size_t(128), std::size_t(512), std::size_t(37)}) {
    const std::size_t n = 3000;
    const auto rows = clustered_rows(n, dim, 7 + unsigned(dim));
    auto fast = lm::detail::make_exact_float(dim, metric, true);
    auto full = lm::detail::make_exact_float(dim, metric, false);
    std::vector<lm::Id> ids(n);
    std::iota(ids.begin(), ids.end(), lm::Id{100});
    fast->add_batch(ids, rows);
    full->add_batch(ids, rows);
    // Remove some rows (the last row moves into each hole) from both.
    for (lm::Id id = 100; id < 100 + lm::Id(n); id += 7) {
      ASSERT_TRUE(fast->remove(id));
      ASSERT_TRUE(full->remove(id));
    }
    // Queries: stored rows themselves (exact duplicates), perturbed rows and random vectors.
    const auto others = clustered_rows(60, dim, 99 + unsigned(dim));
    for (std::size_t q = 0; q < 60; ++q) {
      std::vector<float> query(others.begin() + q * dim, others.begin() + (q + 1) * dim);
      if (q % 3 == 0)
        query.assign(rows.begin() + (q * 11 + 1) * dim, rows.begin() + (q * 11 + 2) * dim);
      for (const std::size_t k : {std::size_t(1), std::size_t(5), std::size_t(40)}) {
        expect_identical(fast->search(query, k), full->search(query, k),
                         "dim " + std::to_string(dim) + " query " + std::to_string(q) + " k " +
                             std::to_string(k));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, PrefilterTest,
                         ::testing::Values(lm::Metric::kInnerProduct, lm::Metric::kL2));

TEST(Prefilter, SmallAndEmptyIndexes) {
  auto fast = lm::detail::make_exact_float(4, lm::Metric::kInnerProduct, true);
  const std::vector<float> q{1, 0, 0, 0};
  EXPECT_TRUE(fast->search(q, 3).empty());
  fast->add(1, std::vector<float>{0, 0, 0, 0});  // a zero vector: scale 1, no residual
  fast->add(2, std::vector<float>{0.5f, 0.5f, 0, 0});
  const auto hits = fast->search(q, 5);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, 2);
  EXPECT_FLOAT_EQ(hits[0].score, 0.5f);
  EXPECT_EQ(hits[1].id, 1);
  EXPECT_TRUE(fast->search(q, 0).empty());
}

}  // namespace
