#include "authorized_call.h"

#include <utility>

namespace sluice::salesforce::internal {

SfError AuthorizedCaller::TokenError(const Status& status) {
  SfError e;
  e.message = status.ToString();
  if (status.code() == StatusCode::kUnauthenticated) {
    e.error_class = ErrorClass::kAuth;
    e.code = "AUTH_FAILED";
  } else {
    e.error_class = ErrorClass::kRetryableOrg;
    e.code = "TOKEN_UNAVAILABLE";
  }
  return e;
}

void AuthorizedCaller::Execute(std::shared_ptr<Call> call) {
  tokens_.GetTokenAsync([this, call](Result<TokenPtr> token) {
    if (!token.ok()) {
      call->finish(UnavailableError("no token"), TokenError(token.status()), call->attempts);
      return;
    }
    TokenPtr used = *token;
    http::HttpRequest request;
    request.method = call->method;
    request.url = used->instance_url + call->path;
    request.timeout = timeout_;
    request.headers.Add("Authorization", "Bearer " + used->access_token);
    request.headers.Add("Accept", call->accept);
    if (!call->body.empty()) {
      request.headers.Add("Content-Type", call->content_type);
      request.body = call->body;
    }
    ++call->attempts;
    if (stats_ != nullptr) stats_->requests.fetch_add(1, std::memory_order_relaxed);
    transport_.Send(std::move(request), [this, call, used](Result<http::HttpResponse> response) {
      if (response.ok() && response->status == 401 && call->attempts == 1) {
        // The token expired (or was revoked): drop it unless someone already has, then send
        // the same request once more with whatever token is current.
        if (stats_ != nullptr) stats_->auth_retries.fetch_add(1, std::memory_order_relaxed);
        tokens_.Invalidate(*used);
        Execute(call);
        return;
      }
      call->finish(std::move(response), std::nullopt, call->attempts);
    });
  });
}

}  // namespace sluice::salesforce::internal
