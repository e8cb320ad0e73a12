#include "capture/lane_processor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "capture/best_shot.hpp"
#include "capture/document_gallery.hpp"
#include "capture/frame_source.hpp"
#include "capture/occupants.hpp"
#include "capture/tracker.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "match/calibration.hpp"
#include "match/matcher.hpp"
#include "quality/assessor.hpp"
#include "store/clock.hpp"
#include "store/store.hpp"
#include "vision/face_engine.hpp"
#include "vision/fused_recognizer.hpp"
#include "vision/net_pool.hpp"
#include "vision/preprocess.hpp"

namespace laneface::capture {

using core::Error;
using core::ErrorKind;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// One detection with what the later stages need. The crop (the face with a margin: the image
// that is assessed, templated and submitted) is kept only for a track's best few.
struct Seen {
  long frame = 0;
  core::Face face;  // frame coordinates
  float cheap = 0;  // unified score of the cheap measures
  bool cheap_pass = false;
  float ied = 0;      // InterEyeDistance (cheap report), px; 0 when not assessed
  float abs_yaw = 0;  // |HeadPoseYaw| (cheap report), degrees; 0 when not assessed
  cv::Mat chip;       // 24x24 gray, zero mean unit norm (appearance change)
  cv::Mat crop;       // BGR, may be released
  core::Face crop_face;
  int track = -1;
};

struct CameraRun {
  std::string camera;
  double fps = 15;
  long frames = 0;
  cv::Size size;
  std::vector<Seen> seen;
  std::vector<Track> tracks;
  double analyse_ms = 0;
};

std::vector<float> colour_histogram(const cv::Mat& bgr, const core::Box& box) {
  const cv::Rect r =
      cv::Rect(cv::Point(int(box.x1), int(box.y1)), cv::Point(int(box.x2), int(box.y2))) &
      cv::Rect({0, 0}, bgr.size());
  if (r.width < 2 || r.height < 2) return {};
  cv::Mat small, hsv;
  cv::resize(bgr(r), small, {16, 16}, 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);
  std::vector<float> h(16 * 4, 0.0f);
  for (int y = 0; y < hsv.rows; ++y) {
    for (int x = 0; x < hsv.cols; ++x) {
      const auto p = hsv.at<cv::Vec3b>(y, x);
      h[std::min(15, p[0] * 16 / 180) * 4 + std::min(3, p[1] / 64)] += 1.0f / 256.0f;
    }
  }
  return h;
}

cv::Mat appearance_chip(const cv::Mat& bgr, const core::Box& box) {
  const cv::Rect r =
      cv::Rect(cv::Point(int(box.x1), int(box.y1)), cv::Point(int(box.x2), int(box.y2))) &
      cv::Rect({0, 0}, bgr.size());
  if (r.width < 4 || r.height < 4) return {};
  cv::Mat g, s, f;
  cv::cvtColor(bgr(r), g, cv::COLOR_BGR2GRAY);
  cv::resize(g, s, {24, 24}, 0, 0, cv::INTER_AREA);
  s.convertTo(f, CV_32F);
  f -= cv::mean(f)[0];
  const double n = cv::norm(f);
  if (n > 1e-6) f /= n;
  return f;
}

// The submitted image: the face with one face width/height of margin on each side.
void make_crop(const cv::Mat& frame, Seen& s) {
  auto c = shot_crop(frame, s.face);
  s.crop = std::move(c.image);
  s.crop_face = std::move(c.face);
}

// The template of a detection's crop, after the lane's photometric normalisation (if any).
core::Template embed_crop(const vision::FaceEngine& engine, const Seen& s, vision::Normalise n) {
  if (n == vision::Normalise::kNone) return engine.embed(s.crop, s.crop_face);
  const auto& b = s.crop_face.box;
  const cv::Rect face(cv::Point(int(b.x1), int(b.y1)), cv::Point(int(b.x2), int(b.y2)));
  return engine.embed(vision::normalise_photometric(s.crop, face, n), s.crop_face);
}

cv::Rect roi_pixels(const cv::Rect2f& roi, cv::Size size) {
  return cv::Rect(cv::Point(int(roi.x * size.width), int(roi.y * size.height)),
                  cv::Point(int(std::ceil((roi.x + roi.width) * size.width)),
                            int(std::ceil((roi.y + roi.height) * size.height)))) &
         cv::Rect({0, 0}, size);
}

// Tiles covering `roi` at `scale` source px per input px (320x240 input), overlapping by at
// least `overlap` px. Empty when scale <= 0 (the detector's own pyramid is used).
std::vector<vision::DetectorView> tile_views(const cv::Rect& roi, double scale, int overlap) {
  std::vector<vision::DetectorView> out;
  if (scale <= 0 || roi.empty()) return out;
  const int tw = int(std::ceil(320 * scale)), th = int(std::ceil(240 * scale));
  auto starts = [&](int origin, int total, int tile) {
    std::vector<int> s;
    if (tile >= total) return std::vector<int>{origin};
    const int step = std::max(1, tile - overlap);
    const int n = int(std::ceil(double(total - tile) / step)) + 1;
    for (int i = 0; i < n; ++i)
      s.push_back(origin + int(std::lround(double(total - tile) * i / std::max(1, n - 1))));
    return s;
  };
  for (const int y : starts(roi.y, roi.height, th)) {
    for (const int x : starts(roi.x, roi.width, tw)) {
      const cv::Rect r = cv::Rect(x, y, tw, th) & roi;
      out.push_back({r, scale, 0});
    }
  }
  return out;
}

bool ranks_before(const Seen& a, const Seen& b) {
  if (a.cheap_pass != b.cheap_pass) return a.cheap_pass;
  return a.cheap > b.cheap;
}

nlohmann::json box_json(const core::Box& b) {
  return {std::lround(b.x1), std::lround(b.y1), std::lround(b.width()), std::lround(b.height())};
}

}  // namespace

struct LaneProcessor::Impl {
  const vision::FaceEngine& engine;
  const quality::Assessor& assessor;
  LaneConfig config;
  store::Store* store;
  const DocumentGallery* gallery;
  match::Calibration calibration;
  std::shared_ptr<vision::NetPool> liveness;

  // ---- per camera: detect (strided), landmarks, cheap quality, track ----
  CameraRun analyse(FrameSource& source, const std::string& camera) const {
    const auto t0 = Clock::now();
    CameraRun run;
    run.camera = camera;
    run.fps = source.fps();
    const CameraGeometry& geo = config.camera(camera);
    TrackerOptions topt;
    topt.min_iou = config.track_iou;
    topt.appearance_weight = config.track_appearance;
    topt.max_gap = config.track_max_gap;
    topt.motion_prior = config.track_motion_prior;
    topt.single_max_gap = config.track_single_gap;
    Tracker tracker(camera, topt);
    vision::DetectOptions dopt;
    dopt.min_face = geo.min_face > 0 ? geo.min_face : config.min_face;
    dopt.score_threshold = config.score_threshold;
    const int stride = std::max(1, config.detect_stride);
    const std::size_t keep = std::size_t(std::max(1, config.candidates_per_track));
    std::vector<vision::DetectorView> views;
    const float threshold =
        config.score_threshold >= 0
            ? config.score_threshold
            : float(engine.manifest().model_for_role("detector").param("score_threshold"));
    // Crops of each track's best `keep` detections only.
    std::map<int, std::vector<std::size_t>> best_of_track;
    Frame frame;
    long f = 0;
    for (;; ++f) {
      if (f % stride != 0) {
        if (!source.skip()) break;
        continue;
      }
      if (!source.read(frame)) break;
      if (run.size != frame.image.size()) {
        run.size = frame.image.size();
        views = tile_views(roi_pixels(geo.roi, run.size), geo.detect_scale, geo.tile_overlap);
      }
      const cv::Rect roi = roi_pixels(geo.roi, frame.image.size());
      if (roi.width < 8 || roi.height < 8) continue;
      std::vector<core::Face> faces;
      if (!views.empty()) {
        for (const auto& v : views) {
          auto part = engine.detector().detect_view(frame.image, v, threshold);
          faces.insert(faces.end(), part.begin(), part.end());
        }
        faces = vision::merge_detections(std::move(faces), 0.4f, 0.7f);
        std::erase_if(faces, [&](const core::Face& x) { return x.box.width() < dopt.min_face; });
      } else {
        faces = engine.detector().detect(frame.image(roi), dopt);
        for (auto& face : faces) face = shifted_face(face, {float(roi.x), float(roi.y)});
      }
      for (auto& face : faces) engine.add_landmarks(frame.image, face);
      std::vector<Detection> dets;
      const std::size_t base = run.seen.size();
      for (std::size_t i = 0; i < faces.size(); ++i) {
        Seen s;
        s.frame = f;
        s.face = faces[i];
        make_crop(frame.image, s);
        // On the crop (cheap_on_crop), the image the full assessment sees: the landmark head
        // pose depends on where the face lies in the image it is fitted in.
        const CheapShot cheap =
            config.cheap_on_crop ? assess_cheap(assessor, s.crop, {s.crop_face}, 0, config.profile)
                                 : assess_cheap(assessor, frame.image, faces, i, config.profile);
        s.cheap = cheap.unified;
        s.cheap_pass = cheap.passed;
        s.ied = cheap.ied;
        s.abs_yaw = cheap.abs_yaw;
        s.chip = appearance_chip(frame.image, faces[i].box);
        run.seen.push_back(std::move(s));
        dets.push_back({faces[i].box, faces[i].score, colour_histogram(frame.image, faces[i].box),
                        int(base + i)});
      }
      tracker.update(f, dets);
      // Which track took each detection: the tracks whose last observation is this frame.
      for (const auto& t : tracker.tracks()) {
        const auto& o = t.observations.back();
        if (o.frame != f || o.payload < 0) continue;
        run.seen[o.payload].track = t.id;
        auto& best = best_of_track[t.id];
        best.push_back(std::size_t(o.payload));
        std::sort(best.begin(), best.end(), [&](std::size_t a, std::size_t b) {
          return ranks_before(run.seen[a], run.seen[b]);
        });
        while (best.size() > keep) {
          run.seen[best.back()].crop.release();
          best.pop_back();
        }
      }
    }
    run.frames = f;
    run.tracks = tracker.finish();
    run.analyse_ms = ms_since(t0);
    return run;
  }

  std::vector<CameraRun> analyse_all(const std::vector<std::string>& cameras,
                                     const std::vector<std::vector<std::string>>& sources) const {
    // Open everything first: a missing or corrupt file fails the vehicle before any work.
    std::vector<std::unique_ptr<FrameSource>> opened(cameras.size());
    for (std::size_t k = 0; k < cameras.size(); ++k) {
      std::vector<std::unique_ptr<FrameSource>> parts;
      for (const auto& s : sources[k]) parts.push_back(open_frame_source(s));
      opened[k] = parts.size() == 1 ? std::move(parts[0]) : concat_sources(std::move(parts));
    }
    std::vector<CameraRun> runs(cameras.size());
    core::parallel_for(cameras.size(), config.threads,
                       [&](std::size_t k) { runs[k] = analyse(*opened[k], cameras[k]); });
    return runs;
  }

  // ---- ghosts ----
  std::optional<std::string> ghost_reason(const CameraRun& run, const Track& t,
                                          const std::vector<const Track*>& camera_tracks) const {
    const CameraGeometry& geo = config.camera(run.camera);
    if (config.ghost_windows && !geo.windows.empty() && run.size.width > 0) {
      int inside = 0;
      for (const auto& o : t.observations) {
        const cv::Point2f c = o.box.center();
        const cv::Point2f n{c.x / run.size.width, c.y / run.size.height};
        for (const auto& w : geo.windows) {
          if (w.contains(n)) {
            ++inside;
            break;
          }
        }
      }
      if (inside * 2 < int(t.observations.size())) {
        return "outside the vehicle's windows (bystander)";
      }
    }
    if (config.ghost_motion && camera_tracks.size() >= 2 && t.observations.size() >= 3) {
      // A face standing still while the vehicle's other faces in this camera move is not in
      // the vehicle (a bystander). Speeds in face widths per second; faces of one vehicle
      // may move apart (the windshield view), so only a still face is judged.
      auto speed = [&](const Track& x) {
        const auto v = x.velocity();
        return std::hypot(v.x, v.y) * run.fps / std::max(1.0f, x.mean_width());
      };
      std::vector<double> others;
      for (const Track* o : camera_tracks) {
        if (o != &t) others.push_back(speed(*o));
      }
      std::nth_element(others.begin(), others.begin() + others.size() / 2, others.end());
      const double vehicle = others[others.size() / 2];
      if (vehicle > 2 * config.motion_tolerance && speed(t) < config.motion_tolerance * 0.5) {
        return "stands still while the vehicle moves (bystander)";
      }
    }
    if (config.ghost_static && t.observations.size() >= 4) {
      // A printed or displayed face never changes; a live face turns, blinks, speaks.
      double lowest = 1;
      const cv::Mat* first = nullptr;
      for (const auto& o : t.observations) {
        const cv::Mat& c = run.seen[o.payload].chip;
        if (c.empty()) continue;
        if (!first) {
          first = &c;
          continue;
        }
        lowest = std::min(lowest, first->dot(c));
      }
      if (first && lowest > config.static_similarity) {
        return "the face never changes (a photo: poster or screen)";
      }
    }
    if (liveness) {
      const Seen* best = nullptr;
      for (const auto& o : t.observations) {
        const Seen& s = run.seen[o.payload];
        if (!s.crop.empty() && (!best || ranks_before(s, *best))) best = &s;
      }
      if (best && live_score(*best) < config.liveness_threshold) {
        return "the liveness model scores it as not live";
      }
    }
    return std::nullopt;
  }

  double live_score(const Seen& s) const {
    const auto& spec = liveness->spec();
    const auto& b = s.crop_face.box;
    const float side = std::max(b.width(), b.height()) * 1.5f;
    const cv::Point2f c = b.center();
    const cv::Rect r(int(c.x - side / 2), int(c.y - side / 2), int(side), int(side));
    const auto in = vision::crop_resize(s.crop, r & cv::Rect({0, 0}, s.crop.size()),
                                        {spec.input.width, spec.input.height});
    cv::Mat blob = vision::to_blob(in.image, spec.input);
    cv::Mat out;
    {
      auto lease = liveness->acquire();
      lease.net().setInput(blob, spec.input.name);
      out = lease.net().forward(spec.outputs.at(0)).clone();
    }
    const float* p = out.ptr<float>();
    const int live = int(spec.param_or("live_index", 0));
    const std::size_t n = out.total();
    // Softmax over the outputs when they are logits.
    double mx = p[0], sum = 0;
    for (std::size_t i = 1; i < n; ++i) mx = std::max<double>(mx, p[i]);
    for (std::size_t i = 0; i < n; ++i) sum += std::exp(p[i] - mx);
    return std::exp(p[std::min<std::size_t>(live, n - 1)] - mx) / sum;
  }

  // ---- from tracks to a vehicle result ----
  struct TrackRef {
    std::size_t run, track;
  };

  // A track taken for a ghost: in the result's "rejected" list, with its sightings.
  static void reject(nlohmann::json& j, VehicleResult& result, const CameraRun& run, const Track& t,
                     const std::string& why) {
    j["rejected"].push_back({{"camera", run.camera},
                             {"frames", {t.first_frame(), t.last_frame()}},
                             {"box", box_json(t.observations[t.observations.size() / 2].box)},
                             {"reason", why}});
    std::vector<Sighting> s;
    for (const auto& o : t.observations) s.push_back({run.camera, o.frame, o.box});
    result.rejected.push_back(std::move(s));
  }

  // The join's diagnostic record (VehicleResult::join); groups index occupants.
  static void record_join(VehicleResult& result, const std::vector<CameraRun>& runs,
                          const std::vector<TrackRef>& kept, const std::vector<TrackSpan>& spans,
                          const std::vector<std::vector<float>>& sim,
                          const std::vector<JoinStep>& steps,
                          const std::vector<std::vector<std::size_t>>& groups) {
    nlohmann::json tracks = nlohmann::json::array();
    for (std::size_t i = 0; i < kept.size(); ++i) {
      const CameraRun& run = runs[kept[i].run];
      std::vector<Sighting> s;
      for (const auto& o : run.tracks[kept[i].track].observations) {
        s.push_back({run.camera, o.frame, o.box});
      }
      result.joined_tracks.push_back(std::move(s));
      tracks.push_back({{"camera", spans[i].camera},
                        {"first", spans[i].first},
                        {"last", spans[i].last},
                        {"occupant", -1}});
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      for (const std::size_t i : groups[g]) tracks[i]["occupant"] = g;
    }
    nlohmann::json js = nlohmann::json::array();
    for (const JoinStep& st : steps) {
      js.push_back({{"pass", st.pass},
                    {"a", st.a},
                    {"b", st.b},
                    {"score", std::round(st.score * 1e4) / 1e4}});
    }
    nlohmann::json sj = nlohmann::json::array();
    for (const auto& row : sim) {
      nlohmann::json r = nlohmann::json::array();
      for (const float v : row) r.push_back(std::round(double(v) * 1e3) / 1e3);
      sj.push_back(std::move(r));
    }
    result.join = {{"tracks", std::move(tracks)}, {"steps", std::move(js)}, {"similarity", sj}};
  }

  VehicleResult finish(const VehiclePass& pass, std::vector<CameraRun>& runs,
                       const std::vector<TrackRef>& refs, const Observer& observer,
                       bool join_trace) const {
    VehicleResult result;
    nlohmann::json j = {{"vehicle", pass.vehicle},
                        {"lane", pass.lane},
                        {"port", pass.port},
                        {"direction", pass.direction},
                        {"time", pass.time},
                        {"occupant_count", 0},
                        {"occupants", nlohmann::json::array()},
                        {"not_captured", nlohmann::json::array()},
                        {"rejected", nlohmann::json::array()}};
    // Tracks long enough to be a face; ghosts out.
    std::vector<TrackRef> kept;
    std::map<std::size_t, std::vector<const Track*>> by_camera;
    for (const auto& r : refs) {
      const Track& t = runs[r.run].tracks[r.track];
      if (int(t.observations.size()) >= config.min_detections) by_camera[r.run].push_back(&t);
    }
    for (const auto& r : refs) {
      const CameraRun& run = runs[r.run];
      const Track& t = run.tracks[r.track];
      if (int(t.observations.size()) < config.min_detections) {
        std::vector<Sighting> s;
        for (const auto& o : t.observations) s.push_back({run.camera, o.frame, o.box});
        result.dropped.push_back(std::move(s));
        continue;
      }
      if (auto why = ghost_reason(run, t, by_camera[r.run])) {
        reject(j, result, run, t, *why);
        continue;
      }
      kept.push_back(r);
    }
    // Each kept track's best detection (with a crop) and its template.
    auto best_seen = [&](const TrackRef& r) -> const Seen* {
      const Seen* best = nullptr;
      for (const auto& o : runs[r.run].tracks[r.track].observations) {
        const Seen& s = runs[r.run].seen[o.payload];
        if (!s.crop.empty() && (!best || ranks_before(s, *best))) best = &s;
      }
      return best;
    };
    std::vector<std::optional<core::Template>> track_t(kept.size());
    core::parallel_for(kept.size(), config.threads, [&](std::size_t i) {
      if (const Seen* s = best_seen(kept[i]))
        track_t[i] = embed_crop(engine, *s, config.template_normalise);
    });
    const auto& rec = engine.recognizer();
    const auto* fused = dynamic_cast<const vision::FusedRecognizer*>(&rec);
    std::vector<TrackSpan> spans;
    std::vector<std::vector<float>> sim(kept.size(), std::vector<float>(kept.size(), -1.0f));
    for (std::size_t a = 0; a < kept.size(); ++a) {
      const Track& t = runs[kept[a].run].tracks[kept[a].track];
      const CameraRun& tr = runs[kept[a].run];
      TrackSpan span{tr.camera, t.first_frame(), t.last_frame(), {}};
      for (const auto& o : t.observations) {
        span.points.push_back({o.frame, o.box.center().x, o.box.center().y, o.box.width()});
      }
      spans.push_back(std::move(span));
      for (std::size_t b = 0; b < a; ++b) {
        if (track_t[a] && track_t[b]) {
          // join_threshold is on the first model's scale (fr_feature cosine): for the fused
          // recognizer, its first part's score.
          sim[a][b] = sim[b][a] = float(fused ? fused->part_scores(*track_t[a], *track_t[b]).front()
                                              : rec.compare(*track_t[a], *track_t[b]));
        }
      }
    }
    JoinOptions jo;
    jo.threshold = config.join_threshold;
    jo.cross_threshold = config.join_cross_threshold;
    jo.motion_tolerance = config.join_motion_tolerance;
    jo.motion_max_gap = config.join_motion_max_gap;
    jo.motion_min_similarity = config.join_motion_min_similarity;
    jo.geometry_threshold = config.join_geometry_threshold;
    jo.geometry_min_similarity = config.join_geometry_min_similarity;
    jo.geometry_min_angle_deg = config.join_geometry_min_angle_deg;
    jo.geometry_angle_across_travel = config.join_geometry_angle_across_travel;
    jo.cross_geometry_veto = config.join_cross_geometry_veto;
    jo.geometry.face_m = config.geometry_face_m;
    jo.geometry.sigma_px = config.geometry_sigma_px;
    jo.geometry.sigma_range = config.geometry_sigma_range;
    if (jo.geometry_threshold > 0 || jo.cross_geometry_veto > 0 || config.seat_geometry ||
        config.ghost_geometry) {
      for (const CameraRun& run : runs) {
        const CameraGeometry& g = config.camera(run.camera);
        if (g.focal <= 0 || run.size.width <= 0) continue;
        jo.cameras[run.camera] =
            CameraPose::look_at(g.position, g.target, g.focal, {g.focal_width, run.size.height})
                .scaled_to(run.size);
        jo.geometry.fps = run.fps > 0 ? run.fps : jo.geometry.fps;
      }
    }
    std::vector<JoinStep> steps;
    auto groups = join_tracks(spans, sim, jo, join_trace ? &steps : nullptr);
    if (config.ghost_geometry && !jo.cameras.empty()) {
      // A person standing still in the world while the vehicle moves is not in it.
      const auto still =
          still_groups(spans, groups, jo.cameras, jo.geometry, config.ghost_geometry_margin);
      std::vector<std::vector<std::size_t>> moving;
      for (std::size_t g = 0; g < groups.size(); ++g) {
        if (!still[g]) {
          moving.push_back(std::move(groups[g]));
          continue;
        }
        for (const std::size_t i : groups[g]) {
          const CameraRun& run = runs[kept[i].run];
          const Track& t = run.tracks[kept[i].track];
          reject(j, result, run, t,
                 "stands still in the world while the vehicle moves (bystander)");
        }
      }
      groups = std::move(moving);
    }
    if (join_trace) record_join(result, runs, kept, spans, sim, steps, groups);
    // Per occupant: full assessment of the best few candidates, best passing shot wins.
    struct Choice {
      const Seen* seen = nullptr;
      std::string camera;
      quality::QualityReport report;
      quality::ProfileResult profile;
    };
    struct Job {
      std::size_t occupant;
      const Seen* seen;
      std::string camera;
    };
    std::vector<Job> jobs;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      std::vector<std::pair<const Seen*, std::string>> cands;
      for (const std::size_t i : groups[g]) {
        const auto& run = runs[kept[i].run];
        for (const auto& o : run.tracks[kept[i].track].observations) {
          const Seen& s = run.seen[o.payload];
          if (!s.crop.empty()) cands.emplace_back(&s, run.camera);
        }
      }
      std::stable_sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) {
        return ranks_before(*a.first, *b.first);
      });
      const std::size_t n =
          std::min<std::size_t>(cands.size(), std::size_t(config.full_candidates));
      for (std::size_t k = 0; k < n; ++k) jobs.push_back({g, cands[k].first, cands[k].second});
    }
    std::vector<Choice> assessed(jobs.size());
    core::parallel_for(jobs.size(), config.threads, [&](std::size_t k) {
      const Seen& s = *jobs[k].seen;
      const std::vector<core::Face> faces{s.crop_face};
      assessed[k].seen = &s;
      assessed[k].camera = jobs[k].camera;
      assessed[k].report = assessor.assess(s.crop, faces, 0, quality::Scope::kAll);
      assessed[k].profile = assessor.validate(assessed[k].report, config.profile);
    });
    auto shot_score = [&](const quality::QualityReport& r) {
      if (config.best_shot_measure.empty()) return r.unified();
      const auto* m = r.find(config.best_shot_measure);
      return m && m->component ? *m->component : -1.0;
    };
    std::vector<std::optional<Choice>> chosen(groups.size());
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      auto& c = chosen[jobs[k].occupant];
      const Choice& a = assessed[k];
      if (!c || (a.profile.passed && !c->profile.passed) ||
          (a.profile.passed == c->profile.passed && shot_score(a.report) > shot_score(c->report))) {
        c = a;
      }
    }
    // Probes of the captured occupants: the best shot's template, fused with those of the next
    // best passing candidates (probe_shots) that score at least probe_min_similarity with it.
    // A candidate that was its track's best detection reuses the join's template.
    std::vector<std::vector<const Choice*>> shots(groups.size());
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      if (assessed[k].profile.passed) shots[jobs[k].occupant].push_back(&assessed[k]);
    }
    std::map<const Seen*, const core::Template*> known;
    for (std::size_t i = 0; i < kept.size(); ++i) {
      if (const Seen* s = best_seen(kept[i]); s && track_t[i]) known.emplace(s, &*track_t[i]);
    }
    const std::size_t max_shots = std::size_t(std::max(1, config.probe_shots));
    std::vector<std::optional<core::Template>> probes(groups.size());
    std::vector<std::size_t> probe_count(groups.size(), 0);
    core::parallel_for(groups.size(), config.threads, [&](std::size_t g) {
      auto& mine = shots[g];
      if (mine.empty()) return;
      // The same order as the choice above: the chosen shot first.
      std::stable_sort(mine.begin(), mine.end(), [&](const Choice* a, const Choice* b) {
        return shot_score(a->report) > shot_score(b->report);
      });
      if (mine.size() > max_shots) mine.resize(max_shots);
      std::vector<core::Template> ts;
      for (const Choice* c : mine) {
        const auto it = known.find(c->seen);
        core::Template t = it != known.end()
                               ? *it->second
                               : embed_crop(engine, *c->seen, config.template_normalise);
        if (!ts.empty() && config.probe_min_similarity > -1) {
          const double sim =
              fused ? fused->part_scores(ts.front(), t).front() : rec.compare(ts.front(), t);
          if (sim < config.probe_min_similarity) continue;
        }
        ts.push_back(std::move(t));
      }
      probe_count[g] = ts.size();
      probes[g] = ts.size() == 1 ? std::move(ts.front()) : rec.fuse(ts);
    });
    // Decisions.
    std::vector<match::Decision> decisions(groups.size());
    if (gallery) {
      const auto vehicle_gallery = gallery->vehicle(pass.documents);
      decisions = match::Matcher(calibration).decide(probes, *vehicle_gallery, gallery->port());
    } else {
      for (std::size_t g = 0; g < groups.size(); ++g) {
        decisions[g].outcome =
            probes[g] ? match::Outcome::kNotMatched : match::Outcome::kNotCaptured;
        decisions[g].threshold = calibration.few_threshold(pass.documents.size());
      }
    }
    // Seats from where each occupant was seen (config: each camera's side).
    std::vector<SeatCue> cues(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) {
      std::map<int, long> votes;
      double fx = 0, dw = 0, pw = 0;
      long fn = 0, dn = 0, pn = 0;
      for (const std::size_t i : groups[g]) {
        const auto& run = runs[kept[i].run];
        const Track& t = run.tracks[kept[i].track];
        const CameraGeometry& geo = config.camera(run.camera);
        votes[estimate_row(geo, t.mean_width())] += long(t.observations.size());
        for (const auto& o : t.observations) {
          if (geo.side == "front" && run.size.width > 0) {
            fx += o.box.center().x / run.size.width, ++fn;
            cues[g].front_centre = geo.centre_x;
          } else if (geo.side == "driver") {
            dw += o.box.width(), ++dn;
          } else if (geo.side == "passenger") {
            pw += o.box.width(), ++pn;
          }
        }
      }
      cues[g].row = votes.empty() ? 1 : votes.begin()->first;
      if (fn > 0) cues[g].front_x = fx / double(fn);
      if (dn > 0) cues[g].driver_width = dw / double(dn);
      if (pn > 0) cues[g].passenger_width = pw / double(pn);
    }
    if (config.seat_geometry && !jo.cameras.empty()) {
      const auto where = vehicle_positions(spans, groups, jo.cameras, jo.geometry);
      for (std::size_t g = 0; g < groups.size(); ++g) cues[g].position = where[g];
    }
    const auto seats = config.seat_geometry ? estimate_seats_geometric(cues) : estimate_seats(cues);
    // JSON per occupant.
    for (std::size_t g = 0; g < groups.size(); ++g) {
      VehicleResult::Occupant occ;
      std::set<std::string> cams;
      std::map<int, long> row_votes;
      long frames_seen = 0;
      for (const std::size_t i : groups[g]) {
        const auto& run = runs[kept[i].run];
        const Track& t = run.tracks[kept[i].track];
        cams.insert(run.camera);
        frames_seen += long(t.observations.size());
        row_votes[estimate_row(config.camera(run.camera), t.mean_width())] +=
            long(t.observations.size());
        for (const auto& o : t.observations) occ.sightings.push_back({run.camera, o.frame, o.box});
      }
      // What the best-shot search had to choose from: every detection of the occupant, how
      // many passed the profile on the cheap measures, the largest IED and smallest |yaw|.
      std::size_t detections = 0, passing = 0;
      float max_ied = 0, min_abs_yaw = 180;
      for (const std::size_t i : groups[g]) {
        const auto& run = runs[kept[i].run];
        for (const auto& o : run.tracks[kept[i].track].observations) {
          if (o.payload < 0) continue;
          const Seen& s = run.seen[o.payload];
          ++detections;
          passing += s.cheap_pass;
          max_ied = std::max(max_ied, s.ied);
          min_abs_yaw = std::min(min_abs_yaw, s.abs_yaw);
        }
      }
      // The front-most row any camera places the person in (a camera that sees only one
      // row is the strongest evidence; see config/lane.toml).
      const int row =
          config.seat_geometry ? cues[g].row : (row_votes.empty() ? 1 : row_votes.begin()->first);
      nlohmann::json o = {{"occupant", g},
                          {"row", row},
                          {"seat", seats[g]},
                          {"cameras", std::vector<std::string>(cams.begin(), cams.end())},
                          {"frames_seen", frames_seen},
                          {"candidates",
                           {{"detections", detections},
                            {"passing_cheap", passing},
                            {"max_ied", std::round(max_ied * 10) / 10},
                            {"min_abs_yaw", std::round(min_abs_yaw * 10) / 10}}}};
      const auto& c = chosen[g];
      bool captured = false;
      if (c) {
        captured = c->profile.passed;
        o["best"] = {
            {"camera", c->camera}, {"frame", c->seen->frame}, {"box", box_json(c->seen->face.box)}};
        o["quality"] = quality::to_json(c->report);
        o["profile"] = quality::to_json(c->profile);
        std::vector<unsigned char> jpeg;
        cv::imencode(".jpg", c->seen->crop, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95});
        occ.best_jpeg = std::move(jpeg);
      } else {
        o["profile"] = {{"passed", false}, {"failures", {"no image of this face was kept"}}};
      }
      o["captured"] = captured;
      if (probe_count[g] > 0) o["probe_shots"] = probe_count[g];
      const auto& d = decisions[g];
      nlohmann::json m = {{"outcome", match::to_string(d.outcome)},
                          {"threshold", d.threshold},
                          {"referral", d.officer_referral()}};
      if (d.best_score) m["best_score"] = *d.best_score;
      if (d.conflict) m["conflict"] = true;
      if (d.match) {
        m["gallery"] = match::to_string(d.gallery);
        m["score"] = d.match->score;
        m["document_id"] = d.match->entry.document_id;
        if (gallery) {
          if (const auto* doc = gallery->find(d.match->entry.document_id))
            m["document"] = doc->number;
        }
      }
      o["match"] = m;
      occ.probe = probes[g];
      if (!captured) {
        nlohmann::json reasons = nlohmann::json::array();
        if (c) {
          for (const auto& f : c->profile.failures) reasons.push_back(f);
        } else {
          reasons.push_back("no image of this face was kept");
        }
        j["not_captured"].push_back({{"occupant", g}, {"reasons", reasons}});
      }
      j["occupants"].push_back(o);
      result.occupants.push_back(std::move(occ));
    }
    j["occupant_count"] = groups.size();
    result.json = std::move(j);
    record(pass, result);
    if (observer.occupant_captured || observer.decision_ready) {
      for (const auto& o : result.json["occupants"]) {
        if (observer.occupant_captured) {
          nlohmann::json copy = o;
          copy.erase("match");
          copy["vehicle"] = pass.vehicle;
          observer.occupant_captured(copy);
        }
        if (observer.decision_ready) {
          nlohmann::json d = {
              {"vehicle", pass.vehicle}, {"occupant", o["occupant"]}, {"match", o["match"]}};
          if (o.contains("occupant_id")) d["occupant_id"] = o["occupant_id"];
          if (result.json.contains("crossing_id")) d["crossing_id"] = result.json["crossing_id"];
          observer.decision_ready(d);
        }
      }
    }
    return result;
  }

  void record(const VehiclePass& pass, VehicleResult& result) const {
    if (!store) return;
    const std::string actor = "laneface lane " + (pass.lane.empty() ? std::string("?") : pass.lane);
    store::Crossing c;
    c.lane = pass.lane;
    c.port = pass.port;
    c.direction = pass.direction == "exit" ? store::Direction::kExit : store::Direction::kEntry;
    const auto t = store::parse_time(pass.time);
    c.time = t ? *t
               : std::chrono::time_point_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now());
    auto& occ_json = result.json["occupants"];
    for (const auto& o : occ_json) {
      store::Occupant so;
      so.row = o["row"].get<int>();
      so.seat = o.value("seat", std::string());
      so.capture = o["captured"].get<bool>() ? store::CaptureStatus::kCaptured
                                             : store::CaptureStatus::kNotCaptured;
      c.occupants.push_back(so);
    }
    const store::Crossing saved = store->record_crossing(c, actor);
    result.json["crossing_id"] = saved.id;
    const std::string model = engine.recognizer().model_id();
    for (std::size_t i = 0; i < saved.occupants.size() && i < occ_json.size(); ++i) {
      const store::Id oid = saved.occupants[i].id;
      occ_json[i]["occupant_id"] = oid;
      const auto& occ = result.occupants[i];
      if (!occ.best_jpeg.empty()) store->add_encounter_photo(oid, occ.best_jpeg, actor);
      if (occ.probe) {
        store->add_template({store::TemplateOwnerKind::kEncounter, oid}, *occ.probe, actor);
      }
      const auto& m = occ_json[i]["match"];
      store::MatchDecision d;
      d.occupant_id = oid;
      d.outcome = *store::parse_enum<store::MatchOutcome>(m["outcome"].get<std::string>());
      d.model_id = model;
      d.threshold = m["threshold"].get<double>();  // the gallery's: 1:few or 1:N
      if (m.contains("score"))
        d.score = m["score"].get<double>();
      else if (m.contains("best_score"))
        d.score = m["best_score"].get<double>();
      if (m.contains("gallery")) {
        d.gallery = m["gallery"] == "port" ? store::Gallery::kPort : store::Gallery::kVehicle;
      }
      if (d.outcome == store::MatchOutcome::kMatched && m.contains("document_id") && gallery &&
          gallery->store_ids()) {
        if (const auto* doc = gallery->find(m["document_id"].get<match::Id>())) {
          d.document_id = doc->document_id;
          if (doc->subject_id) d.subject_id = doc->subject_id;
        }
      }
      store->record_match(d, actor);
    }
  }
};

LaneProcessor::LaneProcessor(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                             LaneConfig config, store::Store* store, const DocumentGallery* gallery)
    : impl_(std::make_unique<Impl>(
          Impl{engine, assessor, std::move(config), store, gallery, {}, {}})) {
  auto& c = impl_->config;
  if (!assessor.config().profiles.count(c.profile)) {
    throw Error(ErrorKind::kConfig,
                "lane config: quality profile '" + c.profile + "' is not in the quality config");
  }
  if (!c.best_shot_measure.empty()) {
    const auto& ms = assessor.config().measures;
    if (std::none_of(ms.begin(), ms.end(),
                     [&](const auto& m) { return m.name == c.best_shot_measure; })) {
      throw Error(ErrorKind::kConfig, "lane config: best_shot_measure '" + c.best_shot_measure +
                                          "' is not a measure of the quality config");
    }
  }
  const auto& rec = engine.recognizer();
  if (!c.calibration.empty()) {
    // A file, or a directory of <model>.toml files; the model id is checked.
    impl_->calibration = match::load_calibration_for(c.calibration, rec.model_id());
    if ((c.vehicle_target_fmr > 0 || c.vehicle_target_fpir > 0) &&
        impl_->calibration.curve.empty()) {
      throw Error(ErrorKind::kConfig,
                  std::string("lane config: ") +
                      (c.vehicle_target_fpir > 0 ? "vehicle_target_fpir" : "vehicle_target_fmr") +
                      " needs a calibration with an impostor curve (" + c.calibration.string() +
                      " has none: rerun laneface calibrate threshold)");
    }
    if (c.vehicle_target_fmr > 0) {
      impl_->calibration.threshold = impl_->calibration.threshold_at(c.vehicle_target_fmr);
      impl_->calibration.target_fmr = c.vehicle_target_fmr;
    }
    impl_->calibration.few_target_fpir = c.vehicle_target_fpir;
  } else {
    impl_->calibration.model_id = rec.model_id();
    impl_->calibration.threshold = rec.threshold();
    impl_->calibration.target_fmr = 1e-3;
    impl_->calibration.source = "manifest compare_threshold (FAR 1e-3 on LFW view 2)";
  }
  if (gallery && gallery->model_id() != rec.model_id()) {
    throw Error(ErrorKind::kConfig, "lane: the document gallery holds '" + gallery->model_id() +
                                        "' templates but the recognizer is '" + rec.model_id() +
                                        "'");
  }
  if (store && gallery && !gallery->store_ids()) {
    throw Error(ErrorKind::kConfig,
                "lane: decisions recorded in a store must name its documents: load the gallery "
                "from the store (load_document_gallery), not from a CSV");
  }
  if (c.liveness) {
    const auto& spec = engine.manifest().model_for_role("liveness");
    impl_->liveness = std::make_shared<vision::NetPool>(engine.manifest(), spec);
  }
}

LaneProcessor::~LaneProcessor() = default;

const LaneConfig& LaneProcessor::config() const { return impl_->config; }
double LaneProcessor::threshold(std::size_t documents) const {
  return impl_->calibration.few_threshold(documents);
}

nlohmann::json LaneProcessor::threshold_table() const {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t n = 1; n <= 7; ++n) j[std::to_string(n)] = threshold(n);
  return j;
}
const match::Calibration& LaneProcessor::calibration() const { return impl_->calibration; }

nlohmann::json LaneProcessor::process(const VehiclePass& pass, const Observer& observer) const {
  return process_detailed(pass, observer).json;
}

VehicleResult LaneProcessor::process_detailed(const VehiclePass& pass, const Observer& observer,
                                              bool join_trace) const {
  const auto t0 = Clock::now();
  if (pass.cameras.empty()) {
    throw Error(ErrorKind::kInvalidInput, "vehicle " + pass.vehicle + ": no camera inputs");
  }
  cv::setNumThreads(1);
  if (observer.vehicle_arrived) {
    observer.vehicle_arrived({{"vehicle", pass.vehicle},
                              {"lane", pass.lane},
                              {"port", pass.port},
                              {"direction", pass.direction},
                              {"time", pass.time}});
  }
  std::vector<std::string> cams;
  std::vector<std::vector<std::string>> sources;
  for (const auto& c : pass.cameras) {
    cams.push_back(c.camera);
    sources.push_back({c.source});
  }
  auto runs = impl_->analyse_all(cams, sources);
  const double analyse_ms = ms_since(t0);
  const auto t1 = Clock::now();
  std::vector<Impl::TrackRef> refs;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (std::size_t t = 0; t < runs[r].tracks.size(); ++t) refs.push_back({r, t});
  }
  VehicleResult result = impl_->finish(pass, runs, refs, observer, join_trace);
  result.frames = 0;
  double fps = 15;
  for (const auto& r : runs) result.frames = std::max(result.frames, r.frames), fps = r.fps;
  result.video_s = result.frames / fps;
  result.analyse_ms = analyse_ms;
  result.latency_ms = ms_since(t1);
  result.wall_ms = ms_since(t0);
  result.json["frames"] = result.frames;
  result.json["latency_ms"] = std::round(result.latency_ms * 10) / 10;
  result.json["analyse_ms"] = std::round(analyse_ms * 10) / 10;
  return result;
}

std::vector<VehicleResult> LaneProcessor::process_stream(
    const VehiclePass& lane, const std::vector<std::vector<std::string>>& streams,
    const Observer& observer) const {
  if (lane.cameras.size() != streams.size() || streams.empty()) {
    throw Error(ErrorKind::kInvalidInput, "lane stream: one list of sources per camera expected");
  }
  cv::setNumThreads(1);
  std::vector<std::string> cams;
  for (const auto& c : lane.cameras) cams.push_back(c.camera);
  auto runs = impl_->analyse_all(cams, streams);
  std::vector<Impl::TrackRef> refs;
  std::vector<TrackSpan> spans;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (std::size_t t = 0; t < runs[r].tracks.size(); ++t) {
      const Track& tr = runs[r].tracks[t];
      if (int(tr.observations.size()) < impl_->config.min_detections) continue;
      refs.push_back({r, t});
      spans.push_back({runs[r].camera, tr.first_frame(), tr.last_frame(), {}});
    }
  }
  const double fps = runs.front().fps;
  const long gap = std::lround(impl_->config.session_gap_s * fps);
  std::vector<VehicleResult> out;
  int n = 0;
  for (const auto& group : split_sessions(spans, gap)) {
    const auto t1 = Clock::now();
    std::vector<Impl::TrackRef> sub;
    long first = spans[group.front()].first, last = 0;
    for (const std::size_t i : group) {
      sub.push_back(refs[i]);
      first = std::min(first, spans[i].first);
      last = std::max(last, spans[i].last);
    }
    VehiclePass pass = lane;
    char id[16];
    std::snprintf(id, sizeof id, "s%04d", ++n);
    pass.vehicle = id;
    if (observer.vehicle_arrived) {
      observer.vehicle_arrived(
          {{"vehicle", pass.vehicle}, {"lane", pass.lane}, {"direction", pass.direction}});
    }
    VehicleResult r = impl_->finish(pass, runs, sub, observer, false);
    r.latency_ms = ms_since(t1);
    r.json["first_frame"] = first;
    r.json["last_frame"] = last;
    r.json["latency_ms"] = std::round(r.latency_ms * 10) / 10;
    out.push_back(std::move(r));
  }
  return out;
}

// ---- lane directory ----

namespace {

nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::kNotFound, path.string() + ": " + what + " not found");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kInvalidInput, path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

}  // namespace

LaneDirectory read_lane_directory(const std::filesystem::path& dir, bool with_events) {
  LaneDirectory out;
  out.dir = dir;
  if (!std::filesystem::is_directory(dir)) {
    throw Error(ErrorKind::kNotFound, dir.string() + ": lane directory not found");
  }
  const auto lane_path = dir / "lane.json";
  out.lane = read_json_file(lane_path, "lane.json (the lane description)");
  const auto& l = out.lane;
  auto bad = [&](const std::string& what) {
    throw Error(ErrorKind::kInvalidInput, lane_path.string() + ": " + what);
  };
  if (!l.is_object()) bad("expects a JSON object");
  if (l.value("format", std::string()) != "laneface-lane/1") {
    bad("format is not \"laneface-lane/1\"");
  }
  if (!l.contains("cameras") || !l["cameras"].is_array() || l["cameras"].empty()) {
    bad("\"cameras\" must be a non-empty list");
  }
  if (!l.contains("vehicles") || !l["vehicles"].is_array()) bad("\"vehicles\" must be a list");
  try {
    out.fps = l.value("fps", 15.0);
    for (const auto& v : l["vehicles"]) {
      VehiclePass p;
      p.vehicle = v.at("id").get<std::string>();
      p.lane = l.value("lane", std::string());
      p.port = l.value("port", std::string());
      p.direction = l.value("direction", std::string("entry"));
      const auto vdir = dir / "vehicles" / p.vehicle;
      if (with_events) {
        const auto ev = read_json_file(vdir / "event.json", "event.json (the sensor event)");
        p.lane = ev.value("lane", p.lane);
        p.port = ev.value("port", p.port);
        p.direction = ev.value("direction", p.direction);
        p.time = ev.value("time", std::string());
        if (ev.contains("documents")) p.documents = ev["documents"];
      }
      for (const auto& c : l["cameras"]) {
        p.cameras.push_back(
            {c.at("id").get<std::string>(), (vdir / c.at("file").get<std::string>()).string()});
      }
      out.frames.push_back(v.value("frames", 0L));
      out.vehicles.push_back(std::move(p));
    }
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("unexpected content (") + e.what() + ")");
  }
  return out;
}

}  // namespace laneface::capture
