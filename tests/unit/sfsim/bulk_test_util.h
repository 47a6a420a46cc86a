// The Bulk API tests' fixture: a Simulator on a SimulatedClock with helpers for ingest jobs.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "sim_test_util.h"

namespace sluice::sfsim::testing {

inline constexpr const char* kBulkV = "/services/data/v62.0";

class BulkTest : public SimFixture {
 protected:
  void MakeBulk(SimOptions o = {}) {
    Make(o);
    token_ = Login();
  }

  std::string CreateJob(const std::string& body) {
    auto out = Do("POST", std::string(kBulkV) + "/jobs/ingest", body);
    EXPECT_EQ(out.response.status, 200) << out.response.body;
    auto d = Parse(out.response.body);
    EXPECT_EQ(std::string(d["state"].GetString()), "Open");
    return d.HasMember("id") ? d["id"].GetString() : "";
  }

  Outcome Upload(const std::string& id, const std::string& csv,
                 const std::string& type = "text/csv") {
    http::ServerRequest r;
    r.method = "PUT";
    r.target = r.path = std::string(kBulkV) + "/jobs/ingest/" + id + "/batches";
    r.body = csv;
    r.headers.Add("Authorization", "Bearer " + token_);
    r.headers.Add("Content-Type", type);
    auto out = sim_->Handle(r);
    sim_->Complete(out.ticket);
    return out;
  }

  Outcome SetState(const std::string& id, const std::string& state) {
    return Do("PATCH", std::string(kBulkV) + "/jobs/ingest/" + id,
              R"({"state":")" + state + R"("})");
  }

  rapidjson::Document Info(const std::string& id) {
    auto out = Do("GET", std::string(kBulkV) + "/jobs/ingest/" + id);
    EXPECT_EQ(out.response.status, 200) << out.response.body;
    return Parse(out.response.body);
  }

  std::string State(const std::string& id) { return Info(id)["state"].GetString(); }

  std::string Results(const std::string& id, const std::string& kind) {
    auto out = Do("GET", std::string(kBulkV) + "/jobs/ingest/" + id + "/" + kind);
    EXPECT_EQ(out.response.status, 200) << out.response.body;
    EXPECT_EQ(out.response.headers.Get("Content-Type"), "text/csv");
    return out.response.body;
  }

  std::string AccountId(const std::string& name) {
    auto out =
        Do("POST", std::string(kBulkV) + "/sobjects/Account/", R"({"Name":")" + name + R"("})");
    EXPECT_EQ(out.response.status, 201);
    return Parse(out.response.body)["id"].GetString();
  }
};

inline constexpr const char* kUpsertJob =
    R"({"object":"Contact","operation":"upsert","externalIdFieldName":"Sluice_Key__c",)"
    R"("contentType":"CSV","lineEnding":"LF","columnDelimiter":"COMMA"})";

}  // namespace sluice::sfsim::testing
