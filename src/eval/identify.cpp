#include "eval/identify.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "eval/verification.hpp"
#include "vision/fused_recognizer.hpp"

namespace laneface::eval {

double portrait_suitability(const core::Face& face) {
  if (!face.landmarks5) return 0;
  const auto& p = *face.landmarks5;
  const double eye_dist = std::max(1.0, double(cv::norm(p[1] - p[0])));
  const double asym = std::abs((p[2].x - p[0].x) - (p[1].x - p[2].x)) / eye_dist;  // 0 = frontal
  return face.box.width() * std::max(0.0, 1.0 - asym);
}

nlohmann::json identification_metrics(const IdentifyScores& s, const std::vector<double>& fpirs) {
  std::vector<double> nonmated_top;
  std::size_t mated = 0, rank1 = 0, mated_fta = 0, nonmated_fta = 0;
  for (const auto& p : s.probes) {
    if (p.mated) {
      ++mated;
      mated_fta += !p.has_face;
      rank1 += p.has_face && p.top_is_mate;
    } else {
      nonmated_fta += !p.has_face;
      // A non-mated search without a face returns no candidate: never a false positive.
      nonmated_top.push_back(p.has_face ? p.top_score : -std::numeric_limits<double>::infinity());
    }
  }
  nlohmann::json out{{"mated_searches", mated},
                     {"nonmated_searches", nonmated_top.size()},
                     {"mated_failures_to_acquire", mated_fta},
                     {"nonmated_failures_to_acquire", nonmated_fta},
                     {"rank1", mated ? double(rank1) / mated : 0.0}};
  for (const double fpir : fpirs) {
    if (nonmated_top.empty() || mated == 0) break;
    const double t = threshold_at_far(nonmated_top, fpir);
    std::size_t hits = 0;
    for (const auto& p : s.probes)
      hits += p.mated && p.has_face && p.top_is_mate && p.top_score > t;
    char key[32];
    std::snprintf(key, sizeof key, "fpir_%g", fpir);
    out["fnir_at_fpir"][key] = {{"fnir", 1.0 - double(hits) / mated},
                                {"threshold", t},
                                {"fpir", accept_rate(nonmated_top, t)}};
  }
  return out;
}

nlohmann::json run_identify(const vision::FaceEngine& engine, const IdentifyOptions& options) {
  const core::CsvTable labels = core::read_csv(options.data / "labels.csv");
  const std::size_t col_image = labels.column("image"), col_id = labels.column("identity");
  struct Item {
    std::string image, identity;
    std::optional<core::Template> t;
    double suitability = 0;
    std::optional<PhotoQuality> quality;  // with options.assess
  };
  std::vector<Item> items;
  for (const auto& row : labels.rows)
    items.push_back({row.fields[col_image], row.fields[col_id], {}, 0, {}});
  if (items.empty()) throw core::Error(core::ErrorKind::kInvalidInput, labels.name + ": no rows");

  const auto start = std::chrono::steady_clock::now();
  core::parallel_for(
      items.size(), options.threads,
      [&](std::size_t i) {
        const cv::Mat img = core::read_image(options.data / items[i].image);
        auto faces = engine.detector().detect(img, {.min_face = options.min_face});
        const auto k = vision::face_of_interest(faces, img.size());
        if (!k) return;
        core::Face& face = faces[*k];
        engine.add_landmarks(img, face);
        items[i].suitability = portrait_suitability(face);
        if (options.assess) items[i].quality = options.assess(img, faces, *k);
        items[i].t = engine.embed(img, face);
      },
      [&](std::size_t done) {
        if (options.quiet) return;
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "identify: %zu/%zu images (%.1f/s)\n", done, items.size(), done / s);
      });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Split identities by sorted order; numeric ids sort numerically.
  std::vector<std::string> ids;
  for (const auto& it : items) ids.push_back(it.identity);
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::map<std::string, bool> enrolled;
  for (std::size_t i = 0; i < ids.size(); ++i) enrolled[ids[i]] = i % 2 == 0;

  // Each enrolled identity's portrait: the photo with a face that best meets the `document`
  // profile (with an assessor), else the most suitable by geometry.
  auto better_portrait = [&](const Item& a, const Item& b) {
    if (a.quality && b.quality) {
      if (a.quality->document != b.quality->document) return a.quality->document;
      if (a.quality->document_failures != b.quality->document_failures)
        return a.quality->document_failures < b.quality->document_failures;
      if (a.quality->unified != b.quality->unified) return a.quality->unified > b.quality->unified;
    }
    return a.suitability > b.suitability;
  };
  std::map<std::string, std::size_t> portrait;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!enrolled[items[i].identity] || !items[i].t) continue;
    const auto it = portrait.find(items[i].identity);
    if (it == portrait.end() || better_portrait(items[i], items[it->second]))
      portrait[items[i].identity] = i;
  }
  std::vector<std::size_t> gallery;
  for (const auto& [id, i] : portrait) gallery.push_back(i);

  // Score vectors: one entry for a single model; for fusion, the fused score then each part's.
  const auto* fused = dynamic_cast<const vision::FusedRecognizer*>(&engine.recognizer());
  const std::size_t n_scores = fused ? 1 + fused->parts().size() : 1;
  auto score_vector = [&](const core::Template& a, const core::Template& b) {
    if (!fused) return std::vector<double>{engine.recognizer().compare(a, b)};
    std::vector<double> parts = fused->part_scores(a, b);
    parts.insert(parts.begin(), vision::fuse_scores(parts, fused->params().norms));
    return parts;
  };
  std::vector<IdentifyScores> scores(n_scores);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (portrait.count(items[i].identity) && portrait[items[i].identity] == i)
      continue;  // enrolment photo
    std::vector<IdentifyScores::Probe> probe(n_scores);
    for (auto& p : probe) {
      p.mated = enrolled[items[i].identity];
      p.has_face = items[i].t.has_value();
      p.item = i;
      p.top_score = -std::numeric_limits<double>::infinity();
    }
    if (items[i].t) {
      for (const std::size_t g : gallery) {
        const auto s = score_vector(*items[i].t, *items[g].t);
        for (std::size_t j = 0; j < n_scores; ++j) {
          if (s[j] > probe[j].top_score) {
            probe[j].top_score = s[j];
            probe[j].top_is_mate = items[g].identity == items[i].identity;
            probe[j].top_item = g;
          }
        }
      }
    }
    for (std::size_t j = 0; j < n_scores; ++j) scores[j].probes.push_back(probe[j]);
  }
  nlohmann::json out{
      {"eval", "identify"},
      {"data", options.data.filename().string()},
      {"model", engine.recognizer().model_id()},
      {"images", items.size()},
      {"identities", ids.size()},
      {"enrolled", gallery.size()},
      {"enrolled_without_usable_photo", ids.size() / 2 + ids.size() % 2 - gallery.size()},
      {"images_per_second", items.size() / seconds},
      {"threads", options.threads}};
  out.update(identification_metrics(scores[0], {1e-2, 1e-3}));
  for (std::size_t j = 1; j < n_scores; ++j) {
    out["parts"][fused->parts()[j - 1]->model_id()] =
        identification_metrics(scores[j], {1e-2, 1e-3});
  }
  if (fused && !options.gate_bands.empty()) {
    const std::string first = fused->parts().front()->model_id();
    for (const double band : options.gate_bands) {
      nlohmann::json g{{"band", band}, {"first_model", first}};
      for (const double fpir : {1e-2, 1e-3}) {
        char key[32];
        std::snprintf(key, sizeof key, "fpir_%g", fpir);
        const auto& first_at = out["parts"][first]["fnir_at_fpir"];
        if (!first_at.contains(key)) continue;
        const double t1 = first_at[key]["threshold"].get<double>();
        IdentifyScores gated;
        std::size_t in_band = 0, with_face = 0;
        for (std::size_t i = 0; i < scores[0].probes.size(); ++i) {
          IdentifyScores::Probe p = scores[0].probes[i];  // fused
          const auto& p1 = scores[1].probes[i];           // the first model alone
          if (p1.has_face) {
            ++with_face;
            const bool above = p1.top_score > t1 + band, below = p1.top_score < t1 - band;
            if (above || below) {  // decided by the first model: offset past every fused score
              p.top_score = p1.top_score + (above ? 1e6 : -1e6);
              p.top_is_mate = p1.top_is_mate;
              p.top_item = p1.top_item;
            } else {
              ++in_band;
            }
          }
          gated.probes.push_back(p);
        }
        auto m = identification_metrics(gated, {fpir});
        m["first_threshold"] = t1;
        m["second_model_searches"] = in_band;
        m["second_model_fraction"] = with_face ? double(in_band) / with_face : 0.0;
        g[key] = m;
      }
      out["gated"].push_back(g);
    }
  }
  if (options.assess) {
    std::size_t portraits_passing = 0;
    for (const std::size_t g : gallery) portraits_passing += items[g].quality->document;
    out["gallery_selection"] = "best meets the document profile";
    out["portraits_passing_document"] = portraits_passing;
    // The same searches with probes whose face fails `lane-capture` left out (a lane would
    // recapture them). Probes without a face stay, counted as misses, as above.
    auto discarded = [&](const IdentifyScores::Probe& p) {
      return p.has_face && !items[p.item].quality->lane_capture;
    };
    std::size_t mated_discarded = 0, nonmated_discarded = 0;
    for (const auto& p : scores[0].probes) {
      if (discarded(p)) ++(p.mated ? mated_discarded : nonmated_discarded);
    }
    auto kept = [&](const IdentifyScores& s) {
      IdentifyScores k;
      for (const auto& p : s.probes)
        if (!discarded(p)) k.probes.push_back(p);
      return k;
    };
    auto& d = out["lane_capture_discarded"];
    d = identification_metrics(kept(scores[0]), {1e-2, 1e-3});
    d["discarded_mated"] = mated_discarded;
    d["discarded_nonmated"] = nonmated_discarded;
    for (std::size_t j = 1; j < n_scores; ++j) {
      d["parts"][fused->parts()[j - 1]->model_id()] =
          identification_metrics(kept(scores[j]), {1e-2, 1e-3});
    }
  } else {
    out["gallery_selection"] = "most frontal and largest face (geometry)";
  }
  // The strongest false candidates, for a reader to check by eye (labels, look-alikes).
  std::vector<const IdentifyScores::Probe*> nonmated;
  for (const auto& p : scores[0].probes) {
    if (!p.mated && p.has_face) nonmated.push_back(&p);
  }
  std::sort(nonmated.begin(), nonmated.end(),
            [](auto* a, auto* b) { return a->top_score > b->top_score; });
  for (std::size_t k = 0; k < std::min<std::size_t>(5, nonmated.size()); ++k) {
    const auto& p = *nonmated[k];
    out["strongest_nonmated"].push_back({{"probe", items[p.item].image},
                                         {"identity", items[p.item].identity},
                                         {"candidate", items[p.top_item].image},
                                         {"candidate_identity", items[p.top_item].identity},
                                         {"score", p.top_score}});
  }
  return out;
}

}  // namespace laneface::eval
