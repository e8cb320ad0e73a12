#pragma once
// The SQLite schema as ordered migrations: migration i (0-based) brings the schema to
// version i + 1. Append new migrations; never edit one that has shipped.
#include <span>
#include <string_view>

namespace laneface::store::sqlite {

std::span<const std::string_view> migrations();

}  // namespace laneface::store::sqlite
