#include "sim/simulator.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <set>

#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "vision/face_engine.hpp"

namespace laneface::sim {

using core::Error;
using core::ErrorKind;
using nlohmann::json;

FaceSource engine_faces(const FaceLibrary& library, const vision::FaceEngine& engine) {
  return {[&library, &engine](std::size_t i) { return library.cut(i, engine); },
          [&library, &engine](std::size_t i) { return library.portrait(i, engine); }};
}

namespace {

constexpr int kCandidates = 6;  // photos per identity examined first

std::string vehicle_id(std::size_t i) {
  char buf[24];  // "v" + up to 20 digits of a size_t
  std::snprintf(buf, sizeof buf, "v%04zu", i + 1);
  return buf;
}

// "2026-11-27T08:00:00Z" + seconds (whole seconds; the day may roll over within a month).
std::string add_seconds(const std::string& iso, double seconds) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s) != 6) {
    throw Error(ErrorKind::kInvalidInput, "start time '" + iso + "': not YYYY-MM-DDTHH:MM:SSZ");
  }
  long total =
      ((static_cast<long>(d) * 24 + h) * 60 + mi) * 60 + s + static_cast<long>(std::floor(seconds));
  s = static_cast<int>(total % 60);
  total /= 60;
  mi = static_cast<int>(total % 60);
  total /= 60;
  h = static_cast<int>(total % 24);
  d = static_cast<int>(total / 24);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
  return buf;
}

double r1(double v) { return std::round(v * 10) / 10; }
double r3(double v) { return std::round(v * 1000) / 1000; }

const char* body_name(BodyKind k) {
  switch (k) {
    case BodyKind::kSedan:
      return "sedan";
    case BodyKind::kSuv:
      return "suv";
    case BodyKind::kVan:
      return "van";
  }
  return "?";
}

Body make_body(BodyKind kind, int rows, Rng& rng) {
  Body b;
  b.kind = kind;
  b.rows = rows;
  switch (kind) {
    case BodyKind::kSedan:
      b.length = 4.7, b.width = 1.8, b.belt = 0.92, b.roof = 1.45;
      b.ws_base_x = -1.35, b.ws_top_x = -2.0, b.rear_top_x = -3.6, b.rear_base_x = -4.15;
      break;
    case BodyKind::kSuv:
      b.length = 4.85, b.width = 1.88, b.belt = 1.05, b.roof = 1.75;
      b.ws_base_x = -1.25, b.ws_top_x = -1.85, b.rear_top_x = -4.5, b.rear_base_x = -4.7;
      break;
    case BodyKind::kVan:
      b.length = 5.1, b.width = 1.95, b.belt = 1.1, b.roof = 1.95;
      b.ws_base_x = -1.0, b.ws_top_x = -1.6, b.rear_top_x = -4.95, b.rear_base_x = -5.0;
      break;
  }
  const double row1 = b.ws_base_x - 0.8;
  b.pillars.push_back(row1 - 0.45);
  if (kind != BodyKind::kSedan) b.pillars.push_back(row1 - 0.95 - 0.45);
  static const cv::Scalar paints[] = {{235, 235, 235}, {30, 30, 32},   {170, 170, 175},
                                      {40, 40, 170},   {150, 80, 30},  {110, 110, 110},
                                      {60, 110, 60},   {200, 200, 190}};
  b.paint = paints[rng.integer(0, 7)];
  const double g = rng.uniform(22, 40);
  b.interior = cv::Scalar(g, g, g * 1.05);
  return b;
}

struct Seat {
  int row;
  const char* name;
  double y;
};

// Seats in the order they fill, by body rows and occupant count.
std::vector<Seat> seat_order(int rows, int count, Rng& rng) {
  std::vector<Seat> s{{1, "driver", 0.37}};
  if (count >= 2) s.push_back({1, "front_passenger", -0.37});
  std::vector<Seat> rear{{2, "left", 0.45}, {2, "right", -0.45}};
  rng.shuffle(rear);
  for (const auto& r : rear) s.push_back(r);
  if (rows >= 3) {
    std::vector<Seat> third{{3, "left", 0.42}, {3, "right", -0.42}};
    rng.shuffle(third);
    for (const auto& r : third) s.push_back(r);
  }
  s.push_back({2, "middle", 0.0});
  s.resize(static_cast<std::size_t>(std::min<int>(count, static_cast<int>(s.size()))));
  return s;
}

}  // namespace

Simulator::Simulator(SimOptions options, const FaceLibrary& library, FaceSource faces)
    : options_(std::move(options)), library_(library), faces_(std::move(faces)) {
  const auto& o = options_;
  if (o.vehicles < 1 || o.vehicles > 100000) {
    throw Error(ErrorKind::kInvalidInput,
                "--vehicles " + std::to_string(o.vehicles) + ": 1 to 100000");
  }
  if (o.width < 160 || o.height < 120 || o.width > 3840 || o.height > 2160) {
    throw Error(ErrorKind::kInvalidInput, "--width/--height: 160x120 to 3840x2160");
  }
  if (!(o.fps >= 1 && o.fps <= 60)) throw Error(ErrorKind::kInvalidInput, "--fps: 1 to 60");
  if (o.min_frames < 2 || o.max_frames < o.min_frames || o.max_frames > 1000) {
    throw Error(ErrorKind::kInvalidInput, "frames per vehicle: 2 <= min <= max <= 1000");
  }
  preset_ = sim::preset(o.preset);
  if (o.ghost_probability > 1) {
    throw Error(ErrorKind::kInvalidInput, "--ghosts: a probability from 0 to 1");
  }
  if (o.ghost_probability >= 0) preset_.ghost_probability = o.ghost_probability;
  const auto& ids = library_.identities();
  if (ids.empty()) {
    throw Error(ErrorKind::kInvalidInput,
                o.labels.string() + ": no identity with " +
                    (o.single_photo ? "a photo" : "at least two photos") + " (" +
                    std::to_string(library_.skipped_identities()) + " identities and " +
                    std::to_string(library_.skipped_rows()) + " rows skipped)");
  }
  const cv::Size size(o.width, o.height);
  {
    Rng cam_rng = Rng::child(o.seed, 1);
    renderer_ = std::make_unique<LaneRenderer>(lane_cameras(o.cameras, size, cam_rng), o.seed);
  }

  // Pass 1: occupant counts, identities and ghosts of every vehicle.
  struct Skeleton {
    std::vector<std::size_t> riders;  // identity indices
    int ghost_kind = -1;              // 0 poster, 1 screen, 2 bystander
    std::size_t ghost_identity = 0;
  };
  const int n_ids = static_cast<int>(ids.size());
  std::vector<Skeleton> skel(static_cast<std::size_t>(o.vehicles));
  Rng plan = Rng::child(o.seed, 2);
  const std::vector<double> count_weights{0.38, 0.30, 0.15, 0.08, 0.05, 0.025, 0.015};
  for (auto& s : skel) {
    const int count = std::min(n_ids, 1 + static_cast<int>(plan.weighted(count_weights)));
    while (static_cast<int>(s.riders.size()) < count) {
      const auto k = static_cast<std::size_t>(plan.integer(0, n_ids - 1));
      if (std::find(s.riders.begin(), s.riders.end(), k) == s.riders.end()) s.riders.push_back(k);
    }
    if (plan.chance(preset_.ghost_probability)) {
      s.ghost_kind = plan.integer(0, 2);
      s.ghost_identity = static_cast<std::size_t>(plan.integer(0, n_ids - 1));
      if (n_ids > count) {
        while (std::find(s.riders.begin(), s.riders.end(), s.ghost_identity) != s.riders.end()) {
          s.ghost_identity = static_cast<std::size_t>(plan.integer(0, n_ids - 1));
        }
      }
    }
  }

  // Candidate photos of every identity used, detected in parallel.
  std::set<std::size_t> used;
  for (const auto& s : skel) {
    used.insert(s.riders.begin(), s.riders.end());
    if (s.ghost_kind >= 0) used.insert(s.ghost_identity);
  }
  std::map<std::size_t, std::vector<std::size_t>> order;  // identity → shuffled photos
  std::vector<std::size_t> prefetch;
  for (std::size_t k : used) {
    auto photos = ids[k].photos;
    Rng r = Rng::child(o.seed, 3, k);
    r.shuffle(photos);
    for (std::size_t j = 0; j < photos.size() && j < static_cast<std::size_t>(kCandidates); ++j) {
      prefetch.push_back(photos[j]);
    }
    order[k] = std::move(photos);
  }
  core::parallel_for(prefetch.size(), o.threads, [&](std::size_t j) { faces_.cut(prefetch[j]); });

  // Per identity: usable photos (a face found), the document photo (the most frontal) and
  // the live photos (the rest).
  struct Person {
    bool usable = false;
    std::size_t doc = 0;
    std::vector<std::size_t> live;  // sorted by |yaw|, most frontal first
    bool enrolled = false;
    std::string number;
  };
  std::map<std::size_t, Person> people;
  const std::size_t need = o.single_photo ? 1 : 2;
  for (std::size_t k : used) {
    std::vector<std::size_t> good;
    for (std::size_t j = 0; j < order[k].size(); ++j) {
      if (j >= static_cast<std::size_t>(kCandidates) && good.size() >= need) break;
      if (faces_.cut(order[k][j])) {
        good.push_back(order[k][j]);
      } else {
        ++failed_photos_;
      }
    }
    Person p;
    if (good.size() >= need) {
      p.usable = true;
      std::stable_sort(good.begin(), good.end(), [&](std::size_t a, std::size_t b) {
        return std::abs(faces_.cut(a)->yaw) < std::abs(faces_.cut(b)->yaw);
      });
      p.doc = good.front();
      p.live.assign(good.begin() + (good.size() > 1 ? 1 : 0), good.end());
      p.enrolled = !Rng::child(o.seed, 4, k).chance(preset_.not_enrolled);
    } else {
      ++unusable_identities_;
    }
    people[k] = std::move(p);
  }

  // Documents: one per enrolled identity that rides, numbered in order of first appearance.
  static const char* countries[] = {"USA", "MEX", "CAN", "GTM", "DEU", "IND", "PHL", "GBR"};
  for (const auto& s : skel) {
    for (std::size_t k : s.riders) {
      Person& p = people[k];
      if (!p.usable || !p.enrolled || !p.number.empty()) continue;
      Rng r = Rng::child(o.seed, 5, k);
      PlannedDocument d;
      char num[16];
      std::snprintf(num, sizeof num, "P%05zu", documents_.size() + 1);
      d.number = p.number = num;
      const double t = r.uniform();
      d.type = t < 0.8 ? "passport" : t < 0.9 ? "passport_card" : "permanent_resident_card";
      d.country = countries[r.integer(0, 7)];
      if (d.type != "passport") d.country = "USA";
      d.citizenship = d.country == "USA" && d.type != "permanent_resident_card" ? "US" : "non-US";
      if (d.citizenship == "non-US") d.admitted_until = "2027-05-27";
      d.name = "Traveller " + ids[k].id;
      char dob[16];
      std::snprintf(dob, sizeof dob, "%04d-%02d-%02d", r.integer(1945, 2012), r.integer(1, 12),
                    r.integer(1, 28));
      d.date_of_birth = dob;
      d.identity = ids[k].id;
      d.photo = p.doc;
      documents_.push_back(std::move(d));
    }
  }

  // Pass 2: each vehicle's scene.
  const Preset& pr = preset_;
  double clock = 0;
  for (std::size_t i = 0; i < skel.size(); ++i) {
    Rng v = Rng::child(o.seed, 100, i);
    PlannedVehicle pv;
    pv.id = vehicle_id(i);
    pv.start_s = clock;
    VehicleScene& sc = pv.scene;
    sc.seed = Rng::child(o.seed, 101, i).next();
    sc.fps = o.fps;
    sc.frames = v.integer(o.min_frames, o.max_frames);
    clock += sc.frames / o.fps;
    std::vector<std::size_t> riders;
    for (std::size_t k : skel[i].riders) {
      if (people[k].usable) riders.push_back(k);
    }
    if (riders.empty()) {  // every rider unusable: the first usable identity drives
      for (const auto& [k, p] : people) {
        if (p.usable) {
          riders.push_back(k);
          break;
        }
      }
    }
    if (riders.empty()) {
      throw Error(ErrorKind::kInvalidInput,
                  o.labels.string() + ": no usable identity (no face found in their photos)");
    }
    const int count = static_cast<int>(riders.size());
    BodyKind kind;
    int rows = 2;
    if (count <= 4) {
      kind = v.chance(0.55) ? BodyKind::kSedan : BodyKind::kSuv;
    } else if (count == 5) {
      kind = v.chance(0.5) ? BodyKind::kSuv : BodyKind::kVan;
      rows = kind == BodyKind::kVan ? 3 : 2;
    } else {
      kind = v.chance(0.5) ? BodyKind::kSuv : BodyKind::kVan;
      rows = 3;
    }
    sc.body = make_body(kind, rows, v);
    const auto seats = seat_order(rows, count, v);
    const double row_x[3] = {sc.body.ws_base_x - 0.8, sc.body.ws_base_x - 1.75,
                             sc.body.ws_base_x - 2.6};
    for (int j = 0; j < count; ++j) {
      Occupant oc;
      oc.id = j;
      const std::size_t k = riders[static_cast<std::size_t>(j)];
      const Person& p = people[k];
      oc.identity = ids[k].id;
      oc.row = seats[static_cast<std::size_t>(j)].row;
      oc.seat = seats[static_cast<std::size_t>(j)].name;
      const bool child = oc.row > 1 && v.chance(0.15);
      oc.face_m = child ? v.uniform(0.125, 0.14) : v.uniform(0.15, 0.17);
      oc.head = {row_x[oc.row - 1] + v.uniform(-0.05, 0.05),
                 seats[static_cast<std::size_t>(j)].y + v.uniform(-0.03, 0.03),
                 sc.body.belt + (child ? 0.2 : 0.3) + v.uniform(-0.04, 0.05)};
      oc.gain = (1 - pr.rear_darkness * (oc.row - 1)) * v.uniform(0.88, 1.08);
      oc.clothing = cv::Scalar(v.uniform(20, 200), v.uniform(20, 200), v.uniform(20, 200));
      oc.sway_phase = v.uniform(0, 6.28);
      oc.sway_m = v.uniform(0.005, 0.02);
      // Live photos: a frontal-enough one for most of the pass, another later, and (turn)
      // a side-on one for a while.
      std::vector<std::size_t> frontal, turned;
      for (std::size_t ph : p.live) {
        (std::abs(faces_.cut(ph)->yaw) <= pr.max_live_yaw ? frontal : turned).push_back(ph);
      }
      if (frontal.empty()) frontal.push_back(p.live.front());
      const auto pick = [&](const std::vector<std::size_t>& from) {
        return from[static_cast<std::size_t>(v.integer(0, static_cast<int>(from.size()) - 1))];
      };
      const std::size_t main = pick(frontal);
      oc.photos.push_back({0, main, faces_.cut(main)});
      if (frontal.size() > 1 && v.chance(0.5)) {
        const std::size_t other = pick(frontal);
        const int f = v.integer(sc.frames / 3, sc.frames - 5);
        oc.photos.push_back({f, other, faces_.cut(other)});
      }
      if (v.chance(pr.turn_probability)) {
        const std::size_t side = turned.empty() ? pick(p.live) : pick(turned);
        const int a = v.integer(0, sc.frames - 8), len = v.integer(sc.frames / 6, sc.frames / 3);
        std::vector<ShownPhoto> seq;
        const std::size_t back = oc.photos.back().photo;
        for (const auto& sp : oc.photos) {
          if (sp.from < a) seq.push_back(sp);
        }
        seq.push_back({a, side, faces_.cut(side)});
        if (a + len < sc.frames) seq.push_back({a + len, back, faces_.cut(back)});
        oc.photos = std::move(seq);
      }
      if (v.chance(pr.hand_probability)) {
        oc.hand_from = v.integer(0, sc.frames - 1);
        oc.hand_to = oc.hand_from + v.integer(sc.frames / 5, sc.frames / 2);
        oc.hand_offset = {static_cast<float>(v.uniform(-0.3, 0.3)),
                          static_cast<float>(v.uniform(0.1, 0.35))};
      }
      sc.occupants.push_back(std::move(oc));
      if (p.enrolled) pv.documents.push_back(p.number);
    }
    // Motion and position.
    sc.speed = pr.speed_mps.draw(v);
    const double pass_m = sc.speed * sc.frames / o.fps;
    const double head_mid = v.uniform(0.3, 1.1);
    sc.front_x0 = head_mid - pass_m / 2 - row_x[0];
    sc.lane_offset = v.uniform(-0.2, 0.2);
    // Effects.
    Effects& fx = sc.fx;
    fx.night = v.chance(pr.night_probability);
    fx.light = pr.light.draw(v) * (fx.night ? 0.75 : 1.0);
    fx.tint_front = pr.tint_front.draw(v);
    fx.tint_rear = std::min(fx.tint_front, pr.tint_rear.draw(v));
    const double green = v.uniform(0.0, 0.08);
    fx.tint_colour = cv::Scalar(1.0 - green, 1.0, 1.0 - 1.5 * green);
    fx.reflection = pr.reflection.draw(v);
    fx.glare = v.chance(pr.glare_probability);
    fx.glare_strength = pr.glare.draw(v);
    fx.glare_u = v.uniform(0.1, 0.9);
    fx.glare_v = v.uniform(0.1, 0.9);
    fx.glare_radius_m = v.uniform(0.1, 0.35);
    fx.blur_px = pr.blur_px.draw(v);
    fx.noise_sd = pr.noise_sd.draw(v) * (fx.night ? 1.6 : 1.0);
    fx.jpeg_quality = static_cast<int>(std::lround(pr.jpeg_quality.draw(v)));
    fx.visor = v.chance(pr.visor_probability);
    fx.visor_drop_m = v.uniform(0.08, 0.2);
    // Ghost.
    if (skel[i].ghost_kind >= 0 && people[skel[i].ghost_identity].usable) {
      const std::size_t k = skel[i].ghost_identity;
      const Person& p = people[k];
      Ghost g;
      g.id = 0;
      g.identity = ids[k].id;
      std::vector<std::size_t> all = p.live;
      all.push_back(p.doc);
      g.photo = all[static_cast<std::size_t>(v.integer(0, static_cast<int>(all.size()) - 1))];
      g.cut = faces_.cut(g.photo);
      g.side = v.chance(0.5) ? 1 : -1;
      const double hw = sc.body.width / 2;
      if (skel[i].ghost_kind == 0) {
        g.kind = "poster";
        g.size_m = v.uniform(0.38, 0.5);
        g.where = {-sc.body.length + 0.95 + v.uniform(0, 0.3), g.side * (hw + 0.01),
                   (0.28 + sc.body.belt) / 2 + 0.02};
      } else if (skel[i].ghost_kind == 1) {
        g.kind = "screen";
        g.size_m = v.uniform(0.14, 0.2);
        // Held up at a window on that side, next to the most forward occupant there.
        double hx = row_x[0];
        for (const auto& oc : sc.occupants) {
          if (oc.head[1] * g.side > 0.2) {
            hx = oc.head[0];
            break;
          }
        }
        g.where = {hx + v.uniform(0.05, 0.25), g.side * (hw - 0.14), sc.body.belt + 0.22};
      } else {
        g.kind = "bystander";
        // On the far sidewalk, in view of one side camera, looking towards it.
        std::vector<std::size_t> side_cams;
        for (std::size_t c = 0; c < renderer_->cameras().size(); ++c) {
          if (std::abs(renderer_->cameras()[c].pos[1]) > 1.5) side_cams.push_back(c);
        }
        if (side_cams.empty()) side_cams.push_back(0);
        const Camera& cam = renderer_->cameras()[side_cams[static_cast<std::size_t>(
            v.integer(0, static_cast<int>(side_cams.size()) - 1))]];
        const cv::Vec3d fwd(cam.rot(2, 0), cam.rot(2, 1), cam.rot(2, 2));
        // Half are vendors walking between the lanes, next to the car on the camera's side;
        // half stand on the far sidewalk.
        g.near = v.chance(0.5);
        const double yb = g.near ? (cam.pos[1] > 0 ? 1 : -1) * v.uniform(1.35, 1.7) + sc.lane_offset
                                 : (cam.pos[1] > 0 ? -1 : 1) * v.uniform(3.4, 4.5);
        double t = std::abs(fwd[1]) > 0.05 ? (yb - cam.pos[1]) / fwd[1] : 8.0;
        if (t < 0) t = 8.0;
        g.where = {cam.pos[0] + t * fwd[0] + v.uniform(-0.8, 0.8) * (g.near ? 0.4 : 1.0), yb,
                   v.uniform(1.55, 1.75)};
        cv::Vec3d to = cam.pos - g.where;
        to[2] = 0;
        const double a = v.uniform(-0.25, 0.25);
        to = cv::normalize(to);
        g.facing = {to[0] * std::cos(a) - to[1] * std::sin(a),
                    to[0] * std::sin(a) + to[1] * std::cos(a), 0};
        g.size_m = v.uniform(0.15, 0.17);
      }
      if (g.cut) sc.ghosts.push_back(std::move(g));
    }
    vehicles_.push_back(std::move(pv));
  }
}

json Simulator::render_vehicle(std::size_t i, const std::filesystem::path* dir) const {
  const PlannedVehicle& pv = vehicles_.at(i);
  const VehicleScene& sc = pv.scene;
  const auto& cams = renderer_->cameras();
  const cv::Size size(options_.width, options_.height);
  const std::vector<cv::Mat> noise = noise_frames(sc, size);
  json boxes = json::array();
  for (std::size_t c = 0; c < cams.size(); ++c) {
    cv::VideoWriter writer;
    if (dir) {
      const auto path = *dir / (cams[c].id + ".avi");
      writer.open(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), options_.fps, size);
      if (!writer.isOpened()) {
        throw Error(ErrorKind::kIo, path.string() + ": cannot open an MJPG video for writing");
      }
      writer.set(cv::VIDEOWRITER_PROP_QUALITY, sc.fx.jpeg_quality);
    }
    for (int f = 0; f < sc.frames; ++f) {
      const RenderedFrame fr = renderer_->render(sc, c, f, noise);
      if (dir) writer.write(fr.bgr);
      if (!options_.snapshots.empty() && static_cast<int>(i) < options_.snapshot_vehicles &&
          (f == sc.frames / 3 || f == 2 * sc.frames / 3)) {
        cv::Mat snap = fr.bgr.clone();
        if (options_.snapshot_boxes) {
          for (const DrawnFace& d : fr.faces) {
            cv::rectangle(snap, cv::Rect2f(d.box.x1, d.box.y1, d.box.width(), d.box.height()),
                          d.ghost ? cv::Scalar(0, 0, 255) : cv::Scalar(0, 255, 0),
                          d.visible >= 0.8 ? 2 : 1);
          }
        }
        if (snap.cols > 960) {
          cv::resize(snap, snap, {960, snap.rows * 960 / snap.cols}, 0, 0, cv::INTER_AREA);
        }
        std::filesystem::create_directories(options_.snapshots);
        core::write_image(
            options_.snapshots / (pv.id + "_" + cams[c].id + "_" + std::to_string(f) + ".jpg"),
            snap);
      }
      for (const DrawnFace& d : fr.faces) {
        boxes.push_back(
            {{"camera", cams[c].id},
             {"frame", f},
             {"who", d.ghost ? "ghost" : "occupant"},
             {"id", d.id},
             {"box", {r1(d.box.x1), r1(d.box.y1), r1(d.box.width()), r1(d.box.height())}},
             {"visible", r3(d.visible)},
             {"image", library_.photos()[d.photo].image}});
      }
    }
  }
  json occ = json::array();
  std::map<std::string, std::string> number_of;
  for (const auto& d : documents_) number_of[d.identity] = d.number;
  for (const Occupant& o : sc.occupants) {
    json photos = json::array();
    for (const auto& p : o.photos) {
      photos.push_back({{"from", p.from}, {"image", library_.photos()[p.photo].image}});
    }
    const auto it = number_of.find(o.identity);
    const bool enrolled =
        it != number_of.end() &&
        std::find(pv.documents.begin(), pv.documents.end(), it->second) != pv.documents.end();
    occ.push_back({{"id", o.id},
                   {"identity", o.identity},
                   {"row", o.row},
                   {"seat", o.seat},
                   {"enrolled", enrolled},
                   {"document", enrolled ? json(it->second) : json(nullptr)},
                   {"face_m", r3(o.face_m)},
                   {"photos", photos}});
  }
  json ghosts = json::array();
  for (const Ghost& g : sc.ghosts) {
    ghosts.push_back({{"id", g.id},
                      {"kind", g.kind},
                      {"identity", g.identity},
                      {"image", library_.photos()[g.photo].image}});
  }
  const Effects& fx = sc.fx;
  return {{"vehicle", pv.id},
          {"frames", sc.frames},
          {"fps", options_.fps},
          {"start_s", r3(pv.start_s)},
          {"end_s", r3(pv.start_s + sc.frames / options_.fps)},
          {"preset", preset_.name},
          {"body", body_name(sc.body.kind)},
          {"speed_mps", r3(sc.speed)},
          {"effects",
           {{"light", r3(fx.light)},
            {"night", fx.night},
            {"tint_front", r3(fx.tint_front)},
            {"tint_rear", r3(fx.tint_rear)},
            {"reflection", r3(fx.reflection)},
            {"glare", fx.glare ? r3(fx.glare_strength) : 0.0},
            {"blur_px", r3(fx.blur_px)},
            {"noise_sd", r3(fx.noise_sd)},
            {"jpeg_quality", fx.jpeg_quality},
            {"visor", fx.visor}}},
          {"occupants", occ},
          {"ghosts", ghosts},
          {"boxes", boxes}};
}

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw Error(ErrorKind::kIo, path.string() + ": cannot write");
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

json Simulator::write(const std::function<void(std::size_t, std::size_t)>& progress) const {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& o = options_;
  namespace fs = std::filesystem;
  if (fs::exists(o.out) && !fs::is_directory(o.out)) {
    throw Error(ErrorKind::kInvalidInput, o.out.string() + ": exists and is not a directory");
  }
  if (fs::exists(o.out / "lane.json")) {
    throw Error(ErrorKind::kInvalidInput,
                o.out.string() + ": already holds a lane (lane.json); choose an empty folder");
  }
  fs::create_directories(o.out / "documents");
  fs::create_directories(o.out / "vehicles");
  // Documents.
  std::string csv =
      "number,type,country,name,date_of_birth,citizenship,admitted_until,portrait,identity\n";
  for (const auto& d : documents_) {
    const std::string file = d.number + ".jpg";
    core::write_image(o.out / "documents" / file, faces_.portrait(d.photo));
    csv += d.number + "," + d.type + "," + d.country + "," + csv_field(d.name) + "," +
           d.date_of_birth + "," + d.citizenship + "," + d.admitted_until + "," + file + "," +
           csv_field(d.identity) + "\n";
  }
  write_text(o.out / "documents.csv", csv);
  // Vehicles, in parallel.
  std::vector<json> stats(vehicles_.size());
  std::atomic<std::size_t> done{0};
  std::mutex mutex;
  core::parallel_for(vehicles_.size(), o.threads, [&](std::size_t i) {
    const PlannedVehicle& pv = vehicles_[i];
    const fs::path dir = o.out / "vehicles" / pv.id;
    fs::create_directories(dir);
    json truth = render_vehicle(i, o.write_videos ? &dir : nullptr);
    json docs = json::array();
    for (const auto& num : pv.documents) {
      for (const auto& d : documents_) {
        if (d.number == num)
          docs.push_back({{"type", d.type}, {"number", d.number}, {"country", d.country}});
      }
    }
    const double end_s = pv.start_s + pv.scene.frames / o.fps;
    json event{{"vehicle", pv.id},
               {"lane", o.lane},
               {"port", o.port},
               {"direction", o.direction},
               {"time", add_seconds(o.start_time, pv.start_s)},
               {"start_s", r3(pv.start_s)},
               {"end_s", r3(end_s)},
               {"documents", docs}};
    write_text(dir / "event.json", event.dump(2) + "\n");
    // Per-occupant visibility summary for the lane summary.
    std::vector<int> good(pv.scene.occupants.size(), 0);
    for (const auto& b : truth["boxes"]) {
      if (b["who"] == "occupant" && b["visible"].get<double>() >= 0.8 &&
          b["box"][2].get<double>() >= 40.0 * o.width / 1280) {
        ++good[b["id"].get<std::size_t>()];
      }
    }
    int well = 0;
    for (int g : good) well += g >= 3;
    stats[i] = {{"well", well}, {"ghost_boxes", 0}};
    write_text(dir / "truth.json", truth.dump() + "\n");
    const std::size_t d = ++done;
    if (progress) {
      std::lock_guard lock(mutex);
      progress(d, vehicles_.size());
    }
  });
  // lane.json last: its presence marks a complete lane.
  json cams = json::array();
  for (const auto& c : renderer_->cameras()) {
    // The exact (jittered) camera, as an installer's calibration (docs/lane-format.md): a
    // target on the optical axis 5 m ahead reproduces the rotation (Camera::look_at).
    const cv::Vec3d target = c.pos + 5.0 * cv::Vec3d(c.rot(2, 0), c.rot(2, 1), c.rot(2, 2));
    auto v3 = [](const cv::Vec3d& v) {
      return json::array({std::round(v[0] * 1e4) / 1e4, std::round(v[1] * 1e4) / 1e4,
                          std::round(v[2] * 1e4) / 1e4});
    };
    cams.push_back({{"id", c.id},
                    {"file", c.id + ".avi"},
                    {"calibration",
                     {{"position", v3(c.pos)},
                      {"target", v3(target)},
                      {"focal", std::round(c.focal * 100) / 100},
                      {"width", c.size.width}}}});
  }
  json vehicles = json::array();
  std::size_t occupants = 0, ghosts = 0, frames = 0, well = 0, not_enrolled = 0;
  for (std::size_t i = 0; i < vehicles_.size(); ++i) {
    const auto& pv = vehicles_[i];
    vehicles.push_back({{"id", pv.id}, {"start_s", r3(pv.start_s)}, {"frames", pv.scene.frames}});
    occupants += pv.scene.occupants.size();
    not_enrolled += pv.scene.occupants.size() - pv.documents.size();
    ghosts += pv.scene.ghosts.size();
    frames += static_cast<std::size_t>(pv.scene.frames);
    well += stats[i]["well"].get<std::size_t>();
  }
  json lane{{"format", "laneface-lane/1"},
            {"lane", o.lane},
            {"port", o.port},
            {"direction", o.direction},
            {"fps", o.fps},
            {"width", o.width},
            {"height", o.height},
            {"cameras", cams},
            {"vehicles", vehicles},
            {"sim",
             {{"preset", preset_.name},
              {"seed", o.seed},
              {"faces", o.faces_arg.empty() ? o.faces.string() : o.faces_arg},
              {"labels", o.labels_arg.empty() ? o.labels.string() : o.labels_arg},
              {"vehicles", o.vehicles},
              {"ghost_probability", preset_.ghost_probability}}}};
  write_text(o.out / "lane.json", lane.dump(2) + "\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {
      {"out", o.out.string()},
      {"preset", preset_.name},
      {"seed", o.seed},
      {"vehicles", vehicles_.size()},
      {"occupants", occupants},
      {"not_enrolled", not_enrolled},
      {"documents", documents_.size()},
      {"ghosts", ghosts},
      {"frames", frames},
      {"camera_frames", frames * renderer_->cameras().size()},
      {"video_seconds", r3(frames / o.fps)},
      {"occupants_well_visible", well},
      {"occupants_well_visible_rate", occupants ? r3(static_cast<double>(well) / occupants) : 0.0},
      {"skipped_label_rows", library_.skipped_rows()},
      {"skipped_identities", library_.skipped_identities()},
      {"failed_photos", failed_photos_},
      {"unusable_identities", unusable_identities_},
      {"seconds", r3(seconds)}};
}

}  // namespace laneface::sim
