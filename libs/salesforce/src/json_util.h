// Small JSON helpers over RapidJSON, private to libs/salesforce.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::salesforce::internal {

// Appends `value` as a JSON string literal (quoted, escaped). Returns false, leaving `out`
// unchanged, when `value` is not valid UTF-8.
bool AppendJsonString(std::string& out, std::string_view value);

// What ValidateFieldsObject learned about a record's fields.
struct FieldsCheck {
  // The object's members without the outer braces and surrounding whitespace ("" for {}).
  std::string_view members;
  // Whether a top-level member is named like the external id field (and then its string value).
  bool has_external_id = false;
  std::string external_id_value;
};

// Checks that `json` is one well-formed UTF-8 JSON object nested at most `max_depth` deep with no
// top-level "attributes" member; InvalidArgument names what is wrong. When `external_id_field` is
// not empty, reports that member's value (InvalidArgument if it is not a string). The parser is
// iterative, so hostile nesting cannot exhaust the stack.
Result<FieldsCheck> ValidateFieldsObject(std::string_view json, std::string_view external_id_field,
                                         int max_depth = 64);

// `s` cut to at most `max` bytes (on a UTF-8 boundary) with control characters replaced by
// spaces, for messages quoting a peer's body.
std::string Excerpt(std::string_view s, size_t max = 200);

// True when `s` is a plausible Salesforce API name: [A-Za-z][A-Za-z0-9_]*, at most 80 chars.
bool IsApiName(std::string_view s);

}  // namespace sluice::salesforce::internal
