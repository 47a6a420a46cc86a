// Salesforce record ids: 3-character key prefix, 12 base-62 characters, 3-character case checksum.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::sfsim {

// The 18-character id of record number `n` (n < 62^9) of the object with `key_prefix`:
// prefix + "Dn0" + 9 base-62 digits of n + checksum. Same n and prefix, same id.
std::string MakeRecordId(std::string_view key_prefix, uint64_t n);

// The 3 checksum characters Salesforce appends to a 15-character id (one per 5 characters: bit i
// set when character i is an upper-case letter, mapped onto A-Z0-5).
std::string IdChecksum(std::string_view id15);

// True for 15 alphanumeric characters, or 18 whose last 3 are the checksum of the first 15.
bool IsValidRecordId(std::string_view id);

// The record number inside an id made by MakeRecordId with this prefix (15 or 18 characters),
// or nullopt when the id is not one of ours.
std::optional<uint64_t> ParseRecordNumber(std::string_view id, std::string_view key_prefix);

}  // namespace sluice::sfsim
