#include "quality/assessor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.hpp"

namespace laneface::quality {
namespace {

// Whole numbers without decimals ("30°"), else 2-3 significant digits ("0.25", "4.3", "38").
std::string value_text(double v) {
  const double a = std::abs(v);
  return cv::format(a >= 10 || v == std::round(v) ? "%.0f" : a >= 1 ? "%.1f" : "%.2f", v);
}

// Rounded to `digits` decimals (printed without binary noise).
double round_to(double v, int digits) {
  const double k = std::pow(10.0, digits);
  return std::round(v * k) / k;
}

}  // namespace

const MeasureResult* QualityReport::find(const std::string& name) const {
  for (const auto& m : measures) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

double QualityReport::unified() const {
  const auto* u = find(kUnifiedName);
  return u && u->component ? *u->component : 0.0;
}

Assessor::Assessor(QualityConfig config, Models models, const MeasureRegistry& registry)
    : config_(std::move(config)), models_(std::move(models)) {
  for (const auto& m : config_.measures)
    measures_.push_back(registry.create(m.name, m.params, m.model));
  auto configured = [&](const std::string& name) {
    for (const auto& m : config_.measures) {
      if (m.name == name) return true;
    }
    return name == kUnifiedName;
  };
  for (const auto& [name, w] : config_.unified_weights) {
    if (!configured(name))
      throw core::Error(core::ErrorKind::kConfig,
                        "unified score weights measure '" + name + "', which is not configured");
  }
  for (const auto& [name, w] : config_.cheap_unified_weights) {
    const auto it = std::find_if(config_.measures.begin(), config_.measures.end(),
                                 [&](const auto& m) { return m.name == name; });
    if (it == config_.measures.end())
      throw core::Error(core::ErrorKind::kConfig, "cheap unified score weights measure '" + name +
                                                      "', which is not configured");
    if (measures_[std::size_t(it - config_.measures.begin())]->cost() != Cost::kCheap)
      throw core::Error(core::ErrorKind::kConfig, "cheap unified score weights measure '" + name +
                                                      "', which is not a cheap measure");
  }
  if (!config_.unified_head.empty()) {
    unified_head_ = TemplateHead::load(config_.unified_head);
    if (models_.recognizer && models_.recognizer->spec().id != unified_head_->recognizer)
      throw core::Error(core::ErrorKind::kConfig, config_.unified_head.string() +
                                                      ": the unified score's head was fitted "
                                                      "for recognizer '" +
                                                      unified_head_->recognizer + "', not '" +
                                                      models_.recognizer->spec().id + "'");
    for (const auto& [name, w] : unified_head_->component_weights) {
      if (!configured(name) || name == kUnifiedName)
        throw core::Error(core::ErrorKind::kConfig, config_.unified_head.string() +
                                                        ": the unified score's head reads "
                                                        "measure '" +
                                                        name + "', which is not configured");
    }
  }
  for (const auto& [pname, p] : config_.profiles) {
    for (const auto& r : p.requirements) {
      if (!configured(r.measure)) {
        throw core::Error(core::ErrorKind::kConfig, "profile '" + pname + "' requires measure '" +
                                                        r.measure + "', which is not configured");
      }
    }
  }
}

Models Assessor::load_models(const vision::Manifest& manifest) {
  Models m;
  m.eye = std::make_shared<vision::NetPool>(manifest, manifest.model_for_role("eye"));
  m.pose = std::make_shared<vision::NetPool>(manifest, manifest.model_for_role("pose"));
  m.recognizer = std::make_shared<vision::NetPool>(manifest, manifest.model(kQualityRecognizer));
  return m;
}

std::string_view Assessor::label(const std::string& measure) const {
  for (std::size_t i = 0; i < measures_.size(); ++i) {
    if (config_.measures[i].name == measure) return measures_[i]->label();
  }
  return measure == kUnifiedName ? "unified quality" : measure;
}

QualityReport Assessor::assess(const cv::Mat& bgr, std::span<const core::Face> faces,
                               std::size_t index, Scope scope) const {
  const auto start = std::chrono::steady_clock::now();
  const FaceContext ctx(bgr, faces, index, models_, config_.limits);
  QualityReport report;
  for (std::size_t i = 0; i < measures_.size(); ++i) {
    if (scope == Scope::kCheap && measures_[i]->cost() != Cost::kCheap) continue;
    MeasureResult r{config_.measures[i].name, {}, {}, {}};
    Outcome o = measures_[i]->compute(ctx);
    if (o.value && !std::isfinite(*o.value)) o = Outcome::fail("not a finite value");
    if (o.value) {
      r.raw = *o.value;
      r.component = config_.measures[i].mapping.apply(*o.value);
    } else {
      r.failure = o.failure.empty() ? "failed to assess" : o.failure;
    }
    report.measures.push_back(std::move(r));
  }
  double u = 0;
  if (scope == Scope::kAll && unified_head_ && config_.unified_head_weight > 0) {
    std::vector<double> c, w;
    for (const auto& r : report.measures) {
      const auto it = config_.unified_weights.find(r.name);
      if (it == config_.unified_weights.end()) continue;
      c.push_back(r.component.value_or(0.0));
      w.push_back(it->second);
    }
    c.push_back(unified_head_component(ctx, report));
    w.push_back(config_.unified_head_weight);
    u = power_mean(c, w, config_.unified_power);
  } else {
    u = unified_score(report.measures,
                      scope == Scope::kCheap && !config_.cheap_unified_weights.empty()
                          ? config_.cheap_unified_weights
                          : config_.unified_weights,
                      config_.unified_power);
  }
  report.measures.push_back({kUnifiedName, u, u, {}});
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

double Assessor::unified_head_component(const FaceContext& ctx, const QualityReport& report) const {
  const TemplateHead& h = *unified_head_;
  std::string why;
  const auto in = head_input(h, ctx, why);
  if (!in) return 0.0;
  std::vector<double> comp;
  for (const auto& [name, w] : h.component_weights) {
    const auto* r = report.find(name);
    comp.push_back(r && r->component ? *r->component : 0.0);
  }
  const double v = h.predict(in->tmpl, in->norm, comp);
  return std::isfinite(v) ? config_.unified_head_mapping.apply(v) : 0.0;
}

double power_mean(std::span<const double> components, std::span<const double> weights,
                  double power) {
  double sum = 0, total = 0;
  for (std::size_t i = 0; i < components.size(); ++i) {
    const double w = std::abs(weights[i]);
    if (w == 0) continue;
    const double c = std::clamp(components[i], power < 1 ? 1.0 : 0.0, 100.0);
    sum += w * (power == 1 ? c : power == 0 ? std::log(c) : std::pow(c, power));
    total += w;
  }
  if (total <= 0) return 0.0;
  const double mean = sum / total;
  return std::clamp(power == 1   ? mean
                    : power == 0 ? std::exp(mean)
                                 : std::pow(mean, 1 / power),
                    0.0, 100.0);
}

double unified_score(const std::vector<MeasureResult>& results,
                     const std::map<std::string, double>& weights, double power) {
  std::vector<double> c, w;
  for (const auto& r : results) {
    const auto it = weights.find(r.name);
    if (it == weights.end()) continue;
    c.push_back(r.component.value_or(0.0));
    w.push_back(it->second);
  }
  return power_mean(c, w, power);
}

ProfileResult Assessor::validate(const QualityReport& report, const std::string& name) const {
  const auto it = config_.profiles.find(name);
  if (it == config_.profiles.end()) {
    std::string known;
    for (const auto& [n, p] : config_.profiles) known += (known.empty() ? "" : ", ") + n;
    throw core::Error(core::ErrorKind::kNotFound,
                      "no quality profile '" + name + "' (configured: " + known + ")");
  }
  ProfileResult out{name, true, {}};
  for (const auto& req : it->second.requirements) {
    const std::string label(this->label(req.measure));
    std::string unit;
    for (std::size_t i = 0; i < measures_.size(); ++i) {
      if (config_.measures[i].name == req.measure) unit = measures_[i]->unit();
    }
    const MeasureResult* m = report.find(req.measure);
    if (!m) {
      out.failures.push_back(label + " was not measured");
    } else if (!m->raw) {
      out.failures.push_back(label + " cannot be assessed: " + m->failure);
    } else {
      const double v = req.bound == Bound::kMinComponent ? *m->component : *m->raw;
      const std::string lim = value_text(req.limit);
      switch (req.bound) {
        case Bound::kMin:
          if (v < req.limit)
            out.failures.push_back(label + " " + value_text(v) + unit + " below " + lim + unit);
          break;
        case Bound::kMax:
          if (v > req.limit)
            out.failures.push_back(label + " " + value_text(v) + unit + " exceeds " + lim + unit);
          break;
        case Bound::kMaxAbs:
          if (std::abs(v) > req.limit)
            out.failures.push_back(label + " " + value_text(v) + unit + " exceeds ±" + lim + unit);
          break;
        case Bound::kMinComponent:
          if (v < req.limit)
            out.failures.push_back(label + " quality " + value_text(v) + " below " + lim);
          break;
      }
    }
  }
  out.passed = out.failures.empty();
  return out;
}

nlohmann::json to_json(const QualityReport& report) {
  nlohmann::json measures = nlohmann::json::object();
  for (const auto& m : report.measures) {
    nlohmann::json j;
    if (m.raw) {
      j["raw"] = round_to(*m.raw, 4);
      j["component"] = round_to(*m.component, 1);
    } else {
      j["raw"] = nullptr;
      j["component"] = -1;  // OFIQ's "failed to assess"
      j["failure"] = m.failure;
    }
    measures[m.name] = j;
  }
  return {{"measures", measures},
          {"unified", round_to(report.unified(), 1)},
          {"elapsed_ms", round_to(report.elapsed_ms, 2)}};
}

nlohmann::json to_json(const ProfileResult& r) {
  return {{"profile", r.profile}, {"passed", r.passed}, {"failures", r.failures}};
}

}  // namespace laneface::quality
