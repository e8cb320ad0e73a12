#include "store/store.hpp"

#include "core/error.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace laneface::store {

std::unique_ptr<Store> open_store(const StoreConfig& config) {
  if (config.backend == "sqlite") return sqlite::open_sqlite_store(config);
  throw core::Error(core::ErrorKind::kConfig,
                    "store backend '" + config.backend + "' is not known (known: sqlite)");
}

}  // namespace laneface::store
