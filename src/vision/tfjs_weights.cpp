#include "vision/tfjs_weights.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace laneface::vision {
namespace {

using core::Error;
using core::ErrorKind;

std::string shape_string(const std::vector<int>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

TfjsWeights TfjsWeights::parse(std::string_view manifest_json, const std::string& manifest_name,
                               std::span<const std::uint8_t> bin, const std::string& bin_name) {
  TfjsWeights w;
  w.source_ = manifest_name;
  const auto invalid = [&](const std::string& problem) {
    return Error(ErrorKind::kInvalidInput, manifest_name + ": " + problem);
  };
  const auto corrupt = [&](const std::string& problem) {
    return Error(ErrorKind::kModelIntegrity, manifest_name + ": " + problem);
  };
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(manifest_json);
  } catch (const nlohmann::json::parse_error& e) {
    throw invalid(std::string("not valid JSON: ") + e.what());
  }
  const nlohmann::json& groups =
      root.is_object() && root.contains("weightsManifest") ? root["weightsManifest"] : root;
  if (!groups.is_array() || groups.empty()) {
    throw invalid("expected a non-empty array of weight groups (weightsManifest)");
  }
  std::size_t offset = 0;
  try {
    for (const auto& group : groups) {
      if (!group.is_object() || !group.contains("weights") || !group["weights"].is_array()) {
        throw invalid("a weight group has no 'weights' array");
      }
      for (const auto& entry : group["weights"]) {
        const std::string name = entry.at("name").get<std::string>();
        const std::string where = "tensor '" + name + "'";
        TfjsTensor t;
        t.shape = entry.at("shape").get<std::vector<int>>();
        std::size_t count = 1;
        for (int d : t.shape) {
          if (d <= 0) throw corrupt(where + " has shape " + shape_string(t.shape));
          count *= static_cast<std::size_t>(d);
        }
        const std::string dtype = entry.at("dtype").get<std::string>();
        if (dtype != "float32") throw invalid(where + " has unsupported dtype '" + dtype + "'");
        const bool quantized = entry.contains("quantization");
        double min = 0, scale = 1;
        if (quantized) {
          const auto& q = entry["quantization"];
          const std::string qtype = q.at("dtype").get<std::string>();
          if (qtype != "uint8") {
            throw invalid(where + " has unsupported quantization dtype '" + qtype + "'");
          }
          min = q.at("min").get<double>();
          scale = q.at("scale").get<double>();
        }
        const std::size_t bytes = count * (quantized ? 1 : sizeof(float));
        if (offset + bytes > bin.size()) {
          throw corrupt(where + " ends at byte " + std::to_string(offset + bytes) + " but " +
                        bin_name + " has only " + std::to_string(bin.size()) + " bytes");
        }
        t.values.resize(count);
        const std::uint8_t* p = bin.data() + offset;
        if (quantized) {
          for (std::size_t i = 0; i < count; ++i)
            t.values[i] = static_cast<float>(min + p[i] * scale);
        } else {
          std::memcpy(t.values.data(), p, bytes);  // little-endian float32, as TF.js writes it
        }
        offset += bytes;
        if (!w.tensors_.emplace(name, std::move(t)).second) throw corrupt(where + " appears twice");
        w.names_.push_back(name);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw invalid(std::string("malformed weight entry: ") + e.what());
  }
  if (offset != bin.size()) {
    throw corrupt("describes " + std::to_string(offset) + " bytes of weights but " + bin_name +
                  " has " + std::to_string(bin.size()));
  }
  return w;
}

const TfjsTensor& TfjsWeights::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw Error(ErrorKind::kModelIntegrity, source_ + ": no tensor '" + name + "'");
  }
  return it->second;
}

const TfjsTensor& TfjsWeights::get(const std::string& name, const std::vector<int>& shape) const {
  const TfjsTensor& t = get(name);
  if (t.shape != shape) {
    throw Error(ErrorKind::kModelIntegrity, source_ + ": tensor '" + name + "' has shape " +
                                                shape_string(t.shape) + ", expected " +
                                                shape_string(shape));
  }
  return t;
}

}  // namespace laneface::vision
