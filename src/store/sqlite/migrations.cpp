#include "store/sqlite/migrations.hpp"

#include <array>

namespace laneface::store::sqlite {

namespace {

// Portable SQL where possible (the PostgreSQL schema will differ in id columns and BLOB vs
// BYTEA). Times are INTEGER milliseconds since the Unix epoch (UTC); dates are 'YYYY-MM-DD'.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE models (
  model_id TEXT PRIMARY KEY,
  dimension INTEGER NOT NULL CHECK (dimension > 0)
);
CREATE TABLE subjects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL
);
CREATE TABLE documents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subject_id INTEGER NOT NULL REFERENCES subjects (id),
  type TEXT NOT NULL CHECK (type IN ('passport', 'visa', 'permanent_resident_card',
                                     'passport_card', 'enhanced_licence')),
  number TEXT NOT NULL,
  country TEXT NOT NULL,
  holder_name TEXT NOT NULL,
  date_of_birth TEXT NOT NULL,
  citizenship TEXT NOT NULL CHECK (citizenship IN ('US', 'non-US')),
  admitted_until TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (type, number, country)
);
CREATE INDEX documents_subject ON documents (subject_id);
CREATE TABLE crossings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lane TEXT NOT NULL,
  port TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('entry', 'exit')),
  time INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX crossings_time ON crossings (time);
CREATE TABLE occupants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  crossing_id INTEGER NOT NULL REFERENCES crossings (id),
  row_number INTEGER NOT NULL CHECK (row_number >= 1),
  seat TEXT NOT NULL,
  capture_status TEXT NOT NULL CHECK (capture_status IN ('captured', 'not_captured')),
  subject_id INTEGER REFERENCES subjects (id)
);
CREATE INDEX occupants_crossing ON occupants (crossing_id);
CREATE INDEX occupants_subject ON occupants (subject_id);
CREATE TABLE templates (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subject_id INTEGER REFERENCES subjects (id),
  document_id INTEGER REFERENCES documents (id),
  occupant_id INTEGER REFERENCES occupants (id),
  model_id TEXT NOT NULL REFERENCES models (model_id),
  dimension INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  CHECK ((CASE WHEN subject_id IS NULL THEN 0 ELSE 1 END) +
         (CASE WHEN document_id IS NULL THEN 0 ELSE 1 END) +
         (CASE WHEN occupant_id IS NULL THEN 0 ELSE 1 END) = 1)
);
CREATE INDEX templates_model ON templates (model_id);
CREATE INDEX templates_created ON templates (created_at);
CREATE TABLE encounter_photos (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  occupant_id INTEGER NOT NULL REFERENCES occupants (id),
  sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX encounter_photos_created ON encounter_photos (created_at);
CREATE TABLE match_decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  occupant_id INTEGER NOT NULL REFERENCES occupants (id),
  outcome TEXT NOT NULL CHECK (outcome IN ('matched', 'not_matched', 'not_captured')),
  subject_id INTEGER REFERENCES subjects (id),
  document_id INTEGER REFERENCES documents (id),
  score REAL,
  gallery TEXT CHECK (gallery IN ('vehicle', 'port')),
  model_id TEXT NOT NULL,
  threshold REAL,
  created_at INTEGER NOT NULL
);
CREATE INDEX match_decisions_occupant ON match_decisions (occupant_id);
CREATE TABLE officer_decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  occupant_id INTEGER NOT NULL REFERENCES occupants (id),
  officer TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('confirmed', 'rejected', 'referred')),
  subject_id INTEGER REFERENCES subjects (id),
  note TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX officer_decisions_occupant ON officer_decisions (occupant_id);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject_ref TEXT NOT NULL,
  details TEXT NOT NULL,
  hash BLOB NOT NULL
);
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
)sql";

// v2: users and sessions of the service (issue 6), and an index for lane listings.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'auditor', 'admin')),
  password_hash TEXT NOT NULL,
  active INTEGER NOT NULL CHECK (active IN (0, 1)),
  created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX crossings_lane_time ON crossings (lane, time);
CREATE INDEX encounter_photos_occupant ON encounter_photos (occupant_id);
)sql";

constexpr std::array<std::string_view, 2> kMigrations{kV1, kV2};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

}  // namespace laneface::store::sqlite
