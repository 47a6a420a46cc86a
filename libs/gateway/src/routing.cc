#include "sluice/gateway/routing.h"

#include <cctype>

namespace sluice::gateway {

Router::Router(std::map<std::string, std::string> topics, std::string default_pattern)
    : topics_(std::move(topics)), default_pattern_(std::move(default_pattern)) {}

std::string Router::TopicFor(const std::string& sobject) const {
  if (auto it = topics_.find(sobject); it != topics_.end()) return it->second;
  std::string lower = sobject;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string out = default_pattern_;
  static constexpr std::string_view kPlaceholder = "{object}";
  for (size_t at = out.find(kPlaceholder); at != std::string::npos;
       at = out.find(kPlaceholder, at + lower.size())) {
    out.replace(at, kPlaceholder.size(), lower);
  }
  return out;
}

const std::string& Router::KeyFor(const envelope::Event& event) {
  return event.external_id.empty() ? event.event_id : event.external_id;
}

}  // namespace sluice::gateway
