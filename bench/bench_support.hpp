#pragma once
// What every laneface benchmark program shares: a reporter that passes each run on to the
// display reporter --benchmark_format asked for and keeps, per benchmark and thread count, the
// figure the program's one-line JSON summary needs (the median aggregate when repetitions ran,
// else the mean, else the single run), and the errors of failed runs.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace laneface::bench {

struct Figure {
  double ms_per_item = 0;      // wall time / items done by all threads together
  double cpu_ms_per_item = 0;  // CPU time of the benchmark threads / items: robust to other load
  double items_per_s = 0;
  double faces_per_frame = -1;
  int rank = -1;  // 2 median, 1 mean, 0 plain run
};

class SummaryReporter final : public benchmark::BenchmarkReporter {
 public:
  using Key = std::pair<std::string, int>;  // function name, threads

  explicit SummaryReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner)
      : inner_(std::move(inner)) {}

  bool ReportContext(const Context& context) override {
    inner_->SetOutputStream(&GetOutputStream());
    inner_->SetErrorStream(&GetErrorStream());
    return inner_->ReportContext(context);
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) {
        errors_.push_back(run.benchmark_name() + ": " + run.error_message);
        continue;
      }
      int rank = 0;
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median")
          rank = 2;
        else if (run.aggregate_name == "mean")
          rank = 1;
        else
          continue;  // stddev, cv
      }
      Figure& f = figures_[{run.run_name.function_name, run.threads}];
      if (rank < f.rank) continue;
      f.rank = rank;
      f.ms_per_item = run.GetAdjustedRealTime() * to_ms(run.time_unit);
      f.cpu_ms_per_item = run.GetAdjustedCPUTime() * to_ms(run.time_unit);
      if (auto it = run.counters.find("items_per_second"); it != run.counters.end())
        f.items_per_s = it->second;
      if (auto it = run.counters.find("faces_per_frame"); it != run.counters.end())
        f.faces_per_frame = it->second;
    }
    inner_->ReportRuns(runs);
  }

  void Finalize() override { inner_->Finalize(); }

  const std::map<Key, Figure>& figures() const { return figures_; }
  const std::vector<std::string>& errors() const { return errors_; }
  bool failed() const { return !errors_.empty(); }

 private:
  static double to_ms(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kNanosecond:
        return 1e-6;
      case benchmark::kMicrosecond:
        return 1e-3;
      case benchmark::kMillisecond:
        return 1;
      case benchmark::kSecond:
        return 1e3;
    }
    return 1;
  }

  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  std::map<Key, Figure> figures_;
  std::vector<std::string> errors_;
};

// --benchmark_format as Google Benchmark would read it (console | json; csv is shown as console).
inline std::string requested_format(int argc, char** argv) {
  std::string format = "console";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    constexpr std::string_view kFlag = "--benchmark_format=";
    if (arg.starts_with(kFlag)) format = std::string(arg.substr(kFlag.size()));
  }
  return format;
}

inline std::unique_ptr<benchmark::BenchmarkReporter> make_display_reporter(
    const std::string& format) {
  if (format == "json") return std::make_unique<benchmark::JSONReporter>();
  return std::make_unique<benchmark::ConsoleReporter>(
      isatty(fileno(stdout)) ? benchmark::ConsoleReporter::OO_ColorTabular
                             : benchmark::ConsoleReporter::OO_Tabular);
}

// The fixture of a benchmark program, or nullptr after reporting a skip: without models or
// demo photos (before scripts/setup) a benchmark is skipped, not failed, and says so on stderr
// and as one JSON line on stdout.
template <class Load>
auto load_or_skip(const char* program, Load load) -> decltype(load()) {
  try {
    return load();
  } catch (const core::Error& e) {
    std::cerr << program << ": skipped, not failed: " << e.what()
              << "\n  (models and demo photos come from scripts/setup)\n";
    std::cout << nlohmann::json{{"summary", program}, {"skipped", e.what()}}.dump() << std::endl;
    return nullptr;
  }
}

}  // namespace laneface::bench
