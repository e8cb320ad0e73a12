#pragma once
// TF.js "layers" weights: a JSON weights manifest (groups of {paths, weights: [{name, shape,
// dtype, quantization?}]}) and the binary shards it describes. Tensors are stored one after
// another: quantized ones as uint8 (value = min + q * scale), the others as float32, so each
// tensor's byte offset follows the sizes of the ones before it.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace laneface::vision {

struct TfjsTensor {
  std::vector<int> shape;
  std::vector<float> values;  // dequantized, row-major in `shape`
};

class TfjsWeights {
 public:
  // Parses the manifest text (a bare array of groups, or an object with "weightsManifest") and
  // the bytes of all its shards concatenated in manifest order. `manifest_name` and `bin_name`
  // name the files in messages. Throws core::Error(kInvalidInput) when the JSON is malformed or
  // uses an unknown dtype, and Error(kModelIntegrity) when names repeat, a shape is invalid or
  // the byte count differs from what the manifest describes.
  static TfjsWeights parse(std::string_view manifest_json, const std::string& manifest_name,
                           std::span<const std::uint8_t> bin, const std::string& bin_name);

  // The tensor `name`; throws core::Error(kModelIntegrity) naming the file and the tensor when
  // it is absent or (for the second overload) its shape is not `shape`.
  const TfjsTensor& get(const std::string& name) const;
  const TfjsTensor& get(const std::string& name, const std::vector<int>& shape) const;
  bool contains(const std::string& name) const { return tensors_.contains(name); }
  // Tensor names in manifest order.
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::string source_;  // manifest file name, for messages
  std::vector<std::string> names_;
  std::map<std::string, TfjsTensor> tensors_;
};

}  // namespace laneface::vision
