#include "capture/lane_config.hpp"

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "core/toml_file.hpp"

namespace laneface::capture {

using core::Error;
using core::ErrorKind;

namespace {

struct Reader {
  const toml::table& t;
  std::string file;
  std::string prefix;

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    throw Error(ErrorKind::kConfig, file + ": " + prefix + key + ": " + what);
  }
  template <class T>
  void num(const std::string& key, T& out, double lo, double hi) const {
    const auto* node = t.get(key);
    if (!node) return;
    double v = 0;
    if (auto i = node->value<int64_t>()) {
      v = double(*i);
    } else if (auto d = node->value<double>()) {
      v = *d;
    } else {
      bad(key, "expects a number");
    }
    if (!(v >= lo && v <= hi)) {
      bad(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    out = static_cast<T>(v);
  }
  void flag(const std::string& key, bool& out) const {
    const auto* node = t.get(key);
    if (!node) return;
    if (auto b = node->value<bool>()) {
      out = *b;
    } else {
      bad(key, "expects true or false");
    }
  }
  void str(const std::string& key, std::string& out) const {
    const auto* node = t.get(key);
    if (!node) return;
    if (auto s = node->value<std::string>()) {
      out = *s;
    } else {
      bad(key, "expects a string");
    }
  }
  cv::Rect2f rect(const toml::node& node, const std::string& key) const {
    const auto* a = node.as_array();
    if (!a || a->size() != 4) bad(key, "expects [x, y, width, height] in fractions of the frame");
    float v[4];
    for (int i = 0; i < 4; ++i) {
      const auto d = (*a)[i].value<double>();
      if (!d || *d < 0 || *d > 1) bad(key, "values must be numbers in [0, 1]");
      v[i] = static_cast<float>(*d);
    }
    if (v[2] <= 0 || v[3] <= 0) bad(key, "width and height must be positive");
    return {v[0], v[1], v[2], v[3]};
  }
};

}  // namespace

const CameraGeometry& LaneConfig::camera(const std::string& id) const {
  static const CameraGeometry kDefault;
  const auto it = cameras.find(id);
  return it == cameras.end() ? kDefault : it->second;
}

LaneConfig LaneConfig::load(const std::filesystem::path& path) {
  const toml::table root = core::read_toml_file(path, "lane config");
  const std::string file = path.string();
  const auto* lane = root["lane"].as_table();
  if (!lane) throw Error(ErrorKind::kConfig, file + ": missing the [lane] table");
  LaneConfig c;
  const Reader r{*lane, file, "lane."};
  r.num("threads", c.threads, 1, 64);
  r.num("detect_stride", c.detect_stride, 1, 30);
  r.num("min_face", c.min_face, 8, 1000);
  r.num("score_threshold", c.score_threshold, -1, 1);
  r.num("track_iou", c.track_iou, 0, 1);
  r.num("track_appearance", c.track_appearance, 0, 10);
  r.num("track_max_gap", c.track_max_gap, 1, 1000);
  r.flag("track_motion_prior", c.track_motion_prior);
  r.num("track_single_gap", c.track_single_gap, 0, 1000);
  r.num("min_detections", c.min_detections, 1, 1000);
  r.str("profile", c.profile);
  r.num("candidates_per_track", c.candidates_per_track, 1, 100);
  r.num("full_candidates", c.full_candidates, 1, 100);
  r.flag("cheap_on_crop", c.cheap_on_crop);
  r.str("best_shot_measure", c.best_shot_measure);
  r.num("probe_shots", c.probe_shots, 1, 100);
  r.num("probe_min_similarity", c.probe_min_similarity, -1, 1);
  if (std::string n; r.str("template_normalise", n), !n.empty()) {
    try {
      c.template_normalise = vision::parse_normalise(n);
    } catch (const Error& e) {
      r.bad("template_normalise", e.what());
    }
  }
  r.num("join_threshold", c.join_threshold, -1, 1);
  r.num("join_cross_threshold", c.join_cross_threshold, -1, 2);
  r.num("join_motion_tolerance", c.join_motion_tolerance, 0, 100);
  r.num("join_motion_max_gap", c.join_motion_max_gap, 0, 100000);
  r.num("join_motion_min_similarity", c.join_motion_min_similarity, -1, 1);
  r.num("join_geometry_threshold", c.join_geometry_threshold, 0, 1e6);
  r.num("join_geometry_min_similarity", c.join_geometry_min_similarity, -1, 1);
  r.num("join_geometry_min_angle_deg", c.join_geometry_min_angle_deg, 0, 90);
  r.flag("join_geometry_angle_across_travel", c.join_geometry_angle_across_travel);
  r.num("join_cross_geometry_veto", c.join_cross_geometry_veto, 0, 1e6);
  r.num("geometry_face_m", c.geometry_face_m, 0.05, 0.5);
  r.num("geometry_sigma_px", c.geometry_sigma_px, 0.1, 1000);
  r.num("geometry_sigma_range", c.geometry_sigma_range, 0.001, 10);
  r.flag("seat_geometry", c.seat_geometry);
  r.flag("ghost_windows", c.ghost_windows);
  r.flag("ghost_motion", c.ghost_motion);
  r.num("motion_tolerance", c.motion_tolerance, 0, 100);
  r.flag("ghost_geometry", c.ghost_geometry);
  r.num("ghost_geometry_margin", c.ghost_geometry_margin, 0, 1e6);
  r.flag("ghost_static", c.ghost_static);
  r.num("static_similarity", c.static_similarity, 0, 1);
  r.flag("liveness", c.liveness);
  r.num("liveness_threshold", c.liveness_threshold, 0, 1);
  r.num("session_gap_s", c.session_gap_s, 0, 3600);
  std::string calibration;
  r.str("calibration", calibration);
  r.num("vehicle_target_fmr", c.vehicle_target_fmr, 0, 0.1);
  r.num("vehicle_target_fpir", c.vehicle_target_fpir, 0, 0.1);
  if (!calibration.empty()) {
    c.calibration = std::filesystem::path(calibration).is_absolute()
                        ? std::filesystem::path(calibration)
                        : path.parent_path() / calibration;
  }
  if (const auto* cams = (*lane)["cameras"].as_table()) {
    for (const auto& [id, node] : *cams) {
      const auto* t = node.as_table();
      const std::string name(id.str());
      if (!t)
        throw Error(ErrorKind::kConfig, file + ": lane.cameras." + name + ": expects a table");
      const Reader cr{*t, file, "lane.cameras." + name + "."};
      CameraGeometry g;
      if (const auto* n = t->get("roi")) g.roi = cr.rect(*n, "roi");
      if (const auto* n = t->get("windows")) {
        const auto* a = n->as_array();
        if (!a) cr.bad("windows", "expects a list of [x, y, width, height]");
        for (const auto& w : *a) g.windows.push_back(cr.rect(w, "windows"));
      }
      if (const auto* n = t->get("rows")) {
        const auto* a = n->as_array();
        if (!a || a->empty()) cr.bad("rows", "expects a non-empty list of rows (1..3)");
        g.rows.clear();
        for (const auto& v : *a) {
          const auto i = v.value<int64_t>();
          if (!i || *i < 1 || *i > 3) cr.bad("rows", "rows are 1, 2 or 3");
          g.rows.push_back(int(*i));
        }
      }
      if (const auto* n = t->get("row_widths")) {
        const auto* a = n->as_array();
        if (!a) cr.bad("row_widths", "expects a list of face widths (px)");
        for (const auto& v : *a) {
          const auto d = v.value<double>();
          if (!d || *d <= 0) cr.bad("row_widths", "face widths must be positive numbers");
          g.row_widths.push_back(*d);
        }
      }
      cr.num("min_face", g.min_face, 0, 1000);
      cr.num("detect_scale", g.detect_scale, 0, 64);
      cr.num("tile_overlap", g.tile_overlap, 0, 4000);
      cr.str("side", g.side);
      if (!g.side.empty() && g.side != "driver" && g.side != "passenger" && g.side != "front") {
        cr.bad("side", "is \"driver\", \"passenger\" or \"front\"");
      }
      cr.num("centre_x", g.centre_x, 0, 1);
      auto vec3 = [&](const char* key, cv::Vec3d& out) {
        const auto* n = t->get(key);
        if (!n) return;
        const auto* a = n->as_array();
        if (!a || a->size() != 3) cr.bad(key, "expects [x, y, z] in metres");
        for (int i = 0; i < 3; ++i) {
          const auto d = (*a)[std::size_t(i)].value<double>();
          if (!d || !std::isfinite(*d)) cr.bad(key, "expects [x, y, z] in metres");
          out[i] = *d;
        }
      };
      vec3("position", g.position);
      vec3("target", g.target);
      cr.num("focal", g.focal, 0, 1e6);
      cr.num("focal_width", g.focal_width, 1, 100000);
      if (g.focal > 0 && cv::norm(g.target - g.position) < 1e-6) {
        cr.bad("target", "must differ from position");
      }
      c.cameras[name] = g;
    }
  }
  return c;
}

void apply_lane_calibration(LaneConfig& config, const nlohmann::json& lane_json,
                            const std::string& where) {
  if (!lane_json.is_object() || !lane_json.contains("cameras") ||
      !lane_json["cameras"].is_array()) {
    return;
  }
  for (const auto& cam : lane_json["cameras"]) {
    if (!cam.is_object() || !cam.contains("calibration")) continue;
    const std::string id = cam.value("id", std::string());
    const auto& c = cam["calibration"];
    auto bad = [&](const std::string& what) {
      throw Error(ErrorKind::kInvalidInput, where + ": cameras." + id + ".calibration: " + what);
    };
    auto vec3 = [&](const char* key) {
      if (!c.is_object() || !c.contains(key) || !c[key].is_array() || c[key].size() != 3) {
        bad(std::string("\"") + key + "\" expects [x, y, z] in metres");
      }
      cv::Vec3d v;
      for (int i = 0; i < 3; ++i) {
        if (!c[key][std::size_t(i)].is_number()) bad(std::string(key) + ": not a number");
        v[i] = c[key][std::size_t(i)].get<double>();
      }
      return v;
    };
    CameraGeometry& g = config.cameras[id];
    g.position = vec3("position");
    g.target = vec3("target");
    if (!c.contains("focal") || !c["focal"].is_number() || !(c["focal"].get<double>() > 0)) {
      bad("\"focal\" expects a positive number (px)");
    }
    g.focal = c["focal"].get<double>();
    g.focal_width = c.value("width", lane_json.value("width", 1280));
    if (g.focal_width <= 0) bad("\"width\" must be positive");
    if (cv::norm(g.target - g.position) < 1e-6) bad("target must differ from position");
  }
}

std::filesystem::path default_lane_config_path() {
  if (const char* env = std::getenv("LANEFACE_LANE_CONFIG"); env && *env) return env;
  return std::filesystem::path(LANEFACE_SOURCE_ROOT) / "config" / "lane.toml";
}

}  // namespace laneface::capture
