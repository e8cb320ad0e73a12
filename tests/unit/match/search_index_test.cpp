#include "match/search_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "match/kernels.hpp"
#include "match/search_bench.hpp"

namespace lm = laneface::match;
using laneface::core::Error;

namespace {

std::vector<float> random_rows(std::size_t n, std::size_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n * dim);
  for (auto& x : v) x = normal(rng);
  return v;
}

// Brute force in double: the reference every index is checked against.
std::vector<lm::Hit> brute_force(const std::vector<float>& rows, std::size_t dim, const float* q,
                                 std::size_t k, lm::Metric metric) {
  std::vector<lm::Hit> all;
  for (std::size_t r = 0; r * dim < rows.size(); ++r) {
    double s = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      const double a = rows[r * dim + d], b = q[d];
      s += metric == lm::Metric::kL2 ? (a - b) * (a - b) : a * b;
    }
    all.push_back({lm::Id(r), float(metric == lm::Metric::kL2 ? -std::sqrt(s) : s)});
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.score > b.score; });
  all.resize(std::min(k, all.size()));
  return all;
}

std::vector<lm::Id> iota_ids(std::size_t n) {
  std::vector<lm::Id> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = lm::Id(i);
  return ids;
}

}  // namespace

TEST(Kernels, BatchAndSingleAgreeWithScalar) {
  const std::size_t dim = 37, rows = 50, nq = 11;  // odd sizes exercise every tail
  const auto x = random_rows(rows, dim, 1), q = random_rows(nq, dim, 2);
  std::vector<float> single(rows), batch(nq * rows);
  lm::kernels::dot_rows_batch(q.data(), nq, x.data(), rows, dim, batch.data());
  for (std::size_t i = 0; i < nq; ++i) {
    lm::kernels::dot_rows(q.data() + i * dim, x.data(), rows, dim, single.data());
    for (std::size_t r = 0; r < rows; ++r) {
      double ref = 0;
      for (std::size_t d = 0; d < dim; ++d) ref += double(q[i * dim + d]) * x[r * dim + d];
      EXPECT_NEAR(single[r], ref, 1e-4);
      EXPECT_NEAR(batch[i * rows + r], ref, 1e-4);
    }
  }
}

class ExactIndexTest : public ::testing::TestWithParam<lm::Metric> {};

TEST_P(ExactIndexTest, FloatMatchesBruteForce) {
  const std::size_t dim = 40, n = 700, k = 5;
  const auto rows = random_rows(n, dim, 3), queries = random_rows(20, dim, 4);
  auto index = lm::create_index(lm::IndexKind::kExactFloat, dim, GetParam());
  index->add_batch(iota_ids(n), rows);
  const auto batched = index->search_batch(queries, k);
  for (std::size_t q = 0; q < 20; ++q) {
    const auto want = brute_force(rows, dim, &queries[q * dim], k, GetParam());
    const auto got = index->search(std::span(queries).subspan(q * dim, dim), k);
    ASSERT_EQ(got.size(), k);
    for (std::size_t i = 0; i < k; ++i) {
      EXPECT_EQ(got[i].id, want[i].id);
      EXPECT_NEAR(got[i].score, want[i].score, 1e-3);
      EXPECT_EQ(batched[q][i].id, want[i].id);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, ExactIndexTest,
                         ::testing::Values(lm::Metric::kInnerProduct, lm::Metric::kL2));

TEST(SearchIndex, Int8RecallCloseToFloat) {
  const auto set = lm::make_synthetic(5000, 200, 128, 11, 1);
  for (const auto metric : {lm::Metric::kInnerProduct, lm::Metric::kL2}) {
    auto exact = lm::create_index(lm::IndexKind::kExactFloat, 128, metric);
    auto int8 = lm::create_index(lm::IndexKind::kExactInt8, 128, metric);
    exact->add_batch(iota_ids(5000), set.gallery);
    int8->add_batch(iota_ids(5000), set.gallery);
    std::size_t same = 0;
    for (std::size_t q = 0; q < 200; ++q) {
      const auto query = std::span(set.queries).subspan(q * 128, 128);
      const auto a = exact->search(query, 1), b = int8->search(query, 1);
      same += a[0].id == b[0].id;
      EXPECT_NEAR(a[0].score, b[0].score, 0.02);
    }
    EXPECT_GE(same, 198u);
    EXPECT_LT(int8->memory_bytes(), exact->memory_bytes() / 2);
  }
}

TEST(SearchIndex, FaissIvfFindsTheMatesExactFinds) {
  lm::IndexOptions options;
  options.nlist = 16;
  options.nprobe =
      16;  // every cell: must agree with exact search; fewer cells are measured by bench search
  const auto set = lm::make_synthetic(3000, 100, 64, 5, 1);
  auto exact = lm::create_index(lm::IndexKind::kExactFloat, 64, lm::Metric::kInnerProduct);
  auto ivf = lm::create_index(lm::IndexKind::kFaissIvf, 64, lm::Metric::kInnerProduct, options);
  exact->add_batch(iota_ids(3000), set.gallery);
  // One at a time up to and past the training size (16 * 40 = 640), then in bulk.
  for (lm::Id i = 0; i < 700; ++i) ivf->add(i, std::span(set.gallery).subspan(i * 64, 64));
  const auto ids = iota_ids(3000);
  ivf->add_batch(std::span(ids).subspan(700), std::span(set.gallery).subspan(700 * 64));
  EXPECT_EQ(ivf->size(), 3000u);
  std::size_t same = 0;
  for (std::size_t q = 0; q < 100; ++q) {
    const auto query = std::span(set.queries).subspan(q * 64, 64);
    same += exact->search(query, 1)[0].id == ivf->search(query, 1)[0].id;
  }
  EXPECT_EQ(same, 100u);
  EXPECT_TRUE(ivf->remove(set.mates[0]));
  EXPECT_FALSE(ivf->remove(set.mates[0]));
  EXPECT_NE(ivf->search(std::span(set.queries).first(64), 1)[0].id, set.mates[0]);
  EXPECT_THROW(ivf->add(1, std::span(set.gallery).first(64)), Error);  // duplicate id
}

TEST(SearchIndex, RemoveDropsOnlyThatTemplate) {
  for (const auto kind :
       {lm::IndexKind::kExactFloat, lm::IndexKind::kExactInt8, lm::IndexKind::kFaissIvf}) {
    const std::size_t dim = 16;
    const auto rows = random_rows(10, dim, 9);
    auto index = lm::create_index(kind, dim, lm::Metric::kInnerProduct);
    index->add_batch(iota_ids(10), rows);
    const auto q3 = std::span(rows).subspan(3 * dim, dim);
    EXPECT_EQ(index->search(q3, 1)[0].id, 3);
    EXPECT_TRUE(index->remove(3));
    EXPECT_FALSE(index->remove(3));
    EXPECT_EQ(index->size(), 9u);
    for (const auto& hit : index->search(q3, 10)) EXPECT_NE(hit.id, 3);
    EXPECT_EQ(index->search(q3, 10).size(), 9u);
    // The row moved into the hole is still found by its own vector.
    EXPECT_EQ(index->search(std::span(rows).subspan(9 * dim, dim), 1)[0].id, 9)
        << lm::to_string(kind);
    index->add(3, q3);  // the id can come back
    EXPECT_EQ(index->search(q3, 1)[0].id, 3);
  }
}

TEST(SearchIndex, RejectsWrongDimensionDuplicatesAndNonFinite) {
  for (const auto kind :
       {lm::IndexKind::kExactFloat, lm::IndexKind::kExactInt8, lm::IndexKind::kFaissIvf}) {
    auto index = lm::create_index(kind, 4, lm::Metric::kInnerProduct);
    const std::vector<float> ok{1, 0, 0, 0}, short_one{1, 0, 0}, nan{1, NAN, 0, 0};
    index->add(1, ok);
    EXPECT_THROW(index->add(2, short_one), Error);
    EXPECT_THROW(index->add(3, nan), Error);
    EXPECT_THROW(index->add(1, ok), Error);
    EXPECT_THROW(index->search(short_one, 1), Error);
    EXPECT_EQ(index->size(), 1u);
  }
  EXPECT_THROW(lm::parse_index_kind("hnsw"), Error);
  EXPECT_EQ(lm::parse_index_kind("exact_int8"), lm::IndexKind::kExactInt8);
}
