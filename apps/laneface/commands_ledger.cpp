// report (the entry/exit ledger) and enrol (travel documents in bulk). Reports print JSON (one
// line) or CSV on stdout; enrol prints progress on stderr and ends with one JSON line.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "core/error.hpp"
#include "ledger/enrol.hpp"
#include "ledger/ledger.hpp"
#include "quality/assessor.hpp"
#include "store/store.hpp"

namespace laneface::app {

namespace {

using core::Error;
using core::ErrorKind;

store::Date date_option(const std::string& flag, const std::string& text) {
  const auto d = store::parse_date(text);
  if (!d) throw Error(ErrorKind::kInvalidInput, flag + " '" + text + "': not a date YYYY-MM-DD");
  return *d;
}

std::optional<store::Date> optional_date(const std::string& flag, const std::string& text) {
  if (text.empty()) return std::nullopt;
  return date_option(flag, text);
}

struct ReportFlags {
  std::string db, format = "json";
};

// Adds `report NAME` with --db and --format; `run` prints the report for the open ledger.
CLI::App* add_report(CLI::App& report, const std::string& name, const std::string& help,
                     std::shared_ptr<ReportFlags> flags, int& exit_code,
                     std::function<void(ledger::Ledger&, bool csv)> run) {
  auto* cmd = report.add_subcommand(name, help);
  cmd->add_option("--db", flags->db, "the database file")->required();
  cmd->add_option("--format", flags->format, "json (one line) or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "csv"}));
  cmd->callback([flags, run, &exit_code] {
    store::StoreConfig config;  // reports read no photos or templates: no key needed
    config.path = flags->db;
    config.create_if_missing = false;
    const auto store = store::open_store(config);
    ledger::Ledger ledger(*store, "laneface report");
    run(ledger, flags->format == "csv");
    exit_code = 0;
  });
  return cmd;
}

template <class Report>
void print(const Report& report, bool csv) {
  if (csv) {
    std::cout << ledger::to_csv(report) << std::flush;
  } else {
    std::cout << ledger::to_json(report).dump() << std::endl;
  }
}

void register_report_commands(CLI::App& app, int& exit_code) {
  auto* report = app.add_subcommand("report", "entry/exit ledger reports, as JSON or CSV");
  report->require_subcommand(1);
  {
    auto flags = std::make_shared<ReportFlags>();
    auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
    auto* cmd = add_report(
        *report, "departures", "biometrically confirmed departures per day (UTC) and port", flags,
        exit_code, [from, to](ledger::Ledger& l, bool csv) {
          print(l.departures(date_option("--from", *from), date_option("--to", *to)), csv);
        });
    cmd->add_option("--from", *from, "first day, YYYY-MM-DD")->required();
    cmd->add_option("--to", *to, "last day (inclusive), YYYY-MM-DD")->required();
  }
  {
    auto flags = std::make_shared<ReportFlags>();
    auto as_of = std::make_shared<std::string>();
    auto* cmd =
        add_report(*report, "overstays",
                   "non-US travellers past their admitted-until date with no confirmed departure",
                   flags, exit_code, [as_of](ledger::Ledger& l, bool csv) {
                     print(l.overstays(date_option("--as-of", *as_of)), csv);
                   });
    cmd->add_option("--as-of", *as_of, "the day to judge at, YYYY-MM-DD")->required();
  }
  {
    auto flags = std::make_shared<ReportFlags>();
    auto from = std::make_shared<std::string>(), to = std::make_shared<std::string>();
    auto* cmd = add_report(
        *report, "unmatched", "exits of identified travellers with no prior recorded entry", flags,
        exit_code, [from, to](ledger::Ledger& l, bool csv) {
          print(l.unmatched_exits(optional_date("--from", *from), optional_date("--to", *to)), csv);
        });
    cmd->add_option("--from", *from, "first day, YYYY-MM-DD (default: the beginning)");
    cmd->add_option("--to", *to, "last day (inclusive), YYYY-MM-DD (default: now)");
  }
}

void register_enrol_command(CLI::App& app, Globals& globals, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "enrol",
      "enrol travel documents from a CSV with portraits: per-row errors with line numbers, good "
      "rows kept; ends with one JSON line {enrolled, rejected, errors}; exit 2 when a row was "
      "rejected");
  struct Flags {
    std::string db, csv, images, key_file, profile = "document",
                                           config = quality::default_quality_config_path().string();
    int min_face = 40;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--db", f->db, "the database file (created when missing)")->required();
  cmd->add_option("--csv", f->csv,
                  "number,type,country,name,date_of_birth,citizenship,admitted_until,portrait")
      ->required();
  cmd->add_option("--images", f->images, "folder the portrait paths are relative to")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--key-file", f->key_file,
                  "encryption key file (32 bytes or 64 hex); default $LANEFACE_KEY");
  cmd->add_option("--profile", f->profile, "quality profile portraits must pass (\"\" skips)")
      ->capture_default_str();
  cmd->add_option("--quality-config", f->config, "quality config (TOML)")->capture_default_str();
  cmd->add_option("--min-face", f->min_face, "smallest face width in a portrait, pixels")
      ->capture_default_str()
      ->check(CLI::Range(8, 4096));
  cmd->callback([f, &globals, &exit_code] {
    store::StoreConfig config;
    config.path = f->db;
    config.key = f->key_file.empty() ? store::key_from_env()
                                     : std::optional(store::load_key_file(f->key_file));
    if (!config.key) {
      throw Error(ErrorKind::kConfig,
                  "enrol: templates are stored encrypted: pass --key-file or set LANEFACE_KEY");
    }
    const auto store = store::open_store(config);
    const vision::FaceEngine engine(globals.engine_options());
    std::optional<quality::Assessor> assessor;
    if (!f->profile.empty()) {
      assessor.emplace(quality::QualityConfig::load(f->config),
                       quality::Assessor::load_models(engine.manifest()));
    }
    ledger::EnrolOptions options;
    options.profile = f->profile;
    options.threads = globals.threads;
    options.min_face = f->min_face;
    options.progress = [](std::size_t done, std::size_t total) {
      if (total > 64) std::fprintf(stderr, "laneface enrol: %zu/%zu rows\n", done, total);
    };
    cv::setNumThreads(1);  // parallel across portraits, one core per net
    const auto report = ledger::enrol_documents(*store, f->csv, f->images, engine,
                                                assessor ? &*assessor : nullptr, options);
    std::cout << report.to_json().dump() << std::endl;
    exit_code = report.errors.empty() ? 0 : 2;
  });
}

}  // namespace

void register_ledger_commands(CLI::App& app, Globals& globals, int& exit_code) {
  register_report_commands(app, exit_code);
  register_enrol_command(app, globals, exit_code);
}

}  // namespace laneface::app
