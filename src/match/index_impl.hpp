#pragma once
// Constructors of the SearchIndex implementations, for create_index (not a public header).
#include "match/search_index.hpp"

namespace laneface::match::detail {

// prefilter (default): single queries run the int8-bounded two-pass scan (exact_index.cpp);
// false: a plain full float scan (tests and the benchmark compare the two).
std::unique_ptr<SearchIndex> make_exact_float(std::size_t dim, Metric metric,
                                              bool prefilter = true);
std::unique_ptr<SearchIndex> make_exact_int8(std::size_t dim, Metric metric);
std::unique_ptr<SearchIndex> make_faiss_ivf(std::size_t dim, Metric metric,
                                            const IndexOptions& options);

}  // namespace laneface::match::detail
