#include "capture/best_shot.hpp"

#include <cmath>

#include "quality/assessor.hpp"

namespace laneface::capture {

core::Face shifted_face(core::Face f, cv::Point2f d) {
  f.box = {f.box.x1 + d.x, f.box.y1 + d.y, f.box.x2 + d.x, f.box.y2 + d.y};
  if (f.landmarks68) {
    for (auto& p : *f.landmarks68) p += d;
  }
  if (f.landmarks5) {
    for (auto& p : *f.landmarks5) p += d;
  }
  return f;
}

ShotCrop shot_crop(const cv::Mat& frame, const core::Face& face) {
  const auto& b = face.box;
  const float w = b.width(), h = b.height();
  const cv::Rect r = cv::Rect(cv::Point(int(std::floor(b.x1 - w)), int(std::floor(b.y1 - h))),
                              cv::Point(int(std::ceil(b.x2 + w)), int(std::ceil(b.y2 + h)))) &
                     cv::Rect({0, 0}, frame.size());
  ShotCrop c;
  c.image = frame(r).clone();
  c.face = shifted_face(face, {-float(r.x), -float(r.y)});
  return c;
}

CheapShot assess_cheap(const quality::Assessor& assessor, const cv::Mat& image,
                       const std::vector<core::Face>& faces, std::size_t index,
                       const std::string& profile) {
  CheapShot s;
  const auto rep = assessor.assess(image, faces, index, quality::Scope::kCheap);
  s.unified = float(rep.unified());
  s.passed = assessor.validate(rep, profile).passed;
  if (const auto* m = rep.find("InterEyeDistance"); m && m->raw) s.ied = float(*m->raw);
  if (const auto* m = rep.find("HeadPoseYaw"); m && m->raw) s.abs_yaw = std::abs(float(*m->raw));
  return s;
}

}  // namespace laneface::capture
