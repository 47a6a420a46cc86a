// GroupMetadata's private half: the librdkafka object it owns.
#pragma once

#include "rdkafka_util.h"
#include "sluice/kafka/consumer.h"

namespace sluice::kafka {

struct GroupMetadata::Impl {
  internal::Owned<rd_kafka_consumer_group_metadata_t> metadata;
};

}  // namespace sluice::kafka
