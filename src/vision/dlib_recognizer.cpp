#include "vision/dlib_recognizer.hpp"

#include <cmath>
#include <set>

#include "core/error.hpp"
#include "vision/preprocess.hpp"

namespace laneface::vision {
namespace {

using core::Error;
using core::ErrorKind;

// A layer output and its NCHW shape (batch 1).
struct Node {
  int id = 0;
  int c = 0, h = 0, w = 0;
};

class ResNetBuilder {
 public:
  explicit ResNetBuilder(const TfjsWeights& weights) : weights_(weights) {}

  cv::dnn::Net build(const InputSpec& input, const std::string& output_name) {
    net_.setInputsNames({input.name});
    Node x{0, 3, input.height, input.width};
    std::vector<std::string> blocks;  // top-level names in manifest order
    for (const auto& name : weights_.names()) {
      const std::string block = name.substr(0, name.find('/'));
      if (blocks.empty() || blocks.back() != block) blocks.push_back(block);
    }
    for (const auto& block : blocks) {
      if (block == "fc") {
        x = head(x, output_name);
      } else if (weights_.contains(block + "/conv/filters")) {  // the stem: conv, max-pool
        x = pool(conv(block, x, 2, 0, true), "max", 3, 2);
      } else if (block.find("_down") != std::string::npos) {
        x = residual_down(block, x);
      } else {
        x = residual(block, x);
      }
    }
    if (used_.size() != weights_.names().size()) {
      for (const auto& name : weights_.names()) {
        if (!used_.contains(name)) fail("tensor '" + name + "' does not fit the network");
      }
    }
    if (x.c == 0 || x.h != 1) fail("has no fully connected 'fc' tensor at the end");
    return net_;
  }

 private:
  [[noreturn]] static void fail(const std::string& problem) {
    throw Error(ErrorKind::kModelIntegrity, "dlib ResNet weights: " + problem);
  }

  const TfjsTensor& tensor(const std::string& name, const std::vector<int>& shape) {
    used_.insert(name);
    return weights_.get(name, shape);
  }

  int add(const std::string& name, const std::string& type, cv::dnn::LayerParams lp,
          std::initializer_list<int> inputs) {
    lp.name = name;
    lp.type = type;
    const int id = net_.addLayer(name, type, lp);
    int port = 0;
    for (const int in : inputs) net_.connect(in, 0, id, port++);
    return id;
  }

  // Convolution with bias, then the per-channel scale (folded in), optionally ReLU.
  Node conv(const std::string& prefix, const Node& in, int stride, int pad, bool relu) {
    const std::string fname = prefix + "/conv/filters";
    const auto& hwio = weights_.get(fname);
    if (hwio.shape.size() != 4 || hwio.shape[2] != in.c) {
      fail("tensor '" + fname + "' must have shape [kh, kw, " + std::to_string(in.c) + ", out]");
    }
    const int kh = hwio.shape[0], kw = hwio.shape[1], ci = hwio.shape[2], co = hwio.shape[3];
    tensor(fname, hwio.shape);
    const auto& bias = tensor(prefix + "/conv/bias", {co}).values;
    const auto& mul = tensor(prefix + "/scale/weights", {co}).values;
    const auto& add_b = tensor(prefix + "/scale/biases", {co}).values;
    cv::Mat w({co, ci, kh, kw}, CV_32F);
    cv::Mat b(1, co, CV_32F);
    float* wp = w.ptr<float>();
    for (int o = 0; o < co; ++o) {
      for (int i = 0; i < ci; ++i) {
        for (int y = 0; y < kh; ++y) {
          for (int x = 0; x < kw; ++x) {
            wp[((o * ci + i) * kh + y) * kw + x] =
                hwio.values[((y * kw + x) * ci + i) * co + o] * mul[o];
          }
        }
      }
      b.at<float>(o) = bias[o] * mul[o] + add_b[o];
    }
    cv::dnn::LayerParams lp;
    lp.set("kernel_h", kh);
    lp.set("kernel_w", kw);
    lp.set("stride", stride);
    lp.set("pad", pad);
    lp.set("num_output", co);
    lp.set("bias_term", true);
    lp.blobs = {w, b};
    Node out{add(prefix, "Convolution", lp, {in.id}), co, (in.h + 2 * pad - kh) / stride + 1,
             (in.w + 2 * pad - kw) / stride + 1};
    if (relu) out.id = add(prefix + "/relu", "ReLU", {}, {out.id});
    return out;
  }

  Node pool(const Node& in, const std::string& type, int size, int stride) {
    cv::dnn::LayerParams lp;
    lp.set("pool", type);
    lp.set("kernel_size", size);
    lp.set("stride", stride);
    lp.set("pad", 0);
    lp.set("ceil_mode", false);  // OpenCV rounds up by default; TF.js 'valid' rounds down
    return {add("pool" + std::to_string(++count_), "Pooling", lp, {in.id}), in.c,
            (in.h - size) / stride + 1, (in.w - size) / stride + 1};
  }

  // Zero padding after the existing values: channels, then bottom rows and right columns.
  Node pad_after(const Node& in, int dc, int dh, int dw) {
    if (dc == 0 && dh == 0 && dw == 0) return in;
    const int paddings[] = {0, 0, 0, dc, 0, dh, 0, dw};
    cv::dnn::LayerParams lp;
    lp.set("paddings", cv::dnn::DictValue::arrayInt(paddings, 8));
    lp.set("value", 0.0);
    return {add("pad" + std::to_string(++count_), "Padding", lp, {in.id}), in.c + dc, in.h + dh,
            in.w + dw};
  }

  Node add_relu(const std::string& prefix, const Node& a, const Node& b) {
    if (a.c != b.c || a.h != b.h || a.w != b.w) fail("block '" + prefix + "' does not add up");
    cv::dnn::LayerParams lp;
    lp.set("operation", "sum");
    const int sum = add(prefix + "/add", "Eltwise", lp, {a.id, b.id});
    return {add(prefix + "/add/relu", "ReLU", {}, {sum}), a.c, a.h, a.w};
  }

  Node residual(const std::string& prefix, const Node& in) {
    const Node a = conv(prefix + "/conv1", in, 1, 1, true);
    return add_relu(prefix, conv(prefix + "/conv2", a, 1, 1, false), in);
  }

  // Stride-2 block: the shortcut is a 2x2 average pool with zero channels appended; where the
  // conv branch comes out smaller, it gets zeros at the bottom and right.
  Node residual_down(const std::string& prefix, const Node& in) {
    const Node a = conv(prefix + "/conv1", in, 2, 0, true);
    Node branch = conv(prefix + "/conv2", a, 1, 1, false);
    Node shortcut = pool(in, "ave", 2, 2);
    if (branch.h > shortcut.h || branch.w > shortcut.w || branch.c < shortcut.c) {
      fail("block '" + prefix + "' is wider than its shortcut");
    }
    branch = pad_after(branch, 0, shortcut.h - branch.h, shortcut.w - branch.w);
    shortcut = pad_after(shortcut, branch.c - shortcut.c, 0, 0);
    return add_relu(prefix, branch, shortcut);
  }

  // Global average pool, then the fully connected layer (stored input x output, no bias).
  Node head(const Node& in, const std::string& output_name) {
    cv::dnn::LayerParams gp;
    gp.set("pool", "ave");
    gp.set("global_pooling", true);
    const int pooled = add("global_pool", "Pooling", gp, {in.id});
    const auto& fc = weights_.get("fc");
    if (fc.shape.size() != 2 || fc.shape[0] != in.c) {
      fail("tensor 'fc' must have shape [" + std::to_string(in.c) + ", out]");
    }
    const int out = fc.shape[1];
    tensor("fc", fc.shape);
    cv::Mat w(out, in.c, CV_32F);
    for (int o = 0; o < out; ++o) {
      for (int i = 0; i < in.c; ++i)
        w.at<float>(o, i) = fc.values[static_cast<std::size_t>(i) * out + o];
    }
    cv::dnn::LayerParams lp;
    lp.set("num_output", out);
    lp.set("bias_term", false);
    lp.set("axis", 1);
    lp.blobs = {w};
    return {add(output_name, "InnerProduct", lp, {pooled}), out, 1, 1};
  }

  const TfjsWeights& weights_;
  cv::dnn::Net net_;
  std::set<std::string> used_;
  int count_ = 0;
};

std::string bytes_text(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::shared_ptr<NetPool> make_pool(const Manifest& manifest, const ModelSpec& spec) {
  if (!spec.weights_manifest) {
    throw Error(ErrorKind::kConfig,
                "model " + spec.id + ": manifest has no [weights_manifest] table");
  }
  const auto json =
      load_verified_file(manifest, spec.weights_manifest->file, spec.weights_manifest->sha256);
  const auto bin = load_verified_model(manifest, spec);
  auto weights = std::make_shared<const TfjsWeights>(
      TfjsWeights::parse(bytes_text(json), spec.weights_manifest->file, bin, spec.file));
  return std::make_shared<NetPool>(spec, [weights, spec] {
    return build_dlib_resnet(*weights, spec.input, spec.outputs.at(0));
  });
}

}  // namespace

cv::dnn::Net build_dlib_resnet(const TfjsWeights& weights, const InputSpec& input,
                               const std::string& output_name) {
  return ResNetBuilder(weights).build(input, output_name);
}

DlibRecognizer::DlibRecognizer(const Manifest& manifest, const ModelSpec& spec)
    : pool_(make_pool(manifest, spec)),
      size_(static_cast<std::size_t>(spec.param("embedding_size"))),
      threshold_(spec.param("compare_threshold")) {
  if (spec.alignment_landmarks.empty()) {
    throw Error(ErrorKind::kConfig, spec.id + ": needs alignment_landmarks and alignment_template");
  }
}

cv::Mat DlibRecognizer::chip(const cv::Mat& bgr, const core::Landmarks68& landmarks) const {
  const ModelSpec& spec = pool_->spec();
  return face_chip(bgr, landmarks, spec.alignment_landmarks, spec.alignment_template,
                   {spec.input.width, spec.input.height})
      .image;
}

core::Template DlibRecognizer::embed(const cv::Mat& bgr, const core::Face& face) const {
  if (!face.landmarks68) throw Error(ErrorKind::kInternal, "embed: the face has no 68 landmarks");
  return embed_chip(chip(bgr, *face.landmarks68));
}

core::Template DlibRecognizer::embed_chip(const cv::Mat& bgr_chip) const {
  const ModelSpec& spec = pool_->spec();
  auto lease = pool_->acquire();
  lease.net().setInput(to_blob(bgr_chip, spec.input), spec.input.name);
  const cv::Mat out = lease.net().forward(spec.outputs.at(0));
  if (out.total() != size_) {
    throw Error(ErrorKind::kModelIntegrity, spec.file + ": embedding has " +
                                                std::to_string(out.total()) +
                                                " values, manifest says " + std::to_string(size_));
  }
  const float* p = out.ptr<float>();
  return {spec.id, std::vector<float>(p, p + size_)};
}

double DlibRecognizer::compare(const core::Template& a, const core::Template& b) const {
  for (const auto* t : {&a, &b}) {
    if (t->model_id != model_id() || t->values.size() != size_) {
      throw Error(ErrorKind::kInvalidInput, "template of model '" + t->model_id + "' with " +
                                                std::to_string(t->values.size()) +
                                                " values cannot be compared by '" + model_id() +
                                                "'");
    }
  }
  return -euclidean_distance(a.values, b.values);
}

double euclidean_distance(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) {
    throw Error(ErrorKind::kInvalidInput, "euclidean_distance: vectors differ in size");
  }
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - b[i];
    sum += d * d;
  }
  return std::sqrt(sum);
}

}  // namespace laneface::vision
