// An in-memory HttpTransport for libs/salesforce unit tests: a handler answers each request on the
// calling thread, and every request is recorded.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/http/client.h"

namespace sluice::salesforce::testing {

// Thread-safety: Send and the accessors are safe from any thread; set the handler before use.
class FakeHttpTransport : public http::HttpTransport {
 public:
  using Handler = std::function<Result<http::HttpResponse>(const http::HttpRequest&)>;

  explicit FakeHttpTransport(Handler handler = nullptr) : handler_(std::move(handler)) {}

  void set_handler(Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }

  void Send(http::HttpRequest request, http::HttpCallback done) override {
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      handler = handler_;
    }
    done(handler ? handler(request) : Result<http::HttpResponse>(UnavailableError("no handler")));
  }

  std::vector<http::HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Requests whose URL contains `part`.
  int Count(const std::string& part) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& r : requests_) n += r.url.find(part) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mu_;
  Handler handler_;
  std::vector<http::HttpRequest> requests_;
};

inline http::HttpResponse Response(int status, std::string body, http::HttpHeaders headers = {}) {
  http::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace sluice::salesforce::testing
