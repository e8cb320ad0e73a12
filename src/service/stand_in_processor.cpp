#include "service/stand_in_processor.hpp"

#include <array>
#include <chrono>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "store/clock.hpp"

namespace laneface::service {

using Json = nlohmann::json;

namespace {

std::vector<unsigned char> placeholder_photo(int seed) {
  cv::Mat img(112, 112, CV_8UC3, cv::Scalar(60 + seed * 37 % 120, 80, 100 + seed * 53 % 120));
  cv::ellipse(img, {56, 50}, {26, 34}, 0, 0, 360, cv::Scalar(190, 200, 215), cv::FILLED);
  cv::ellipse(img, {56, 120}, {46, 34}, 0, 0, 360, cv::Scalar(150, 160, 175), cv::FILLED);
  std::vector<unsigned char> out;
  cv::imencode(".jpg", img, out);
  return out;
}

}  // namespace

Processor make_stand_in_processor(store::Store& store, std::string actor) {
  return [&store, actor](const capture::VehiclePass& pass, const capture::Observer& observer) {
    const auto t0 = std::chrono::steady_clock::now();
    static constexpr std::array<std::pair<int, const char*>, 7> kSeats{{{1, "driver"},
                                                                        {1, "front_passenger"},
                                                                        {2, "left"},
                                                                        {2, "right"},
                                                                        {2, "middle"},
                                                                        {3, "left"},
                                                                        {3, "right"}}};
    struct Who {
      std::optional<store::Document> document;
      std::string number;
      bool captured = true;
    };
    std::vector<Who> people;
    for (const auto& d : pass.documents) {
      store::DocumentKey key;
      key.type = store::parse_enum<store::DocumentType>(d.value("type", "passport"))
                     .value_or(store::DocumentType::kPassport);
      key.number = d.value("number", "");
      key.country = d.value("country", "");
      auto doc = store.find_document(key);
      if (!doc && key.country.empty()) {
        // The lane may not read the issuing country: try the usual ones of the demo data.
        for (const char* c : {"MEX", "USA", "CAN"}) {
          key.country = c;
          if ((doc = store.find_document(key))) break;
        }
      }
      people.push_back({doc, key.number, true});
    }
    std::size_t h = std::hash<std::string>{}(pass.vehicle);
    if (people.empty() || h % 3 == 0) people.push_back({std::nullopt, "", false});
    if (people.size() > kSeats.size()) people.resize(kSeats.size());

    store::Crossing c;
    c.lane = pass.lane;
    c.port = pass.port.empty() ? "DEMO" : pass.port;
    c.direction =
        store::parse_enum<store::Direction>(pass.direction).value_or(store::Direction::kEntry);
    c.time = store::parse_time(pass.time).value_or(
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
    for (std::size_t i = 0; i < people.size(); ++i) {
      store::Occupant o;
      o.row = kSeats[i].first;
      o.seat = kSeats[i].second;
      o.capture =
          people[i].captured ? store::CaptureStatus::kCaptured : store::CaptureStatus::kNotCaptured;
      c.occupants.push_back(o);
    }
    c = store.record_crossing(c, actor);
    if (observer.vehicle_arrived)
      observer.vehicle_arrived({{"vehicle", pass.vehicle}, {"occupant_count", people.size()}});

    Json result{{"vehicle", pass.vehicle},         {"lane", pass.lane},
                {"direction", pass.direction},     {"crossing_id", c.id},
                {"occupant_count", people.size()}, {"stand_in", true}};
    Json occupants = Json::array(), not_captured = Json::array();
    for (std::size_t i = 0; i < people.size(); ++i) {
      const auto& p = people[i];
      const auto& o = c.occupants[i];
      if (!p.captured) {
        Json nc{{"occupant", i},
                {"occupant_id", o.id},
                {"row", o.row},
                {"seat", o.seat},
                {"reasons", Json::array({"face not visible in any camera (stand-in)"})}};
        store::MatchDecision m;
        m.occupant_id = o.id;
        m.outcome = store::MatchOutcome::kNotCaptured;
        m.model_id = "stand-in";
        nc["decision_id"] = store.record_match(m, actor);
        if (observer.decision_ready) observer.decision_ready(nc);
        not_captured.push_back(std::move(nc));
        continue;
      }
      Json occ{{"occupant", i},
               {"occupant_id", o.id},
               {"row", o.row},
               {"seat", o.seat},
               {"cameras", Json::array()},
               {"frames_seen", 0},
               {"captured", true},
               {"profile", {{"passed", true}, {"failures", Json::array()}}}};
      try {
        const auto photo = placeholder_photo(static_cast<int>(o.id));
        occ["photo_id"] = store.add_encounter_photo(o.id, photo, actor);
      } catch (const std::exception&) {
        occ["photo_id"] = nullptr;  // no key: no photos
      }
      if (observer.occupant_captured) observer.occupant_captured(occ);
      store::MatchDecision m;
      m.occupant_id = o.id;
      m.model_id = "stand-in";
      m.threshold = 0.5;
      Json match{{"gallery", "vehicle"}, {"threshold", 0.5}};
      if (p.document) {
        m.outcome = store::MatchOutcome::kMatched;
        m.document_id = p.document->id;
        m.subject_id = p.document->subject_id;
        m.score = 1.0;
        m.gallery = store::Gallery::kVehicle;
        match["outcome"] = "matched";
        match["document"] = p.document->number;
        match["subject_id"] = p.document->subject_id;
        match["score"] = 1.0;
      } else {
        m.outcome = store::MatchOutcome::kNotMatched;
        match["outcome"] = "not_matched";
        match["document"] = nullptr;
        match["score"] = nullptr;
      }
      match["decision_id"] = store.record_match(m, actor);
      occ["match"] = match;
      if (observer.decision_ready)
        observer.decision_ready({{"occupant", i}, {"occupant_id", o.id}, {"match", match}});
      occupants.push_back(std::move(occ));
    }
    result["occupants"] = occupants;
    result["not_captured"] = not_captured;
    result["rejected"] = Json::array();
    result["frames"] = 0;
    result["latency_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return result;
  };
}

}  // namespace laneface::service
