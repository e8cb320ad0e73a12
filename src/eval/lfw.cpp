#include "eval/lfw.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "eval/verification.hpp"

namespace laneface::eval {
namespace {

using core::Error;
using core::ErrorKind;

std::string image_path(const std::string& name, int number) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "_%04d.jpg", number);
  return name + "/" + name + buf;
}

int parse_int(const std::string& s, const std::string& where) {
  std::size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || v <= 0) throw Error(ErrorKind::kInvalidInput, where + ": '" + s + "' is not a positive number");
  return v;
}

}  // namespace

LfwPairs read_lfw_pairs(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::kNotFound, path.string() + ": cannot open LFW pairs file");
  LfwPairs out;
  std::string line;
  int line_no = 0;
  auto where = [&] { return path.string() + ":" + std::to_string(line_no); };
  if (!std::getline(in, line)) throw Error(ErrorKind::kInvalidInput, path.string() + ": empty pairs file");
  ++line_no;
  {
    std::istringstream head(line);
    std::string f, n;
    head >> f >> n;
    out.folds = parse_int(f, where());
    out.per_fold = parse_int(n, where());
  }
  for (int fold = 0; fold < out.folds; ++fold) {
    for (int k = 0; k < 2 * out.per_fold; ++k) {
      if (!std::getline(in, line)) {
        throw Error(ErrorKind::kInvalidInput, path.string() + ": ends early, expected " +
                                                  std::to_string(out.folds * out.per_fold * 2) + " pairs");
      }
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string w; fields >> w;) f.push_back(w);
      const bool same = k < out.per_fold;
      if (same && f.size() == 3) {
        out.pairs.push_back({fold, true, image_path(f[0], parse_int(f[1], where())),
                             image_path(f[0], parse_int(f[2], where()))});
      } else if (!same && f.size() == 4) {
        out.pairs.push_back({fold, false, image_path(f[0], parse_int(f[1], where())),
                             image_path(f[2], parse_int(f[3], where()))});
      } else {
        throw Error(ErrorKind::kInvalidInput, where() + ": expected " + (same ? "'name n1 n2'" : "'name1 n1 name2 n2'"));
      }
    }
  }
  return out;
}

nlohmann::json run_lfw(const vision::FaceEngine& engine, const LfwOptions& options) {
  const auto pairs = read_lfw_pairs(options.data / "pairs.txt");
  std::map<std::string, std::size_t> index;
  std::vector<std::string> images;
  for (const auto& p : pairs.pairs) {
    for (const auto* name : {&p.a, &p.b}) {
      if (index.emplace(*name, images.size()).second) images.push_back(*name);
    }
  }
  struct Result {
    core::Template t;
    int how = 0;  // 0 detected, 1 low-threshold fallback, 2 centre-box fallback
  };
  std::vector<Result> results(images.size());
  const auto start = std::chrono::steady_clock::now();
  if (!options.quiet) std::fprintf(stderr, "lfw: %zu pairs, %zu images, %d threads\n", pairs.pairs.size(), images.size(), options.threads);
  core::parallel_for(
      images.size(), options.threads,
      [&](std::size_t i) {
        const cv::Mat img = core::read_image(options.data / "lfw" / images[i]);
        vision::DetectOptions det;
        det.min_face = 20;
        auto faces = engine.detector().detect(img, det);
        int how = 0;
        if (faces.empty()) {
          det.score_threshold = options.fallback_threshold;
          faces = engine.detector().detect(img, det);
          how = 1;
        }
        core::Face face;
        if (const auto k = vision::face_of_interest(faces, img.size())) {
          face = faces[*k];
        } else {
          const auto* c = options.centre_box;
          face.box = {c[0] * img.cols, c[1] * img.rows, c[2] * img.cols, c[3] * img.rows};
          how = 2;
        }
        engine.add_landmarks(img, face);
        results[i] = {engine.embed(img, face), how};
      },
      [&](std::size_t done) {
        if (!options.quiet) {
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::fprintf(stderr, "lfw: %zu/%zu images (%.1f/s)\n", done, images.size(), done / s);
        }
      });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<Pair> scored;
  std::vector<double> genuine, impostor;
  for (const auto& p : pairs.pairs) {
    const double s = engine.recognizer().compare(results[index[p.a]].t, results[index[p.b]].t);
    scored.push_back({p.fold, p.same, s});
    (p.same ? genuine : impostor).push_back(s);
  }
  const KFoldResult kf = kfold_accuracy(scored, pairs.folds);
  int low = 0, centre = 0;
  for (const auto& r : results) {
    low += r.how == 1;
    centre += r.how == 2;
  }
  nlohmann::json tar;
  for (const double far : {1e-2, 1e-3}) {
    const double t = threshold_at_far(impostor, far);
    tar[far == 1e-2 ? "far_1e-2" : "far_1e-3"] = {{"tar", accept_rate(genuine, t)}, {"threshold", t}};
  }
  return {
      {"eval", "lfw"},
      {"data", options.data.filename().string()},
      {"model", engine.recognizer().model_id()},
      {"pairs", pairs.pairs.size()},
      {"images", images.size()},
      {"accuracy", kf.mean},
      {"accuracy_std", kf.stddev},
      {"fold_accuracy", kf.fold_accuracy},
      {"tar_at_far", tar},
      {"failures_to_detect", low + centre},
      {"fallback_low_threshold", low},
      {"fallback_centre_box", centre},
      {"images_per_second", images.size() / seconds},
      {"threads", options.threads},
  };
}

}  // namespace laneface::eval
