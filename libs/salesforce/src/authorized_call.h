// One authorized REST call, shared by the sObject client (client.cc) and the Bulk API 2.0 client
// (bulk.cc): the current token's instance URL and bearer, and one retry with a fresh token after a
// 401.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sluice/http/client.h"
#include "sluice/salesforce/auth.h"
#include "sluice/salesforce/errors.h"
#include "sluice/salesforce/stats.h"

namespace sluice::salesforce::internal {

// One request in flight: what to send (again, after a 401) and what to do with the answer.
// Thread-safety: owned by one request at a time (its steps run one after another).
struct Call {
  std::string method;
  std::string path;  // after the instance URL, e.g. "/services/data/v62.0/limits"
  std::string body;
  std::string content_type = "application/json";  // of the body, when there is one
  std::string accept = "application/json";
  int attempts = 0;
  // Called once with the final answer, or with a token failure turned into an SfError.
  std::function<void(Result<http::HttpResponse>, std::optional<SfError>, int attempts)> finish;
};

// Thread-safety: Execute from any number of threads at once.
class AuthorizedCaller {
 public:
  AuthorizedCaller(http::HttpTransport& transport, TokenProvider& tokens, SalesforceStats* stats,
                   std::chrono::milliseconds timeout)
      : transport_(transport), tokens_(tokens), stats_(stats), timeout_(timeout) {}

  void Execute(std::shared_ptr<Call> call);

  // A token that could not be had: kAuth for refused credentials, kRetryableOrg otherwise.
  static SfError TokenError(const Status& status);

 private:
  http::HttpTransport& transport_;
  TokenProvider& tokens_;
  SalesforceStats* stats_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace sluice::salesforce::internal
