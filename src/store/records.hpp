#pragma once
// Value types of the records the store keeps: documents, templates, crossings, occupants,
// decisions, audit entries and retention results. Plain data; names of enum values are the
// strings stored in the database and printed in JSON (to_string / parse_enum).
#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace laneface::store {

using Id = std::int64_t;
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;
using Date = std::chrono::year_month_day;
using Sha256 = std::array<unsigned char, 32>;

enum class DocumentType {
  kPassport,
  kVisa,
  kPermanentResidentCard,
  kPassportCard,
  kEnhancedLicence
};
enum class Citizenship { kUs, kNonUs };
enum class Direction { kEntry, kExit };
enum class CaptureStatus { kCaptured, kNotCaptured };
enum class MatchOutcome { kMatched, kNotMatched, kNotCaptured };
enum class Gallery { kVehicle, kPort };
enum class OfficerOutcome { kConfirmed, kRejected, kReferred };
enum class TemplateOwnerKind { kSubject, kDocument, kEncounter };

// Stored names of each enum's values, in declaration order.
template <class E>
struct EnumNames;
template <>
struct EnumNames<DocumentType> {
  static constexpr std::array<std::string_view, 5> kNames{
      "passport", "visa", "permanent_resident_card", "passport_card", "enhanced_licence"};
};
template <>
struct EnumNames<Citizenship> {
  static constexpr std::array<std::string_view, 2> kNames{"US", "non-US"};
};
template <>
struct EnumNames<Direction> {
  static constexpr std::array<std::string_view, 2> kNames{"entry", "exit"};
};
template <>
struct EnumNames<CaptureStatus> {
  static constexpr std::array<std::string_view, 2> kNames{"captured", "not_captured"};
};
template <>
struct EnumNames<MatchOutcome> {
  static constexpr std::array<std::string_view, 3> kNames{"matched", "not_matched", "not_captured"};
};
template <>
struct EnumNames<Gallery> {
  static constexpr std::array<std::string_view, 2> kNames{"vehicle", "port"};
};
template <>
struct EnumNames<OfficerOutcome> {
  static constexpr std::array<std::string_view, 3> kNames{"confirmed", "rejected", "referred"};
};
template <>
struct EnumNames<TemplateOwnerKind> {
  static constexpr std::array<std::string_view, 3> kNames{"subject", "document", "encounter"};
};

template <class E>
constexpr std::string_view to_string(E value) {
  return EnumNames<E>::kNames.at(static_cast<std::size_t>(value));
}

template <class E>
constexpr std::optional<E> parse_enum(std::string_view name) {
  for (std::size_t i = 0; i < EnumNames<E>::kNames.size(); ++i) {
    if (EnumNames<E>::kNames[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

// A document is unique by (type, number, issuing country).
struct DocumentKey {
  DocumentType type = DocumentType::kPassport;
  std::string number;
  std::string country;  // ICAO 9303 three-letter code
  bool operator==(const DocumentKey&) const = default;
};
// "passport X1234567 (MEX)", for messages.
std::string describe(const DocumentKey& key);

struct Document {
  Id id = 0;
  Id subject_id = 0;  // 0 on enrolment: a new subject is created
  DocumentType type = DocumentType::kPassport;
  std::string number;
  std::string country;
  std::string holder_name;
  Date date_of_birth{};
  Citizenship citizenship = Citizenship::kNonUs;
  std::optional<Date> admitted_until;  // non-US admissions only

  DocumentKey key() const { return {type, number, country}; }
};

struct TemplateOwner {
  TemplateOwnerKind kind = TemplateOwnerKind::kEncounter;
  Id id = 0;  // subject, document or occupant id
};

struct StoredTemplate {
  Id id = 0;
  TemplateOwner owner;
  core::Template value;
  TimePoint created_at{};
  // Resolved by load_templates for galleries: the subject the template belongs to (through
  // its document or its occupant; 0 for an encounter matched to nobody), the document for a
  // portrait template (else 0), and the subject's citizenship class (any US document makes
  // it US; nullopt when the subject is unknown).
  Id subject_id = 0;
  Id document_id = 0;
  std::optional<Citizenship> citizenship;
};

// One person in one vehicle pass.
struct Occupant {
  Id id = 0;
  int row = 1;       // 1 = front
  std::string seat;  // e.g. "driver", "front_passenger", "left", "middle", "right"
  CaptureStatus capture = CaptureStatus::kCaptured;
  std::optional<Id> subject_id;  // set by a match or an officer's confirmation
};

struct Crossing {
  Id id = 0;
  std::string lane;
  std::string port;
  Direction direction = Direction::kEntry;
  TimePoint time{};
  std::vector<Occupant> occupants;
};

struct MatchDecision {
  Id id = 0;
  Id occupant_id = 0;
  MatchOutcome outcome = MatchOutcome::kNotMatched;
  std::optional<Id> subject_id;   // when matched
  std::optional<Id> document_id;  // when matched to a document
  std::optional<double> score;
  std::optional<Gallery> gallery;
  std::string model_id;
  std::optional<double> threshold;
};

struct OfficerDecision {
  Id id = 0;
  Id occupant_id = 0;
  std::string officer;
  OfficerOutcome outcome = OfficerOutcome::kReferred;
  std::optional<Id> subject_id;  // the identity the officer confirmed
  std::string note;
};

struct CrossingExport {
  Crossing crossing;
  std::vector<MatchDecision> matches;
  std::vector<OfficerDecision> officer_decisions;
};

// One occupant of a crossing who was identified (by a match or an officer's confirmation), as
// the ledger sees it: no photos, no templates, no scores.
struct Passage {
  Id crossing_id = 0;
  Id occupant_id = 0;
  Id subject_id = 0;
  std::string lane;
  std::string port;
  Direction direction = Direction::kEntry;
  TimePoint time{};
  bool biometric = false;  // a 'matched' decision names this subject for this occupant
};

// What a caller asks to be logged. `details` must never hold photo or template bytes.
struct AuditEvent {
  std::string actor;
  std::string action;       // enrol, search, match, photo_view, export, officer_decision, ...
  std::string subject_ref;  // e.g. "document:12", "occupant:40", "crossing:7", "" for none
  nlohmann::json details = nlohmann::json::object();
};

// One stored audit entry. hash = SHA-256(previous hash || canonical bytes of this entry).
struct AuditEntry {
  Id seq = 0;  // 1, 2, 3, ... without gaps
  TimePoint time{};
  std::string actor;
  std::string action;
  std::string subject_ref;
  std::string details;  // canonical JSON text (sorted keys, no spaces)
  Sha256 hash{};
};

struct AuditVerification {
  bool ok = true;
  std::int64_t entries = 0;         // entries checked
  std::optional<Id> first_bad_seq;  // the first entry that breaks the chain
  std::string problem;              // what is wrong with it
  nlohmann::json to_json() const;
};

// Encounter data (photos, encounter and subject templates) older than the window of its
// citizenship class is deleted. Occupants matched to nobody are "unknown" and get the
// shortest-retention treatment by default. Document templates are not encounter data.
struct RetentionPolicy {
  std::chrono::milliseconds us_window = std::chrono::hours(12);
  std::chrono::milliseconds non_us_window =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::years(75));
  std::chrono::milliseconds unknown_window = std::chrono::hours(12);
};

struct RetentionCounts {
  std::int64_t photos = 0;
  std::int64_t templates = 0;
};

struct RetentionReport {
  TimePoint now{};
  RetentionCounts us, non_us, unknown;
  std::vector<Id> deleted_template_ids;  // for search indexes to drop
  nlohmann::json to_json() const;        // counts only
};

struct StoreStats {
  std::int64_t subjects = 0, documents = 0, templates = 0, crossings = 0, occupants = 0, photos = 0,
               match_decisions = 0, officer_decisions = 0, audit_entries = 0;
  nlohmann::json to_json() const;
};

// --- Access control of the service (users, sessions) and record listings ---

enum class UserRole { kOfficer, kSupervisor, kAuditor, kAdmin };
template <>
struct EnumNames<UserRole> {
  static constexpr std::array<std::string_view, 4> kNames{"officer", "supervisor", "auditor",
                                                          "admin"};
};

// A user of the service. password_hash is a libsodium crypto_pwhash_str string (argon2id);
// the store never sees a password.
struct User {
  Id id = 0;
  std::string name;
  UserRole role = UserRole::kOfficer;
  std::string password_hash;
  bool active = true;
  TimePoint created_at{};
};

// A login session. Only a hash of the token is stored (the token itself is a random secret
// the client holds).
struct Session {
  std::string token_hash;  // hex
  Id user_id = 0;
  std::string user_name;               // filled by find_session
  UserRole role = UserRole::kOfficer;  // filled by find_session
  TimePoint created_at{};
  TimePoint expires_at{};
};

// Filters of Store::list_crossings; each set filter must hold. Newest first.
struct CrossingQuery {
  std::optional<TimePoint> from, to;  // from <= time < to
  std::optional<std::string> lane;
  std::optional<Direction> direction;
  std::optional<std::string> document;  // number of a document of an identified occupant
  // A match outcome (matched, not_matched, not_captured) or an officer outcome (confirmed,
  // rejected, referred) of any occupant.
  std::optional<std::string> outcome;
  std::int64_t offset = 0;
  std::int64_t limit = 50;
};

// One occupant as a listing shows it: the latest match decision, the officer decisions, the
// document the match names and the ids of the occupant's photos (never their bytes).
struct OccupantRecord {
  Occupant occupant;
  std::optional<MatchDecision> match;
  std::optional<Document> document;
  std::vector<OfficerDecision> officer_decisions;
  std::vector<Id> photo_ids;
};

struct CrossingRecord {
  Crossing crossing;  // without occupants: see `occupants`
  std::vector<OccupantRecord> occupants;
};

struct CrossingPage {
  std::int64_t total = 0;  // crossings matching the filters, all pages
  std::vector<CrossingRecord> items;
};

// Filters of Store::audit_entries.
struct AuditQuery {
  Id after_seq = 0;           // entries with seq > after_seq (ascending) ...
  bool newest_first = false;  // ... or, when set, the newest entries (descending)
  std::optional<std::string> action;
  std::optional<std::string> actor;
  std::int64_t limit = 100;
};

nlohmann::json to_json(const CrossingRecord& record);

}  // namespace laneface::store
