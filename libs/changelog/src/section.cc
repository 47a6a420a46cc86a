#include "sluice/changelog/section.h"

#include "sluice/config/config.h"
#include "sluice/config/section.h"

namespace sluice::changelog {

Status ChangelogSection::Validate() const {
  if (enabled) RETURN_IF_ERROR(ChangelogTopic("t", suffix).status().WithContext("suffix"));
  if (replication_factor == 0 || replication_factor < -1 || replication_factor > 32) {
    return InvalidArgumentError("replication_factor must be -1 or within 1..32");
  }
  if (restore.timeout < std::chrono::seconds(1)) {
    return InvalidArgumentError("restore_timeout must be at least 1s");
  }
  return Status::Ok();
}

Result<ChangelogSection> ReadChangelogSection(const config::Config& c, std::string_view pointer,
                                              ChangelogSection defaults) {
  using config::SectionKey;
  ChangelogSection s = std::move(defaults);
  s.enabled = c.GetBool(SectionKey(pointer, "enabled"), s.enabled);
  s.suffix = c.GetString(SectionKey(pointer, "suffix"), s.suffix);
  s.replication_factor =
      static_cast<int>(c.GetInt(SectionKey(pointer, "replication_factor"), s.replication_factor));
  RETURN_IF_ERROR(
      config::ReadDuration(c, SectionKey(pointer, "restore_timeout"), &s.restore.timeout));
  s.standby_partitions = c.GetBool(SectionKey(pointer, "standby_partitions"), s.standby_partitions);
  RETURN_IF_ERROR(s.Validate().WithContext(c.name() + ": " + config::DottedName(pointer)));
  return s;
}

}  // namespace sluice::changelog
