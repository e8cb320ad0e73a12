#pragma once
// The audit hash chain, independent of the database: every entry's hash is
// SHA-256(previous hash || canonical bytes), the first entry's previous hash is 32 zero bytes.
#include <functional>
#include <optional>

#include "store/crypto.hpp"
#include "store/records.hpp"

namespace laneface::store {

// seq, time (ms), actor, action, subject_ref, details: each as an 8-byte big-endian length
// followed by its bytes (numbers as decimal text), so no two entries share their bytes.
Bytes canonical_bytes(const AuditEntry& entry);
Sha256 chain_hash(const Sha256& previous, const AuditEntry& entry);

// Walks entries in stored order (next() returns nullopt at the end) and reports the first
// that breaks the chain: a gap in seq (deleted or reordered rows) or a hash that does not
// follow from its content and predecessor (edited rows). `head` is the last (seq, hash) the
// writer recorded; entries missing at the end are detected against it.
AuditVerification verify_chain(const std::function<std::optional<AuditEntry>()>& next,
                               const std::optional<std::pair<Id, Sha256>>& head);

}  // namespace laneface::store
