#include "capture/best_shot.hpp"

#include <cmath>

#include "quality/assessor.hpp"

namespace laneface::capture {

ShotCrop shot_crop(const cv::Mat& frame, const core::Face& face) {
  const auto& b = face.box;
  const float w = b.width(), h = b.height();
  const cv::Rect r = cv::Rect(cv::Point(int(std::floor(b.x1 - w)), int(std::floor(b.y1 - h))),
                              cv::Point(int(std::ceil(b.x2 + w)), int(std::ceil(b.y2 + h)))) &
                     cv::Rect({0, 0}, frame.size());
  ShotCrop c;
  c.image = frame(r).clone();
  c.face = face;
  const float dx = -float(r.x), dy = -float(r.y);
  c.face.box = {b.x1 + dx, b.y1 + dy, b.x2 + dx, b.y2 + dy};
  if (c.face.landmarks5) {
    for (auto& p : *c.face.landmarks5) p += cv::Point2f(dx, dy);
  }
  if (c.face.landmarks68) {
    for (auto& p : *c.face.landmarks68) p += cv::Point2f(dx, dy);
  }
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
