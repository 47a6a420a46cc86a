// Helpers for reading one section of a loaded Config into a library's Options struct: each library
// that owns a section has a `Result<XOptions> ReadX(const Config&, std::string_view pointer,
// XOptions defaults = {})` that starts from `defaults` (its own, or a program's deliberate
// override), sets what the file sets, and checks its ranges. Also the logging section, whose
// options (sluice/core/logging.h) live in core, which cannot depend on config.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "sluice/config/config.h"
#include "sluice/core/logging.h"
#include "sluice/core/status.h"

namespace sluice::config {

// `section` + "/" + `key`: SectionKey("/idempotency", "path") is "/idempotency/path".
std::string SectionKey(std::string_view section, std::string_view key);

// "/delivery/retry" -> "delivery.retry": how error messages name a section.
std::string DottedName(std::string_view pointer);

// Sets `*out` to the duration at `ptr` when the document has one and keeps it when it does not.
// A value the grammar refuses (e.g. past 100 years; the schema checks only its shape) is an error
// naming the file, line and key, never a silent fallback to the default.
template <typename D>
Status ReadDuration(const Config& config, std::string_view ptr, D* out) {
  auto d = config.GetDuration(ptr);
  if (d.status().code() == StatusCode::kNotFound) return Status::Ok();
  if (!d.ok()) return d.status();
  *out = std::chrono::duration_cast<D>(*d);
  return Status::Ok();
}

// The logging section (`level`, `json`) at `pointer` over `defaults`. InvalidArgument for a level
// SetupLogging would refuse.
Result<LoggingOptions> ReadLogging(const Config& config, std::string_view pointer,
                                   LoggingOptions defaults = {});

}  // namespace sluice::config
