// Checking librdkafka properties without making a client.
#pragma once

#include <map>
#include <string>

#include "sluice/core/status.h"

namespace sluice::kafka {

// Sets every property on a throw-away librdkafka configuration, as a client would, and connects
// to nothing: a misspelled name ("security.protocl") or a bad value ("acks: sometimes") is an
// InvalidArgument naming the property, with librdkafka's own reason. Whether the client can reach
// its brokers is not checked. Thread-safety: safe from any thread.
Status CheckProperties(const std::map<std::string, std::string>& properties);

}  // namespace sluice::kafka
