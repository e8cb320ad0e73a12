#pragma once
// A temporary folder with a store in it, a fake clock and a known key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace laneface::store::test {

inline TimePoint at(const char* iso) { return parse_time(iso).value(); }

inline Document passport(const std::string& number, Citizenship c) {
  Document d;
  d.type = DocumentType::kPassport;
  d.number = number;
  d.country = c == Citizenship::kUs ? "USA" : "MEX";
  d.holder_name = "Holder " + number;
  d.date_of_birth = parse_date("1980-02-29").value();
  d.citizenship = c;
  if (c == Citizenship::kNonUs) d.admitted_until = parse_date("2030-01-01");
  return d;
}

inline core::Template make_template(int dim, float base, const std::string& model = "m4") {
  core::Template t{model, {}};
  for (int i = 0; i < dim; ++i) t.values.push_back(base + 0.125f * i);
  return t;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("laneface_store_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = dir_ / "laneface.db";
    key_ = Key::parse(std::string(64, 'a'), "test key");
    clock_ = std::make_shared<FakeClock>(at("2024-05-01T08:00:00Z"));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  StoreConfig config(std::optional<Key> key) const {
    StoreConfig c;
    c.path = db_;
    c.key = std::move(key);
    c.clock = clock_;
    return c;
  }
  std::unique_ptr<Store> open() const { return open_store(config(key_)); }

  std::string file_bytes(const std::filesystem::path& p) const {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::filesystem::path dir_, db_;
  std::optional<Key> key_;
  std::shared_ptr<FakeClock> clock_;
};

}  // namespace laneface::store::test
