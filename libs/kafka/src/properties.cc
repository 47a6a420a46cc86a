#include "sluice/kafka/properties.h"

#include "rdkafka_util.h"

namespace sluice::kafka {

Status CheckProperties(const std::map<std::string, std::string>& properties) {
  // A placeholder bootstrap unless the properties carry their own: BuildConf insists on one, and
  // nothing here connects.
  const bool has_bootstrap =
      properties.count("bootstrap.servers") > 0 || properties.count("metadata.broker.list") > 0;
  return internal::BuildConf(has_bootstrap ? "" : "127.0.0.1:9", {}, properties, {}).status();
}

}  // namespace sluice::kafka
