#include "quality/template_head.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.hpp"
#include "quality/measure.hpp"
#include "vision/recognizer.hpp"

namespace laneface::quality {

double TemplateHead::predict(std::span<const float> tmpl, double norm,
                             std::span<const double> components) const {
  if (tmpl.size() != weights.size() || components.size() != component_weights.size())
    throw core::Error(core::ErrorKind::kInternal, "TemplateHead: input size mismatch");
  double v = bias + norm_weight * norm;
  for (std::size_t i = 0; i < weights.size(); ++i) v += weights[i] * tmpl[i];
  for (std::size_t i = 0; i < components.size(); ++i)
    v += component_weights[i].second * components[i];
  return v;
}

TemplateHead TemplateHead::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in)
    throw core::Error(core::ErrorKind::kConfig,
                      path.string() + ": cannot read the TemplateQualityHead model");
  const auto j = nlohmann::json::parse(in, nullptr, false);
  auto bad = [&](const std::string& what) {
    return core::Error(core::ErrorKind::kConfig, path.string() + ": " + what);
  };
  if (j.is_discarded() || !j.is_object()) throw bad("not a JSON object");
  TemplateHead h;
  try {
    h.recognizer = j.at("recognizer").get<std::string>();
    h.weights = j.at("weights").get<std::vector<double>>();
    h.norm_weight = j.at("norm_weight").get<double>();
    h.bias = j.at("bias").get<double>();
    if (j.contains("provenance")) h.provenance = j["provenance"];
    if (j.contains("component_weights")) {
      for (const auto& [name, w] : j["component_weights"].items())
        h.component_weights.emplace_back(name, w.get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("recognizer, weights, norm_weight and bias are required (") + e.what() +
              ")");
  }
  if (h.recognizer.empty() || h.weights.empty()) throw bad("empty recognizer or weights");
  for (const double w : h.weights)
    if (!std::isfinite(w)) throw bad("a weight is not finite");
  for (const auto& [name, w] : h.component_weights)
    if (!std::isfinite(w)) throw bad("the component weight of " + name + " is not finite");
  if (!std::isfinite(h.norm_weight) || !std::isfinite(h.bias))
    throw bad("norm_weight or bias is not finite");
  return h;
}

nlohmann::json TemplateHead::to_json() const {
  nlohmann::json j{
      {"measure", component_weights.empty() ? "TemplateQualityHead" : "UnifiedQualityScore head"},
      {"recognizer", recognizer},
      {"input",
       std::string("the recognizer's template with mirroring (L2-normalised sum of the "
                   "L2-normalised embeddings of the aligned chip and its mirror image), and the "
                   "raw plain-chip embedding's L2 norm") +
           (component_weights.empty() ? ""
                                      : "; and the components 0..100 of the measures in "
                                        "component_weights (0 when a measure failed)")},
      {"output", "predicted mean cosine score of the image's mated comparisons"},
      {"provenance", provenance},
      {"bias", bias},
      {"norm_weight", norm_weight}};
  if (!component_weights.empty()) {
    nlohmann::json c = nlohmann::json::object();
    for (const auto& [name, w] : component_weights) c[name] = w;
    j["component_weights"] = c;
  }
  j["weights"] = weights;
  return j;
}

std::vector<float> mirrored_template(std::span<const float> plain, std::span<const float> mirror) {
  const auto nonzero = [](std::span<const float> v) {
    return std::any_of(v.begin(), v.end(), [](float x) { return x != 0; });
  };
  if (plain.empty() || plain.size() != mirror.size() || !nonzero(plain) || !nonzero(mirror))
    return {};
  std::vector<float> t(plain.size(), 0.0f);
  vision::add_l2_normalised(t, plain);
  vision::add_l2_normalised(t, mirror);
  vision::normalise_l2(t);
  return t;
}

std::optional<HeadInput> head_input(const TemplateHead& head, const FaceContext& ctx,
                                    std::string& why) {
  if (ctx.models().recognizer && ctx.models().recognizer->spec().id != head.recognizer) {
    why = "head fitted for recognizer " + head.recognizer + ", not " +
          ctx.models().recognizer->spec().id;
    return std::nullopt;
  }
  const auto& a = ctx.embedding(ChipVariant::kPlain, why);
  if (a.empty()) return std::nullopt;
  const auto& b = ctx.embedding(ChipVariant::kMirrored, why);
  if (b.empty()) return std::nullopt;
  HeadInput in;
  in.tmpl = mirrored_template(a, b);
  if (in.tmpl.size() != head.weights.size()) {
    why = cv::format("template has %zu values, the head %zu", in.tmpl.size(), head.weights.size());
    return std::nullopt;
  }
  double n = 0;
  for (const float v : a) n += double(v) * v;
  in.norm = std::sqrt(n);
  return in;
}

}  // namespace laneface::quality
