// Crash safety of the store: the ingest helper is killed with SIGKILL at random points 50
// times; after each kill the database passes its integrity check, every crossing the helper
// acknowledged (printed after commit) is present with its occupants, and the audit chain
// verifies. The helper's path comes from CMake (LANEFACE_INGEST_HELPER).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace ls = laneface::store;

namespace {

struct KilledRun {
  std::vector<ls::Id> acknowledged;
  bool killed = false;
};

// Starts the helper, kills it after `delay` (counted from its first acknowledgement when
// `after_first_ack`, else from its start, which may hit opening and migrating), and returns
// the ids it acknowledged.
KilledRun run_and_kill(const std::filesystem::path& db, std::chrono::milliseconds delay,
                       bool after_first_ack) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(LANEFACE_INGEST_HELPER, LANEFACE_INGEST_HELPER, db.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  for (char c = 0; after_first_ack && c != '\n' && ::read(fds[0], &c, 1) == 1;) out += c;
  std::this_thread::sleep_for(delay);
  KilledRun run;
  run.killed = ::kill(pid, SIGKILL) == 0;
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.killed = run.killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  std::istringstream lines(out);
  for (std::string word, line; std::getline(lines, line);) {
    if (lines.eof() && out.back() != '\n') break;  // a line cut by the kill is not acknowledged
    std::istringstream(line) >> word >> run.acknowledged.emplace_back();
  }
  return run;
}

TEST(StoreCrashSafety, EveryAcknowledgedCrossingSurvivesFiftyKills) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("laneface_crash_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto db = dir / "crash.db";
  ::setenv("LANEFACE_KEY", std::string(64, '5').c_str(), 1);
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, 60);
  std::vector<ls::Id> all;
  int kills = 0;
  for (int i = 0; i < 50; ++i) {
    const KilledRun run = run_and_kill(db, std::chrono::milliseconds(delay_ms(rng)), i % 2 == 1);
    kills += run.killed;
    all.insert(all.end(), run.acknowledged.begin(), run.acknowledged.end());
    if (!std::filesystem::exists(db)) {  // killed before it created the database
      ASSERT_TRUE(all.empty());
      continue;
    }
    ls::StoreConfig config;
    config.path = db;
    config.create_if_missing = false;
    auto store = ls::open_store(config);
    ASSERT_EQ(store->integrity_check(), "ok") << "run " << i << ", seed " << seed;
    for (const ls::Id id : all) {
      const auto c = store->find_crossing(id);
      ASSERT_TRUE(c) << "acknowledged crossing " << id << " lost after kill " << i << ", seed "
                     << seed;
      ASSERT_EQ(c->occupants.size(), 2u);
    }
    const auto audit = store->verify_audit();
    ASSERT_TRUE(audit.ok) << audit.problem << " (run " << i << ", seed " << seed << ")";
  }
  EXPECT_EQ(kills, 50);
  EXPECT_GE(all.size(), 25u) << "every run killed after its first acknowledgement adds one";
  std::printf("%d kills, %zu acknowledged crossings, all present; seed %u\n", kills, all.size(),
              seed);
  std::filesystem::remove_all(dir);
}

}  // namespace
