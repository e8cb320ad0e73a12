#include "quality/config.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "core/toml_file.hpp"

namespace laneface::quality {
namespace {

[[noreturn]] void bad(const std::filesystem::path& path, const std::string& where,
                      const std::string& what) {
  throw core::Error(core::ErrorKind::kConfig, path.string() + ": " + where + ": " + what);
}

double number(const toml::node* n, const std::filesystem::path& path, const std::string& where) {
  const auto v = n ? n->value<double>() : std::nullopt;
  if (!v || !std::isfinite(*v)) bad(path, where, "must be a finite number");
  return *v;
}

Mapping parse_mapping(const toml::table& t, const std::filesystem::path& path,
                      const std::string& where) {
  Mapping m;
  const std::string kind = t["kind"].value_or(std::string{});
  if (kind == "linear") {
    m.kind = Mapping::Kind::kLinear;
  } else if (kind == "sigmoid") {
    m.kind = Mapping::Kind::kSigmoid;
  } else {
    bad(path, where + ".kind", "must be \"linear\" or \"sigmoid\"");
  }
  m.from = number(t.get("from"), path, where + ".from");
  m.to = number(t.get("to"), path, where + ".to");
  if (m.from == m.to) bad(path, where, "from and to must differ");
  m.abs = t["abs"].value_or(false);
  return m;
}

}  // namespace

double Mapping::apply(double raw) const {
  const double x = abs ? std::abs(raw) : raw;
  if (kind == Kind::kSigmoid) return 100.0 / (1.0 + std::exp(-(x - from) / to));
  return std::clamp(100.0 * (x - from) / (to - from), 0.0, 100.0);
}

QualityConfig QualityConfig::load(const std::filesystem::path& path) {
  const toml::table root = core::read_toml_file(path, "quality config");
  const auto* q = root["quality"].as_table();
  if (!q) bad(path, "quality", "missing [quality] table");
  QualityConfig c;
  if (const auto* l = (*q)["limits"].as_table()) {
    c.limits.min_inter_eye = (*l)["min_inter_eye"].value_or(c.limits.min_inter_eye);
    c.limits.max_outside_fraction =
        (*l)["max_outside_fraction"].value_or(c.limits.max_outside_fraction);
    c.limits.chip_size = (*l)["chip_size"].value_or(c.limits.chip_size);
    if (c.limits.chip_size < 32 || c.limits.chip_size > 1024)
      bad(path, "quality.limits.chip_size", "must be 32..1024");
  }
  if (const auto* u = (*q)["unified"].as_table()) {
    if (const auto* p = u->get("power")) {
      c.unified_power = number(p, path, "quality.unified.power");
      if (c.unified_power < -4 || c.unified_power > 4)
        bad(path, "quality.unified.power", "must be -4..4");
    }
    if (const auto* f = u->get("head")) {
      const auto file = f->value<std::string>();
      if (!file || file->empty()) bad(path, "quality.unified.head", "must be a file name");
      c.unified_head = std::filesystem::path(*file).is_absolute() ? std::filesystem::path(*file)
                                                                  : path.parent_path() / *file;
      const auto* mapping = (*u)["head_mapping"].as_table();
      if (!mapping) bad(path, "quality.unified.head_mapping", "missing (needed with head)");
      c.unified_head_mapping = parse_mapping(*mapping, path, "quality.unified.head_mapping");
      c.unified_head_weight = number(u->get("head_weight"), path, "quality.unified.head_weight");
      if (c.unified_head_weight < 0) bad(path, "quality.unified.head_weight", "must be >= 0");
    }
  }
  const auto* measures = (*q)["measures"].as_table();
  if (!measures || measures->empty())
    bad(path, "quality.measures", "must list at least one measure");
  for (const auto& [key, node] : *measures) {
    const std::string where = "quality.measures." + std::string(key.str());
    const auto* t = node.as_table();
    if (!t) bad(path, where, "must be a table");
    MeasureConfig m;
    m.name = std::string(key.str());
    const auto* mapping = (*t)["mapping"].as_table();
    if (!mapping) bad(path, where + ".mapping", "missing");
    m.mapping = parse_mapping(*mapping, path, where + ".mapping");
    if (const auto* p = (*t)["params"].as_table()) {
      for (const auto& [pk, pv] : *p)
        m.params[std::string(pk.str())] =
            number(&pv, path, where + ".params." + std::string(pk.str()));
    }
    if (const auto* f = t->get("model")) {
      const auto file = f->value<std::string>();
      if (!file || file->empty()) bad(path, where + ".model", "must be a file name");
      m.model = std::filesystem::path(*file).is_absolute() ? std::filesystem::path(*file)
                                                           : path.parent_path() / *file;
    }
    if (const auto* w = t->get("unified_weight"))
      c.unified_weights[m.name] = number(w, path, where + ".unified_weight");
    if (const auto* w = t->get("cheap_unified_weight"))
      c.cheap_unified_weights[m.name] = number(w, path, where + ".cheap_unified_weight");
    c.measures.push_back(std::move(m));
  }
  if (const auto* profiles = (*q)["profiles"].as_table()) {
    for (const auto& [key, node] : *profiles) {
      const std::string where = "quality.profiles." + std::string(key.str());
      const auto* t = node.as_table();
      if (!t) bad(path, where, "must be a table");
      Profile p;
      p.name = std::string(key.str());
      p.description = (*t)["description"].value_or(std::string{});
      const auto* reqs = (*t)["requirements"].as_array();
      if (!reqs) bad(path, where + ".requirements", "must be an array of tables");
      for (std::size_t i = 0; i < reqs->size(); ++i) {
        const std::string w = where + ".requirements[" + std::to_string(i) + "]";
        const auto* r = reqs->get(i)->as_table();
        if (!r) bad(path, w, "must be a table");
        Requirement req;
        req.measure = (*r)["measure"].value_or(std::string{});
        if (req.measure.empty()) bad(path, w + ".measure", "missing");
        int bounds = 0;
        for (const auto& [name, bound] :
             {std::pair{"min", Bound::kMin}, std::pair{"max", Bound::kMax},
              std::pair{"max_abs", Bound::kMaxAbs},
              std::pair{"min_component", Bound::kMinComponent}}) {
          if (const auto* n = r->get(name)) {
            req.bound = bound;
            req.limit = number(n, path, w + "." + name);
            ++bounds;
          }
        }
        if (bounds != 1) bad(path, w, "needs exactly one of min, max, max_abs, min_component");
        p.requirements.push_back(std::move(req));
      }
      c.profiles.emplace(p.name, std::move(p));
    }
  }
  return c;
}

std::filesystem::path default_quality_config_path() {
  if (const char* env = std::getenv("LANEFACE_QUALITY_CONFIG"); env && *env) return env;
  return std::filesystem::path(LANEFACE_SOURCE_ROOT) / "config" / "quality.toml";
}

}  // namespace laneface::quality
