#pragma once
// models/manifest.toml: every model's file, pinned SHA-256, source package, input spec,
// normalisation, outputs and model-specific parameters. Code reads these; it does not
// repeat them as constants.
#include <cstdint>
#include <filesystem>
#include <map>
#include <opencv2/core/types.hpp>
#include <optional>
#include <string>
#include <vector>

namespace laneface::vision {

enum class ChannelOrder { kRgb, kBgr, kGray };

struct InputSpec {
  std::string name;  // input blob name
  int width = 0;
  int height = 0;
  ChannelOrder channels = ChannelOrder::kBgr;
  std::vector<double> mean;  // per channel, subtracted first
  double scale = 1.0;        // multiplied after the mean: (x - mean) * scale
};

// A file that a model needs besides its main one (e.g. a TF.js weights manifest), pinned the
// same way.
struct ModelFile {
  std::string file;     // file name under the models directory
  std::string sha256;   // pinned lower-case hex
  std::string package;  // key into Manifest::packages
  std::string source;   // path of the file inside the package tarball
};

struct ModelSpec {
  std::string id;
  std::string role;     // detector | landmarker | recognizer | eye | pose | liveness
  std::string file;     // file name under the models directory
  std::string sha256;   // pinned lower-case hex
  std::string package;  // key into Manifest::packages
  std::string source;   // path of the file inside the package tarball
  // How the net is built: empty = `file` is ONNX; "dlib_resnet29" = assembled from the TF.js
  // weights in `file` described by `weights_manifest`.
  std::string architecture;
  std::optional<ModelFile> weights_manifest;
  InputSpec input;
  std::vector<std::string> outputs;
  std::map<std::string, double> params;         // thresholds, sizes, …
  std::vector<cv::Point2f> alignment_template;  // recognizers: target points in input px
  // Indices into the 68 landmarks that land on alignment_template; empty = the 5 points.
  std::vector<int> alignment_landmarks;

  // Throws core::Error(kConfig) naming the model and key when missing.
  double param(const std::string& key) const;
  double param_or(const std::string& key, double fallback) const;
};

struct PackageSpec {
  std::string id;
  std::string npm;  // name@version
  std::string sha256;
  std::string license;
};

class Manifest {
 public:
  // Parses and validates. Throws core::Error(kConfig) naming the file, model and key.
  static Manifest load(const std::filesystem::path& path);

  const ModelSpec& model(const std::string& id) const;  // throws kNotFound naming the id
  const ModelSpec& model_for_role(const std::string& role) const;
  const std::map<std::string, ModelSpec>& models() const { return models_; }
  const std::map<std::string, PackageSpec>& packages() const { return packages_; }
  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path directory_;
  std::map<std::string, ModelSpec> models_;
  std::map<std::string, PackageSpec> packages_;
};

// Reads the model file, checks its SHA-256 against the manifest and returns its bytes.
// Throws core::Error(kNotFound) if missing (with the hint to run scripts/setup) and
// Error(kModelIntegrity) naming the file and both hashes on a mismatch.
std::vector<std::uint8_t> load_verified_model(const Manifest& manifest, const ModelSpec& spec);
// The same for any pinned file under the models directory.
std::vector<std::uint8_t> load_verified_file(const Manifest& manifest, const std::string& file,
                                             const std::string& sha256);

// The models directory: explicit argument, else $LANEFACE_MODELS, else the source tree's models/.
std::filesystem::path default_manifest_path();

}  // namespace laneface::vision
