#include "vision/manifest.hpp"

#include <toml++/toml.h>

#include <cstdlib>

#include "core/error.hpp"
#include "core/toml_file.hpp"
#include "vision/sha256.hpp"

namespace laneface::vision {
namespace {

using core::Error;
using core::ErrorKind;

[[noreturn]] void bad(const std::filesystem::path& path, const std::string& where,
                      const std::string& problem) {
  throw Error(ErrorKind::kConfig, path.string() + ": " + where + ": " + problem);
}

std::string req_string(const toml::table& t, const std::string& key,
                       const std::filesystem::path& path, const std::string& where) {
  const auto v = t[key].value<std::string>();
  if (!v || v->empty()) bad(path, where, "missing string key '" + key + "'");
  return *v;
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

ChannelOrder parse_channels(const std::string& s, const std::filesystem::path& path,
                            const std::string& where) {
  if (s == "rgb") return ChannelOrder::kRgb;
  if (s == "bgr") return ChannelOrder::kBgr;
  if (s == "gray") return ChannelOrder::kGray;
  bad(path, where, "channel_order must be rgb, bgr or gray, not '" + s + "'");
}

}  // namespace

double ModelSpec::param(const std::string& key) const {
  const auto it = params.find(key);
  if (it == params.end()) {
    throw Error(ErrorKind::kConfig, "model " + id + ": manifest has no parameter '" + key + "'");
  }
  return it->second;
}

double ModelSpec::param_or(const std::string& key, double fallback) const {
  const auto it = params.find(key);
  return it == params.end() ? fallback : it->second;
}

Manifest Manifest::load(const std::filesystem::path& path) {
  Manifest m;
  m.path_ = path;
  m.directory_ = path.parent_path();
  const toml::table root = core::read_toml_file(path, "model manifest");
  if (const auto* packages = root["packages"].as_table()) {
    for (const auto& [key, node] : *packages) {
      const std::string where = "packages." + std::string(key.str());
      const auto* t = node.as_table();
      if (!t) bad(path, where, "must be a table");
      PackageSpec p{std::string(key.str()), req_string(*t, "npm", path, where),
                    req_string(*t, "sha256", path, where),
                    t->get("license") ? (*t)["license"].value_or(std::string{}) : ""};
      if (!is_hex64(p.sha256)) bad(path, where, "sha256 must be 64 lower-case hex digits");
      m.packages_.emplace(p.id, p);
    }
  }
  const auto* models = root["models"].as_table();
  if (!models || models->empty()) bad(path, "models", "no [models.*] tables");
  for (const auto& [key, node] : *models) {
    const std::string where = "models." + std::string(key.str());
    const auto* t = node.as_table();
    if (!t) bad(path, where, "must be a table");
    ModelSpec s;
    s.id = std::string(key.str());
    s.role = req_string(*t, "role", path, where);
    s.file = req_string(*t, "file", path, where);
    s.sha256 = req_string(*t, "sha256", path, where);
    if (!is_hex64(s.sha256)) bad(path, where, "sha256 must be 64 lower-case hex digits");
    s.package = req_string(*t, "package", path, where);
    if (!m.packages_.contains(s.package)) bad(path, where, "unknown package '" + s.package + "'");
    s.source = req_string(*t, "source", path, where);
    s.architecture = (*t)["architecture"].value_or(std::string{});
    if (const auto* wm = (*t)["weights_manifest"].as_table()) {
      const std::string ww = where + ".weights_manifest";
      ModelFile f{req_string(*wm, "file", path, ww), req_string(*wm, "sha256", path, ww),
                  req_string(*wm, "package", path, ww), req_string(*wm, "source", path, ww)};
      if (!is_hex64(f.sha256)) bad(path, ww, "sha256 must be 64 lower-case hex digits");
      if (!m.packages_.contains(f.package)) bad(path, ww, "unknown package '" + f.package + "'");
      s.weights_manifest = std::move(f);
    }
    const auto* in = (*t)["input"].as_table();
    if (!in) bad(path, where, "missing [input] table");
    const std::string iw = where + ".input";
    s.input.name = (*in)["name"].value_or(std::string{});
    s.input.width = (*in)["width"].value_or(0);
    s.input.height = (*in)["height"].value_or(0);
    if (s.input.width <= 0 || s.input.height <= 0) bad(path, iw, "width and height must be > 0");
    s.input.channels = parse_channels(req_string(*in, "channel_order", path, iw), path, iw);
    if (const auto* mean = (*in)["mean"].as_array()) {
      for (const auto& v : *mean) s.input.mean.push_back(v.value_or(0.0));
    }
    const std::size_t want = s.input.channels == ChannelOrder::kGray ? 1 : 3;
    if (s.input.mean.size() != want) {
      bad(path, iw, "mean must have " + std::to_string(want) + " values");
    }
    s.input.scale = (*in)["scale"].value_or(0.0);
    if (!(s.input.scale > 0)) bad(path, iw, "scale must be > 0");
    if (const auto* outs = (*t)["outputs"].as_array()) {
      for (const auto& v : *outs) s.outputs.push_back(v.value_or(std::string{}));
    }
    if (s.outputs.empty()) bad(path, where, "outputs must list the output blob names");
    if (const auto* params = (*t)["params"].as_table()) {
      for (const auto& [pk, pv] : *params) {
        const auto d = pv.value<double>();
        if (!d)
          bad(path, where + ".params",
              std::string("'") + std::string(pk.str()) + "' must be a number");
        s.params.emplace(std::string(pk.str()), *d);
      }
    }
    if (const auto* tmpl = (*t)["alignment_template"].as_array()) {
      for (const auto& p : *tmpl) {
        const auto* xy = p.as_array();
        if (!xy || xy->size() != 2) bad(path, where, "alignment_template holds [x, y] pairs");
        s.alignment_template.emplace_back(static_cast<float>((*xy)[0].value_or(0.0)),
                                          static_cast<float>((*xy)[1].value_or(0.0)));
      }
    }
    if (const auto* idx = (*t)["alignment_landmarks"].as_array()) {
      for (const auto& v : *idx) {
        const auto i = v.value<int64_t>();
        if (!i || *i < 0 || *i >= 68) bad(path, where, "alignment_landmarks holds indices 0..67");
        s.alignment_landmarks.push_back(static_cast<int>(*i));
      }
      if (s.alignment_landmarks.size() != s.alignment_template.size()) {
        bad(path, where, "alignment_landmarks and alignment_template differ in length");
      }
    }
    m.models_.emplace(s.id, std::move(s));
  }
  return m;
}

const ModelSpec& Manifest::model(const std::string& id) const {
  const auto it = models_.find(id);
  if (it == models_.end()) {
    throw Error(ErrorKind::kNotFound, path_.string() + ": no model '" + id + "'");
  }
  return it->second;
}

const ModelSpec& Manifest::model_for_role(const std::string& role) const {
  for (const auto& [id, spec] : models_) {
    if (spec.role == role) return spec;
  }
  throw Error(ErrorKind::kNotFound, path_.string() + ": no model with role '" + role + "'");
}

std::vector<std::uint8_t> load_verified_model(const Manifest& manifest, const ModelSpec& spec) {
  return load_verified_file(manifest, spec.file, spec.sha256);
}

std::vector<std::uint8_t> load_verified_file(const Manifest& manifest, const std::string& name,
                                             const std::string& sha256) {
  const auto file = manifest.directory() / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw Error(ErrorKind::kNotFound,
                file.string() + ": model file missing (run scripts/setup to fetch the models)");
  }
  auto bytes = read_file_bytes(file);
  const std::string actual = sha256_hex(bytes);
  if (actual != sha256) {
    throw Error(ErrorKind::kModelIntegrity, file.string() + ": SHA-256 mismatch, expected " +
                                                sha256 + ", found " + actual +
                                                "; refusing to load it");
  }
  return bytes;
}

std::filesystem::path default_manifest_path() {
  if (const char* env = std::getenv("LANEFACE_MODELS"); env && *env) {
    return std::filesystem::path(env) / "manifest.toml";
  }
  return std::filesystem::path(LANEFACE_SOURCE_ROOT) / "models" / "manifest.toml";
}

}  // namespace laneface::vision
