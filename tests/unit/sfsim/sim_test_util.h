// Shared helpers for the simulator's unit tests: a Simulator on a SimulatedClock and request
// builders. No sockets, no sleeping.
#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <memory>
#include <string>

#include "sluice/sfsim/simulator.h"
#include "sluice/testing/simulated_clock.h"

namespace sluice::sfsim::testing {

inline http::ServerRequest Req(const std::string& method, const std::string& target,
                               const std::string& body = "", const std::string& token = "") {
  http::ServerRequest r;
  r.method = method;
  r.target = target;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  r.body = body;
  if (!token.empty()) r.headers.Add("Authorization", "Bearer " + token);
  r.headers.Add("Content-Type", "application/json");
  return r;
}

inline rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  EXPECT_FALSE(d.HasParseError()) << body;
  return d;
}

class SimFixture : public ::testing::Test {
 protected:
  void Make(const SimOptions& options = {}) {
    auto s = Simulator::Create(options, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    sim_ = std::move(*s);
    sim_->SetBaseUrl("http://127.0.0.1:1234");
  }

  std::string Login() {
    auto r = Req("POST", "/services/oauth2/token",
                 "grant_type=client_credentials&client_id=sluice-sfsim-client&client_secret="
                 "sluice-sfsim-secret");
    auto out = sim_->Handle(r);
    sim_->Complete(out.ticket);
    EXPECT_EQ(out.response.status, 200) << out.response.body;
    auto d = Parse(out.response.body);
    return d.HasMember("access_token") ? d["access_token"].GetString() : "";
  }

  // Handles a request and completes it at once (no simulated wait).
  Outcome Do(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& token = "") {
    auto r = Req(method, target, body, token.empty() ? token_ : token);
    auto out = sim_->Handle(r);
    sim_->Complete(out.ticket);
    return out;
  }

  // Handles a request and leaves it in flight.
  Outcome Start(const std::string& method, const std::string& target,
                const std::string& body = "") {
    auto r = Req(method, target, body, token_);
    return sim_->Handle(r);
  }

  std::string Stats() { return sim_->StatsJson(); }

  uint64_t StatU64(const char* name) {
    auto d = Parse(Stats());
    return d[name].GetUint64();
  }

  std::string Ledger(uint64_t since = 0) {
    auto out = Do("GET", "/sim/ledger?since=" + std::to_string(since));
    EXPECT_EQ(out.response.status, 200);
    return out.response.body;
  }

  sluice::testing::SimulatedClock clock_;
  std::unique_ptr<Simulator> sim_;
  std::string token_;
};

}  // namespace sluice::sfsim::testing
