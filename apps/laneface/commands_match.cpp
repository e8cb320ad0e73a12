// bench search: search index speed and recall on synthetic galleries; ends with one JSON line.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "match/search_bench.hpp"

namespace laneface::app {

void register_match_commands(CLI::App& app, Globals& globals, int& exit_code) {
  auto* bench = app.add_subcommand("bench", "speed measurements (end with one JSON line)");
  bench->require_subcommand(1);
  auto* cmd = bench->add_subcommand("search",
                                    "exact float/int8 and FAISS search on synthetic templates: "
                                    "build time, ms/query, recall@1, memory");
  auto o = std::make_shared<match::SearchBenchOptions>();
  cmd->add_option("--sizes", o->sizes, "gallery sizes")->delimiter(',')->capture_default_str();
  cmd->add_option("--dim", o->dim, "template dimension")
      ->check(CLI::Range(8, 4096))
      ->capture_default_str();
  cmd->add_option("--queries", o->queries, "mated queries per size (recall@1)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--timed-queries", o->timed_queries,
                  "queries timed one by one on the exact scans")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--nlist", o->faiss.nlist, "FAISS IVF cells")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--nprobe", o->nprobes, "FAISS cells visited per query, swept")
      ->delimiter(',')
      ->capture_default_str();
  cmd->callback([o, &globals, &exit_code] {
    o->threads = globals.threads;
    const auto report = match::run_search_bench(
        *o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    std::cout << nlohmann::json{{"bench", "search"}, {"results", report}}.dump() << std::endl;
    exit_code = 0;
  });
}

}  // namespace laneface::app
