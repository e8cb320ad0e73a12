#include "sim/face_library.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/imgproc.hpp>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "vision/face_engine.hpp"

namespace laneface::sim {

using core::Error;
using core::ErrorKind;

cv::Mat head_mask(cv::Size chip, const core::Box& box, float* fill) {
  cv::Mat mask = cv::Mat::zeros(chip, CV_8U);
  const cv::Point2f c = box.center();
  const float w = box.width(), h = box.height();
  // Face and hair: an ellipse a little wider than the box and raised towards the hair; the
  // feathered edge blends into the car's interior.
  cv::ellipse(
      mask, cv::RotatedRect(cv::Point2f(c.x, c.y - 0.10f * h), cv::Size2f(1.20f * w, 1.62f * h), 0),
      cv::Scalar(255), cv::FILLED, cv::LINE_AA);
  const double sigma = 0.05 * w;
  cv::GaussianBlur(mask, mask, {0, 0}, sigma);
  if (fill) {
    const cv::Rect r = cv::Rect(cv::Rect2f(box.x1, box.y1, w, h)) & cv::Rect({}, chip);
    const double inside = cv::countNonZero(mask(r) > 127);
    *fill = r.area() > 0 ? static_cast<float>(inside / r.area()) : 1.0f;
  }
  return mask;
}

FaceLibrary::FaceLibrary(std::filesystem::path faces, const std::filesystem::path& labels,
                         int min_photos)
    : faces_(std::move(faces)) {
  if (!std::filesystem::is_directory(faces_)) {
    throw Error(ErrorKind::kNotFound, faces_.string() + ": faces folder does not exist");
  }
  const core::CsvTable table = core::read_csv(labels);
  const std::size_t c_image = table.column("image"), c_identity = table.column("identity");
  std::optional<std::size_t> c_face;
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    if (table.header[c] == "face") c_face = c;
  }
  std::vector<Photo> rows;
  for (const auto& row : table.rows) {
    Photo p{row.fields[c_image], row.fields[c_identity], -1, row.line};
    if (c_face && !row.fields[*c_face].empty()) {
      try {
        p.face = std::stoi(row.fields[*c_face]);
      } catch (const std::exception&) {
        throw Error(ErrorKind::kInvalidInput, table.name + " line " + std::to_string(row.line) +
                                                  ": face '" + row.fields[*c_face] +
                                                  "' is not a face index");
      }
    }
    std::error_code ec;
    if (p.image.empty() || p.identity.empty() ||
        !std::filesystem::is_regular_file(faces_ / p.image, ec)) {
      ++skipped_rows_;
      continue;
    }
    rows.push_back(std::move(p));
  }
  // Identities in order of first appearance; photos in file order.
  std::map<std::string, std::size_t> index;
  std::vector<Identity> all;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto [it, fresh] = index.emplace(rows[i].identity, all.size());
    if (fresh) all.push_back({rows[i].identity, {}});
    all[it->second].photos.push_back(i);
  }
  photos_ = std::move(rows);
  for (auto& id : all) {
    if (static_cast<int>(id.photos.size()) >= min_photos) {
      identities_.push_back(std::move(id));
    } else {
      ++skipped_identities_;
    }
  }
  slots_ = std::make_unique<Slot[]>(photos_.size());
}

void FaceLibrary::detect(std::size_t i, const vision::FaceEngine& engine) const {
  Slot& slot = slots_[i];
  cv::Mat img;
  try {
    img = core::read_image(faces_ / photos_[i].image);
  } catch (const Error&) {
    return;  // counted as failed
  }
  auto faces = engine.analyze(img);
  if (faces.empty()) return;
  std::size_t pick = 0;
  if (photos_[i].face >= 0) {
    std::vector<std::size_t> order(faces.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return faces[a].box.center().x < faces[b].box.center().x;
    });
    if (static_cast<std::size_t>(photos_[i].face) >= faces.size()) return;
    pick = order[static_cast<std::size_t>(photos_[i].face)];
  } else {
    const auto f = vision::face_of_interest(faces, img.size());
    if (!f) return;
    pick = *f;
  }
  const core::Face& face = faces[pick];
  if (!face.landmarks5 || face.box.width() < 24) return;
  // Chip: a square 2.4 face widths wide around the box centre, scaled to kChipFaceWidth.
  const float scale = kChipFaceWidth / face.box.width();
  const float side = 2.4f * std::max(face.box.width(), face.box.height());
  const cv::Point2f c = face.box.center();
  const int chip_side = static_cast<int>(std::lround(side * scale));
  cv::Mat m = (cv::Mat_<double>(2, 3) << scale, 0, chip_side / 2.0 - c.x * scale, 0, scale,
               chip_side / 2.0 - c.y * scale);
  FaceCut cut;
  cv::warpAffine(img, cut.chip, m, {chip_side, chip_side}, cv::INTER_AREA, cv::BORDER_REPLICATE);
  auto map = [&](cv::Point2f p) {
    return cv::Point2f(static_cast<float>(p.x * scale + m.at<double>(0, 2)),
                       static_cast<float>(p.y * scale + m.at<double>(1, 2)));
  };
  const cv::Point2f a = map({face.box.x1, face.box.y1}), b = map({face.box.x2, face.box.y2});
  cut.box = {a.x, a.y, b.x, b.y};
  for (std::size_t k = 0; k < 5; ++k) cut.points[k] = map((*face.landmarks5)[k]);
  const cv::Point2f mid = (cut.points[0] + cut.points[1]) * 0.5f;
  const float eye = std::max(1.0f, static_cast<float>(cv::norm(cut.points[1] - cut.points[0])));
  cut.yaw = (cut.points[2].x - mid.x) / eye;
  cut.mask = head_mask(cut.chip.size(), cut.box, &cut.fill);
  slot.cut = std::move(cut);
  slot.source_box = face.box;
}

const FaceCut* FaceLibrary::cut(std::size_t i, const vision::FaceEngine& engine) const {
  if (i >= photos_.size()) {
    throw Error(ErrorKind::kInternal, "face library: photo index out of range");
  }
  std::call_once(slots_[i].once, [&] { detect(i, engine); });
  return slots_[i].cut ? &*slots_[i].cut : nullptr;
}

cv::Mat FaceLibrary::portrait(std::size_t i, const vision::FaceEngine& engine) const {
  if (!cut(i, engine)) {
    throw Error(ErrorKind::kInvalidInput, (faces_ / photos_[i].image).string() + ": no face");
  }
  const cv::Mat img = core::read_image(faces_ / photos_[i].image);
  const core::Box& b = *slots_[i].source_box;
  // ICAO-like: face box ~55 % of the width, eyes a little above the middle, 3:4.
  const float w = b.width() / 0.55f, h = w * 4.0f / 3.0f;
  const cv::Point2f c = b.center();
  const float x0 = c.x - w / 2, y0 = c.y - h * 0.47f;
  const int out_w = 360, out_h = 480;
  const double s = out_w / w;
  cv::Mat m = (cv::Mat_<double>(2, 3) << s, 0, -x0 * s, 0, s, -y0 * s);
  cv::Mat out;
  cv::warpAffine(img, out, m, {out_w, out_h}, s < 1 ? cv::INTER_AREA : cv::INTER_CUBIC,
                 cv::BORDER_REPLICATE);
  return out;
}

}  // namespace laneface::sim
