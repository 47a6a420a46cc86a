#include "sluice/envelope/section.h"

#include "sluice/config/config.h"
#include "sluice/config/section.h"

namespace sluice::envelope {

Status ValidateEnvelopeSection(const EnvelopeOptions& options) {
  if (options.max_bytes < 64 || options.max_bytes > 10 * 1024 * 1024) {
    return InvalidArgumentError("max_bytes must be within 64..10485760");
  }
  return Status::Ok();
}

Result<EnvelopeOptions> ReadEnvelopeSection(const config::Config& c, std::string_view pointer,
                                            EnvelopeOptions defaults) {
  EnvelopeOptions o = std::move(defaults);
  o.max_bytes = static_cast<size_t>(
      c.GetInt(config::SectionKey(pointer, "max_bytes"), static_cast<int64_t>(o.max_bytes)));
  RETURN_IF_ERROR(
      ValidateEnvelopeSection(o).WithContext(c.name() + ": " + config::DottedName(pointer)));
  return o;
}

}  // namespace sluice::envelope
