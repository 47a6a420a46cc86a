// The Salesforce org simulator: answers Salesforce REST and OAuth requests the way an org would
// (formats in shared/salesforce-api.md), and the simulator's own admin API under /sim/.
//
// It never touches a socket or sleeps: Handle() decides the answer and how long the org takes to
// give it (latency model, record-lock waits, slow faults) on the injected Clock, and the caller
// (services/sfsim over sluice::http::Server) delivers it after that delay, then calls Complete().
// Unit tests drive it with a SimulatedClock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/http/server.h"
#include "sluice/sfsim/options.h"

namespace sluice::sfsim {

struct Outcome {
  http::ServerResponse response;
  // Deliver the response (or the reset) this long after Handle() returned. 0: at once.
  Clock::Duration delay{0};
  // Reset the connection instead of answering.
  bool reset = false;
  // Pass to Complete() once delivered; 0 when there is nothing to complete.
  uint64_t ticket = 0;
};

// Thread-safety: all methods are safe from any thread; requests are serialized on an internal
// mutex (the org's state is one consistent store, as in a real org).
class Simulator {
 public:
  // InvalidArgument for invalid options (see Validate); Internal when the SQLite ledger cannot be
  // opened.
  static Result<std::unique_ptr<Simulator>> Create(const SimOptions& options, Clock& clock);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Decides the answer to one request. May parse request.body in place.
  Outcome Handle(http::ServerRequest& request);
  // The request with this ticket has been answered: it no longer counts as in flight.
  void Complete(uint64_t ticket);

  // The base URL handed out as instance_url (and accepted as a JWT audience) when
  // OrgOptions::instance_url is empty; set by the service once the port is known.
  void SetBaseUrl(const std::string& base_url);

  // GET /sim/stats's body.
  std::string StatsJson();

  // The error body a Salesforce-like server gives for `status` (used for the HTTP server's own
  // 400/413/414/431/500 answers): a JSON error array.
  static http::ServerResponse ErrorResponse(int status, std::string_view message);

  class Impl;

 private:
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::sfsim
