#include "store/audit.hpp"

#include "store/crypto.hpp"

namespace laneface::store {

namespace {

void append_field(Bytes& out, std::string_view field) {
  const std::uint64_t n = field.size();
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<unsigned char>(n >> shift));
  out.insert(out.end(), field.begin(), field.end());
}

std::string seq_name(Id seq) { return "audit entry " + std::to_string(seq); }

}  // namespace

Bytes canonical_bytes(const AuditEntry& e) {
  Bytes out;
  out.reserve(64 + e.actor.size() + e.action.size() + e.subject_ref.size() + e.details.size());
  append_field(out, std::to_string(e.seq));
  append_field(out, std::to_string(e.time.time_since_epoch().count()));
  append_field(out, e.actor);
  append_field(out, e.action);
  append_field(out, e.subject_ref);
  append_field(out, e.details);
  return out;
}

Sha256 chain_hash(const Sha256& previous, const AuditEntry& entry) {
  Bytes bytes(previous.begin(), previous.end());
  const Bytes body = canonical_bytes(entry);
  bytes.insert(bytes.end(), body.begin(), body.end());
  return sha256(bytes);
}

AuditVerification verify_chain(const std::function<std::optional<AuditEntry>()>& next,
                               const std::optional<std::pair<Id, Sha256>>& head) {
  AuditVerification v;
  Sha256 previous{};
  Id expected = 1;
  auto fail = [&](Id seq, std::string problem) {
    v.ok = false;
    v.first_bad_seq = seq;
    v.problem = std::move(problem);
    return v;
  };
  while (const auto entry = next()) {
    if (entry->seq != expected) {
      return entry->seq > expected
                 ? fail(expected, seq_name(expected) +
                                      " is missing (deleted), the next stored is " +
                                      std::to_string(entry->seq))
                 : fail(entry->seq, seq_name(entry->seq) + " is out of order (expected " +
                                        std::to_string(expected) + ")");
    }
    if (chain_hash(previous, *entry) != entry->hash) {
      return fail(entry->seq,
                  seq_name(entry->seq) +
                      " does not match its hash (edited, or its predecessor was replaced)");
    }
    previous = entry->hash;
    ++v.entries;
    ++expected;
  }
  if (head && head->first >= expected) {
    return fail(expected, seq_name(expected) + " to " + std::to_string(head->first) +
                              " are missing at the end of the log (deleted)");
  }
  if (head && head->first == expected - 1 && head->second != previous) {
    return fail(head->first,
                seq_name(head->first) + " does not match the recorded head of the chain");
  }
  if (head && head->first < expected - 1) {
    return fail(head->first + 1,
                seq_name(head->first + 1) + " and later are not in the recorded head of the chain");
  }
  if (!head && v.entries > 0) {
    return fail(1, "the recorded head of the chain is missing");
  }
  return v;
}

}  // namespace laneface::store
