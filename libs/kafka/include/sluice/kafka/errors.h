// How librdkafka errors become sluice Status values. Every function in sluice::kafka maps errors
// this way, so callers decide on retries from the code alone:
//
//   fatal (rd_kafka_fatal_error, a fatal rd_kafka_error_t, _FATAL)    FailedPrecondition; the
//       message starts with "fatal Kafka error" and the client must be destroyed and recreated
//   transactional error that requires an abort                        FailedPrecondition;
//       the message contains "abort the transaction"
//   _QUEUE_FULL (the local producer queue)                            ResourceExhausted
//   _TIMED_OUT, _MSG_TIMED_OUT, _TIMED_OUT_QUEUE, REQUEST_TIMED_OUT   DeadlineExceeded
//   UNKNOWN_TOPIC_OR_PART, _UNKNOWN_TOPIC, _UNKNOWN_PARTITION,
//       GROUP_ID_NOT_FOUND, _NOENT, _NO_OFFSET                        NotFound
//   TOPIC_ALREADY_EXISTS                                              AlreadyExists
//   _INVALID_ARG, _INVALID_TYPE, INVALID_CONFIG, INVALID_PARTITIONS,
//       INVALID_REPLICATION_FACTOR, TOPIC_EXCEPTION (bad topic name),
//       INVALID_REQUEST, MSG_SIZE_TOO_LARGE, INVALID_MSG, _BAD_MSG,
//       POLICY_VIOLATION, ...                                         InvalidArgument
//   *_AUTHORIZATION_FAILED                                            PermissionDenied
//   _AUTHENTICATION, SASL_AUTHENTICATION_FAILED                       Unauthenticated
//   group or producer state: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
//       REBALANCE_IN_PROGRESS, _STATE, _FENCED, PRODUCER_FENCED,
//       INVALID_PRODUCER_EPOCH, _ASSIGNMENT_LOST, _DESTROY, ...      FailedPrecondition
//   transport and leadership (_TRANSPORT, _ALL_BROKERS_DOWN,
//       _RESOLVE, NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE,
//       NOT_ENOUGH_REPLICAS*, NOT_COORDINATOR, COORDINATOR_*,
//       NETWORK_EXCEPTION, _PURGE_QUEUE, _PURGE_INFLIGHT), and any
//       other error librdkafka marks retriable                        Unavailable
//   anything else                                                     Internal
//
// Unavailable, DeadlineExceeded and ResourceExhausted are the codes Status::IsRetryable() accepts.
// Messages read "<context>: <librdkafka's text> (<error name>)", e.g.
//   "produce to orders: Local: Message timed out (_MSG_TIMED_OUT)".
#pragma once

#include <string_view>

#include "sluice/core/status.h"

namespace sluice::kafka {

// What librdkafka says about an error besides its code (rd_kafka_error_is_fatal() etc.).
// Thread-safety: a value type.
struct KafkaErrorFlags {
  bool fatal = false;
  bool retriable = false;
  bool txn_requires_abort = false;
};

// Maps librdkafka error `code` (an rd_kafka_resp_err_t value) to a Status as in the table above.
// `detail` is librdkafka's error string for this instance; when empty, the generic text for the
// code is used. Code 0 (no error) gives Ok.
// Thread-safety: a pure function.
Status StatusFromKafkaError(int code, std::string_view context, std::string_view detail = {},
                            KafkaErrorFlags flags = {});

}  // namespace sluice::kafka
