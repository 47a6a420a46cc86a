// The Bulk API 2.0 ingest client: one authorized call per job step (authorized_call.h).
#include "sluice/salesforce/bulk.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <cctype>
#include <future>
#include <utility>

#include "authorized_call.h"
#include "json_util.h"

namespace sluice::salesforce {
namespace {

using http::HttpResponse;
using internal::Call;

SfError Malformed(int status, std::string message) {
  SfError e;
  e.error_class = ErrorClass::kRetryableOrg;
  e.code = "MALFORMED_RESPONSE";
  e.message = std::move(message);
  e.http_status = status;
  return e;
}

std::string Member(const rapidjson::Value& o, const char* name) {
  auto it = o.FindMember(name);
  return it != o.MemberEnd() && it->value.IsString()
             ? std::string(it->value.GetString(), it->value.GetStringLength())
             : std::string();
}

int64_t Count(const rapidjson::Value& o, const char* name) {
  auto it = o.FindMember(name);
  return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
}

template <typename Start>
BulkAnswer Wait(Start start) {
  auto promise = std::make_shared<std::promise<BulkAnswer>>();
  auto future = promise->get_future();
  start([promise](BulkAnswer a) { promise->set_value(std::move(a)); });
  return future.get();
}

}  // namespace

// Stateless apart from its immutable options. Thread-safety: as BulkClient.
class BulkClient::Impl {
 public:
  Impl(BulkClientOptions options, http::HttpTransport& transport, TokenProvider& tokens,
       SalesforceStats* stats)
      : options_(std::move(options)),
        base_("/services/data/v" + options_.api_version + "/jobs/ingest"),
        caller_(transport, tokens, stats, options_.request_timeout) {}

  // Sends one step; `parse` reads a 2xx body into the answer (a problem is a MALFORMED_RESPONSE).
  void Step(std::string method, std::string path, std::string body, std::string content_type,
            std::function<std::optional<std::string>(const HttpResponse&, BulkAnswer*)> parse,
            Callback done) {
    auto call = std::make_shared<Call>();
    call->method = std::move(method);
    call->path = std::move(path);
    call->body = std::move(body);
    call->content_type = std::move(content_type);
    call->accept = "application/json, text/csv";
    call->finish = [this, parse = std::move(parse), done = std::move(done)](
                       Result<HttpResponse> response, std::optional<SfError> token_error, int) {
      BulkAnswer a;
      if (token_error) {
        a.error = *token_error;
      } else if (!response.ok()) {
        a.error = classifier_.ClassifyTransport(response.status());
      } else {
        a.http_status = response->status;
        if (response->status < 200 || response->status > 299) {
          a.error = classifier_.ClassifyResponse(response->status, response->body);
        } else if (response->body.size() > options_.max_response_bytes) {
          a.error = Malformed(response->status, "answer over max_response_bytes");
        } else if (auto problem = parse(*response, &a)) {
          a.error = Malformed(response->status, *problem);
        }
      }
      done(std::move(a));
    };
    caller_.Execute(std::move(call));
  }

  // A job description answer (create, close, abort, info).
  static std::optional<std::string> ParseJob(const HttpResponse& r, BulkAnswer* a) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(r.body.data(), r.body.size());
    if (doc.HasParseError() || !doc.IsObject()) return "job answer is not a JSON object";
    a->job.id = Member(doc, "id");
    a->job.state = Member(doc, "state");
    a->job.object = Member(doc, "object");
    a->job.operation = Member(doc, "operation");
    a->job.records_processed = Count(doc, "numberRecordsProcessed");
    a->job.records_failed = Count(doc, "numberRecordsFailed");
    a->job.error_message = Member(doc, "errorMessage");
    if (a->job.id.empty() || a->job.state.empty()) return "job answer without id or state";
    return std::nullopt;
  }

  std::string JobPath(const std::string& id) const { return base_ + "/" + id; }

  const BulkClientOptions options_;
  const Classifier classifier_;
  const std::string base_;
  internal::AuthorizedCaller caller_;
};

BulkClient::BulkClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BulkClient::~BulkClient() = default;

Result<std::unique_ptr<BulkClient>> BulkClient::Create(BulkClientOptions options,
                                                       http::HttpTransport& transport,
                                                       TokenProvider& tokens,
                                                       SalesforceStats* stats) {
  if (options.max_upload_bytes <= 0) {
    return InvalidArgumentError("bulk max_upload_bytes must be > 0");
  }
  return std::unique_ptr<BulkClient>(
      new BulkClient(std::make_unique<Impl>(std::move(options), transport, tokens, stats)));
}

namespace {

// A refusal before anything is sent: the caller's bug, not Salesforce's answer.
BulkAnswer Refused(std::string message) {
  BulkAnswer a;
  SfError e;
  e.error_class = ErrorClass::kPermanent;
  e.code = "INVALID_REQUEST";
  e.message = std::move(message);
  a.error = e;
  return a;
}

// Job ids are Salesforce ids: 15 or 18 letters and digits.
bool ValidJobId(const std::string& id) {
  if (id.size() != 15 && id.size() != 18) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

void BulkClient::CreateJob(const BulkJobSpec& spec, Callback done) {
  if (!internal::IsApiName(spec.object) ||
      (spec.operation != "insert" && spec.operation != "upsert" && spec.operation != "update") ||
      (spec.operation == "upsert" && !internal::IsApiName(spec.external_id_field))) {
    done(
        Refused("a bulk job needs an sObject, insert|upsert|update, and for upserts an "
                "external id field"));
    return;
  }
  std::string body =
      fmt::format(R"({{"object":"{}","operation":"{}",)", spec.object, spec.operation);
  if (spec.operation == "upsert") {
    body += fmt::format(R"("externalIdFieldName":"{}",)", spec.external_id_field);
  }
  body += R"("contentType":"CSV","lineEnding":"LF"})";
  impl_->Step("POST", impl_->base_, std::move(body), "application/json", Impl::ParseJob,
              std::move(done));
}

void BulkClient::Upload(const std::string& job_id, std::string csv, Callback done) {
  if (!ValidJobId(job_id)) return done(Refused("not a job id"));
  if (csv.empty() || static_cast<int64_t>(csv.size()) > impl_->options_.max_upload_bytes) {
    return done(Refused(
        fmt::format("an upload must hold 1 to {} bytes", impl_->options_.max_upload_bytes)));
  }
  impl_->Step(
      "PUT", impl_->JobPath(job_id) + "/batches", std::move(csv), "text/csv",
      [](const HttpResponse&, BulkAnswer*) { return std::optional<std::string>(); },
      std::move(done));
}

void BulkClient::Close(const std::string& job_id, Callback done) {
  if (!ValidJobId(job_id)) return done(Refused("not a job id"));
  impl_->Step("PATCH", impl_->JobPath(job_id), R"({"state":"UploadComplete"})", "application/json",
              Impl::ParseJob, std::move(done));
}

void BulkClient::Abort(const std::string& job_id, Callback done) {
  if (!ValidJobId(job_id)) return done(Refused("not a job id"));
  impl_->Step("PATCH", impl_->JobPath(job_id), R"({"state":"Aborted"})", "application/json",
              Impl::ParseJob, std::move(done));
}

void BulkClient::GetJob(const std::string& job_id, Callback done) {
  if (!ValidJobId(job_id)) return done(Refused("not a job id"));
  impl_->Step("GET", impl_->JobPath(job_id), "", "", Impl::ParseJob, std::move(done));
}

void BulkClient::GetResults(const std::string& job_id, Results which, Callback done) {
  if (!ValidJobId(job_id)) return done(Refused("not a job id"));
  const char* kind = which == Results::kSuccessful ? "successfulResults"
                     : which == Results::kFailed   ? "failedResults"
                                                   : "unprocessedrecords";
  impl_->Step(
      "GET", impl_->JobPath(job_id) + "/" + kind, "", "",
      [](const HttpResponse& r, BulkAnswer* a) -> std::optional<std::string> {
        auto rows = ParseBulkResults(r.body);
        if (!rows.ok()) return rows.status().message();
        a->rows = std::move(rows).value();
        return std::nullopt;
      },
      std::move(done));
}

BulkAnswer BulkClient::CreateJobSync(const BulkJobSpec& spec) {
  return Wait([&](Callback cb) { CreateJob(spec, std::move(cb)); });
}
BulkAnswer BulkClient::UploadSync(const std::string& job_id, std::string csv) {
  return Wait([&](Callback cb) { Upload(job_id, std::move(csv), std::move(cb)); });
}
BulkAnswer BulkClient::CloseSync(const std::string& job_id) {
  return Wait([&](Callback cb) { Close(job_id, std::move(cb)); });
}
BulkAnswer BulkClient::AbortSync(const std::string& job_id) {
  return Wait([&](Callback cb) { Abort(job_id, std::move(cb)); });
}
BulkAnswer BulkClient::GetJobSync(const std::string& job_id) {
  return Wait([&](Callback cb) { GetJob(job_id, std::move(cb)); });
}
BulkAnswer BulkClient::GetResultsSync(const std::string& job_id, Results which) {
  return Wait([&](Callback cb) { GetResults(job_id, which, std::move(cb)); });
}

}  // namespace sluice::salesforce
