// sluice::http::Server's value types (headers, requests, percent-decoding, reason phrases) and
// the Responder. The sessions and the server itself are in server.cc.
#include <boost/beast/http.hpp>
#include <cctype>

#include "server_parts.h"
#include "sluice/http/server.h"

namespace sluice::http {

namespace bhttp = boost::beast::http;

namespace internal {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace internal

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

using internal::IEquals;

// ---- ServerHeaders, ServerRequest, helpers ----

void ServerHeaders::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void ServerHeaders::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void ServerHeaders::Remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Field& f) { return IEquals(f.first, name); }),
                fields_.end());
}

std::optional<std::string_view> ServerHeaders::Get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (IEquals(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

std::string ServerPercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::optional<std::string> ServerRequest::QueryParam(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string key = ServerPercentDecode(pair.substr(0, eq), true);
    if (key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return ServerPercentDecode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::string_view Server::ReasonPhrase(int status) {
  if (status < 0 || status > 999) return "";
  auto sv = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return std::string_view(sv.data(), sv.size());
}

// ---- Responder ----

Responder::Responder(std::shared_ptr<internal::ResponderTarget> target)
    : target_(std::move(target)) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (target_) target_->Abandon();
    target_ = std::move(other.target_);
  }
  return *this;
}

Responder::~Responder() {
  if (target_) target_->Abandon();
}

void Responder::Send(ServerResponse response) {
  if (!target_) return;
  auto t = std::move(target_);
  t->Send(std::move(response));
}

void Responder::Reset() {
  if (!target_) return;
  auto t = std::move(target_);
  t->Reset();
}

}  // namespace sluice::http
