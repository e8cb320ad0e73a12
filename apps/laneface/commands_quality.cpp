// quality: the ISO/IEC 29794-5 style report of the main face in an image, and a profile check.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "eval/edc.hpp"
#include "quality/assessor.hpp"
#include "vision/face_engine.hpp"

namespace laneface::app {
namespace {

void draw_report(cv::Mat& img, const core::Face& face, const quality::ProfileResult* profile) {
  const int thick = std::max(1, img.cols / 640);
  const bool ok = !profile || profile->passed;
  const cv::Scalar colour = ok ? cv::Scalar(0, 200, 0) : cv::Scalar(0, 0, 255);
  cv::rectangle(img, face.box.rect(), colour, thick);
  if (face.landmarks68) {
    for (const auto& p : *face.landmarks68) cv::circle(img, p, thick, {255, 200, 0}, cv::FILLED);
  }
  std::vector<std::string> lines;
  if (profile) {
    lines.push_back(profile->profile + (ok ? ": pass" : ": FAIL"));
    lines.insert(lines.end(), profile->failures.begin(), profile->failures.end());
  }
  const double font = 0.4 * thick;
  int y = std::max(14 * thick, int(face.box.y2) + 14 * thick);
  for (const auto& l : lines) {
    cv::putText(img, l, {std::max(0, int(face.box.x1)), std::min(img.rows - 2, y)},
                cv::FONT_HERSHEY_SIMPLEX, font, colour, thick);
    y += 14 * thick;
  }
}

}  // namespace

void register_quality_commands(CLI::App& app, Globals& globals, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "quality",
      "face-image quality report (ISO/IEC 29794-5 measures) of the main face, as JSON; "
      "with --profile, exit 2 when the profile fails");
  auto image = std::make_shared<std::string>();
  auto profile = std::make_shared<std::string>();
  auto draw = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>(quality::default_quality_config_path().string());
  auto cheap = std::make_shared<bool>(false);
  auto min_face = std::make_shared<int>(20);
  cmd->add_option("IMAGE", *image, "image file")->required();
  cmd->add_option("--profile", *profile,
                  "validation profile from the config (lane-capture, document, ...)");
  cmd->add_option("--draw", *draw,
                  "write the face with landmarks and pass/fail notes to this file");
  cmd->add_option("--config", *config, "quality config (TOML)")->capture_default_str();
  cmd->add_flag("--cheap", *cheap,
                "only the cheap measures (the early gate): no eye or pose model");
  cmd->add_option("--min-face", *min_face, "smallest face width to look for, pixels")
      ->check(CLI::Range(8, 4096));
  cmd->callback([=, &globals, &exit_code] {
    cv::Mat img = core::read_image(*image);
    vision::EngineOptions eo;
    eo.manifest = globals.manifest;
    eo.recognizer = globals.recognizer;
    const vision::FaceEngine engine(eo);
    const quality::Assessor assessor(
        quality::QualityConfig::load(*config),
        *cheap ? quality::Models{} : quality::Assessor::load_models(engine.manifest()));
    const auto faces = engine.analyze(img, {.min_face = *min_face});
    nlohmann::json out{
        {"image", *image}, {"width", img.cols}, {"height", img.rows}, {"faces", faces.size()}};
    exit_code = 0;
    const auto k = vision::face_of_interest(faces, img.size());
    if (!k) {
      out["quality"] = nullptr;
      if (!profile->empty()) {
        out["profile"] = {
            {"profile", *profile}, {"passed", false}, {"failures", {"no face found"}}};
        exit_code = 2;
      }
      std::cout << out.dump() << std::endl;
      return;
    }
    const auto& f = faces[*k];
    out["face"] = {
        {"box",
         {std::round(f.box.x1), std::round(f.box.y1), std::round(f.box.x2), std::round(f.box.y2)}},
        {"score", std::round(f.score * 1000) / 1000}};
    const auto report =
        assessor.assess(img, faces, *k, *cheap ? quality::Scope::kCheap : quality::Scope::kAll);
    out["quality"] = quality::to_json(report);
    std::optional<quality::ProfileResult> result;
    if (!profile->empty()) {
      result = assessor.validate(report, *profile);
      out["profile"] = quality::to_json(*result);
      if (!result->passed) exit_code = 2;
    }
    if (!draw->empty()) {
      draw_report(img, f, result ? &*result : nullptr);
      core::write_image(*draw, img);
    }
    std::cout << out.dump() << std::endl;
  });
  // eval edc: registered under the existing `eval` command (register_eval_commands runs first).
  auto* eval = app.get_subcommand("eval");
  auto* survey = eval->add_subcommand(
      "quality",
      "quality of the main face of every image in a labels.csv folder: per-measure counts, "
      "failure reasons, ranges, profile pass counts and cost per face (JSON); exit 1 when any "
      "report holds a non-finite value or a failure without a reason");
  auto survey_data = std::make_shared<std::string>();
  auto survey_config =
      std::make_shared<std::string>(quality::default_quality_config_path().string());
  auto survey_cheap = std::make_shared<bool>(false);
  auto survey_limit = std::make_shared<std::size_t>(0);
  survey->add_option("--data", *survey_data,
                     "folder with labels.csv (column image) (default: $LANEFACE_DATA/celeba-dev)");
  survey->add_option("--config", *survey_config, "quality config (TOML)")->capture_default_str();
  survey->add_flag("--cheap", *survey_cheap, "only the cheap measures (the early gate)");
  survey->add_option("--limit", *survey_limit, "only the first N images (0: all)");
  survey->callback([=, &globals, &exit_code] {
    eval::SurveyOptions o;
    if (!survey_data->empty()) {
      o.data = *survey_data;
    } else if (const char* env = std::getenv("LANEFACE_DATA"); env && *env) {
      o.data = std::filesystem::path(env) / "celeba-dev";
    } else {
      throw core::Error(core::ErrorKind::kNotFound,
                        "no data folder: pass --data DIR or set LANEFACE_DATA");
    }
    o.threads = globals.threads;
    o.scope = *survey_cheap ? quality::Scope::kCheap : quality::Scope::kAll;
    o.limit = *survey_limit;
    vision::EngineOptions eo;
    eo.manifest = globals.manifest;
    eo.recognizer = globals.recognizer;
    cv::setNumThreads(1);  // parallel across images, one core per net
    const vision::FaceEngine engine(eo);
    const quality::Assessor assessor(
        quality::QualityConfig::load(*survey_config),
        *survey_cheap ? quality::Models{} : quality::Assessor::load_models(engine.manifest()));
    const auto report = eval::run_quality_survey(engine, assessor, o);
    std::fprintf(stderr,
                 "quality: %zu images, %zu faces assessed, %zu without a face, %.1f ms/face, "
                 "%zu malformed reports\n",
                 report["images"].get<std::size_t>(), report["faces_assessed"].get<std::size_t>(),
                 report["no_face_found"].get<std::size_t>(),
                 report["quality_ms_per_face_mean"].get<double>(),
                 report["reports_malformed"].get<std::size_t>());
    std::cout << report.dump() << std::endl;
    exit_code = report["reports_malformed"].get<std::size_t>() == 0 ? 0 : 1;
  });
  auto* edc = eval->add_subcommand(
      "edc", "Error-versus-Discard Characteristic of the quality measures (ISO/IEC 29794-1)");
  auto data = std::make_shared<std::string>();
  auto plot = std::make_shared<std::string>("edc.png");
  auto edc_config = std::make_shared<std::string>(quality::default_quality_config_path().string());
  edc->add_option("--data", *data,
                  "folder with labels.csv (image,identity) (default: $LANEFACE_DATA/celeba-dev)");
  edc->add_option("--plot", *plot, "PNG plot of the curves")->capture_default_str();
  edc->add_option("--config", *edc_config, "quality config (TOML)")->capture_default_str();
  auto fit = std::make_shared<std::string>("cv");
  edc->add_option("--fit", *fit,
                  "how to fit the unified scores (all measures, and the cheap gate) on the "
                  "calibration half: cv (choose the method by 5-fold cross-validation over the "
                  "calibration identities, then fit it on the whole half), none (report the "
                  "configured scores only), or WEIGHTS/MAPPINGS/MEAN: WEIGHTS logistic, score, "
                  "descent, logistic+descent or logistic+tail; MAPPINGS configured, span99, "
                  "span50, span25 or "
                  "sigmoid; MEAN arithmetic, geometric or harmonic")
      ->capture_default_str();
  auto cache = std::make_shared<std::string>();
  edc->add_option("--cache", *cache,
                  "reuse (or write) per-image measures and templates in this file; it holds "
                  "biometric templates: keep it with the data, never in the repository");
  auto head_out = std::make_shared<std::string>();
  edc->add_option("--head-out", *head_out,
                  "with a fit: write the learned measure TemplateQualityHead, refitted on the "
                  "calibration half, to this JSON file (as config/quality_head.json)");
  auto unified_head = std::make_shared<bool>(false);
  edc->add_flag("--unified-head", *unified_head,
                "with a fit: also fit the unified score's learned input (quality.unified.head: a "
                "ridge head on the template, its norm and the other measures' components)");
  auto unified_head_out = std::make_shared<std::string>();
  edc->add_option("--unified-head-out", *unified_head_out,
                  "with --unified-head: write that head to this JSON file");
  auto cv_methods = std::make_shared<std::string>();
  edc->add_option("--cv-methods", *cv_methods,
                  "with --fit cv: cross-validate only these methods (comma-separated names)");
  auto bootstrap = std::make_shared<int>(0);
  edc->add_option("--bootstrap", *bootstrap,
                  "resamples of a bootstrap over the test half's identities of the unified "
                  "score's FNMR minus each close single measure's at 10 % and 20 % discard")
      ->check(CLI::Range(0, 100000));
  edc->callback([=, &globals, &exit_code] {
    eval::EdcOptions o;
    if (!data->empty()) {
      o.data = *data;
    } else if (const char* env = std::getenv("LANEFACE_DATA"); env && *env) {
      o.data = std::filesystem::path(env) / "celeba-dev";
    } else {
      throw core::Error(core::ErrorKind::kNotFound,
                        "no data folder: pass --data DIR or set LANEFACE_DATA");
    }
    o.plot = *plot;
    o.cache = *cache;
    o.fit = *fit;
    o.head_out = *head_out;
    o.unified_head = *unified_head;
    o.unified_head_out = *unified_head_out;
    o.cv_methods = *cv_methods;
    o.bootstrap = *bootstrap;
    o.threads = globals.threads;
    vision::EngineOptions eo;
    eo.manifest = globals.manifest;
    eo.recognizer = globals.recognizer;
    eo.embed.mirror = !globals.no_mirror;
    cv::setNumThreads(1);  // parallel across images, one core per net
    const vision::FaceEngine engine(eo);
    const quality::Assessor assessor(quality::QualityConfig::load(*edc_config),
                                     quality::Assessor::load_models(engine.manifest()));
    const auto report = eval::run_edc(engine, assessor, o);
    for (const char* score : {"unified", "cheap"}) {
      const auto& b = report["bars"][score];
      std::fprintf(stderr,
                   "EDC (test half, %s): FNMR %.2f %% -> %.2f %% at 10 %% discard, %.2f %% at 20 "
                   "%%; below every single measure: %s at 10 %%, %s at 20 %%\n",
                   score, 100 * b["fnmr_at_0"].get<double>(), 100 * b["fnmr_at_10"].get<double>(),
                   100 * b["fnmr_at_20"].get<double>(),
                   b["below_every_single_measure_at_10"].get<bool>() ? "yes" : "no",
                   b["below_every_single_measure_at_20"].get<bool>() ? "yes" : "no");
    }
    std::cout << report.dump() << std::endl;
    exit_code = 0;
  });
}

}  // namespace laneface::app
