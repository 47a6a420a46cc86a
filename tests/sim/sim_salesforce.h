// The simulated Salesforce org (SimOrg, shared by every relay of a run) and the SalesforcePort an
// incarnation talks to it through (SimSalesforce).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "facts.h"
#include "sluice/relay/parts.h"
#include "world.h"

namespace sluice::sim {

// The fields every scenario event carries, so the ledger can tell which event a write carried.
inline constexpr char kEventIdField[] = "Sim_Event_Id__c";
inline constexpr char kKeyField[] = "Sim_Key__c";
// A Contact's parent Account: the field the org locks when parent locks are on.
inline constexpr char kParentField[] = "AccountId";
// Present (true) on events the org refuses for their content.
inline constexpr char kPoisonField[] = "Sim_Poison__c";

// Thread-safety: a value type.
struct SimOrgOptions {
  // Latency of a call, uniform in [min, max]; with `slow_probability` it is `slow_factor` times
  // that. Writes land at 80% of the latency, the answer comes at 100%.
  Clock::Duration latency_min = std::chrono::milliseconds(5);
  Clock::Duration latency_max = std::chrono::milliseconds(60);
  double slow_probability = 0.0;
  double slow_factor = 5.0;
  // Chance that a call that lands loses its answer: the caller gets TRANSPORT_TIMEOUT
  // (kRetryableOrg) `timeout_after` after the call. Default 0.
  double timeout_probability = 0.0;
  Clock::Duration timeout_after = std::chrono::seconds(2);
  // Chance per record of UNABLE_TO_LOCK_ROW (kRetryableRecord). Default 0.
  double lock_probability = 0.0;
  // Parent locks: sObject -> lookup field (a Contact's "AccountId"). A call's transaction, from
  // its arrival until it lands, locks the parents its records name; a record whose parent another
  // call's transaction holds gets UNABLE_TO_LOCK_ROW (kRetryableRecord), as Salesforce answers
  // after its lock timeout. Default empty: no parent locks.
  std::map<std::string, std::string> parent_lock_fields;
  // Calls at the org at once above which REQUEST_LIMIT_EXCEEDED ConcurrentRequests
  // (kRetryableOrg) is answered; 0: no limit. Default 0.
  int concurrent_limit = 0;
  // The daily API allocation and its use at the start. Every write call counts one.
  int64_t api_max = 1'000'000;
  int64_t api_used = 0;
  // When the allocation starts afresh (usage back to 0); never when unset.
  std::optional<TimePoint> budget_reset_at;
  // Windows answering 503 (kRetryableOrg; nothing lands).
  std::vector<std::pair<TimePoint, TimePoint>> unavailable;
  // Windows refusing credentials: writes and GetLimits get 401 INVALID_SESSION_ID (kAuth) and
  // Authenticate fails.
  std::vector<std::pair<TimePoint, TimePoint>> auth_failing;
  // Instants when every access token expires (a session timeout): the next call with an old token
  // is answered 401 and, as SalesforceClient does, refreshes the token and sends again (2
  // attempts, a little slower).
  std::vector<TimePoint> session_expiry;
};

// The org: records by id, external id indexes, the ledger of every write that landed (in
// Facts::ledger), the daily allocation and the fault windows.
// Thread-safety: not thread-safe; the simulation runs on one thread.
class SimOrg {
 public:
  SimOrg(World& world, Facts& facts, const SimOrgOptions& options);

  const SimOrgOptions& options() const { return options_; }
  int64_t api_used() const { return api_used_; }
  // Access tokens issued before the last session expiry are invalid.
  uint64_t auth_epoch() const { return auth_epoch_; }
  bool InWindow(const std::vector<std::pair<TimePoint, TimePoint>>& windows) const;
  bool AuthFailing() const { return InWindow(options_.auth_failing); }
  bool Unavailable() const { return InWindow(options_.unavailable); }
  salesforce::LimitInfo limit_info() const { return {api_used_, options_.api_max, {}}; }

  // One write call from `incarnation` holding access token `token` (an epoch; 0: none). Copies
  // the records. Like SalesforceClient, a call without a valid token fetches one first (the
  // refresh-once after a 401), and fails with kAuth only while credentials are refused.
  void Write(Owner incarnation, const std::shared_ptr<uint64_t>& token,
             const relay::WriteCall& call, std::span<const salesforce::RecordInput> records,
             relay::SalesforcePort::WriteCallback done);
  // Calls of a crashed incarnation end now (their answers will be dropped).
  void OnCrash(Owner incarnation);

 private:
  struct Input {
    std::string fields;
    std::string external_id;
  };
  // Applies one landed call; fills `result`. Records whose parent is in `contended` fail.
  void Land(uint64_t call_index, const relay::WriteCall& call, const std::vector<Input>& records,
            const std::vector<std::string>& contended, salesforce::WriteResult* result);
  std::string NewId(const relay::WriteCall& call);
  void AnswerWith(uint64_t call_index, Owner incarnation, TimePoint at,
                  std::shared_ptr<salesforce::WriteResult> result,
                  relay::SalesforcePort::WriteCallback done);

  World& world_;
  Facts& facts_;
  SimOrgOptions options_;
  int64_t api_used_;
  uint64_t auth_epoch_ = 1;
  int in_progress_ = 0;
  // Parent value -> transactions (calls accepted, not landed yet) holding it.
  std::map<std::string, int> parent_locks_;
  uint64_t next_record_ = 1;
  uint64_t next_ledger_ = 1;
  // (sobject, external id field, value) -> record id
  std::map<std::tuple<std::string, std::string, std::string>, std::string> external_ids_;
};

// The port one incarnation holds: it keeps the access token the incarnation got.
// Thread-safety: the engine's thread only (the whole simulation is one thread).
class SimSalesforce final : public relay::SalesforcePort {
 public:
  SimSalesforce(World& world, SimOrg& org, Owner incarnation);

  void Write(const relay::WriteCall& call, std::span<const salesforce::RecordInput> records,
             WriteCallback done) override;
  void GetLimits(LimitsCallback done) override;
  void Authenticate(AuthCallback done) override;

 private:
  World& world_;
  SimOrg& org_;
  Owner incarnation_;
  // Shared with scheduled completions, which may outlive this object.
  std::shared_ptr<uint64_t> token_ = std::make_shared<uint64_t>(0);
};

// The string value of `field` in a compact JSON object, or "" (enough for the scenario's fields).
std::string FieldValue(std::string_view fields_json, std::string_view field);

}  // namespace sluice::sim
