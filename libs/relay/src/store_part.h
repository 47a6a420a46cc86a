// The relay's real idempotency store: SQLite behind a group committer and a retention purger,
// and, with the changelog on, the delivered-set in Kafka (libs/changelog). Every resolution is
// written to the source partition's changelog partition (acks=all, idempotent producer) before it
// is recorded locally and reported durable; a partition assigned to this instance is restored
// from its changelog before it is consumed. See docs/ARCHITECTURE.md, "Where delivery state lives".
#pragma once

#include <memory>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/metrics/registry.h"
#include "sluice/relay/options.h"
#include "sluice/relay/parts.h"

namespace sluice::relay {

// Opens the store at options.idempotency.store.path. With the changelog on, a store file that is
// not a database or is corrupt is moved aside (<path>.corrupt-<ms>) and a new one is restored from
// the changelog; the relay logs it and counts it in sluice_relay_store_rebuilds_total.
Result<std::unique_ptr<ResolutionStore>> OpenStorePart(const RelayOptions& options, Clock& clock,
                                                       std::shared_ptr<metrics::Registry> registry);

}  // namespace sluice::relay
