// schemas/gateway.openapi.yaml against the implementation: the paths and methods it lists are the
// ones the gateway serves, every status POST /v1/events can answer is documented (and every
// documented one can happen), and the bodies the gateway sends validate against the document's
// schemas.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <set>
#include <sstream>

#include "fake_producer.h"
#include "sluice/config/config.h"
#include "sluice/gateway/gateway.h"
#include "sluice/metrics/registry.h"
#include "test_events.h"

namespace sluice::gateway {
namespace {

using testing::ContactEvent;
using testing::FakeProducer;

std::string ReadSource() {
  std::ifstream in(std::string(SLUICE_SCHEMAS_DIR) + "/gateway.openapi.yaml");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

rapidjson::Document Spec() {
  auto c = config::Config::LoadString(ReadSource(), config::LoadOptions{}, "gateway.openapi.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  rapidjson::Document d;
  d.Parse(c->ToJson().c_str());
  return d;
}

// Validates `body` against components/schemas/<name> of the spec.
std::string Violation(const rapidjson::Document& spec, const std::string& name,
                      const std::string& body) {
  rapidjson::Document schema;
  schema.CopyFrom(spec, schema.GetAllocator());
  schema.AddMember(
      "$ref", rapidjson::Value(("#/components/schemas/" + name).c_str(), schema.GetAllocator()),
      schema.GetAllocator());
  rapidjson::SchemaDocument sd(schema);
  rapidjson::SchemaValidator v(sd);
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError()) return "not JSON: " + body;
  if (doc.Accept(v)) return "";
  rapidjson::StringBuffer sb;
  v.GetInvalidDocumentPointer().StringifyUriFragment(sb);
  return std::string("invalid at ") + sb.GetString() + " (" + v.GetInvalidSchemaKeyword() +
         "): " + body;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = TokenStore::LoadString(
        "tokens:\n  - {name: web, sha256: " + Sha256Hex("web") +
        ", sobjects: [Contact]}\n  - {name: one, sha256: " + Sha256Hex("one") +
        ", sobjects: ['*'], events_per_second: 1}\n");
    ASSERT_TRUE(store.ok());
    tokens_ = std::make_unique<TokenStore>(std::move(store).value());
    GatewayOptions o;
    o.bootstrap = "unused:1";
    o.max_events = 5;
    o.max_unacked_events = 5;
    GatewayDeps deps;
    deps.producer = &producer_;
    deps.tokens = tokens_.get();
    deps.registry = &registry_;
    deps.openapi_yaml = std::string(OpenApiYaml());
    auto g = Gateway::Create(o, deps);
    ASSERT_TRUE(g.ok());
    gateway_ = std::move(g).value();
    gateway_->SetBrokerReachable(true);
  }

  std::optional<http::ServerResponse> Send(const std::string& method, const std::string& path,
                                           const std::string& body = "",
                                           const std::string& token = "web",
                                           const std::string& type = "application/json") {
    http::ServerRequest req;
    req.method = method;
    req.path = path;
    req.target = path;
    if (!token.empty()) req.headers.Add("Authorization", "Bearer " + token);
    req.headers.Add("Content-Type", type);
    req.body = body;
    auto out = std::make_shared<std::optional<http::ServerResponse>>();
    gateway_->Handle(req, [out](http::ServerResponse r) { *out = std::move(r); });
    return *out;
  }

  void TearDown() override { producer_.AckRest(); }

  FakeProducer producer_;
  metrics::Registry registry_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(OpenApiTest, TheServedDocumentIsTheSourceFile) {
  EXPECT_EQ(OpenApiYaml(), ReadSource());
  auto r = Send("GET", "/v1/openapi.yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, ReadSource());
  rapidjson::Document spec = Spec();
  EXPECT_EQ(std::string(spec["openapi"].GetString()), "3.1.0");
}

TEST_F(OpenApiTest, PathsAndMethodsAreTheServedOnes) {
  rapidjson::Document spec = Spec();
  std::set<std::string> documented;
  const std::set<std::string> methods = {"get", "post", "put", "patch", "delete"};
  for (auto& p : spec["paths"].GetObject()) {
    const std::string path = p.name.GetString();
    for (auto& m : p.value.GetObject()) {
      std::string method = m.name.GetString();
      if (!methods.count(method)) continue;
      documented.insert(method + " " + path);
      for (char& c : method) c = static_cast<char>(std::toupper(c));
      auto r = Send(method, path, ContactEvent(1));
      if (!r) continue;  // a produce waiting for its ack: served
      EXPECT_NE(r->status, 404) << method << " " << path;
      EXPECT_NE(r->status, 405) << method << " " << path;
    }
    // Methods the document does not list answer 405.
    for (const char* m : {"get", "post", "put", "delete"}) {
      if (p.value.HasMember(m)) continue;
      std::string upper = m;
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      auto r = Send(upper, path, ContactEvent(2));
      ASSERT_TRUE(r) << upper << " " << path;
      EXPECT_EQ(r->status, 405) << upper << " " << path;
    }
  }
  EXPECT_EQ(documented, (std::set<std::string>{"post /v1/events", "get /v1/openapi.yaml",
                                               "get /healthz", "get /readyz", "get /metrics"}));
  EXPECT_EQ(Send("GET", "/v1/other")->status, 404);
}

TEST_F(OpenApiTest, EveryStatusOfPostEventsIsDocumentedWithItsBody) {
  rapidjson::Document spec = Spec();
  const auto& responses = spec["paths"]["/v1/events"]["post"]["responses"];
  std::map<int, std::string> seen;  // status -> a body
  auto note = [&](const std::optional<http::ServerResponse>& r) {
    ASSERT_TRUE(r);
    seen[r->status] = r->body;
    const std::string code = std::to_string(r->status);
    ASSERT_TRUE(responses.HasMember(code.c_str())) << "undocumented status " << code;
    if (r->status == 202) {
      EXPECT_EQ(r->headers.Get("Content-Type"), "application/json");
      EXPECT_EQ(Violation(spec, "Accepted", r->body), "");
    } else {
      EXPECT_EQ(r->headers.Get("Content-Type"), "application/problem+json");
      EXPECT_EQ(Violation(spec, "Problem", r->body), "");
      const std::string ref = responses[code.c_str()]["$ref"].GetString();
      if (ref.ends_with("ProblemRetry")) {
        EXPECT_TRUE(r->headers.Has("Retry-After")) << code;
      }
    }
  };
  {
    // 202.
    std::optional<http::ServerResponse> out;
    http::ServerRequest req;
    req.method = "POST";
    req.path = "/v1/events";
    req.headers.Add("Authorization", "Bearer web");
    req.headers.Add("Content-Type", "application/json");
    req.body = ContactEvent(3);
    gateway_->Handle(req, [&out](http::ServerResponse r) { out = std::move(r); });
    producer_.Ack(0, 6);
    note(out);
  }
  note(Send("POST", "/v1/events", "{"));                                           // 400
  note(Send("POST", "/v1/events", ContactEvent(4), "nope"));                       // 401
  note(Send("POST", "/v1/events", ContactEvent(4, "Lead")));                       // 403
  note(Send("GET", "/v1/events"));                                                 // 405
  note(Send("POST", "/v1/events", std::string(7, '\n') + "[{},{},{},{},{},{}]"));  // 413
  note(Send("POST", "/v1/events", ContactEvent(4), "web", "text/csv"));            // 415
  {
    // 503 after a produce: one acked, one not.
    std::optional<http::ServerResponse> out;
    http::ServerRequest req;
    req.method = "POST";
    req.path = "/v1/events";
    req.headers.Add("Authorization", "Bearer web");
    req.headers.Add("Content-Type", "application/json");
    req.body = "[" + ContactEvent(5) + "," + ContactEvent(6) + "]";
    gateway_->Handle(req, [&out](http::ServerResponse r) { out = std::move(r); });
    producer_.Ack(1, 8);
    producer_.Fail(2, DeadlineExceededError("timed out"));
    note(out);
  }
  EXPECT_FALSE(Send("POST", "/v1/events", ContactEvent(7), "one"));  // takes the 1 event/s
  note(Send("POST", "/v1/events", ContactEvent(8), "one"));          // 429
  gateway_->SetBrokerReachable(false);
  note(Send("POST", "/v1/events", ContactEvent(9)));  // 503 at once
  // The HTTP server's own answers (libs/http) use ServerErrorAsProblem.
  note(ServerErrorAsProblem(413, "body too large"));
  note(ServerErrorAsProblem(431, "headers too large"));
  note(ServerErrorAsProblem(400, "malformed"));
  std::set<int> documented;
  for (auto& r : responses.GetObject()) documented.insert(std::stoi(r.name.GetString()));
  std::set<int> produced;
  for (auto& [status, body] : seen) produced.insert(status);
  EXPECT_EQ(produced, documented);
}

}  // namespace
}  // namespace sluice::gateway
