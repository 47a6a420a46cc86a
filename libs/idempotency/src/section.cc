#include "sluice/idempotency/section.h"

#include "sluice/config/config.h"
#include "sluice/config/section.h"

namespace sluice::idempotency {

Status StoreSection::Validate() const {
  if (enabled && store.path.empty()) return InvalidArgumentError("path must not be empty");
  // The store itself takes 2..8,000,000 (OpenSqliteStore); below 1,000 a file would merge after
  // every few batches, which no deployment wants.
  if (store.max_staged_rows < 1000 || store.max_staged_rows > 8'000'000) {
    return InvalidArgumentError("max_staged_rows must be within 1000..8000000");
  }
  if (store.merge_chunk_rows < 100 || store.merge_chunk_rows > 1'000'000) {
    return InvalidArgumentError("merge_chunk_rows must be within 100..1000000");
  }
  if (store.cache_size_kib < 256 || store.cache_size_kib > 16 * 1024 * 1024) {
    return InvalidArgumentError("cache_kib must be within 256..16777216");
  }
  return Status::Ok();
}

Result<StoreSection> ReadStoreSection(const config::Config& c, std::string_view pointer,
                                      StoreSection defaults) {
  using config::SectionKey;
  StoreSection s = std::move(defaults);
  s.enabled = c.GetBool(SectionKey(pointer, "enabled"), s.enabled);
  s.store.path = c.GetString(SectionKey(pointer, "path"), s.store.path);
  RETURN_IF_ERROR(
      config::ReadDuration(c, SectionKey(pointer, "retention"), &s.retention.retention));
  s.store.max_staged_rows =
      c.GetInt(SectionKey(pointer, "max_staged_rows"), s.store.max_staged_rows);
  s.store.merge_chunk_rows =
      static_cast<int>(c.GetInt(SectionKey(pointer, "merge_chunk_rows"), s.store.merge_chunk_rows));
  s.store.cache_size_kib =
      static_cast<int>(c.GetInt(SectionKey(pointer, "cache_kib"), s.store.cache_size_kib));
  RETURN_IF_ERROR(s.Validate().WithContext(c.name() + ": " + config::DottedName(pointer)));
  return s;
}

}  // namespace sluice::idempotency
