#include "eval/profile_fnmr.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <opencv2/imgproc.hpp>
#include <set>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"

namespace laneface::eval {

std::vector<FnmrBin> fnmr_by_bin(std::span<const double> values, std::span<const double> scores,
                                 std::span<const double> edges, double threshold) {
  if (values.size() != scores.size())
    throw core::Error(core::ErrorKind::kInvalidInput, "fnmr_by_bin: values and scores differ");
  if (edges.size() < 2 || !std::is_sorted(edges.begin(), edges.end()) ||
      std::adjacent_find(edges.begin(), edges.end()) != edges.end())
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "fnmr_by_bin: bin edges must be two or more increasing values");
  std::vector<FnmrBin> bins;
  for (std::size_t b = 0; b + 1 < edges.size(); ++b) bins.push_back({edges[b], edges[b + 1]});
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(v >= edges.front() && v < edges.back())) continue;  // also NaN
    const auto b = std::size_t(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin()) - 1;
    ++bins[b].probes;
    bins[b].non_matches += scores[i] <= threshold;
  }
  return bins;
}

std::optional<double> downscale_for_ied(double ied, double target) {
  if (!(ied > 0) || !(target > 0) || target > ied) return std::nullopt;
  return target / ied;
}

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

nlohmann::json nullable(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

struct Item {
  int identity = 0;
  std::string image;
  bool ok = false;
  core::Face face;
  ProfilePhoto quality;
  core::Template tmpl;
};

// Same order as `eval identify`'s portrait choice: passes the document profile, then fewest
// failed requirements, then highest unified score.
bool better_reference(const Item& a, const Item& b) {
  if (a.quality.document != b.quality.document) return a.quality.document;
  if (a.quality.document_failures != b.quality.document_failures)
    return a.quality.document_failures < b.quality.document_failures;
  return a.quality.unified > b.quality.unified;
}

core::Face scaled_face(const core::Face& f, double s) {
  core::Face out;
  out.box = {float(f.box.x1 * s), float(f.box.y1 * s), float(f.box.x2 * s), float(f.box.y2 * s)};
  out.score = f.score;
  return out;
}

}  // namespace

nlohmann::json run_profile_fnmr(const vision::FaceEngine& engine, const ProfileFnmrOptions& o) {
  if (!o.assess)
    throw core::Error(core::ErrorKind::kInvalidInput, "profile-fnmr: no quality assessor given");
  std::vector<double> yaw_edges = o.yaw_edges;
  if (yaw_edges.empty()) {
    for (int d = 0; d <= 60; d += 5) yaw_edges.push_back(d);
    yaw_edges.push_back(90);
  }
  std::vector<double> ieds = o.ieds;
  if (ieds.empty()) ieds = {12, 16, 20, 24, 28, 32};
  const auto t0 = Clock::now();

  const core::CsvTable table = core::read_csv(o.data / "labels.csv");
  const auto col_image = table.column("image"), col_id = table.column("identity");
  std::vector<Item> all;
  for (const auto& row : table.rows) {
    Item it;
    try {
      it.identity = std::stoi(row.fields[col_id]);
    } catch (const std::exception&) {
      throw core::Error(core::ErrorKind::kInvalidInput,
                        table.name + ":" + std::to_string(row.line) + ": identity is not a number");
    }
    it.image = row.fields[col_image];
    all.push_back(std::move(it));
  }
  // The calibration half: sorted identity ids, even rank (as eval edc).
  std::set<int> ids;
  for (const auto& it : all) ids.insert(it.identity);
  std::set<int> calibration;
  std::size_t rank = 0;
  for (const int id : ids) {
    if (rank++ % 2 == 0 && (o.limit_identities == 0 || calibration.size() < o.limit_identities))
      calibration.insert(id);
  }
  std::vector<Item> items;
  for (auto& it : all) {
    if (calibration.count(it.identity)) items.push_back(std::move(it));
  }
  if (items.empty())
    throw core::Error(core::ErrorKind::kInvalidInput, table.name + ": no calibration images");

  // Every photo: face, quality, template.
  core::parallel_for(
      items.size(), o.threads,
      [&](std::size_t i) {
        auto& it = items[i];
        const cv::Mat img = core::read_image(o.data / it.image);
        const auto faces = engine.analyze(img, {.min_face = o.min_face});
        const auto k = vision::face_of_interest(faces, img.size());
        if (!k) return;
        it.face = faces[*k];
        it.quality = o.assess(img, faces, *k, false);
        it.tmpl = engine.embed(img, faces[*k]);
        it.ok = true;
      },
      [&](std::size_t done) {
        if (!o.quiet) std::fprintf(stderr, "profile-fnmr: %zu / %zu photos\n", done, items.size());
      },
      200);

  // Each identity's reference: the photo that best meets the document profile.
  std::map<int, std::size_t> reference;
  std::size_t no_face = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].ok) {
      ++no_face;
      continue;
    }
    const auto r = reference.find(items[i].identity);
    if (r == reference.end() || better_reference(items[i], items[r->second]))
      reference[items[i].identity] = i;
  }
  std::size_t references_passing = 0;
  for (const auto& [id, i] : reference) references_passing += items[i].quality.document;
  const auto& rec = engine.recognizer();

  // Probes: every other photo with a face, compared with its identity's reference.
  struct Probe {
    std::size_t item;
    double score;
  };
  std::vector<Probe> probes;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].ok || reference.at(items[i].identity) == i) continue;
    probes.push_back({i, rec.compare(items[i].tmpl, items[reference.at(items[i].identity)].tmpl)});
  }

  // (a) by |yaw|.
  std::vector<double> yaw_values, yaw_scores;
  std::size_t yaw_missing = 0;
  for (const auto& p : probes) {
    const auto& y = items[p.item].quality.yaw;
    if (!y) {
      ++yaw_missing;
      continue;
    }
    yaw_values.push_back(std::abs(*y));
    yaw_scores.push_back(p.score);
  }
  nlohmann::json yaw_bins = nlohmann::json::array();
  for (const auto& b : fnmr_by_bin(yaw_values, yaw_scores, yaw_edges, o.threshold)) {
    yaw_bins.push_back({{"abs_yaw_deg", {b.lo, b.hi}},
                        {"probes", b.probes},
                        {"non_matches", b.non_matches},
                        {"fnmr", b.fnmr()}});
  }

  // (b) by IED: probes within the profile's yaw limit and large enough for every target (one
  // probe set for all targets) are made smaller, then found, landmarked and embedded again.
  const double max_yaw = o.ied_max_abs_yaw;
  const double max_target = *std::max_element(ieds.begin(), ieds.end());
  std::vector<std::size_t> ied_probes;
  std::size_t ied_too_small = 0;
  for (std::size_t k = 0; k < probes.size(); ++k) {
    const auto& q = items[probes[k].item].quality;
    if (!q.ied || !q.yaw || std::abs(*q.yaw) > max_yaw) continue;
    if (*q.ied < max_target) {
      ++ied_too_small;
      continue;
    }
    ied_probes.push_back(k);
  }
  struct Small {
    bool done = false;  // the photo's IED was at least the target
    bool redetected = false;
    double score = 0;
    std::optional<double> measured_ied;
  };
  std::vector<std::vector<Small>> small(ied_probes.size(), std::vector<Small>(ieds.size()));
  core::parallel_for(
      ied_probes.size(), o.threads,
      [&](std::size_t n) {
        const Probe& p = probes[ied_probes[n]];
        const Item& it = items[p.item];
        const Item& ref = items[reference.at(it.identity)];
        const cv::Mat img = core::read_image(o.data / it.image);
        for (std::size_t t = 0; t < ieds.size(); ++t) {
          const auto s = downscale_for_ied(*it.quality.ied, ieds[t]);
          if (!s) continue;
          cv::Mat lo;
          cv::resize(img, lo, {}, *s, *s, cv::INTER_AREA);
          auto faces = engine.analyze(lo, {.min_face = o.small_min_face});
          auto k = vision::face_of_interest(faces, lo.size());
          Small& r = small[n][t];
          r.done = true;
          r.redetected = k.has_value();
          if (!k) {
            // Not found again: the lane would have the tracker's box; landmark that.
            faces = {scaled_face(it.face, *s)};
            engine.add_landmarks(lo, faces[0]);
            k = 0;
          }
          r.measured_ied = o.assess(lo, faces, *k, true).ied;
          r.score = rec.compare(engine.embed(lo, faces[*k]), ref.tmpl);
        }
      },
      [&](std::size_t done) {
        if (!o.quiet)
          std::fprintf(stderr, "profile-fnmr: %zu / %zu downscaled probes\n", done,
                       ied_probes.size());
      },
      100);
  std::size_t original_non_matches = 0;
  std::vector<double> original_ied;
  for (const std::size_t k : ied_probes) {
    original_non_matches += probes[k].score <= o.threshold;
    original_ied.push_back(*items[probes[k].item].quality.ied);
  }
  nlohmann::json targets = nlohmann::json::array();
  for (std::size_t t = 0; t < ieds.size(); ++t) {
    std::size_t n = 0, redetected = 0, miss = 0, miss_redetected = 0, too_small = 0;
    std::vector<double> measured;
    for (const auto& row : small) {
      const Small& r = row[t];
      if (!r.done) {
        ++too_small;
        continue;
      }
      ++n;
      miss += r.score <= o.threshold;
      if (r.redetected) {
        ++redetected;
        miss_redetected += r.score <= o.threshold;
      }
      if (r.measured_ied) measured.push_back(*r.measured_ied);
    }
    targets.push_back(
        {{"ied_px", ieds[t]},
         {"probes", n},
         {"already_smaller", too_small},
         {"redetected", redetected},
         {"non_matches", miss},
         {"fnmr", n ? double(miss) / double(n) : 0.0},
         {"fnmr_redetected", redetected ? double(miss_redetected) / double(redetected) : 0.0},
         {"median_measured_ied", nullable(median(measured))}});
  }

  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return {
      {"protocol", "profile-fnmr"},
      {"data", o.data.string()},
      {"identities",
       {{"used", "calibration half (sorted numeric ids, even rank)"},
        {"count", calibration.size()},
        {"with_reference", reference.size()}}},
      {"photos", items.size()},
      {"no_face", no_face},
      {"recognizer", rec.model_id()},
      {"threshold", o.threshold},
      {"threshold_source", o.threshold_source},
      {"non_match", "score <= threshold"},
      {"reference",
       {{"rule",
         "per identity the photo that best meets the document profile (passes it; else "
         "fewest failed requirements; then highest unified score), as eval identify"},
        {"passing_document", references_passing}}},
      {"yaw",
       {{"probes", yaw_values.size()},
        {"yaw_not_assessed", yaw_missing},
        {"value", "|HeadPoseYaw| of the probe, natural variation"},
        {"bins", yaw_bins}}},
      {"ied",
       {{"method",
         "each probe downscaled (INTER_AREA) so its InterEyeDistance is the target, "
         "then detected, landmarked (else the scaled box landmarked) and embedded "
         "again; no blur, noise or compression is added, so the lane's frames at the "
         "same IED do at least as badly"},
        {"probes_max_abs_yaw", max_yaw},
        {"probes", ied_probes.size()},
        {"probes_left_out_ied_below_largest_target", ied_too_small},
        {"original",
         {{"fnmr", ied_probes.empty() ? 0.0 : double(original_non_matches) / ied_probes.size()},
          {"non_matches", original_non_matches},
          {"median_ied", nullable(median(original_ied))}}},
        {"targets", targets}}},
      {"seconds", seconds},
  };
}

}  // namespace laneface::eval
