// Helper for the store crash-safety test: ingests crossings (each with an encrypted
// encounter photo) into the database named on the command line, forever, and prints
// "crossing <id>" on stdout after each crossing's transaction has committed. The test kills
// it with SIGKILL at random points. Key: $LANEFACE_KEY.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>

#include "store/store.hpp"

int main(int argc, char** argv) {
  namespace ls = laneface::store;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DATABASE\n", argv[0]);
    return 2;
  }
  try {
    ls::StoreConfig config;
    config.path = argv[1];
    config.key = ls::key_from_env();
    auto store = ls::open_store(config);
    ls::Bytes photo(4096);
    for (std::size_t i = 0; i < photo.size(); ++i) photo[i] = static_cast<unsigned char>(i * 31);
    for (int n = 0;; ++n) {
      ls::Crossing c;
      c.lane = "lane-" + std::to_string(n % 4);
      c.port = "crash-test";
      c.direction = n % 2 ? ls::Direction::kExit : ls::Direction::kEntry;
      c.time = ls::SystemClock().now();
      c.occupants = {{0, 1, "driver", ls::CaptureStatus::kCaptured, {}},
                     {0, 2, "left", ls::CaptureStatus::kNotCaptured, {}}};
      const auto stored = store->record_crossing(c, "ingest");
      const std::string line = "crossing " + std::to_string(stored.id) + "\n";
      if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        return 3;
      store->add_encounter_photo(stored.occupants[0].id, photo, "ingest");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_ingest_helper: %s\n", e.what());
    return 1;
  }
}
