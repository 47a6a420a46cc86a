// The simulator's building blocks: record ids, the rolling usage window, the latency model,
// options and config JSON, base64, RS256 JWT verification, the SQLite ledger.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "sim_test_util.h"
#include "sluice/sfsim/auth.h"
#include "sluice/sfsim/latency.h"
#include "sluice/sfsim/ledger.h"
#include "sluice/sfsim/options.h"
#include "sluice/sfsim/record_id.h"
#include "sluice/sfsim/usage.h"

namespace sluice::sfsim::testing {
namespace {

using namespace std::chrono_literals;

TEST(RecordIdTest, MakesValidDistinctIdsAndParsesThemBack) {
  EXPECT_EQ(MakeRecordId("003", 1), "003Dn0000000001IAA");
  std::set<std::string> seen;
  for (uint64_t n : {0ull, 1ull, 61ull, 62ull, 3843ull, 1000000ull, 13537086546263551ull}) {
    std::string id = MakeRecordId("a01", n);
    EXPECT_EQ(id.size(), 18u);
    EXPECT_TRUE(IsValidRecordId(id)) << id;
    EXPECT_TRUE(IsValidRecordId(id.substr(0, 15)));
    EXPECT_EQ(ParseRecordNumber(id, "a01"), n);
    EXPECT_EQ(ParseRecordNumber(id.substr(0, 15), "a01"), n);
    EXPECT_EQ(ParseRecordNumber(id, "003"), std::nullopt);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 7u);
  // The checksum is Salesforce's: a real-world id keeps its suffix.
  EXPECT_EQ(IdChecksum("001D000000IqhSL"), "IAZ");  // Salesforce's documented example
  EXPECT_FALSE(IsValidRecordId("001D000000IqhSLAAA"));
  EXPECT_FALSE(IsValidRecordId("001"));
  EXPECT_FALSE(IsValidRecordId("001Dn000000000!AAA"));
  EXPECT_FALSE(IsValidRecordId(""));
  EXPECT_EQ(ParseRecordNumber("garbage", "003"), std::nullopt);
}

TEST(DailyUsageTest, CallsRollOffAfter24Hours) {
  sluice::testing::SimulatedClock clock;
  DailyUsage u(clock.Now());
  u.Add(clock.Now(), 5);
  clock.Advance(12h);
  u.Add(clock.Now(), 3);
  EXPECT_EQ(u.Used(clock.Now()), 8);
  clock.Advance(12h);
  EXPECT_EQ(u.Used(clock.Now()), 3);
  clock.Advance(12h);
  EXPECT_EQ(u.Used(clock.Now()), 0);
  u.Add(clock.Now());
  clock.Advance(24h * 400);  // a long jump clears everything once
  EXPECT_EQ(u.Used(clock.Now()), 0);
  u.Add(clock.Now(), 2);
  u.Clear();
  EXPECT_EQ(u.Used(clock.Now()), 0);
}

TEST(LatencyModelTest, BasePerRecordTailAndCap) {
  LatencyOptions o;
  o.base_ms = 10;
  o.per_record_ms = 0.5;
  LatencyModel m(o, 1);
  EXPECT_EQ(m.Sample(0), 10ms);
  EXPECT_EQ(m.Sample(200), 110ms);
  o.tail_median_ms = 50;
  o.tail_sigma = 1.0;
  o.max_ms = 1000;
  LatencyModel tail(o, 7), same(o, 7);
  std::vector<double> samples;
  for (int i = 0; i < 2001; ++i) {
    auto d = tail.Sample(0);
    EXPECT_EQ(d, same.Sample(0));  // deterministic per seed
    EXPECT_GE(d, 10ms);
    EXPECT_LE(d, 1000ms);
    samples.push_back(std::chrono::duration<double, std::milli>(d).count() - 10);
  }
  std::nth_element(samples.begin(), samples.begin() + 1000, samples.end());
  EXPECT_GT(samples[1000], 35);  // median near 50
  EXPECT_LT(samples[1000], 70);
}

TEST(OptionsTest, DefaultsAreValid) {
  SimOptions o;
  EXPECT_TRUE(Validate(o).ok());
  ASSERT_EQ(o.org.objects.size(), 4u);
  EXPECT_EQ(o.org.objects[1].name, "Contact");
  EXPECT_TRUE(IsValidRecordId(o.org.org_id));
  EXPECT_TRUE(IsValidRecordId(o.org.user_id));
}

// The relay's default salesforce.event_id_field (and compose/relay.yaml's) is an upsert key on
// every default sObject, so creates are upserts on it and none goes to the DLQ.
TEST(OptionsTest, DefaultOrgHasTheRelaysEventIdFieldAsUniqueExternalId) {
  SimOptions o;
  for (const ObjectDef& object : o.org.objects) {
    if (object.platform_event) continue;
    auto field = std::find_if(object.fields.begin(), object.fields.end(),
                              [](const FieldDef& f) { return f.name == "Sluice_Event_Id__c"; });
    ASSERT_NE(field, object.fields.end()) << object.name;
    EXPECT_TRUE(field->external_id) << object.name;
    EXPECT_TRUE(field->unique) << object.name;
  }
}

TEST(OptionsTest, ApplyConfigJson) {
  SimOptions o;
  auto s = ApplyConfigJson(R"({
    "org": {"client_id": "cid", "session_timeout": "90s", "usernames": ["a@b.c"]},
    "limits": {"daily_api_requests": 15000, "long_running_threshold": "500ms", "max_long_running": 5,
               "lock_timeout": "2s"},
    "latency": {"base_ms": 20, "tail_median_ms": 5.5},
    "faults": {"unavailable_rate": 0.25, "seed": 9},
    "ledger": {"event_id_field": "Evt__c"},
    "server": {"port": 1},
    "objects": [{"name": "Thing__c", "key_prefix": "a07",
                 "fields": [{"name": "Key__c", "external_id": true, "unique": true},
                            {"name": "Count__c", "type": "number"}]}]})",
                           &o);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(o.org.client_id, "cid");
  EXPECT_EQ(o.org.session_timeout, 90s);
  EXPECT_EQ(o.org.usernames, std::vector<std::string>{"a@b.c"});
  EXPECT_EQ(o.limits.daily_api_requests, 15000);
  EXPECT_EQ(o.limits.long_running_threshold, 500ms);
  EXPECT_EQ(o.limits.lock_timeout, 2s);
  EXPECT_EQ(o.latency.tail_median_ms, 5.5);
  EXPECT_EQ(o.faults.seed, 9u);
  EXPECT_EQ(o.ledger.event_id_field, "Evt__c");
  ASSERT_EQ(o.org.objects.size(), 1u);  // replaces the defaults
  EXPECT_EQ(o.org.objects[0].fields[1].type, FieldType::kDouble);
  EXPECT_TRUE(Validate(o).ok());

  SimOptions keep;
  ASSERT_TRUE(ApplyConfigJson(R"({"org":{"keep_default_objects":true},
      "objects":[{"name":"Contact","key_prefix":"003","fields":[]}]})",
                              &keep)
                  .ok());
  EXPECT_EQ(keep.org.objects.size(), 4u);
  EXPECT_TRUE(keep.org.objects[1].fields.empty());
}

TEST(OptionsTest, ConfigJsonErrors) {
  for (const char* bad :
       {"", "[]", "nope", R"({"bogus":{}})", R"({"org":{"bogus":1}})",
        R"({"limits":{"daily_api_requests":"lots"}})", R"({"limits":{"lock_timeout":"soon"}})",
        R"({"faults":{"reset_rate":2}})", R"({"objects":{}})", R"({"objects":[{"fields":[]}]})",
        R"({"objects":[{"name":"X","fields":[{"name":"F","type":"blob"}]}]})", R"({"org":[]})",
        R"({"latency":{"base_ms":-1}})"}) {
    SimOptions o;
    EXPECT_FALSE(ApplyConfigJson(bad, &o).ok()) << bad;
  }
}

TEST(OptionsTest, ValidateCatchesBadObjects) {
  auto with = [](auto mutate) {
    SimOptions o;
    mutate(o);
    return Validate(o);
  };
  EXPECT_FALSE(with([](SimOptions& o) { o.org.objects[0].key_prefix = "0011"; }).ok());
  EXPECT_FALSE(with([](SimOptions& o) { o.org.objects[0].key_prefix = "003"; }).ok());
  EXPECT_FALSE(with([](SimOptions& o) { o.org.objects[0].name = "Bad Name"; }).ok());
  EXPECT_FALSE(with([](SimOptions& o) { o.org.objects[0].fields[0].name = "Id"; }).ok());
  EXPECT_FALSE(with([](SimOptions& o) {
                 o.org.objects[0].fields.push_back(o.org.objects[0].fields[0]);
               }).ok());
  EXPECT_FALSE(with([](SimOptions& o) { o.org.org_id = "short"; }).ok());
  EXPECT_FALSE(with([](SimOptions& o) { o.org.api_min_version = 70; }).ok());
  EXPECT_FALSE(with([](SimOptions& o) { o.latency.base_ms = std::nan(""); }).ok());
  EXPECT_FALSE(with([](SimOptions& o) { o.limits.max_collection_records = 0; }).ok());
}

TEST(OptionsTest, ConfigDurationsHaveTheirUnitWrittenOut) {
  SimOptions o;
  ASSERT_TRUE(ApplyConfigJson(R"({"limits": {"lock_timeout": "1m30s"}})", &o).ok());
  EXPECT_EQ(o.limits.lock_timeout, 90s);
  Status s = ApplyConfigJson(R"({"limits": {"lock_timeout": 30}})", &o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/limits/lock_timeout"), std::string::npos) << s;
  s = ApplyConfigJson(R"({"limits": {"lock_timeout": "30"}})", &o);
  EXPECT_NE(s.message().find("30 needs a unit, e.g. 30ms or 30s"), std::string::npos) << s;
  EXPECT_FALSE(ApplyConfigJson(R"({"limits": {"lock_timeout": "-1s"}})", &o).ok());
}

TEST(Base64Test, RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s, false), false), s);
    EXPECT_EQ(*Base64Decode(Base64Encode(s, true), true), s);
  }
  EXPECT_EQ(*Base64Decode("Zm9vYg==", false), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v!", false).has_value());
  EXPECT_FALSE(Base64Decode("Zm9v+", true).has_value());
  EXPECT_FALSE(Base64Decode("Z", false).has_value());
  EXPECT_FALSE(Base64Decode("Zg==Zg", false).has_value());
}

// An RSA key pair for signing test assertions.
class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    ASSERT_NE(key, nullptr);
    key_.reset(key);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    public_pem_.assign(data, static_cast<size_t>(len));
    BIO_free(bio);
    auto v = JwtVerifier::FromPem(public_pem_);
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_ = std::move(*v);
    policy_.client_id = "cid";
    policy_.usernames = {"user@example.com"};
    policy_.audiences = {"https://login.salesforce.com"};
  }

  std::string Sign(const std::string& header, const std::string& payload, EVP_PKEY* key = nullptr) {
    std::string signing_input = Base64Encode(header, true) + "." + Base64Encode(payload, true);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key ? key : key_.get());
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                   signing_input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                   signing_input.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return signing_input + "." + Base64Encode(sig, true);
  }

  std::string Claims(const std::string& iss, const std::string& sub, const std::string& aud,
                     int64_t exp) {
    return "{\"iss\":\"" + iss + "\",\"sub\":\"" + sub + "\",\"aud\":\"" + aud +
           "\",\"exp\":" + std::to_string(exp) + "}";
  }

  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  std::unique_ptr<EVP_PKEY, KeyFree> key_;
  std::string public_pem_;
  std::unique_ptr<JwtVerifier> verifier_;
  JwtPolicy policy_;
  const int64_t now_ = 1767225600;
  const std::string header_ = R"({"alg":"RS256"})";
};

TEST_F(JwtTest, AcceptsAWellFormedAssertion) {
  OAuthError e;
  auto sub = verifier_->Verify(
      Sign(header_, Claims("cid", "user@example.com", "https://login.salesforce.com/", now_ + 60)),
      policy_, now_, &e);
  ASSERT_TRUE(sub.ok()) << e.error << " " << e.description;
  EXPECT_EQ(*sub, "user@example.com");
  // aud as an array.
  auto arr = verifier_->Verify(
      Sign(
          header_,
          R"({"iss":"cid","sub":"user@example.com","aud":["x","https://login.salesforce.com"],"exp":)" +
              std::to_string(now_ + 60) + "}"),
      policy_, now_, &e);
  EXPECT_TRUE(arr.ok());
}

TEST_F(JwtTest, RejectsBadAssertions) {
  EVP_PKEY* other = EVP_RSA_gen(2048);
  struct Case {
    std::string assertion, error;
  } cases[] = {
      {"", "invalid_grant"},
      {"a.b", "invalid_grant"},
      {"a.b.c.d", "invalid_grant"},
      {"!!.??.**", "invalid_grant"},
      {Sign(R"({"alg":"none"})",
            Claims("cid", "user@example.com", "https://login.salesforce.com", now_ + 60)),
       "invalid_grant"},
      {Sign(R"({"alg":"HS256"})",
            Claims("cid", "user@example.com", "https://login.salesforce.com", now_ + 60)),
       "invalid_grant"},
      {Sign(header_, Claims("cid", "user@example.com", "https://login.salesforce.com", now_ + 60),
            other),
       "invalid_grant"},
      {Sign(header_,
            Claims("other", "user@example.com", "https://login.salesforce.com", now_ + 60)),
       "invalid_client_id"},
      {Sign(header_, Claims("cid", "user@example.com", "https://evil.example.com", now_ + 60)),
       "invalid_grant"},
      {Sign(header_,
            Claims("cid", "nobody@example.com", "https://login.salesforce.com", now_ + 60)),
       "invalid_grant"},
      {Sign(header_, Claims("cid", "user@example.com", "https://login.salesforce.com", now_ - 600)),
       "invalid_grant"},
      {Sign(header_,
            Claims("cid", "user@example.com", "https://login.salesforce.com", now_ + 3600)),
       "invalid_grant"},
      {Sign(header_, "not json"), "invalid_grant"},
      {Sign(header_,
            R"({"iss":"cid","sub":"user@example.com","aud":"https://login.salesforce.com"})"),
       "invalid_grant"},
      {std::string(20000, 'a'), "invalid_grant"},
  };
  for (const auto& c : cases) {
    OAuthError e;
    EXPECT_FALSE(verifier_->Verify(c.assertion, policy_, now_, &e).ok())
        << c.assertion.substr(0, 60);
    EXPECT_EQ(e.error, c.error) << e.description;
  }
  // A tampered payload fails the signature.
  std::string good =
      Sign(header_, Claims("cid", "user@example.com", "https://login.salesforce.com", now_ + 60));
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string tampered =
      good.substr(0, d1 + 1) +
      Base64Encode(Claims("cid", "user@example.com", "https://login.salesforce.com", now_ + 120),
                   true) +
      good.substr(d2);
  OAuthError e;
  EXPECT_FALSE(verifier_->Verify(tampered, policy_, now_, &e).ok());
  EVP_PKEY_free(other);
}

TEST_F(JwtTest, KeyLoading) {
  EXPECT_FALSE(JwtVerifier::FromPem("").ok());
  EXPECT_FALSE(
      JwtVerifier::FromPem("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
          .ok());
  EXPECT_FALSE(JwtVerifier::FromPemFile("/nonexistent").ok());
}

// The whole flow through the simulator with the key from a file.
TEST_F(JwtTest, SimulatorIssuesTokenForJwtBearer) {
  auto path =
      std::filesystem::temp_directory_path() / ("sfsim-jwt-" + std::to_string(getpid()) + ".pem");
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fwrite(public_pem_.data(), 1, public_pem_.size(), f);
    std::fclose(f);
  }
  sluice::testing::SimulatedClock clock(now_ * 1000);
  SimOptions o;
  o.org.jwt_public_key_file = path.string();
  o.org.client_id = "cid";
  o.org.usernames = {"user@example.com"};
  auto sim = Simulator::Create(o, clock);
  ASSERT_TRUE(sim.ok()) << sim.status();
  (*sim)->SetBaseUrl("http://127.0.0.1:9");
  // The simulator's own URL is an accepted audience.
  auto assertion =
      Sign(header_, Claims("cid", "user@example.com", "http://127.0.0.1:9", now_ + 60));
  auto req = Req(
      "POST", "/services/oauth2/token",
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion);
  auto out = (*sim)->Handle(req);
  EXPECT_EQ(out.response.status, 200) << out.response.body;
  auto bad =
      Req("POST", "/services/oauth2/token",
          "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=" +
              Sign(header_, Claims("cid", "user@example.com", "http://127.0.0.1:9", now_ - 3600)));
  auto out2 = (*sim)->Handle(bad);
  EXPECT_EQ(out2.response.status, 400);
  EXPECT_NE(out2.response.body.find("invalid_grant"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(LedgerTest, MemoryCapAndSqlite) {
  auto path =
      std::filesystem::temp_directory_path() / ("sfsim-ledger-" + std::to_string(getpid()) + ".db");
  std::filesystem::remove(path);
  LedgerOptions o;
  o.sqlite_path = path.string();
  o.max_memory_entries = 3;
  auto ledger = Ledger::Open(o);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  for (int i = 0; i < 5; ++i) {
    LedgerEntry e;
    e.sobject = "Contact";
    e.external_id = "k\"" + std::to_string(i);
    e.record_id = MakeRecordId("003", static_cast<uint64_t>(i));
    e.created = i % 2 == 0;
    (*ledger)->Append(e);
  }
  ASSERT_TRUE((*ledger)->Flush().ok());
  EXPECT_EQ((*ledger)->total(), 5u);
  EXPECT_EQ((*ledger)->first_in_memory(), 3u);
  std::vector<uint64_t> seqs;
  (*ledger)->ForEachSince(0, 100, [&](const LedgerEntry& e) { seqs.push_back(e.seq); });
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4, 5}));
  seqs.clear();
  (*ledger)->ForEachSince(4, 100, [&](const LedgerEntry& e) { seqs.push_back(e.seq); });
  EXPECT_EQ(seqs, (std::vector<uint64_t>{5}));
  LedgerEntry probe;
  probe.external_id = "a\"b";
  EXPECT_NE(probe.ToJsonLine().find("\"external_id\":\"a\\\"b\""), std::string::npos);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*), SUM(created) FROM ledger", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 5);  // SQLite keeps every entry
  EXPECT_EQ(sqlite3_column_int(st, 1), 3);
  sqlite3_finalize(st);
  sqlite3_close(db);
  ledger->reset();
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

}  // namespace
}  // namespace sluice::sfsim::testing
