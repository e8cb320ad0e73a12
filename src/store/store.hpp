#pragma once
// The records of laneface: documents, templates, crossings, occupants, decisions, encounter
// photos and the audit chain, behind one interface (SQLite now, PostgreSQL planned).
//
// Promises of every implementation:
// - each write API runs in one transaction together with its audit entry: both are stored
//   or neither is; an acknowledged (returned) write survives a crash of the process;
// - encounter photos and templates are encrypted at rest with the configured key, bound to
//   their record id; the key is never stored; reading them without a key is an error;
// - enrolment, search, match, photo view, export, officer decision, purge and key rotation
//   each append an audit entry; entries hold references and counts, never photo or
//   template bytes;
// - failures throw core::Error naming the database or record and the problem, and leave
//   nothing half-written.
// Thread-safety: all member functions may be called from several threads (serialised
// internally). Several processes may open the same SQLite file.
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/clock.hpp"
#include "store/crypto.hpp"
#include "store/records.hpp"

namespace laneface::store {

struct StoreConfig {
  std::string backend = "sqlite";
  std::filesystem::path path;  // the database file (sqlite)
  bool create_if_missing = true;
  // Needed for photos and templates; without it the store still records crossings and
  // decisions, verifies the audit chain and runs retention.
  std::optional<Key> key;
  std::shared_ptr<const Clock> clock;  // default: SystemClock
  RetentionPolicy retention;
};

class Store {
 public:
  virtual ~Store() = default;

  // Declares the template dimension of a model id; idempotent. Throws Error(kInvalidInput)
  // when the model is already declared with another dimension.
  virtual void register_model(const std::string& model_id, int dimension) = 0;

  // Enrols a document (and a new subject unless document.subject_id names one) with the
  // portrait template if given, in one transaction. Throws Error(kInvalidInput) for a
  // document already enrolled, an unknown subject, or a template whose model is undeclared
  // or whose dimension is wrong; nothing is stored then. Returns the document with its ids.
  virtual Document enrol(const Document& document, const std::optional<core::Template>& portrait,
                         const std::string& actor) = 0;
  virtual std::optional<Document> find_document(const DocumentKey& key) = 0;

  // Stores a template owned by a subject, document or occupant (same checks as enrol).
  virtual Id add_template(const TemplateOwner& owner, const core::Template& value,
                          const std::string& actor) = 0;
  // Decrypts every template of a model (a gallery load); audited with the count.
  virtual std::vector<StoredTemplate> load_templates(const std::string& model_id,
                                                     const std::string& actor) = 0;

  // Records a crossing and its occupants; returns it with ids filled in.
  virtual Crossing record_crossing(const Crossing& crossing, const std::string& actor) = 0;
  virtual std::optional<Crossing> find_crossing(Id id) = 0;
  virtual Id record_match(const MatchDecision& decision, const std::string& actor) = 0;
  virtual Id record_officer_decision(const OfficerDecision& decision, const std::string& actor) = 0;
  // A crossing with its decisions, for a report or a hand-over; audited as an export.
  virtual CrossingExport export_crossing(Id id, const std::string& actor) = 0;

  // Ledger queries; they read no photos or templates (not audited: the caller audits the
  // report it exports). Identified occupants of crossings with from <= time < to, ordered by
  // time, crossing and occupant.
  virtual std::vector<Passage> passages(TimePoint from, TimePoint to) = 0;
  // Every document of every subject holding a document with an admitted-until date, ordered
  // by subject and document id.
  virtual std::vector<Document> admission_documents() = 0;

  virtual Id add_encounter_photo(Id occupant_id, std::span<const unsigned char> image,
                                 const std::string& actor) = 0;
  // Decrypts a photo for display; audited as a photo view.
  virtual Bytes view_photo(Id photo_id, const std::string& actor) = 0;

  // Logs an action done outside the store (e.g. a search in an in-memory index).
  virtual void record_event(const AuditEvent& event) = 0;
  virtual AuditVerification verify_audit() = 0;

  // Re-encrypts every photo and template under `new_key` in one transaction, then uses it.
  virtual void rotate_key(const Key& new_key, const std::string& actor) = 0;

  // Deletes encounter data past its retention window (config.retention) as of `now`; one
  // audit entry with counts. The returned template ids are for search indexes to drop.
  virtual RetentionReport run_retention(TimePoint now, const std::string& actor) = 0;

  // --- Users and sessions (the service's access control) ---
  // Adds a user; audited (name and role, never the hash). Throws Error(kInvalidInput) for an
  // empty name or hash, or a name already taken.
  virtual User add_user(const User& user, const std::string& actor) = 0;
  virtual std::optional<User> find_user(const std::string& name) = 0;
  virtual std::vector<User> list_users() = 0;  // by id; hashes included
  // Sessions are stored by token hash; find_session fills the user's name and role and
  // returns nothing for an unknown token or an inactive user (expiry is the caller's check).
  virtual void add_session(const Session& session) = 0;
  virtual std::optional<Session> find_session(const std::string& token_hash) = 0;
  virtual void delete_session(const std::string& token_hash) = 0;
  virtual std::int64_t delete_expired_sessions(TimePoint now) = 0;

  // --- Listings for the service (no photo or template bytes; not audited) ---
  virtual CrossingPage list_crossings(const CrossingQuery& query) = 0;
  virtual std::optional<CrossingRecord> crossing_record(Id crossing_id) = 0;
  virtual std::vector<AuditEntry> audit_entries(const AuditQuery& query) = 0;
  // Every enrolled document, by id (a lane's document gallery is built from these and the
  // document templates).
  virtual std::vector<Document> list_documents() = 0;
  // The occupant a photo belongs to; nullopt when there is no such photo.
  virtual std::optional<Id> photo_occupant(Id photo_id) = 0;

  // "ok", or the problems the database reports about its own file.
  virtual std::string integrity_check() = 0;
  virtual StoreStats stats() = 0;
};

// Opens (creating and migrating when needed) the store the config names. Throws
// Error(kConfig) for an unknown backend or a key that does not open this database.
std::unique_ptr<Store> open_store(const StoreConfig& config);

}  // namespace laneface::store
