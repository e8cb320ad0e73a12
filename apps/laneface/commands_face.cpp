// detect, compare: the face engine on single images.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "commands.hpp"
#include "core/image_io.hpp"
#include "vision/face_engine.hpp"

namespace laneface::app {
namespace {

nlohmann::json point_list(std::span<const cv::Point2f> pts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : pts) out.push_back({std::round(p.x * 10) / 10, std::round(p.y * 10) / 10});
  return out;
}

nlohmann::json face_json(const core::Face& f) {
  nlohmann::json j{
      {"box",
       {std::round(f.box.x1), std::round(f.box.y1), std::round(f.box.x2), std::round(f.box.y2)}},
      {"score", std::round(f.score * 1000) / 1000}};
  if (f.landmarks5) j["landmarks5"] = point_list(*f.landmarks5);
  if (f.landmarks68) j["landmarks68"] = point_list(*f.landmarks68);
  return j;
}

void draw_faces(cv::Mat& img, const std::vector<core::Face>& faces) {
  const int thick = std::max(1, img.cols / 640);
  for (const auto& f : faces) {
    cv::rectangle(img, f.box.rect(), {0, 255, 0}, thick);
    cv::putText(img, cv::format("%.2f", f.score), {int(f.box.x1), std::max(12, int(f.box.y1) - 4)},
                cv::FONT_HERSHEY_SIMPLEX, 0.4 * thick, {0, 255, 0}, thick);
    if (f.landmarks68) {
      for (const auto& p : *f.landmarks68) cv::circle(img, p, thick, {255, 200, 0}, cv::FILLED);
    }
    if (f.landmarks5) {
      for (const auto& p : *f.landmarks5) cv::circle(img, p, 2 * thick, {0, 0, 255}, cv::FILLED);
    }
  }
}

}  // namespace

void register_face_commands(CLI::App& app, Globals& globals, int& exit_code) {
  {
    auto* cmd =
        app.add_subcommand("detect", "find every face in an image: box, score, 5 and 68 landmarks");
    auto image = std::make_shared<std::string>();
    auto draw = std::make_shared<std::string>();
    auto min_face = std::make_shared<int>(40);
    auto crops = std::make_shared<std::string>();
    cmd->add_option("IMAGE", *image, "image file (JPEG, PNG, BMP, PNM)")->required();
    cmd->add_option("--draw", *draw, "write the image with boxes and landmarks to this file");
    cmd->add_option("--crops", *crops, "write each face, with a margin, to DIR/face_<i>.png");
    cmd->add_option("--min-face", *min_face, "smallest face width to look for, pixels")
        ->check(CLI::Range(8, 4096));
    cmd->callback([=, &globals, &exit_code] {
      cv::Mat img = core::read_image(*image);
      const vision::FaceEngine engine(globals.engine_options());
      vision::DetectOptions det;
      det.min_face = *min_face;
      const auto faces = engine.analyze(img, det);
      nlohmann::json out{{"image", *image},
                         {"width", img.cols},
                         {"height", img.rows},
                         {"faces", nlohmann::json::array()}};
      for (const auto& f : faces) out["faces"].push_back(face_json(f));
      if (const auto k = vision::face_of_interest(faces, img.size())) out["face_of_interest"] = *k;
      if (!crops->empty()) {
        std::filesystem::create_directories(*crops);
        for (std::size_t i = 0; i < faces.size(); ++i) {
          const auto& b = faces[i].box;
          const cv::Rect r =
              cv::Rect(cv::Point(int(b.x1 - b.width() / 2), int(b.y1 - b.height() / 2)),
                       cv::Size(int(b.width() * 2), int(b.height() * 2))) &
              cv::Rect({0, 0}, img.size());
          core::write_image(std::filesystem::path(*crops) / ("face_" + std::to_string(i) + ".png"),
                            img(r));
        }
      }
      if (!draw->empty()) {
        draw_faces(img, faces);
        core::write_image(*draw, img);
      }
      std::cout << out.dump() << std::endl;
      exit_code = 0;
    });
  }
  {
    auto* cmd = app.add_subcommand("compare",
                                   "compare the main face of two images: score and same/different");
    auto a = std::make_shared<std::string>();
    auto b = std::make_shared<std::string>();
    auto threshold = std::make_shared<double>(-2);
    cmd->add_option("A", *a, "first image")->required();
    cmd->add_option("B", *b, "second image")->required();
    cmd->add_option("--threshold", *threshold,
                    "decision threshold (default: the manifest's compare_threshold)");
    cmd->callback([=, &globals, &exit_code] {
      const cv::Mat ia = core::read_image(*a);
      const cv::Mat ib = core::read_image(*b);
      const vision::FaceEngine engine(globals.engine_options());
      const double t = *threshold > -2 ? *threshold : engine.recognizer().threshold();
      nlohmann::json out{
          {"a", *a}, {"b", *b}, {"model", engine.recognizer().model_id()}, {"threshold", t}};
      std::optional<core::Template> ta, tb;
      for (auto [img, tmpl, key] : {std::tuple{&ia, &ta, "a"}, std::tuple{&ib, &tb, "b"}}) {
        const auto faces = engine.analyze(*img, {.min_face = 20});
        out[std::string("faces_") + key] = faces.size();
        if (const auto k = vision::face_of_interest(faces, img->size())) {
          *tmpl = engine.embed(*img, faces[*k]);
          out[std::string("face_") + key] = face_json(faces[*k]);
        }
      }
      if (!ta || !tb) {
        out["decision"] = "undecided";
        out["reason"] = std::string("no face found in ") + (!ta ? *a : *b);
        exit_code = 2;
      } else {
        const double s = engine.recognizer().compare(*ta, *tb);
        out["score"] = s;
        out["decision"] = s > t ? "same" : "different";
        exit_code = 0;
      }
      std::cout << out.dump() << std::endl;
    });
  }
}

}  // namespace laneface::app
