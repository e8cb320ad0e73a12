#include "sim/scene.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/camera.hpp"
#include "core/error.hpp"

namespace laneface::sim {

using core::Error;
using core::ErrorKind;

Preset preset(const std::string& name) {
  Preset p;
  p.name = name;
  if (name == "easy") {
    p.speed_mps = {1.0, 1.5};
    p.light = {0.85, 1.0};
    p.night_probability = 0;
    p.tint_front = {0.85, 0.95};
    p.tint_rear = {0.75, 0.9};
    p.reflection = {0.0, 0.08};
    p.glare_probability = 0;
    p.glare = {0, 0};
    p.blur_px = {0, 1.5};
    p.noise_sd = {0.5, 2};
    p.jpeg_quality = {88, 95};
    p.visor_probability = 0;
    p.hand_probability = 0;
    p.turn_probability = 0;
    p.max_live_yaw = 0.12;
    p.rear_darkness = 0.05;
    p.ghost_probability = 0.2;
    p.not_enrolled = 0.1;
  } else if (name == "realistic") {
    p.speed_mps = {1.0, 2.0};
    p.light = {0.6, 1.0};
    p.night_probability = 0.1;
    p.tint_front = {0.7, 0.9};
    p.tint_rear = {0.45, 0.8};
    p.reflection = {0.04, 0.22};
    p.glare_probability = 0.25;
    p.glare = {0.2, 0.6};
    p.blur_px = {0, 5};
    p.noise_sd = {1.5, 5};
    p.jpeg_quality = {70, 88};
    p.visor_probability = 0.12;
    p.hand_probability = 0.08;
    p.turn_probability = 0.25;
    p.max_live_yaw = 0.25;
    p.rear_darkness = 0.12;
    p.ghost_probability = 0.25;
    p.not_enrolled = 0.15;
  } else if (name == "hard") {
    p.speed_mps = {1.5, 3.5};
    p.light = {0.3, 0.9};
    p.night_probability = 0.3;
    p.tint_front = {0.5, 0.8};
    p.tint_rear = {0.2, 0.55};
    p.reflection = {0.15, 0.45};
    p.glare_probability = 0.5;
    p.glare = {0.4, 0.9};
    p.blur_px = {3, 14};
    p.noise_sd = {4, 10};
    p.jpeg_quality = {45, 70};
    p.visor_probability = 0.3;
    p.hand_probability = 0.2;
    p.turn_probability = 0.5;
    p.max_live_yaw = 1.0;
    p.rear_darkness = 0.2;
    p.ghost_probability = 0.4;
    p.not_enrolled = 0.2;
  } else {
    throw Error(ErrorKind::kInvalidInput,
                "--preset '" + name + "': not a preset (easy, realistic, hard)");
  }
  return p;
}

Camera Camera::look_at(std::string id, cv::Vec3d pos, cv::Vec3d target, double focal,
                       cv::Size size) {
  Camera c;
  c.id = std::move(id);
  c.pos = pos;
  c.rot = core::look_at_rotation(pos, target);
  c.focal = focal;
  c.size = size;
  return c;
}

std::vector<Camera> lane_cameras(int count, cv::Size size, Rng& rng) {
  if (count < 1 || count > 4) {
    throw Error(ErrorKind::kInvalidInput, "--cameras " + std::to_string(count) + ": 1 to 4");
  }
  // Focal lengths are given for 1280 px wide frames and scale with the width.
  const double k = size.width / 1280.0;
  auto j = [&](double v, double sd) { return v + rng.uniform(-sd, sd); };
  std::vector<Camera> all;
  all.push_back(Camera::look_at("windshield", {j(7.5, 0.2), j(0.3, 0.1), j(1.9, 0.05)},
                                {2.0, 0.0, 1.1}, j(3400, 100) * k, size));
  all.push_back(Camera::look_at("driver_side", {j(3.5, 0.2), j(3.4, 0.1), j(1.45, 0.05)},
                                {-0.5, 0.4, 1.15}, j(2300, 80) * k, size));
  all.push_back(Camera::look_at("passenger_side", {j(3.5, 0.2), j(-3.4, 0.1), j(1.45, 0.05)},
                                {-0.5, -0.4, 1.15}, j(2300, 80) * k, size));
  all.push_back(Camera::look_at("rear_side", {j(2.5, 0.2), j(3.8, 0.1), j(2.0, 0.05)},
                                {-1.5, 0.45, 1.1}, j(2600, 80) * k, size));
  all.resize(static_cast<std::size_t>(count));
  return all;
}

namespace {

constexpr double kNear = 0.2;

using Poly3 = std::vector<cv::Vec3d>;

// World polygon → image points (near-plane clipped). Empty when entirely behind the camera.
std::vector<cv::Point2f> project_poly(const Camera& cam, const Poly3& world) {
  std::vector<cv::Vec3d> in, out;
  in.reserve(world.size());
  for (const auto& w : world) in.push_back(cam.to_camera(w));
  for (std::size_t i = 0; i < in.size(); ++i) {
    const cv::Vec3d& a = in[i];
    const cv::Vec3d& b = in[(i + 1) % in.size()];
    const bool ina = a[2] >= kNear, inb = b[2] >= kNear;
    if (ina) out.push_back(a);
    if (ina != inb) {
      const double t = (kNear - a[2]) / (b[2] - a[2]);
      out.push_back(a + t * (b - a));
    }
  }
  std::vector<cv::Point2f> pts;
  for (const auto& c : out) {
    cv::Point2d p = cam.project_camera(c);
    p.x = std::clamp(p.x, -2e4, 2e4);
    p.y = std::clamp(p.y, -2e4, 2e4);
    pts.emplace_back(static_cast<float>(p.x), static_cast<float>(p.y));
  }
  return pts;
}

void fill(cv::Mat& img, const std::vector<cv::Point2f>& pts, const cv::Scalar& colour,
          bool smooth) {
  if (pts.size() < 3) return;
  constexpr int kShift = 3;
  std::vector<cv::Point> p;
  p.reserve(pts.size());
  for (const auto& q : pts) {
    p.emplace_back(static_cast<int>(std::lround(q.x * (1 << kShift))),
                   static_cast<int>(std::lround(q.y * (1 << kShift))));
  }
  const cv::Point* ptr = p.data();
  const int n = static_cast<int>(p.size());
  cv::fillPoly(img, &ptr, &n, 1, colour, smooth ? cv::LINE_AA : cv::LINE_8, kShift);
}

cv::Scalar shade(const cv::Scalar& c, const cv::Vec3d& normal) {
  const cv::Vec3d light = cv::normalize(cv::Vec3d(0.3, 0.5, 0.8));
  const double k = 0.55 + 0.45 * std::max(0.0, normal.dot(light));
  return c * k;
}

// An axis-aligned 3-D box (centre, half sizes) as its projected convex hull.
std::vector<cv::Point2f> box_hull(const Camera& cam, const cv::Vec3d& c, const cv::Vec3d& h) {
  std::vector<cv::Point2f> pts;
  for (int i = 0; i < 8; ++i) {
    const cv::Vec3d p(c[0] + ((i & 1) ? h[0] : -h[0]), c[1] + ((i & 2) ? h[1] : -h[1]),
                      c[2] + ((i & 4) ? h[2] : -h[2]));
    const cv::Vec3d q = cam.to_camera(p);
    if (q[2] < kNear) return {};
    const cv::Point2d u = cam.project_camera(q);
    pts.emplace_back(static_cast<float>(u.x), static_cast<float>(u.y));
  }
  std::vector<cv::Point2f> hull;
  cv::convexHull(pts, hull);
  return hull;
}

// Alpha-blends `src` (scaled by gain) into dst through mask (0..255); writes `lbl` into label
// where mask > 127. All three ROIs have the same size.
void blend(cv::Mat dst, cv::Mat label, const cv::Mat& src, const cv::Mat& mask, double gain,
           int lbl) {
  for (int y = 0; y < dst.rows; ++y) {
    auto* d = dst.ptr<cv::Vec3b>(y);
    auto* l = label.ptr<std::uint16_t>(y);
    const auto* s = src.ptr<cv::Vec3b>(y);
    const auto* m = mask.ptr<std::uint8_t>(y);
    for (int x = 0; x < dst.cols; ++x) {
      if (m[x] == 0) continue;
      const float a = m[x] / 255.0f;
      for (int c = 0; c < 3; ++c) {
        const float v = d[x][c] * (1 - a) + static_cast<float>(s[x][c] * gain) * a;
        d[x][c] = cv::saturate_cast<std::uint8_t>(v);
      }
      if (m[x] > 127) l[x] = static_cast<std::uint16_t>(lbl);
    }
  }
}

struct FaceDraw {
  bool ghost = false;
  int id = 0;
  int label = 0;
  core::Box box;
  double fill = 1;
  std::size_t photo = 0;
};

// Composites a face chip with its soft mask, the face box `face_px` wide (times squash) and
// centred on `centre`. Returns the face box in frame pixels; nothing drawn when off-frame.
bool draw_head(cv::Mat& img, cv::Mat& label, int lbl, const FaceCut& cut, cv::Point2d centre,
               double face_px, double squash, double gain, core::Box* box) {
  const double s = face_px / cut.box.width();
  const double sx = s * squash;
  const int w = std::max(1, static_cast<int>(std::lround(cut.chip.cols * sx)));
  const int h = std::max(1, static_cast<int>(std::lround(cut.chip.rows * s)));
  const double rx = static_cast<double>(w) / cut.chip.cols,
               ry = static_cast<double>(h) / cut.chip.rows;
  const cv::Point2f bc = cut.box.center();
  const int ox = static_cast<int>(std::lround(centre.x - bc.x * rx));
  const int oy = static_cast<int>(std::lround(centre.y - bc.y * ry));
  *box = {static_cast<float>(ox + cut.box.x1 * rx), static_cast<float>(oy + cut.box.y1 * ry),
          static_cast<float>(ox + cut.box.x2 * rx), static_cast<float>(oy + cut.box.y2 * ry)};
  const cv::Rect dst_rect = cv::Rect(ox, oy, w, h) & cv::Rect({}, img.size());
  if (dst_rect.empty()) return false;
  cv::Mat chip, mask;
  const int interp = rx < 1 ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::resize(cut.chip, chip, {w, h}, 0, 0, interp);
  cv::resize(cut.mask, mask, {w, h}, 0, 0, interp);
  const cv::Rect src_rect(dst_rect.x - ox, dst_rect.y - oy, dst_rect.width, dst_rect.height);
  blend(img(dst_rect), label(dst_rect), chip(src_rect), mask(src_rect), gain, lbl);
  return true;
}

// Warps the face region of a cut (a square 2*half face widths around the box) onto a quad
// (picture corners tl, tr, br, bl in frame pixels). Returns the face box in frame pixels.
core::Box draw_picture(cv::Mat& img, cv::Mat& label, int lbl, const FaceCut& cut, double half,
                       const std::vector<cv::Point2f>& quad, double gain) {
  const cv::Point2f c = cut.box.center();
  const float r = static_cast<float>(half * cut.box.width());
  const float ar = 1.3f;  // picture height / width
  std::vector<cv::Point2f> src{{c.x - r, c.y - r * ar * 0.9f},
                               {c.x + r, c.y - r * ar * 0.9f},
                               {c.x + r, c.y + r * ar * 1.1f},
                               {c.x - r, c.y + r * ar * 1.1f}};
  const cv::Mat hm = cv::getPerspectiveTransform(src, quad);
  const cv::Rect roi = cv::boundingRect(quad) & cv::Rect({}, img.size());
  std::vector<cv::Point2f> corners{{cut.box.x1, cut.box.y1},
                                   {cut.box.x2, cut.box.y1},
                                   {cut.box.x2, cut.box.y2},
                                   {cut.box.x1, cut.box.y2}};
  std::vector<cv::Point2f> mapped;
  cv::perspectiveTransform(corners, mapped, hm);
  float x1 = 1e9f, y1 = 1e9f, x2 = -1e9f, y2 = -1e9f;
  for (const auto& q : mapped) {
    x1 = std::min(x1, q.x), y1 = std::min(y1, q.y), x2 = std::max(x2, q.x), y2 = std::max(y2, q.y);
  }
  const cv::Rect2f fb(x1, y1, x2 - x1, y2 - y1);
  if (roi.empty()) return {fb.x, fb.y, fb.x + fb.width, fb.y + fb.height};
  cv::Mat shift = (cv::Mat_<double>(3, 3) << 1, 0, -roi.x, 0, 1, -roi.y, 0, 0, 1);
  cv::Mat h2 = shift * hm;
  cv::Mat warped, mask;
  cv::warpPerspective(cut.chip, warped, h2, roi.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::Mat qm = cv::Mat::zeros(roi.size(), CV_8U);
  std::vector<cv::Point2f> local;
  for (const auto& q : quad) local.emplace_back(q.x - roi.x, q.y - roi.y);
  fill(qm, local, cv::Scalar(255), false);
  blend(img(roi), label(roi), warped, qm, gain, lbl);
  return {fb.x, fb.y, fb.x + fb.width, fb.y + fb.height};
}

// How much a face is turned away from a camera: squash of its width, 0 when seen from behind.
double view_squash(const cv::Vec3d& facing, const cv::Vec3d& head, const cv::Vec3d& cam) {
  cv::Vec3d to = cam - head;
  to[2] = 0;
  const double cosang = cv::normalize(to).dot(cv::normalize(facing));
  if (cosang < 0.26) return 0;  // more than ~75°: the side or back of the head
  return 0.6 + 0.4 * cosang;
}

cv::Mat gaussian_blob() {
  cv::Mat g(65, 65, CV_32F);
  for (int y = 0; y < 65; ++y) {
    for (int x = 0; x < 65; ++x) {
      const double r2 = ((x - 32) * (x - 32) + (y - 32) * (y - 32)) / (12.0 * 12.0);
      g.at<float>(y, x) = static_cast<float>(std::exp(-0.5 * r2));
    }
  }
  return g;
}

// Static scene parts in world coordinates, drawn into a camera's background.
void draw_background(const Camera& cam, cv::Mat& bg, Rng& rng) {
  const int W = bg.cols, H = bg.rows;
  // Sky: a vertical gradient.
  for (int y = 0; y < H; ++y) {
    const double t = static_cast<double>(y) / H;
    bg.row(y).setTo(cv::Scalar(235 - 60 * t, 215 - 50 * t, 190 - 40 * t));
  }
  auto poly = [&](const Poly3& p, const cv::Scalar& c) { fill(bg, project_poly(cam, p), c, true); };
  // Buildings far away on both sides and behind.
  for (int i = 0; i < 14; ++i) {
    const double side = (i % 2) ? 1 : -1;
    const double x0 = -60 + i * 9 + rng.uniform(-3, 3), w = rng.uniform(6, 12);
    const double y = side * rng.uniform(14, 22), h = rng.uniform(5, 14);
    const double g = rng.uniform(95, 175), warm = rng.uniform(0, 25);
    const cv::Scalar c(g - warm, g - warm / 3, g + warm / 2);
    poly({{x0, y, 0}, {x0 + w, y, 0}, {x0 + w, y, h}, {x0, y, h}}, c);
    for (double wy = 1.5; wy < h - 1; wy += 2.5) {  // window rows
      poly({{x0 + 0.5, y - side * 0.01, wy},
            {x0 + w - 0.5, y - side * 0.01, wy},
            {x0 + w - 0.5, y - side * 0.01, wy + 1},
            {x0 + 0.5, y - side * 0.01, wy + 1}},
           c * 0.55);
    }
  }
  poly({{-80, -20, 0}, {-80, 20, 0}, {-80, 20, 12}, {-80, -20, 12}}, {140, 135, 130});
  // Ground: asphalt, sidewalks, curbs, lane markings.
  poly({{-80, -40, 0}, {30, -40, 0}, {30, 40, 0}, {-80, 40, 0}}, {150, 150, 145});
  poly({{-80, -3.0, 0.01}, {30, -3.0, 0.01}, {30, 3.0, 0.01}, {-80, 3.0, 0.01}}, {78, 80, 82});
  for (double s : {-1.0, 1.0}) {
    poly({{-80, s * 3.0, 0.0}, {30, s * 3.0, 0.0}, {30, s * 3.0, 0.15}, {-80, s * 3.0, 0.15}},
         {170, 172, 175});
    for (double x = -80; x < 30; x += 6) {
      poly({{x, s * 1.9, 0.02},
            {x + 3, s * 1.9, 0.02},
            {x + 3, s * 2.02, 0.02},
            {x, s * 2.02, 0.02}},
           {200, 205, 210});
    }
  }
  // Canopy pillars of the inspection booth area.
  for (double x : {-12.0, -4.0, 4.0}) {
    for (double s : {-1.0, 1.0}) {
      const double y = s * 5.2;
      poly({{x - 0.2, y, 0}, {x + 0.2, y, 0}, {x + 0.2, y, 5}, {x - 0.2, y, 5}}, {185, 185, 190});
    }
  }
  // Asphalt texture.
  cv::Mat tex(bg.size(), CV_16SC3);
  cv::RNG cvrng(rng.next());
  cvrng.fill(tex, cv::RNG::NORMAL, 0, 4);
  cv::add(bg, tex, bg, cv::noArray(), CV_8UC3);
  (void)W;
}

}  // namespace

std::vector<cv::Mat> noise_frames(const VehicleScene& scene, cv::Size size) {
  std::vector<cv::Mat> noise;
  if (scene.fx.noise_sd > 0.05) {
    cv::RNG rng(scene.seed | 1);
    for (int k = 0; k < 4; ++k) {
      cv::Mat n(size, CV_16SC3);
      rng.fill(n, cv::RNG::NORMAL, 0, scene.fx.noise_sd);
      noise.push_back(n);
    }
  }
  return noise;
}

LaneRenderer::LaneRenderer(std::vector<Camera> cameras, std::uint64_t seed)
    : cameras_(std::move(cameras)) {
  for (std::size_t c = 0; c < cameras_.size(); ++c) {
    Rng rng = Rng::child(seed, 7001, c);
    cv::Mat bg(cameras_[c].size, CV_8UC3);
    draw_background(cameras_[c], bg, rng);
    background_.push_back(bg);
    // Reflection: the sky and buildings, flipped, softened, twice as wide (it slides as the
    // vehicle moves).
    cv::Mat flipped, wide;
    cv::flip(bg, flipped, 0);
    cv::hconcat(flipped, bg, wide);
    cv::GaussianBlur(wide, wide, {0, 0}, 6);
    reflection_.push_back(wide);
  }
}

RenderedFrame LaneRenderer::render(const VehicleScene& scene, std::size_t camera, int frame,
                                   const std::vector<cv::Mat>& noise) const {
  const Camera& cam = cameras_.at(camera);
  const Body& body = scene.body;
  const cv::Size S = cam.size;
  RenderedFrame out;
  out.bgr = background_[camera].clone();
  out.label = cv::Mat::zeros(S, CV_16U);
  std::vector<FaceDraw> draws;
  Rng jitter = Rng::child(scene.seed, 9001 + camera, static_cast<std::uint64_t>(frame));

  auto W = [&](const cv::Vec3d& v) { return scene.world(v, frame); };
  auto depth_of = [&](const cv::Vec3d& world) { return cam.to_camera(world)[2]; };

  // Bystanders: static in the world; far ones behind the vehicle, near ones (vendors walking
  // between the lanes) in front of it.
  auto draw_bystanders = [&](bool near) {
    for (const Ghost& g : scene.ghosts) {
      if (g.kind != "bystander" || !g.cut || g.near != near) continue;
      const cv::Vec3d head = g.where;
      const cv::Vec3d hc = cam.to_camera(head);
      if (hc[2] < 1) continue;
      const double px_per_m = cam.focal / hc[2];
      const auto torso = box_hull(cam, head - cv::Vec3d(0, 0, 0.5), {0.13, 0.13, 0.33});
      const auto legs = box_hull(cam, head - cv::Vec3d(0, 0, 1.22), {0.11, 0.11, 0.4});
      fill(out.bgr, torso, {90, 70, 60}, true);
      fill(out.bgr, legs, {60, 50, 45}, true);
      fill(out.label, torso, cv::Scalar(0), false);
      fill(out.label, legs, cv::Scalar(0), false);
      const double sq = view_squash(g.facing, head, cam.pos);
      if (sq <= 0) continue;
      core::Box b;
      if (draw_head(out.bgr, out.label, ghost_label(g.id), *g.cut, cam.project_camera(hc),
                    g.size_m * px_per_m, sq, 1.0, &b)) {
        draws.push_back({true, g.id, ghost_label(g.id), b, g.cut->fill, g.photo});
      }
    }
  };
  draw_bystanders(false);

  // Vehicle layer.
  cv::Mat layer = cv::Mat::zeros(S, CV_8UC3), alpha = cv::Mat::zeros(S, CV_8U);
  cv::Mat vlabel = cv::Mat::zeros(S, CV_16U);
  const double L = body.length, hw = body.width / 2, cw = hw - 0.05;
  auto visible_face = [&](const Poly3& p, const cv::Vec3d& n) {
    return n.dot(cam.pos - W(p[0])) > 0;
  };
  auto draw_face = [&](const Poly3& p, const cv::Vec3d& n, const cv::Scalar& c) {
    if (!visible_face(p, n)) return false;
    Poly3 w;
    for (const auto& v : p) w.push_back(W(v));
    const auto pts = project_poly(cam, w);
    fill(layer, pts, shade(c, n), true);
    fill(alpha, pts, cv::Scalar(255), true);
    return true;
  };
  // Shadow under the car.
  {
    Poly3 sh{W({0.2, -hw - 0.15, 0.01}), W({0.2, hw + 0.15, 0.01}), W({-L - 0.2, hw + 0.15, 0.01}),
             W({-L - 0.2, -hw - 0.15, 0.01})};
    const auto pts = project_poly(cam, sh);
    fill(layer, pts, {18, 18, 18}, true);
    fill(alpha, pts, cv::Scalar(170), true);
  }
  const double z0 = 0.28, belt = body.belt, roof = body.roof;
  // Lower body: a box.
  draw_face({{0, -hw, z0}, {0, hw, z0}, {0, hw, belt}, {0, -hw, belt}}, {1, 0, 0}, body.paint);
  draw_face({{-L, hw, z0}, {-L, -hw, z0}, {-L, -hw, belt}, {-L, hw, belt}}, {-1, 0, 0}, body.paint);
  for (double s : {-1.0, 1.0}) {
    const bool vis =
        draw_face({{0, s * hw, z0}, {-L, s * hw, z0}, {-L, s * hw, belt}, {0, s * hw, belt}},
                  {0, s, 0}, body.paint);
    if (!vis) continue;
    for (double wx : {-0.85, -L + 0.9}) {  // wheels
      Poly3 wheel;
      for (int k = 0; k < 16; ++k) {
        const double a = k * 2 * CV_PI / 16;
        wheel.push_back(W({wx + 0.34 * std::cos(a), s * (hw + 0.01), 0.34 + 0.34 * std::sin(a)}));
      }
      const auto pts = project_poly(cam, wheel);
      fill(layer, pts, {22, 22, 24}, true);
      fill(alpha, pts, cv::Scalar(255), true);
    }
  }
  draw_face({{0, -hw, belt}, {0, hw, belt}, {-L, hw, belt}, {-L, -hw, belt}}, {0, 0, 1},
            body.paint);
  // Cabin: side profile extruded across the car.
  const double wsx0 = body.ws_base_x, wsx1 = body.ws_top_x, rx1 = body.rear_top_x,
               rx0 = body.rear_base_x;
  const cv::Vec3d ws_n = cv::normalize(cv::Vec3d(roof - belt, 0, wsx0 - wsx1));
  const cv::Vec3d rear_n = cv::normalize(cv::Vec3d(-(roof - belt), 0, rx1 - rx0));
  cv::Mat wmask = cv::Mat::zeros(S, CV_8U);  // 1 front glass, 2 rear glass
  auto window = [&](const Poly3& p, int kind) {
    Poly3 w;
    for (const auto& v : p) w.push_back(W(v));
    fill(wmask, project_poly(cam, w), cv::Scalar(kind), false);
  };
  auto zl = [&](double t) { return belt + t * (roof - belt); };
  auto ax = [&](double t) { return wsx0 + t * (wsx1 - wsx0); };
  auto bx = [&](double t) { return rx0 + t * (rx1 - rx0); };
  const double tb = 0.06, tt = 0.9;  // window bottom/top as a fraction of the cabin height
  if (draw_face({{wsx0, -cw, belt}, {wsx0, cw, belt}, {wsx1, cw, roof}, {wsx1, -cw, roof}}, ws_n,
                body.paint)) {
    window({{ax(0.04), -cw + 0.1, zl(0.04)},
            {ax(0.04), cw - 0.1, zl(0.04)},
            {ax(0.94), cw - 0.12, zl(0.94)},
            {ax(0.94), -cw + 0.12, zl(0.94)}},
           1);
  }
  draw_face({{wsx1, -cw, roof}, {wsx1, cw, roof}, {rx1, cw, roof}, {rx1, -cw, roof}}, {0, 0, 1},
            body.paint);
  draw_face({{rx1, -cw, roof}, {rx1, cw, roof}, {rx0, cw, belt}, {rx0, -cw, belt}}, rear_n,
            body.paint);
  for (double s : {-1.0, 1.0}) {
    if (!draw_face(
            {{wsx0, s * cw, belt}, {wsx1, s * cw, roof}, {rx1, s * cw, roof}, {rx0, s * cw, belt}},
            {0, s, 0}, body.paint)) {
      continue;
    }
    // Side windows between the A-pillar, the pillars and the rear pillar.
    std::vector<double> edges;  // x of window boundaries (pillar centres), front to back
    edges.push_back(1e9);       // A-pillar (slanted)
    for (double p : body.pillars) edges.push_back(p);
    edges.push_back(-1e9);  // rear pillar (slanted)
    for (std::size_t k = 0; k + 1 < edges.size(); ++k) {
      auto front = [&](double t) { return k == 0 ? ax(t) - 0.1 : edges[k] - 0.05; };
      auto back = [&](double t) {
        return k + 2 == edges.size() ? bx(t) + 0.12 : edges[k + 1] + 0.05;
      };
      const double y = s * (cw + 0.005);
      window({{front(tb), y, zl(tb)},
              {back(tb), y, zl(tb)},
              {back(tt), y, zl(tt)},
              {front(tt), y, zl(tt)}},
             k == 0 ? 1 : 2);
    }
  }

  // Interior, seen through the windows.
  const cv::Rect wroi = cv::boundingRect(wmask);
  if (!wroi.empty()) {
    cv::Mat inter = cv::Mat::zeros(S, CV_8UC3), ilabel = cv::Mat::zeros(S, CV_16U);
    inter(wroi).setTo(body.interior);
    struct Item {
      double depth;
      int kind;  // 0 seat, 1 occupant, 2 screen, 3 visor
      std::size_t index;
      cv::Vec3d centre;
    };
    std::vector<Item> items;
    // Seats (back + headrest) for every seat position of the body.
    const double row_x[3] = {-2.15 + (body.ws_base_x + 1.35), -3.1 + (body.ws_base_x + 1.35),
                             -3.95 + (body.ws_base_x + 1.35)};
    std::vector<cv::Vec3d> seats;
    for (int r = 0; r < body.rows; ++r) {
      const std::vector<double> ys =
          r == 0 ? std::vector<double>{0.37, -0.37} : std::vector<double>{0.45, -0.45};
      for (double y : ys) seats.push_back({row_x[r] - 0.14, y, belt});
    }
    for (std::size_t i = 0; i < seats.size(); ++i) {
      items.push_back({depth_of(W(seats[i] + cv::Vec3d(0, 0, 0.3))), 0, i, seats[i]});
    }
    for (std::size_t i = 0; i < scene.occupants.size(); ++i) {
      items.push_back({depth_of(W(scene.occupants[i].head)), 1, i, scene.occupants[i].head});
    }
    for (std::size_t i = 0; i < scene.ghosts.size(); ++i) {
      if (scene.ghosts[i].kind == "screen") {
        items.push_back({depth_of(W(scene.ghosts[i].where)), 2, i, scene.ghosts[i].where});
      }
    }
    if (scene.fx.visor) {
      items.push_back({depth_of(W({wsx1 - 0.1, 0, roof})), 3, 0, {wsx1 - 0.1, 0, roof}});
    }
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.depth > b.depth; });
    auto solid = [&](const std::vector<cv::Point2f>& hull, const cv::Scalar& c) {
      fill(inter, hull, c, true);
      fill(ilabel, hull, cv::Scalar(0), false);
    };
    for (const Item& it : items) {
      if (it.kind == 0) {
        const cv::Vec3d s = it.centre;
        solid(box_hull(cam, W(s + cv::Vec3d(-0.02, 0, 0.0)), {0.07, 0.24, 0.26}),
              body.interior * 1.5);
        solid(box_hull(cam, W(s + cv::Vec3d(0, 0, 0.36)), {0.05, 0.13, 0.09}), body.interior * 1.7);
      } else if (it.kind == 1) {
        const Occupant& o = scene.occupants[it.index];
        const double sway = o.sway_m * std::sin(frame * 0.25 + o.sway_phase);
        const cv::Vec3d head = W(o.head + cv::Vec3d(0, sway, 0.3 * sway));
        solid(box_hull(cam, head - cv::Vec3d(0, 0, 0.36), {0.12, 0.21, 0.22}), o.clothing);
        const ShownPhoto* shown = nullptr;
        for (const auto& p : o.photos) {
          if (p.from <= frame) shown = &p;
        }
        const cv::Vec3d hc = cam.to_camera(head);
        if (!shown || !shown->cut || hc[2] < 0.5) continue;
        const double sq = view_squash({1, 0, 0}, head, cam.pos);
        const double face_px = o.face_m * cam.focal / hc[2];
        if (sq <= 0) {  // back of the head: hair
          fill(inter,
               {cv::Point2f(cam.project_camera(hc)) + cv::Point2f(-face_px * 0.5f, -face_px * 0.6f),
                cv::Point2f(cam.project_camera(hc)) + cv::Point2f(face_px * 0.5f, -face_px * 0.6f),
                cv::Point2f(cam.project_camera(hc)) + cv::Point2f(face_px * 0.5f, face_px * 0.6f),
                cv::Point2f(cam.project_camera(hc)) + cv::Point2f(-face_px * 0.5f, face_px * 0.6f)},
               {25, 25, 30}, true);
          continue;
        }
        core::Box b;
        if (draw_head(inter, ilabel, occupant_label(o.id), *shown->cut, cam.project_camera(hc),
                      face_px, sq, o.gain, &b)) {
          draws.push_back({false, o.id, occupant_label(o.id), b, shown->cut->fill, shown->photo});
        }
        if (frame >= o.hand_from && frame <= o.hand_to) {
          const cv::Point2f c =
              b.center() + cv::Point2f(o.hand_offset.x * b.width(), o.hand_offset.y * b.width());
          const cv::RotatedRect hand(c, cv::Size2f(b.width() * 0.55f, b.height() * 0.75f), 15);
          cv::ellipse(inter, hand, cv::Scalar(110, 140, 185), cv::FILLED, cv::LINE_AA);
          cv::ellipse(ilabel, hand, cv::Scalar(0), cv::FILLED, cv::LINE_8);
        }
      } else if (it.kind == 2) {
        const Ghost& g = scene.ghosts[it.index];
        if (!g.cut) continue;
        const cv::Vec3d n(0, g.side, 0);
        if (n.dot(cam.pos - W(g.where)) <= 0) continue;
        const double w = g.size_m / 2, h = g.size_m * 0.65;
        const double y = g.where[1];
        auto pt = [&](double dx, double dz) {
          const cv::Vec3d q = cam.to_camera(W({g.where[0] + dx * g.side, y, g.where[2] + dz}));
          return cv::Point2f(cam.project_camera(q));
        };
        const cv::Vec3d qc = cam.to_camera(W(g.where));
        if (qc[2] < 0.5) continue;
        solid({pt(w + 0.01, h + 0.015), pt(-w - 0.01, h + 0.015), pt(-w - 0.01, -h - 0.015),
               pt(w + 0.01, -h - 0.015)},
              {15, 15, 15});
        const std::vector<cv::Point2f> quad{pt(w, h), pt(-w, h), pt(-w, -h), pt(w, -h)};
        const core::Box b = draw_picture(inter, ilabel, ghost_label(g.id), *g.cut, 0.8, quad, 1.4);
        draws.push_back({true, g.id, ghost_label(g.id), b, 1.0, g.photo});
      } else if (it.kind == 3) {
        for (double y : {0.37, -0.37}) {
          solid(box_hull(cam, W({wsx1 - 0.08, y, roof - 0.04 - scene.fx.visor_drop_m / 2}),
                         {0.012, 0.19, scene.fx.visor_drop_m / 2}),
                {120, 130, 135});
        }
      }
    }
    // Glass: tint (row darkening included), reflections, glare.
    const Effects& fx = scene.fx;
    const double night_k = fx.night ? 0.5 : 1.0;  // infrared passes tint better
    const double tf = std::pow(fx.tint_front, night_k), tr = std::pow(fx.tint_rear, night_k);
    const cv::Mat& refl = reflection_[camera];
    const int roff = static_cast<int>(std::fmod(
        std::abs(scene.front_x0 * 40 + frame * scene.speed * 6.0), static_cast<double>(S.width)));
    cv::Mat glare;
    cv::Rect glare_rect;
    if (fx.glare) {
      const double gd = depth_of(W({-2.5, 0, belt + 0.3}));
      const int r =
          std::max(8, static_cast<int>(fx.glare_radius_m * cam.focal / std::max(1.0, gd)));
      glare_rect = cv::Rect(wroi.x + static_cast<int>(fx.glare_u * wroi.width) - r,
                            wroi.y + static_cast<int>(fx.glare_v * wroi.height) - r, 2 * r, 2 * r);
      cv::resize(gaussian_blob(), glare, glare_rect.size());
    }
    for (int y = wroi.y; y < wroi.y + wroi.height; ++y) {
      const auto* m = wmask.ptr<std::uint8_t>(y);
      auto* p = inter.ptr<cv::Vec3b>(y);
      const auto* rf = refl.ptr<cv::Vec3b>(y);
      for (int x = wroi.x; x < wroi.x + wroi.width; ++x) {
        if (!m[x]) continue;
        const double t = m[x] == 1 ? tf : tr;
        const cv::Vec3b& r = rf[x + roff];
        double g = 0;
        if (fx.glare && glare_rect.contains({x, y})) {
          g = fx.glare_strength * 255 * glare.at<float>(y - glare_rect.y, x - glare_rect.x);
        }
        for (int c = 0; c < 3; ++c) {
          const double v = p[x][c] * t * fx.tint_colour[c];
          p[x][c] =
              cv::saturate_cast<std::uint8_t>(v * (1 - fx.reflection) + r[c] * fx.reflection + g);
        }
      }
    }
    inter(wroi).copyTo(layer(wroi), wmask(wroi));
    ilabel(wroi).copyTo(vlabel(wroi), wmask(wroi));
  }

  // Poster ghosts on the body side panel.
  for (const Ghost& g : scene.ghosts) {
    if (g.kind != "poster" || !g.cut) continue;
    const cv::Vec3d n(0, g.side, 0);
    const cv::Vec3d c = g.where;
    if (n.dot(cam.pos - W(c)) <= 0) continue;
    const double w = g.size_m / 2, h = g.size_m * 0.65;
    auto pt = [&](double dx, double dz) {
      const cv::Vec3d q = cam.to_camera(W({c[0] + dx * g.side, c[1], c[2] + dz}));
      return cv::Point2f(cam.project_camera(q));
    };
    if (cam.to_camera(W(c))[2] < 0.5) continue;
    const std::vector<cv::Point2f> quad{pt(w, h), pt(-w, h), pt(-w, -h), pt(w, -h)};
    const core::Box b = draw_picture(layer, vlabel, ghost_label(g.id), *g.cut, 1.1, quad, 0.9);
    draws.push_back({true, g.id, ghost_label(g.id), b, 1.0, g.photo});
  }

  // Motion blur of the moving vehicle along its image-space travel direction.
  const cv::Rect vroi = cv::boundingRect(alpha);
  if (scene.fx.blur_px >= 1 && !vroi.empty()) {
    const cv::Vec3d mid = W({-L / 2, 0, 1.0});
    const cv::Point2d a = cam.project_camera(cam.to_camera(mid));
    const cv::Point2d b =
        cam.project_camera(cam.to_camera(mid + cv::Vec3d(scene.speed / scene.fps, 0, 0)));
    cv::Point2d d = b - a;
    const double len = std::hypot(d.x, d.y);
    if (len > 1e-6) {
      d *= 1.0 / len;
      const int k = static_cast<int>(std::ceil(scene.fx.blur_px)) | 1;
      cv::Mat kernel = cv::Mat::zeros(k, k, CV_32F);
      const cv::Point2d c(k / 2.0, k / 2.0);
      const double h = scene.fx.blur_px / 2;
      cv::line(kernel, c - d * h, c + d * h, cv::Scalar(1), 1, cv::LINE_AA);
      kernel /= std::max(1e-6, cv::sum(kernel)[0]);
      const cv::Rect r = cv::Rect(vroi.x - k, vroi.y - k, vroi.width + 2 * k, vroi.height + 2 * k) &
                         cv::Rect({}, S);
      cv::filter2D(layer(r), layer(r), -1, kernel);
      cv::filter2D(alpha(r), alpha(r), -1, kernel);
    }
  }

  // Composite the vehicle over the background.
  if (!vroi.empty()) {
    const cv::Rect r =
        cv::Rect(vroi.x - 16, vroi.y - 16, vroi.width + 32, vroi.height + 32) & cv::Rect({}, S);
    for (int y = r.y; y < r.y + r.height; ++y) {
      auto* o = out.bgr.ptr<cv::Vec3b>(y);
      auto* ol = out.label.ptr<std::uint16_t>(y);
      const auto* v = layer.ptr<cv::Vec3b>(y);
      const auto* a = alpha.ptr<std::uint8_t>(y);
      const auto* vl = vlabel.ptr<std::uint16_t>(y);
      for (int x = r.x; x < r.x + r.width; ++x) {
        if (!a[x]) continue;
        const int av = a[x];
        for (int c = 0; c < 3; ++c)
          o[x][c] = static_cast<std::uint8_t>((o[x][c] * (255 - av) + v[x][c] * av + 127) / 255);
        if (av > 127) ol[x] = vl[x];
      }
    }
  }

  draw_bystanders(true);

  // Light, night infrared, sensor noise.
  const Effects& fx = scene.fx;
  if (fx.night) {
    cv::Mat g;
    cv::cvtColor(out.bgr, g, cv::COLOR_BGR2GRAY);
    cv::cvtColor(g, out.bgr, cv::COLOR_GRAY2BGR);
  }
  if (std::abs(fx.light - 1) > 1e-3) out.bgr.convertTo(out.bgr, -1, fx.light, 0);
  if (!noise.empty()) {
    const cv::Mat& n =
        noise[static_cast<std::size_t>(jitter.integer(0, static_cast<int>(noise.size()) - 1))];
    cv::add(out.bgr, n, out.bgr, cv::noArray(), CV_8UC3);
  }

  // Visibility of each drawn face: its label's share of the face area inside its box.
  for (const FaceDraw& d : draws) {
    const cv::Rect2f bf(d.box.x1, d.box.y1, d.box.width(), d.box.height());
    const cv::Rect r = cv::Rect(bf) & cv::Rect({}, S);
    double seen = 0;
    for (int y = r.y; y < r.y + r.height; ++y) {
      const auto* l = out.label.ptr<std::uint16_t>(y);
      for (int x = r.x; x < r.x + r.width; ++x) seen += l[x] == d.label;
    }
    const double area = std::max(1.0, static_cast<double>(bf.area()) * d.fill);
    const double vis = std::min(1.0, seen / area);
    if (vis <= 0) continue;
    out.faces.push_back({d.ghost, d.id, d.box, vis, d.photo});
  }
  return out;
}

}  // namespace laneface::sim
