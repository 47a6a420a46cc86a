// The "envelope:" config section: the EnvelopeOptions a file may set (`max_bytes`). The defaults
// are EnvelopeOptions' own; a program that wants others passes them as `defaults`.
#pragma once

#include <string_view>

#include "sluice/core/status.h"
#include "sluice/envelope/event.h"

namespace sluice::config {
class Config;
}  // namespace sluice::config

namespace sluice::envelope {

// Ok, or InvalidArgument naming the key: max_bytes outside 64..10,485,760.
Status ValidateEnvelopeSection(const EnvelopeOptions& options);

// Reads `max_bytes` of the section at `pointer` (e.g. "/envelope") over `defaults` and validates
// it. Other keys of the section belong to the program. Errors name the file and the key.
Result<EnvelopeOptions> ReadEnvelopeSection(const config::Config& config, std::string_view pointer,
                                            EnvelopeOptions defaults = {});

}  // namespace sluice::envelope
