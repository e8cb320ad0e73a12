#include "support/test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

namespace laneface::test {

std::filesystem::path source_root() { return LANEFACE_TEST_ROOT; }

std::filesystem::path manifest_path() {
  if (const char* env = std::getenv("LANEFACE_MODELS"); env && *env) {
    return std::filesystem::path(env) / "manifest.toml";
  }
  return source_root() / "models" / "manifest.toml";
}

bool models_present() {
  // Cheap check without parsing TOML: every `file = "..."` line names an existing file.
  std::ifstream in(manifest_path());
  if (!in) return false;
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    if (line.rfind("file = \"", 0) != 0) continue;
    const auto start = line.find('"') + 1;
    const auto end = line.find('"', start);
    if (!std::filesystem::exists(manifest_path().parent_path() / line.substr(start, end - start)))
      return false;
    any = true;
  }
  return any;
}

std::optional<std::filesystem::path> data_root() {
  if (const char* env = std::getenv("LANEFACE_DATA"); env && *env)
    return std::filesystem::path(env);
  return std::nullopt;
}

const vision::FaceEngine& shared_engine(const std::string& recognizer) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<vision::FaceEngine>> engines;
  std::lock_guard lock(mutex);
  auto& e = engines[recognizer];
  if (!e) {
    vision::EngineOptions options;
    options.manifest = manifest_path();
    options.recognizer = recognizer;
    e = std::make_unique<vision::FaceEngine>(options);
  }
  return *e;
}

std::filesystem::path sample_image(int n) {
  return source_root() / "var" / "samples" / ("sample" + std::to_string(n) + ".jpg");
}

}  // namespace laneface::test
