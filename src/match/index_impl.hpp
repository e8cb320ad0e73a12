#pragma once
// Constructors of the SearchIndex implementations, for create_index (not a public header).
#include "match/search_index.hpp"

namespace laneface::match::detail {

std::unique_ptr<SearchIndex> make_exact_float(std::size_t dim, Metric metric);
std::unique_ptr<SearchIndex> make_exact_int8(std::size_t dim, Metric metric);
std::unique_ptr<SearchIndex> make_faiss_ivf(std::size_t dim, Metric metric,
                                            const IndexOptions& options);

}  // namespace laneface::match::detail
