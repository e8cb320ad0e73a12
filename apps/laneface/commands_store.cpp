// audit and retention: records kept by the store. Each command prints one JSON line.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace laneface::app {

namespace {

// An existing database; these commands never need the encryption key.
std::unique_ptr<store::Store> open_existing(const std::string& db,
                                            const store::RetentionPolicy& retention = {}) {
  store::StoreConfig config;
  config.path = db;
  config.create_if_missing = false;
  config.retention = retention;
  return store::open_store(config);
}

std::chrono::milliseconds hours(double h) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(h * 3600e3));
}

}  // namespace

void register_store_commands(CLI::App& app, Globals& /*globals*/, int& exit_code) {
  {
    auto* audit = app.add_subcommand("audit", "the hash-chained audit log");
    audit->require_subcommand(1);
    auto* cmd = audit->add_subcommand(
        "verify", "walk the audit chain; exit 1 and name the first broken entry");
    auto db = std::make_shared<std::string>();
    cmd->add_option("--db", *db, "the database file")->required();
    cmd->callback([db, &exit_code] {
      const auto result = open_existing(*db)->verify_audit();
      std::cout << result.to_json().dump() << std::endl;
      exit_code = result.ok ? 0 : 1;
    });
  }
  {
    auto* retention =
        app.add_subcommand("retention", "purge encounter data past its retention window");
    retention->require_subcommand(1);
    auto* cmd = retention->add_subcommand(
        "run", "delete expired encounter photos and templates; print counts");
    auto db = std::make_shared<std::string>();
    auto now = std::make_shared<std::string>();
    auto policy = std::make_shared<store::RetentionPolicy>();
    auto us_hours = std::make_shared<double>(12), non_us_years = std::make_shared<double>(75),
         unknown_hours = std::make_shared<double>(12);
    cmd->add_option("--db", *db, "the database file")->required();
    cmd->add_option("--now", *now,
                    "the time to apply the policy at, ISO 8601 (default: the system clock)");
    cmd->add_option("--us-hours", *us_hours,
                    "retention window of US citizens' encounter data, hours")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--non-us-years", *non_us_years,
                    "retention window of non-US encounter data, years")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--unknown-hours", *unknown_hours,
                    "retention window of encounter data matched to nobody, hours")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->callback([=, &exit_code] {
      store::TimePoint at = store::SystemClock().now();
      if (!now->empty()) {
        const auto parsed = store::parse_time(*now);
        if (!parsed) {
          throw core::Error(
              core::ErrorKind::kInvalidInput,
              "--now '" + *now + "': not an ISO 8601 time such as 2024-05-01T12:00:00Z");
        }
        at = *parsed;
      }
      policy->us_window = hours(*us_hours);
      policy->non_us_window = hours(*non_us_years * 365.2425 * 24);
      policy->unknown_window = hours(*unknown_hours);
      const auto report = open_existing(*db, *policy)->run_retention(at, "laneface retention run");
      auto j = report.to_json();
      j["templates_dropped_from_indexes"] = report.deleted_template_ids.size();
      std::cout << j.dump() << std::endl;
      exit_code = 0;
    });
  }
  {
    auto* key = app.add_subcommand("key", "the encryption key of photos and templates");
    key->require_subcommand(1);
    auto* cmd = key->add_subcommand(
        "rotate",
        "re-encrypt every photo and template under a new key in one transaction (audited)");
    auto db = std::make_shared<std::string>();
    auto old_key = std::make_shared<std::string>(), new_key = std::make_shared<std::string>();
    cmd->add_option("--db", *db, "the database file")->required();
    cmd->add_option("--key-file", *old_key,
                    "the current key file (32 bytes or 64 hex); default $LANEFACE_KEY");
    cmd->add_option("--new-key-file", *new_key, "the new key file (32 bytes or 64 hex)")
        ->required();
    cmd->callback([=, &exit_code] {
      store::StoreConfig config;
      config.path = *db;
      config.create_if_missing = false;
      config.key =
          old_key->empty() ? store::key_from_env() : std::optional(store::load_key_file(*old_key));
      if (!config.key) {
        throw core::Error(core::ErrorKind::kConfig,
                          "key rotate: the current key is needed: pass --key-file or set "
                          "LANEFACE_KEY");
      }
      const store::Key next = store::load_key_file(*new_key);  // checked before anything changes
      const auto s = store::open_store(config);  // fails when the current key is wrong
      s->rotate_key(next, "laneface key rotate");
      const auto stats = s->stats();
      std::cout << nlohmann::json{{"rotated", true},
                                  {"photos", stats.photos},
                                  {"templates", stats.templates}}
                       .dump()
                << std::endl;
      exit_code = 0;
    });
  }
}

}  // namespace laneface::app
