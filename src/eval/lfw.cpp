#include "eval/lfw.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "eval/verification.hpp"
#include "vision/fused_recognizer.hpp"

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
  if (used != s.size() || v <= 0)
    throw Error(ErrorKind::kInvalidInput, where + ": '" + s + "' is not a positive number");
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
  if (!std::getline(in, line))
    throw Error(ErrorKind::kInvalidInput, path.string() + ": empty pairs file");
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
                                                  std::to_string(out.folds * out.per_fold * 2) +
                                                  " pairs");
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
        throw Error(ErrorKind::kInvalidInput,
                    where() + ": expected " + (same ? "'name n1 n2'" : "'name1 n1 name2 n2'"));
      }
    }
  }
  return out;
}

namespace {

struct LfwTemplates {
  LfwPairs pairs;
  std::map<std::string, std::size_t> index;  // image path -> position in results
  struct Result {
    core::Template t;
    int how = 0;  // 0 detected, 1 low-threshold fallback, 2 centre-box fallback
  };
  std::vector<Result> results;
  double seconds = 0;

  const core::Template& a(const LfwPair& p) const { return results[index.at(p.a)].t; }
  const core::Template& b(const LfwPair& p) const { return results[index.at(p.b)].t; }
};

// Finds, aligns and templates every image the pairs use, with `recognizer`.
LfwTemplates embed_lfw(const vision::FaceEngine& engine, const vision::Recognizer& recognizer,
                       const LfwOptions& options) {
  LfwTemplates out{read_lfw_pairs(options.data / "pairs.txt"), {}, {}, 0};
  const auto& pairs = out.pairs;
  auto& index = out.index;
  std::vector<std::string> images;
  for (const auto& p : pairs.pairs) {
    for (const auto* name : {&p.a, &p.b}) {
      if (index.emplace(*name, images.size()).second) images.push_back(*name);
    }
  }
  auto& results = out.results;
  results.resize(images.size());
  const auto start = std::chrono::steady_clock::now();
  if (!options.quiet)
    std::fprintf(stderr, "lfw: %zu pairs, %zu images, %d threads\n", pairs.pairs.size(),
                 images.size(), options.threads);
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
        if (options.landmark_jitter > 0) {
          face.landmarks68 =
              engine.landmarker().predict_averaged(img, face.box, options.landmark_jitter);
          face.landmarks5 = vision::reduce_to_5(*face.landmarks68);
        } else {
          engine.add_landmarks(img, face);
        }
        results[i] = {recognizer.embed(img, face), how};
      },
      [&](std::size_t done) {
        if (!options.quiet) {
          const double s =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::fprintf(stderr, "lfw: %zu/%zu images (%.1f/s)\n", done, images.size(), done / s);
        }
      });
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

// Accuracy (from per-fold results) and TAR at FAR 1e-2 / 1e-3 over all pairs' scores.
nlohmann::json verification_report(const KFoldResult& kf, const std::vector<Pair>& scored) {
  std::vector<double> genuine, impostor;
  for (const auto& s : scored) (s.same ? genuine : impostor).push_back(s.score);
  nlohmann::json tar;
  for (const double far : {1e-2, 1e-3}) {
    const double t = threshold_at_far(impostor, far);
    tar[far == 1e-2 ? "far_1e-2" : "far_1e-3"] = {{"tar", accept_rate(genuine, t)},
                                                  {"threshold", t}};
  }
  return {{"accuracy", kf.mean},
          {"accuracy_std", kf.stddev},
          {"fold_accuracy", kf.fold_accuracy},
          {"tar_at_far", tar}};
}

// Fusion on LFW: each test fold's score normalisation is fitted on the other nine folds'
// impostor pairs; pooled scores for TAR use each pair's own fold's normalisation.
nlohmann::json fused_report(const LfwPairs& pairs, const std::vector<std::vector<double>>& parts) {
  std::vector<Pair> scored(pairs.pairs.size());
  std::vector<double> acc, thr;
  for (int k = 0; k < pairs.folds; ++k) {
    std::vector<vision::ScoreNorm> norms;
    for (std::size_t j = 0; j < parts.front().size(); ++j) {
      std::vector<double> train;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (pairs.pairs[i].fold != k && !pairs.pairs[i].same) train.push_back(parts[i][j]);
      }
      norms.push_back(vision::fit_norm(train));
    }
    std::vector<Pair> fold_scored;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto& p = pairs.pairs[i];
      fold_scored.push_back({p.fold, p.same, vision::fuse_scores(parts[i], norms)});
      if (p.fold == k) scored[i] = fold_scored.back();
    }
    double t = 0;
    acc.push_back(fold_accuracy(fold_scored, k, &t));
    thr.push_back(t);
  }
  return verification_report(summarize_folds(std::move(acc), std::move(thr)), scored);
}

}  // namespace

nlohmann::json run_lfw(const vision::FaceEngine& engine, const LfwOptions& options) {
  const LfwTemplates lt = embed_lfw(engine, engine.recognizer(), options);
  const auto& pairs = lt.pairs;
  nlohmann::json report;
  const auto* fused = dynamic_cast<const vision::FusedRecognizer*>(&engine.recognizer());
  if (!fused) {
    std::vector<Pair> scored;
    for (const auto& p : pairs.pairs)
      scored.push_back({p.fold, p.same, engine.recognizer().compare(lt.a(p), lt.b(p))});
    report = verification_report(kfold_accuracy(scored, pairs.folds), scored);
  } else {
    std::vector<std::vector<double>> parts;
    for (const auto& p : pairs.pairs) parts.push_back(fused->part_scores(lt.a(p), lt.b(p)));
    report = fused_report(pairs, parts);
    // Each model alone, from the same templates: the single-model figures beside the fusion.
    for (std::size_t j = 0; j < fused->parts().size(); ++j) {
      std::vector<Pair> scored;
      for (std::size_t i = 0; i < parts.size(); ++i)
        scored.push_back({pairs.pairs[i].fold, pairs.pairs[i].same, parts[i][j]});
      report["parts"][fused->parts()[j]->model_id()] =
          verification_report(kfold_accuracy(scored, pairs.folds), scored);
    }
  }
  int low = 0, centre = 0;
  for (const auto& r : lt.results) {
    low += r.how == 1;
    centre += r.how == 2;
  }
  report.update({
      {"eval", "lfw"},
      {"data", options.data.filename().string()},
      {"model", engine.recognizer().model_id()},
      {"pairs", pairs.pairs.size()},
      {"images", lt.results.size()},
      {"failures_to_detect", low + centre},
      {"fallback_low_threshold", low},
      {"fallback_centre_box", centre},
      {"images_per_second", lt.results.size() / lt.seconds},
      {"threads", options.threads},
      {"mirror", engine.options().embed.mirror},
      {"landmark_jitter", options.landmark_jitter},
  });
  return report;
}

}  // namespace laneface::eval

namespace laneface::eval {

vision::FusionParams calibrate_fusion_lfw(const vision::FaceEngine& engine,
                                          const std::vector<std::string>& part_ids,
                                          const LfwOptions& options) {
  // A fused recognizer with neutral norms gives the parts' templates in one pass per image.
  vision::FusionParams neutral{part_ids, std::vector<vision::ScoreNorm>(part_ids.size()), 0, ""};
  std::vector<std::unique_ptr<vision::Recognizer>> parts;
  for (const auto& id : part_ids)
    parts.push_back(vision::create_recognizer(engine.manifest(), id, engine.options()));
  const vision::FusedRecognizer fused(std::move(parts), neutral);
  const LfwTemplates lt = embed_lfw(engine, fused, options);
  std::vector<std::vector<double>> impostor(part_ids.size());
  std::vector<std::vector<double>> impostor_parts;
  for (const auto& p : lt.pairs.pairs) {
    if (p.same) continue;
    impostor_parts.push_back(fused.part_scores(lt.a(p), lt.b(p)));
    for (std::size_t j = 0; j < part_ids.size(); ++j)
      impostor[j].push_back(impostor_parts.back()[j]);
  }
  vision::FusionParams params{part_ids, {}, 0, ""};
  for (const auto& s : impostor) params.norms.push_back(vision::fit_norm(s));
  std::vector<double> fused_impostor;
  for (const auto& s : impostor_parts)
    fused_impostor.push_back(vision::fuse_scores(s, params.norms));
  params.threshold = threshold_at_far(fused_impostor, 1e-3);
  params.calibration = "LFW view 2 at " + options.data.filename().string() + ": z-norm over the " +
                       std::to_string(fused_impostor.size()) +
                       " impostor pairs of all folds; threshold at FAR 1e-3";
  return params;
}

LfwImpostors lfw_impostor_scores(const vision::FaceEngine& engine, const LfwOptions& options,
                                 const std::vector<std::size_t>& max_of_n_sizes, unsigned seed) {
  const vision::Recognizer& rec = engine.recognizer();
  const LfwTemplates lt = embed_lfw(engine, rec, options);
  LfwImpostors out;
  out.images = lt.results.size();
  out.embed_seconds = lt.seconds;
  for (const auto& r : lt.results) out.failures_to_detect += r.how != 0;
  // Images in index order, their identity (the folder name), and per model the templates.
  std::vector<std::string> names(lt.results.size());
  for (const auto& [name, i] : lt.index) names[i] = name;
  std::map<std::string, std::size_t> identity_of;
  std::vector<std::size_t> identity(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string who = std::filesystem::path(names[i]).parent_path().string();
    identity[i] = identity_of.emplace(who, identity_of.size()).first->second;
  }
  out.identities = identity_of.size();
  const auto* fused = dynamic_cast<const vision::FusedRecognizer*>(&rec);
  std::vector<const vision::Recognizer*> parts;  // the models compared directly
  std::vector<std::vector<core::Template>> templates;
  if (fused) {
    out.models.push_back(rec.model_id());
    for (const auto& p : fused->parts()) {
      parts.push_back(p.get());
      out.models.push_back(p->model_id());
      templates.emplace_back();
    }
    for (const auto& r : lt.results) {
      auto split = fused->split(r.t);
      for (std::size_t m = 0; m < split.size(); ++m) templates[m].push_back(std::move(split[m]));
    }
  } else {
    out.models.push_back(rec.model_id());
    parts.push_back(&rec);
    templates.emplace_back();
    for (const auto& r : lt.results) templates[0].push_back(r.t);
  }
  const std::size_t n = names.size(), n_models = out.models.size();
  // The score vector of images i and j: [fused,] part scores.
  auto score = [&](std::size_t i, std::size_t j, double* s) {
    double* p = fused ? s + 1 : s;
    for (std::size_t m = 0; m < parts.size(); ++m)
      p[m] = parts[m]->compare(templates[m][i], templates[m][j]);
    if (fused) s[0] = vision::fuse_scores({p, parts.size()}, fused->params().norms);
  };
  // Every impostor pair i < j, rows in parallel into precomputed offsets.
  std::vector<std::size_t> offset(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t c = 0;
    for (std::size_t j = i + 1; j < n; ++j) c += identity[j] != identity[i];
    offset[i + 1] = offset[i] + c;
  }
  out.scores.assign(n_models, std::vector<double>(offset[n]));
  core::parallel_for(n, options.threads, [&](std::size_t i) {
    std::vector<double> s(n_models);
    std::size_t k = offset[i];
    for (std::size_t j = i + 1; j < n; ++j) {
      if (identity[j] == identity[i]) continue;
      score(i, j, s.data());
      for (std::size_t m = 0; m < n_models; ++m) out.scores[m][k] = s[m];
      ++k;
    }
  });
  // Max of N: one random image per other identity, N identities per search.
  out.max_of_n_sizes = max_of_n_sizes;
  out.max_of_n.assign(
      n_models, std::vector<std::vector<double>>(max_of_n_sizes.size(), std::vector<double>(n)));
  std::vector<std::vector<std::size_t>> by_identity(out.identities);
  for (std::size_t i = 0; i < n; ++i) by_identity[identity[i]].push_back(i);
  for (std::size_t k = 0; k < max_of_n_sizes.size(); ++k) {
    const std::size_t size = std::min(max_of_n_sizes[k], out.identities - 1);
    core::parallel_for(n, options.threads, [&](std::size_t i) {
      std::mt19937_64 rng(seed * 1000003ull + k * 7919ull + i);
      std::vector<std::size_t> others;
      others.reserve(out.identities - 1);
      for (std::size_t id = 0; id < out.identities; ++id)
        if (id != identity[i]) others.push_back(id);
      std::vector<double> best(n_models, -std::numeric_limits<double>::infinity()), s(n_models);
      for (std::size_t g = 0; g < size; ++g) {  // partial Fisher-Yates: N distinct identities
        std::swap(others[g], others[g + rng() % (others.size() - g)]);
        const auto& imgs = by_identity[others[g]];
        score(i, imgs[rng() % imgs.size()], s.data());
        for (std::size_t m = 0; m < n_models; ++m) best[m] = std::max(best[m], s[m]);
      }
      for (std::size_t m = 0; m < n_models; ++m) out.max_of_n[m][k][i] = best[m];
    });
  }
  return out;
}

}  // namespace laneface::eval
