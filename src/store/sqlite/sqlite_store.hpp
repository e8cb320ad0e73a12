#pragma once
// The embedded SQLite store: WAL journal, foreign keys, synchronous=FULL (an acknowledged
// write is on disk), versioned migrations (schema_version), prepared statements only.
#include <memory>

#include "store/store.hpp"

namespace laneface::store::sqlite {

std::unique_ptr<Store> open_sqlite_store(const StoreConfig& config);

}  // namespace laneface::store::sqlite
