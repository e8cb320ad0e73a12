#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "core/error.hpp"
#include "store/audit.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace laneface::store::sqlite {

namespace {

using core::Error;
using core::ErrorKind;
using Json = nlohmann::json;

constexpr std::string_view kKeyCheck = "laneface key check";

std::int64_t ms(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint time_of(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// Associated data binding a sealed blob to its record.
std::string ad(std::string_view kind, Id id) {
  return "laneface/" + std::string(kind) + "/" + std::to_string(id);
}

template <class E>
E enum_column(const Statement& st, int col) {
  const auto v = parse_enum<E>(st.text(col));
  if (!v)
    throw Error(ErrorKind::kIo, "stored value '" + st.text(col) + "' is not a known enum name");
  return *v;
}

Json optional_json(const auto& value) { return value ? Json(*value) : Json(nullptr); }

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const StoreConfig& config)
      : db_(config.path, config.create_if_missing),
        key_(config.key),
        clock_(config.clock ? config.clock : std::make_shared<SystemClock>()),
        retention_(config.retention) {
    db_.exec("PRAGMA busy_timeout = 10000");
    db_.exec("PRAGMA journal_mode = WAL");
    db_.exec("PRAGMA synchronous = FULL");
    db_.exec("PRAGMA foreign_keys = ON");
    migrate();
    if (key_) check_key();
  }

  void register_model(const std::string& model_id, int dimension) override {
    if (model_id.empty() || dimension <= 0) {
      throw Error(ErrorKind::kInvalidInput, "model '" + model_id +
                                                "': needs a name and a positive dimension, got " +
                                                std::to_string(dimension));
    }
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    if (const auto known = model_dimension(model_id)) {
      if (*known != dimension) {
        throw Error(ErrorKind::kInvalidInput,
                    "model '" + model_id + "' is registered with dimension " +
                        std::to_string(*known) + ", not " + std::to_string(dimension));
      }
      return;
    }
    db_.prepare("INSERT INTO models (model_id, dimension) VALUES (?, ?)")
        .bind_all(model_id, dimension)
        .run();
    tx.commit();
  }

  Document enrol(const Document& document, const std::optional<core::Template>& portrait,
                 const std::string& actor) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    Document d = document;
    if (find_document_locked(d.key())) {
      throw Error(ErrorKind::kInvalidInput,
                  "document " + describe(d.key()) + " is already enrolled");
    }
    if (d.subject_id == 0) {
      db_.prepare("INSERT INTO subjects (created_at) VALUES (?)").bind_all(ms(clock_->now())).run();
      d.subject_id = db_.last_insert_id();
    } else {
      require_row("SELECT 1 FROM subjects WHERE id = ?", d.subject_id, "subject");
    }
    db_.prepare(
           "INSERT INTO documents (subject_id, type, number, country, holder_name, date_of_birth,"
           " citizenship, admitted_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(d.subject_id, to_string(d.type), d.number, d.country, d.holder_name,
                  format_date(d.date_of_birth), to_string(d.citizenship),
                  d.admitted_until ? std::optional(format_date(*d.admitted_until)) : std::nullopt,
                  ms(clock_->now()))
        .run();
    d.id = db_.last_insert_id();
    std::optional<Id> template_id;
    if (portrait) template_id = insert_template({TemplateOwnerKind::kDocument, d.id}, *portrait);
    append_audit({actor,
                  "enrol",
                  "document:" + std::to_string(d.id),
                  {{"subject_id", d.subject_id},
                   {"type", to_string(d.type)},
                   {"country", d.country},
                   {"template_id", optional_json(template_id)}}});
    tx.commit();
    return d;
  }

  std::optional<Document> find_document(const DocumentKey& key) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    return find_document_locked(key);
  }

  Id add_template(const TemplateOwner& owner, const core::Template& value,
                  const std::string& actor) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    static constexpr std::array<const char*, 3> kOwnerSql{"SELECT 1 FROM subjects WHERE id = ?",
                                                          "SELECT 1 FROM documents WHERE id = ?",
                                                          "SELECT 1 FROM occupants WHERE id = ?"};
    require_row(kOwnerSql.at(static_cast<std::size_t>(owner.kind)), owner.id,
                to_string(owner.kind));
    const Id id = insert_template(owner, value);
    append_audit({actor,
                  "template_store",
                  "template:" + std::to_string(id),
                  {{"owner", std::string(to_string(owner.kind)) + ":" + std::to_string(owner.id)},
                   {"model_id", value.model_id}}});
    tx.commit();
    return id;
  }

  std::vector<StoredTemplate> load_templates(const std::string& model_id,
                                             const std::string& actor) override {
    std::lock_guard lock(mutex_);
    const Key& key = require_key("loading templates");
    Transaction tx(db_);
    std::vector<StoredTemplate> out;
    auto& st = db_.prepare(
        "SELECT t.id, t.subject_id, t.document_id, t.occupant_id, t.dimension, t.sealed,"
        " t.created_at, COALESCE(t.subject_id, d.subject_id, o.subject_id) AS owner_subject,"
        " CASE WHEN COALESCE(t.subject_id, d.subject_id, o.subject_id) IS NULL THEN NULL"
        " WHEN EXISTS (SELECT 1 FROM documents u WHERE u.subject_id ="
        " COALESCE(t.subject_id, d.subject_id, o.subject_id) AND u.citizenship = 'US')"
        " THEN 'US' ELSE 'non-US' END"
        " FROM templates t LEFT JOIN documents d ON d.id = t.document_id"
        " LEFT JOIN occupants o ON o.id = t.occupant_id WHERE t.model_id = ? ORDER BY t.id");
    st.bind_all(model_id);
    while (st.step()) {
      StoredTemplate t;
      t.id = st.int64(0);
      for (int k = 0; k < 3; ++k) {
        if (!st.is_null(1 + k)) t.owner = {static_cast<TemplateOwnerKind>(k), st.int64(1 + k)};
      }
      const Bytes plain =
          unseal(key, st.blob(5), ad("template", t.id), "template " + std::to_string(t.id));
      const auto dim = static_cast<std::size_t>(st.int64(4));
      if (plain.size() != dim * sizeof(float)) {
        throw Error(ErrorKind::kIo, "template " + std::to_string(t.id) +
                                        ": stored size does not match its dimension");
      }
      t.value.model_id = model_id;
      t.value.values.resize(dim);
      std::memcpy(t.value.values.data(), plain.data(), plain.size());
      t.created_at = time_of(st.int64(6));
      t.subject_id = st.is_null(7) ? 0 : st.int64(7);
      t.document_id = st.is_null(2) ? 0 : st.int64(2);
      if (!st.is_null(8)) t.citizenship = parse_enum<Citizenship>(st.text(8));
      out.push_back(std::move(t));
    }
    append_audit({actor, "template_load", "model:" + model_id, {{"count", out.size()}}});
    tx.commit();
    return out;
  }

  Crossing record_crossing(const Crossing& crossing, const std::string& actor) override {
    if (crossing.lane.empty() || crossing.port.empty()) {
      throw Error(ErrorKind::kInvalidInput, "crossing: lane and port must not be empty");
    }
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    Crossing c = crossing;
    db_.prepare(
           "INSERT INTO crossings (lane, port, direction, time, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind_all(c.lane, c.port, to_string(c.direction), ms(c.time), ms(clock_->now()))
        .run();
    c.id = db_.last_insert_id();
    for (auto& o : c.occupants) {
      db_.prepare(
             "INSERT INTO occupants (crossing_id, row_number, seat, capture_status, subject_id)"
             " VALUES (?, ?, ?, ?, ?)")
          .bind_all(c.id, o.row, o.seat, to_string(o.capture), o.subject_id)
          .run();
      o.id = db_.last_insert_id();
    }
    append_audit({actor,
                  "crossing",
                  "crossing:" + std::to_string(c.id),
                  {{"lane", c.lane},
                   {"port", c.port},
                   {"direction", to_string(c.direction)},
                   {"occupants", c.occupants.size()}}});
    tx.commit();
    return c;
  }

  std::optional<Crossing> find_crossing(Id id) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    return find_crossing_locked(id);
  }

  Id record_match(const MatchDecision& decision, const std::string& actor) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    MatchDecision m = decision;
    require_row("SELECT 1 FROM occupants WHERE id = ?", m.occupant_id, "occupant");
    if (m.document_id && !m.subject_id) {
      auto& st = db_.prepare("SELECT subject_id FROM documents WHERE id = ?");
      if (st.bind_all(*m.document_id).step()) m.subject_id = st.int64(0);
      st.reset();
    }
    if (m.outcome == MatchOutcome::kMatched && !m.subject_id) {
      throw Error(ErrorKind::kInvalidInput, "match decision for occupant " +
                                                std::to_string(m.occupant_id) +
                                                ": 'matched' needs a subject or a document");
    }
    db_.prepare(
           "INSERT INTO match_decisions (occupant_id, outcome, subject_id, document_id, score, "
           "gallery,"
           " model_id, threshold, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(m.occupant_id, to_string(m.outcome), m.subject_id, m.document_id, m.score,
                  m.gallery ? std::optional(to_string(*m.gallery)) : std::nullopt, m.model_id,
                  m.threshold, ms(clock_->now()))
        .run();
    const Id id = db_.last_insert_id();
    if (m.outcome == MatchOutcome::kMatched) set_occupant_subject(m.occupant_id, *m.subject_id);
    append_audit({actor,
                  "match",
                  "occupant:" + std::to_string(m.occupant_id),
                  {{"decision_id", id},
                   {"outcome", to_string(m.outcome)},
                   {"subject_id", optional_json(m.subject_id)},
                   {"document_id", optional_json(m.document_id)},
                   {"score", optional_json(m.score)},
                   {"gallery", m.gallery ? Json(to_string(*m.gallery)) : Json(nullptr)},
                   {"model_id", m.model_id}}});
    tx.commit();
    return id;
  }

  Id record_officer_decision(const OfficerDecision& d, const std::string& actor) override {
    if (d.officer.empty())
      throw Error(ErrorKind::kInvalidInput, "officer decision: the officer must be named");
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    require_row("SELECT 1 FROM occupants WHERE id = ?", d.occupant_id, "occupant");
    db_.prepare(
           "INSERT INTO officer_decisions (occupant_id, officer, outcome, subject_id, note, "
           "created_at)"
           " VALUES (?, ?, ?, ?, ?, ?)")
        .bind_all(d.occupant_id, d.officer, to_string(d.outcome), d.subject_id, d.note,
                  ms(clock_->now()))
        .run();
    const Id id = db_.last_insert_id();
    if (d.outcome == OfficerOutcome::kConfirmed && d.subject_id)
      set_occupant_subject(d.occupant_id, *d.subject_id);
    append_audit({actor,
                  "officer_decision",
                  "occupant:" + std::to_string(d.occupant_id),
                  {{"decision_id", id},
                   {"officer", d.officer},
                   {"outcome", to_string(d.outcome)},
                   {"subject_id", optional_json(d.subject_id)}}});
    tx.commit();
    return id;
  }

  CrossingExport export_crossing(Id id, const std::string& actor) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    auto crossing = find_crossing_locked(id);
    if (!crossing)
      throw Error(ErrorKind::kNotFound, "crossing " + std::to_string(id) + ": no such crossing");
    CrossingExport out{std::move(*crossing), {}, {}};
    auto& m = db_.prepare(
        "SELECT m.id, m.occupant_id, m.outcome, m.subject_id, m.document_id, m.score, m.gallery, "
        "m.model_id,"
        " m.threshold FROM match_decisions m JOIN occupants o ON o.id = m.occupant_id"
        " WHERE o.crossing_id = ? ORDER BY m.id");
    m.bind_all(id);
    while (m.step()) {
      std::optional<Gallery> gallery;
      if (!m.is_null(6)) gallery = enum_column<Gallery>(m, 6);
      out.matches.push_back({m.int64(0), m.int64(1), enum_column<MatchOutcome>(m, 2),
                             m.opt_int64(3), m.opt_int64(4), m.opt_real(5), gallery, m.text(7),
                             m.opt_real(8)});
    }
    auto& o = db_.prepare(
        "SELECT d.id, d.occupant_id, d.officer, d.outcome, d.subject_id, d.note FROM "
        "officer_decisions d"
        " JOIN occupants o ON o.id = d.occupant_id WHERE o.crossing_id = ? ORDER BY d.id");
    o.bind_all(id);
    while (o.step()) {
      out.officer_decisions.push_back({o.int64(0), o.int64(1), o.text(2),
                                       enum_column<OfficerOutcome>(o, 3), o.opt_int64(4),
                                       o.text(5)});
    }
    append_audit(
        {actor,
         "export",
         "crossing:" + std::to_string(id),
         {{"matches", out.matches.size()}, {"officer_decisions", out.officer_decisions.size()}}});
    tx.commit();
    return out;
  }

  std::vector<Passage> passages(TimePoint from, TimePoint to) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto& st = db_.prepare(
        "SELECT c.id, o.id, o.subject_id, c.lane, c.port, c.direction, c.time,"
        " CASE WHEN EXISTS (SELECT 1 FROM match_decisions m WHERE m.occupant_id = o.id"
        " AND m.outcome = 'matched' AND m.subject_id = o.subject_id) THEN 1 ELSE 0 END"
        " FROM crossings c JOIN occupants o ON o.crossing_id = c.id"
        " WHERE o.subject_id IS NOT NULL AND c.time >= ? AND c.time < ?"
        " ORDER BY c.time, c.id, o.id");
    st.bind_all(ms(from), ms(to));
    std::vector<Passage> out;
    while (st.step()) {
      out.push_back({st.int64(0), st.int64(1), st.int64(2), st.text(3), st.text(4),
                     enum_column<Direction>(st, 5), time_of(st.int64(6)), st.int64(7) != 0});
    }
    return out;
  }

  std::vector<Document> admission_documents() override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto& st = db_.prepare(
        "SELECT d.id, d.subject_id, d.type, d.number, d.country, d.holder_name, d.date_of_birth,"
        " d.citizenship, d.admitted_until FROM documents d WHERE d.subject_id IN"
        " (SELECT a.subject_id FROM documents a WHERE a.admitted_until IS NOT NULL)"
        " ORDER BY d.subject_id, d.id");
    std::vector<Document> out;
    while (st.step()) {
      Document d;
      d.id = st.int64(0);
      d.subject_id = st.int64(1);
      d.type = enum_column<DocumentType>(st, 2);
      d.number = st.text(3);
      d.country = st.text(4);
      d.holder_name = st.text(5);
      d.date_of_birth = parse_date(st.text(6)).value_or(Date{});
      d.citizenship = enum_column<Citizenship>(st, 7);
      if (const auto until = st.opt_text(8)) d.admitted_until = parse_date(*until);
      out.push_back(std::move(d));
    }
    return out;
  }

  Id add_encounter_photo(Id occupant_id, std::span<const unsigned char> image,
                         const std::string& actor) override {
    if (image.empty())
      throw Error(ErrorKind::kInvalidInput, "encounter photo for occupant " +
                                                std::to_string(occupant_id) + ": no image bytes");
    std::lock_guard lock(mutex_);
    const Key& key = require_key("storing an encounter photo");
    Transaction tx(db_);
    require_row("SELECT 1 FROM occupants WHERE id = ?", occupant_id, "occupant");
    // Insert, then seal under the new id (the id is part of the associated data).
    db_.prepare("INSERT INTO encounter_photos (occupant_id, sealed, created_at) VALUES (?, ?, ?)")
        .bind_all(occupant_id, Bytes(), ms(clock_->now()))
        .run();
    const Id id = db_.last_insert_id();
    db_.prepare("UPDATE encounter_photos SET sealed = ? WHERE id = ?")
        .bind_all(seal(key, image, ad("photo", id)), id)
        .run();
    append_audit({actor,
                  "photo_store",
                  "photo:" + std::to_string(id),
                  {{"occupant_id", occupant_id}, {"bytes", image.size()}}});
    tx.commit();
    return id;
  }

  Bytes view_photo(Id photo_id, const std::string& actor) override {
    std::lock_guard lock(mutex_);
    const Key& key = require_key("viewing a photo");
    Transaction tx(db_);
    auto& st = db_.prepare("SELECT occupant_id, sealed FROM encounter_photos WHERE id = ?");
    if (!st.bind_all(photo_id).step()) {
      throw Error(ErrorKind::kNotFound,
                  "photo " + std::to_string(photo_id) + ": no such photo (or purged)");
    }
    const Id occupant = st.int64(0);
    Bytes image =
        unseal(key, st.blob(1), ad("photo", photo_id), "photo " + std::to_string(photo_id));
    st.reset();
    append_audit(
        {actor, "photo_view", "photo:" + std::to_string(photo_id), {{"occupant_id", occupant}}});
    tx.commit();
    return image;
  }

  void record_event(const AuditEvent& event) override {
    if (event.actor.empty() || event.action.empty()) {
      throw Error(ErrorKind::kInvalidInput, "audit event: actor and action must not be empty");
    }
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    append_audit(event);
    tx.commit();
  }

  AuditVerification verify_audit() override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    std::optional<std::pair<Id, Sha256>> head;
    auto& h = db_.prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
    if (h.step()) head = std::pair(h.int64(0), to_sha(h.blob(1)));
    h.reset();
    auto& st = db_.prepare(
        "SELECT seq, time, actor, action, subject_ref, details, hash FROM audit_log ORDER BY seq");
    return verify_chain(
        [&]() -> std::optional<AuditEntry> {
          if (!st.step()) return std::nullopt;
          return AuditEntry{st.int64(0), time_of(st.int64(1)), st.text(2),        st.text(3),
                            st.text(4),  st.text(5),           to_sha(st.blob(6))};
        },
        head);
  }

  void rotate_key(const Key& new_key, const std::string& actor) override {
    std::lock_guard lock(mutex_);
    const Key& old_key = require_key("rotating the key");
    Transaction tx(db_);
    const auto photos = reseal_table("encounter_photos", "photo", old_key, new_key);
    const auto templates = reseal_table("templates", "template", old_key, new_key);
    write_key_check(new_key);
    append_audit({actor, "key_rotate", "", {{"photos", photos}, {"templates", templates}}});
    tx.commit();
    key_ = new_key;
  }

  RetentionReport run_retention(TimePoint now, const std::string& actor) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    RetentionReport report;
    report.now = now;
    // The citizenship class of encounter data: any US document of the subject makes it US.
    const std::string klass =
        "CASE WHEN {s} IS NULL THEN 'unknown' WHEN EXISTS (SELECT 1 FROM documents d"
        " WHERE d.subject_id = {s} AND d.citizenship = 'US') THEN 'US' ELSE 'non-US' END";
    auto with = [&](const std::string& subject) {
      std::string s = klass;
      for (std::size_t p; (p = s.find("{s}")) != std::string::npos;) s.replace(p, 3, subject);
      return s;
    };
    purge(report, now, &RetentionCounts::photos, "encounter_photos",
          "SELECT p.id, p.created_at, " + with("o.subject_id") +
              " FROM encounter_photos p JOIN occupants o ON o.id = p.occupant_id WHERE "
              "p.created_at < ? ORDER BY p.id");
    purge(report, now, &RetentionCounts::templates, "templates",
          "SELECT t.id, t.created_at, " + with("COALESCE(t.subject_id, o.subject_id)") +
              " FROM templates t LEFT JOIN occupants o ON o.id = t.occupant_id"
              " WHERE t.document_id IS NULL AND t.created_at < ? ORDER BY t.id");
    Json details = report.to_json();
    details["windows_ms"] = {{"US", retention_.us_window.count()},
                             {"non-US", retention_.non_us_window.count()},
                             {"unknown", retention_.unknown_window.count()}};
    append_audit({actor, "purge", "", details});
    tx.commit();
    return report;
  }

  User add_user(const User& user, const std::string& actor) override {
    if (user.name.empty() || user.password_hash.empty()) {
      throw Error(ErrorKind::kInvalidInput, "user: a name and a password hash are needed");
    }
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    auto& q = db_.prepare("SELECT 1 FROM users WHERE name = ?");
    const bool taken = q.bind_all(user.name).step();
    q.reset();
    if (taken) throw Error(ErrorKind::kInvalidInput, "user '" + user.name + "' already exists");
    User u = user;
    u.created_at = clock_->now();
    db_.prepare(
           "INSERT INTO users (name, role, password_hash, active, created_at) VALUES (?, ?, ?, ?, "
           "?)")
        .bind_all(u.name, to_string(u.role), u.password_hash, u.active ? 1 : 0, ms(u.created_at))
        .run();
    u.id = db_.last_insert_id();
    append_audit({actor,
                  "user_add",
                  "user:" + std::to_string(u.id),
                  {{"name", u.name}, {"role", to_string(u.role)}}});
    tx.commit();
    return u;
  }

  std::optional<User> find_user(const std::string& name) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto& st = db_.prepare(
        "SELECT id, name, role, password_hash, active, created_at FROM users WHERE name = ?");
    st.bind_all(name);
    std::optional<User> out;
    if (st.step()) out = user_row(st);
    st.reset();
    return out;
  }

  std::vector<User> list_users() override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto& st = db_.prepare(
        "SELECT id, name, role, password_hash, active, created_at FROM users ORDER BY id");
    std::vector<User> out;
    while (st.step()) out.push_back(user_row(st));
    return out;
  }

  void add_session(const Session& session) override {
    if (session.token_hash.empty())
      throw Error(ErrorKind::kInvalidInput, "session: the token hash is empty");
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    require_row("SELECT 1 FROM users WHERE id = ?", session.user_id, "user");
    db_.prepare(
           "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind_all(session.token_hash, session.user_id, ms(session.created_at),
                  ms(session.expires_at))
        .run();
    tx.commit();
  }

  std::optional<Session> find_session(const std::string& token_hash) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto& st = db_.prepare(
        "SELECT s.token_hash, s.user_id, u.name, u.role, s.created_at, s.expires_at FROM sessions "
        "s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND u.active = 1");
    st.bind_all(token_hash);
    std::optional<Session> out;
    if (st.step()) {
      out = Session{st.text(0),           st.int64(1),
                    st.text(2),           enum_column<UserRole>(st, 3),
                    time_of(st.int64(4)), time_of(st.int64(5))};
    }
    st.reset();
    return out;
  }

  void delete_session(const std::string& token_hash) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    db_.prepare("DELETE FROM sessions WHERE token_hash = ?").bind_all(token_hash).run();
    tx.commit();
  }

  std::int64_t delete_expired_sessions(TimePoint now) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_);
    auto& c = db_.prepare("SELECT COUNT(*) FROM sessions WHERE expires_at <= ?");
    c.bind_all(ms(now)).step();
    const auto n = c.int64(0);
    c.reset();
    db_.prepare("DELETE FROM sessions WHERE expires_at <= ?").bind_all(ms(now)).run();
    tx.commit();
    return n;
  }

  CrossingPage list_crossings(const CrossingQuery& q) override {
    if (q.limit < 0 || q.limit > 1000 || q.offset < 0) {
      throw Error(ErrorKind::kInvalidInput,
                  "crossing listing: limit must be 0..1000 and offset not negative");
    }
    // Fixed SQL fragments per set filter; every value is bound.
    std::string where = " WHERE 1 = 1";
    if (q.from) where += " AND c.time >= ?";
    if (q.to) where += " AND c.time < ?";
    if (q.lane) where += " AND c.lane = ?";
    if (q.direction) where += " AND c.direction = ?";
    if (q.document) {
      where +=
          " AND EXISTS (SELECT 1 FROM occupants o JOIN documents d ON d.subject_id = o.subject_id"
          " WHERE o.crossing_id = c.id AND d.number = ?)";
    }
    if (q.outcome) {
      where +=
          " AND EXISTS (SELECT 1 FROM occupants o WHERE o.crossing_id = c.id AND ("
          "EXISTS (SELECT 1 FROM match_decisions m WHERE m.occupant_id = o.id AND m.outcome = ?)"
          " OR EXISTS (SELECT 1 FROM officer_decisions f WHERE f.occupant_id = o.id AND "
          "f.outcome = ?)))";
    }
    auto bind_filters = [&](Statement& st) {
      int i = 0;
      if (q.from) st.bind(++i, ms(*q.from));
      if (q.to) st.bind(++i, ms(*q.to));
      if (q.lane) st.bind(++i, *q.lane);
      if (q.direction) st.bind(++i, to_string(*q.direction));
      if (q.document) st.bind(++i, *q.document);
      if (q.outcome) {
        st.bind(++i, *q.outcome);
        st.bind(++i, *q.outcome);
      }
      return i;
    };
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    CrossingPage page;
    auto& count = db_.prepare("SELECT COUNT(*) FROM crossings c" + where);
    bind_filters(count);
    count.step();
    page.total = count.int64(0);
    count.reset();
    auto& st = db_.prepare("SELECT c.id FROM crossings c" + where +
                           " ORDER BY c.time DESC, c.id DESC LIMIT ? OFFSET ?");
    const int n = bind_filters(st);
    st.bind(n + 1, q.limit).bind(n + 2, q.offset);
    std::vector<Id> ids;
    while (st.step()) ids.push_back(st.int64(0));
    for (const Id id : ids) {
      if (auto r = crossing_record_locked(id)) page.items.push_back(std::move(*r));
    }
    return page;
  }

  std::optional<CrossingRecord> crossing_record(Id crossing_id) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    return crossing_record_locked(crossing_id);
  }

  std::vector<AuditEntry> audit_entries(const AuditQuery& q) override {
    if (q.limit < 0 || q.limit > 10000)
      throw Error(ErrorKind::kInvalidInput, "audit listing: limit must be 0..10000");
    std::string sql =
        "SELECT seq, time, actor, action, subject_ref, details, hash FROM audit_log WHERE seq > ?";
    if (q.action) sql += " AND action = ?";
    if (q.actor) sql += " AND actor = ?";
    sql += q.newest_first ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq LIMIT ?";
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto& st = db_.prepare(sql);
    int i = 0;
    st.bind(++i, q.after_seq);
    if (q.action) st.bind(++i, *q.action);
    if (q.actor) st.bind(++i, *q.actor);
    st.bind(++i, q.limit);
    std::vector<AuditEntry> out;
    while (st.step()) {
      out.push_back({st.int64(0), time_of(st.int64(1)), st.text(2), st.text(3), st.text(4),
                     st.text(5), to_sha(st.blob(6))});
    }
    return out;
  }

  std::vector<Document> list_documents() override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    std::vector<Id> ids;
    auto& st = db_.prepare("SELECT id FROM documents ORDER BY id");
    while (st.step()) ids.push_back(st.int64(0));
    std::vector<Document> out;
    for (const Id id : ids)
      if (auto d = document_by_id(id)) out.push_back(std::move(*d));
    return out;
  }

  std::optional<Id> photo_occupant(Id photo_id) override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto& st = db_.prepare("SELECT occupant_id FROM encounter_photos WHERE id = ?");
    std::optional<Id> out;
    if (st.bind_all(photo_id).step()) out = st.int64(0);
    st.reset();
    return out;
  }

  std::string integrity_check() override {
    std::lock_guard lock(mutex_);
    auto& st = db_.prepare("PRAGMA integrity_check");
    std::string out;
    while (st.step()) out += (out.empty() ? "" : "; ") + st.text(0);
    return out;
  }

  StoreStats stats() override {
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Mode::kRead);
    auto count = [&](const char* sql) {
      auto& st = db_.prepare(sql);
      st.step();
      const auto n = st.int64(0);
      st.reset();
      return n;
    };
    return {count("SELECT COUNT(*) FROM subjects"),
            count("SELECT COUNT(*) FROM documents"),
            count("SELECT COUNT(*) FROM templates"),
            count("SELECT COUNT(*) FROM crossings"),
            count("SELECT COUNT(*) FROM occupants"),
            count("SELECT COUNT(*) FROM encounter_photos"),
            count("SELECT COUNT(*) FROM match_decisions"),
            count("SELECT COUNT(*) FROM officer_decisions"),
            count("SELECT COUNT(*) FROM audit_log")};
  }

 private:
  void migrate() {
    db_.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at "
        "INTEGER NOT NULL)");
    Transaction tx(db_);
    auto& st = db_.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
    st.step();
    const auto current = st.int64(0);
    st.reset();
    const auto all = migrations();
    if (current > static_cast<std::int64_t>(all.size())) {
      throw Error(ErrorKind::kConfig,
                  "database " + db_.name() + ": schema version " + std::to_string(current) +
                      " is newer than this build knows (" + std::to_string(all.size()) + ")");
    }
    for (auto v = current; v < static_cast<std::int64_t>(all.size()); ++v) {
      db_.exec(std::string(all[v]));
      db_.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")
          .bind_all(v + 1, ms(clock_->now()))
          .run();
    }
    tx.commit();
  }

  // The database keeps a blob sealed under its key: a wrong key fails at open, clearly.
  void check_key() {
    Transaction tx(db_);
    auto& st = db_.prepare("SELECT value FROM meta WHERE name = 'key_check'");
    if (st.step()) {
      const Bytes sealed = st.blob(0);
      st.reset();
      try {
        unseal(*key_, sealed, "laneface/key_check", "key check");
      } catch (const Error&) {
        throw Error(ErrorKind::kConfig,
                    "database " + db_.name() + ": the key from " + key_->source() +
                        " does not open it (it was encrypted under another key)");
      }
      return;
    }
    write_key_check(*key_);
    tx.commit();
  }

  void write_key_check(const Key& key) {
    const auto text =
        std::span(reinterpret_cast<const unsigned char*>(kKeyCheck.data()), kKeyCheck.size());
    db_.prepare(
           "INSERT INTO meta (name, value) VALUES ('key_check', ?)"
           " ON CONFLICT (name) DO UPDATE SET value = excluded.value")
        .bind_all(seal(key, text, "laneface/key_check"))
        .run();
  }

  const Key& require_key(const std::string& what) const {
    if (!key_) {
      throw Error(ErrorKind::kConfig, "database " + db_.name() + ": " + what +
                                          " needs a key: pass a key file or set LANEFACE_KEY");
    }
    return *key_;
  }

  static Sha256 to_sha(const Bytes& b) {
    Sha256 h{};
    if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
    return h;
  }

  void require_row(const char* sql, Id id, std::string_view what) {
    auto& st = db_.prepare(sql);
    const bool found = st.bind_all(id).step();
    st.reset();
    if (!found)
      throw Error(ErrorKind::kInvalidInput,
                  std::string(what) + " " + std::to_string(id) + ": no such record");
  }

  std::optional<int> model_dimension(const std::string& model_id) {
    auto& st = db_.prepare("SELECT dimension FROM models WHERE model_id = ?");
    std::optional<int> dim;
    if (st.bind_all(model_id).step()) dim = static_cast<int>(st.int64(0));
    st.reset();
    return dim;
  }

  Id insert_template(const TemplateOwner& owner, const core::Template& value) {
    const Key& key = require_key("storing a template");
    const auto dim = model_dimension(value.model_id);
    if (!dim) {
      throw Error(ErrorKind::kInvalidInput,
                  "template of model '" + value.model_id +
                      "': the model is not registered (its dimension is unknown)");
    }
    if (static_cast<std::size_t>(*dim) != value.values.size()) {
      throw Error(ErrorKind::kInvalidInput, "template of model '" + value.model_id +
                                                "' has dimension " +
                                                std::to_string(value.values.size()) +
                                                ", the model makes " + std::to_string(*dim));
    }
    if (!std::all_of(value.values.begin(), value.values.end(),
                     [](float v) { return std::isfinite(v); })) {
      throw Error(ErrorKind::kInvalidInput,
                  "template of model '" + value.model_id + "' has non-finite values");
    }
    auto owner_id = [&](TemplateOwnerKind k) {
      return owner.kind == k ? std::optional(owner.id) : std::nullopt;
    };
    db_.prepare(
           "INSERT INTO templates (subject_id, document_id, occupant_id, model_id, dimension, "
           "sealed, created_at)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind_all(owner_id(TemplateOwnerKind::kSubject), owner_id(TemplateOwnerKind::kDocument),
                  owner_id(TemplateOwnerKind::kEncounter), value.model_id, *dim, Bytes(),
                  ms(clock_->now()))
        .run();
    const Id id = db_.last_insert_id();
    const auto bytes = std::span(reinterpret_cast<const unsigned char*>(value.values.data()),
                                 value.values.size() * sizeof(float));
    db_.prepare("UPDATE templates SET sealed = ? WHERE id = ?")
        .bind_all(seal(key, bytes, ad("template", id)), id)
        .run();
    return id;
  }

  std::optional<Document> find_document_locked(const DocumentKey& key) {
    auto& st = db_.prepare(
        "SELECT id, subject_id, holder_name, date_of_birth, citizenship, admitted_until FROM "
        "documents"
        " WHERE type = ? AND number = ? AND country = ?");
    if (!st.bind_all(to_string(key.type), key.number, key.country).step()) return std::nullopt;
    Document d;
    d.id = st.int64(0);
    d.subject_id = st.int64(1);
    d.type = key.type;
    d.number = key.number;
    d.country = key.country;
    d.holder_name = st.text(2);
    d.date_of_birth = parse_date(st.text(3)).value_or(Date{});
    d.citizenship = enum_column<Citizenship>(st, 4);
    if (const auto until = st.opt_text(5)) d.admitted_until = parse_date(*until);
    st.reset();
    return d;
  }

  std::optional<Crossing> find_crossing_locked(Id id) {
    auto& st = db_.prepare("SELECT lane, port, direction, time FROM crossings WHERE id = ?");
    if (!st.bind_all(id).step()) return std::nullopt;
    Crossing c{id, st.text(0), st.text(1), enum_column<Direction>(st, 2), time_of(st.int64(3)), {}};
    st.reset();
    auto& o = db_.prepare(
        "SELECT id, row_number, seat, capture_status, subject_id FROM occupants WHERE crossing_id "
        "= ? ORDER BY id");
    o.bind_all(id);
    while (o.step()) {
      c.occupants.push_back({o.int64(0), static_cast<int>(o.int64(1)), o.text(2),
                             enum_column<CaptureStatus>(o, 3), o.opt_int64(4)});
    }
    return c;
  }

  static User user_row(const Statement& st) {
    return {st.int64(0), st.text(1),       enum_column<UserRole>(st, 2),
            st.text(3),  st.int64(4) != 0, time_of(st.int64(5))};
  }

  std::optional<Document> document_by_id(Id id) {
    auto& st = db_.prepare(
        "SELECT id, subject_id, type, number, country, holder_name, date_of_birth, citizenship,"
        " admitted_until FROM documents WHERE id = ?");
    if (!st.bind_all(id).step()) return std::nullopt;
    Document d;
    d.id = st.int64(0);
    d.subject_id = st.int64(1);
    d.type = enum_column<DocumentType>(st, 2);
    d.number = st.text(3);
    d.country = st.text(4);
    d.holder_name = st.text(5);
    d.date_of_birth = parse_date(st.text(6)).value_or(Date{});
    d.citizenship = enum_column<Citizenship>(st, 7);
    if (const auto until = st.opt_text(8)) d.admitted_until = parse_date(*until);
    st.reset();
    return d;
  }

  std::optional<CrossingRecord> crossing_record_locked(Id id) {
    auto crossing = find_crossing_locked(id);
    if (!crossing) return std::nullopt;
    CrossingRecord r;
    for (auto& o : crossing->occupants) {
      OccupantRecord rec;
      rec.occupant = o;
      auto& m = db_.prepare(
          "SELECT id, occupant_id, outcome, subject_id, document_id, score, gallery, model_id,"
          " threshold FROM match_decisions WHERE occupant_id = ? ORDER BY id DESC LIMIT 1");
      if (m.bind_all(o.id).step()) {
        std::optional<Gallery> gallery;
        if (!m.is_null(6)) gallery = enum_column<Gallery>(m, 6);
        rec.match = MatchDecision{m.int64(0),     m.int64(1),     enum_column<MatchOutcome>(m, 2),
                                  m.opt_int64(3), m.opt_int64(4), m.opt_real(5),
                                  gallery,        m.text(7),      m.opt_real(8)};
      }
      m.reset();
      auto& f = db_.prepare(
          "SELECT id, occupant_id, officer, outcome, subject_id, note FROM officer_decisions"
          " WHERE occupant_id = ? ORDER BY id");
      f.bind_all(o.id);
      while (f.step()) {
        rec.officer_decisions.push_back({f.int64(0), f.int64(1), f.text(2),
                                         enum_column<OfficerOutcome>(f, 3), f.opt_int64(4),
                                         f.text(5)});
      }
      auto& p = db_.prepare("SELECT id FROM encounter_photos WHERE occupant_id = ? ORDER BY id");
      p.bind_all(o.id);
      while (p.step()) rec.photo_ids.push_back(p.int64(0));
      if (rec.match && rec.match->document_id) {
        rec.document = document_by_id(*rec.match->document_id);
      } else if (o.subject_id) {
        auto& d = db_.prepare("SELECT id FROM documents WHERE subject_id = ? ORDER BY id LIMIT 1");
        std::optional<Id> doc;
        if (d.bind_all(*o.subject_id).step()) doc = d.int64(0);
        d.reset();
        if (doc) rec.document = document_by_id(*doc);
      }
      r.occupants.push_back(std::move(rec));
    }
    crossing->occupants.clear();
    r.crossing = std::move(*crossing);
    return r;
  }

  void set_occupant_subject(Id occupant_id, Id subject_id) {
    require_row("SELECT 1 FROM subjects WHERE id = ?", subject_id, "subject");
    db_.prepare("UPDATE occupants SET subject_id = ? WHERE id = ?")
        .bind_all(subject_id, occupant_id)
        .run();
  }

  void append_audit(const AuditEvent& event) {
    auto& h = db_.prepare("SELECT seq, hash FROM audit_head WHERE id = 1");
    Id seq = 0;
    Sha256 previous{};
    if (h.step()) {
      seq = h.int64(0);
      previous = to_sha(h.blob(1));
    }
    h.reset();
    AuditEntry e{seq + 1,           clock_->now(),        event.actor, event.action,
                 event.subject_ref, event.details.dump(), {}};
    e.hash = chain_hash(previous, e);
    db_.prepare(
           "INSERT INTO audit_log (seq, time, actor, action, subject_ref, details, hash)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind_all(e.seq, ms(e.time), e.actor, e.action, e.subject_ref, e.details, e.hash)
        .run();
    db_.prepare(
           "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)"
           " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")
        .bind_all(e.seq, e.hash)
        .run();
  }

  // Re-encrypts every sealed blob of a table (in batches by id); returns how many.
  std::int64_t reseal_table(const std::string& table, std::string_view kind, const Key& from,
                            const Key& to) {
    std::int64_t count = 0;
    const std::string select =
        "SELECT id, sealed FROM " + table + " WHERE id > ? ORDER BY id LIMIT 256";
    const std::string update = "UPDATE " + table + " SET sealed = ? WHERE id = ?";
    for (Id last = 0;;) {
      std::vector<std::pair<Id, Bytes>> batch;
      auto& st = db_.prepare(select);
      st.bind_all(last);
      while (st.step()) batch.emplace_back(st.int64(0), st.blob(1));
      if (batch.empty()) return count;
      for (const auto& [id, sealed] : batch) {
        const std::string a = ad(kind, id);
        const Bytes plain = unseal(from, sealed, a, std::string(kind) + " " + std::to_string(id));
        db_.prepare(update).bind_all(seal(to, plain, a), id).run();
        last = id;
        ++count;
      }
    }
  }

  // Deletes rows the query selects (id, created_at, citizenship class) whose class window
  // has passed, counting them into `field` of the report's class counts.
  void purge(RetentionReport& report, TimePoint now, std::int64_t RetentionCounts::*field,
             const std::string& table, const std::string& query) {
    const auto shortest =
        std::min({retention_.us_window, retention_.non_us_window, retention_.unknown_window});
    struct Row {
      Id id;
      TimePoint created;
      std::string klass;
    };
    std::vector<Row> rows;
    auto& st = db_.prepare(query);
    st.bind_all(ms(now - shortest));
    while (st.step()) rows.push_back({st.int64(0), time_of(st.int64(1)), st.text(2)});
    const std::string del = "DELETE FROM " + table + " WHERE id = ?";
    for (const auto& r : rows) {
      const bool us = r.klass == "US", non_us = r.klass == "non-US";
      const auto window = us       ? retention_.us_window
                          : non_us ? retention_.non_us_window
                                   : retention_.unknown_window;
      if (r.created >= now - window) continue;
      db_.prepare(del).bind_all(r.id).run();
      RetentionCounts& counts = us ? report.us : non_us ? report.non_us : report.unknown;
      ++(counts.*field);
      if (table == "templates") report.deleted_template_ids.push_back(r.id);
    }
  }

  std::mutex mutex_;
  Db db_;
  std::optional<Key> key_;
  std::shared_ptr<const Clock> clock_;
  RetentionPolicy retention_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const StoreConfig& config) {
  return std::make_unique<SqliteStore>(config);
}

}  // namespace laneface::store::sqlite
