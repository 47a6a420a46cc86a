#include "sluice/http/client.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace sluice::http {
namespace {

struct CurlMultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct CurlEasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using MultiPtr = std::unique_ptr<CURLM, CurlMultiDeleter>;
using EasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ValidToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == '"' || c == ',' ||
        c == '/' || c == ';' || c == '<' || c == '>' || c == '=' || c == '?' || c == '@' ||
        c == '[' || c == ']' || c == '\\' || c == '{' || c == '}') {
      return false;
    }
  }
  return true;
}

bool ValidHeaderValue(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == 0; });
}

// Maps a finished transfer's curl code to a Status; `detail` is curl's error buffer.
Status TransportStatus(CURLcode code, const char* detail, bool body_too_large,
                       bool headers_too_large) {
  std::string message = curl_easy_strerror(code);
  if (detail != nullptr && detail[0] != '\0') message += std::string(": ") + detail;
  if (body_too_large) return ResourceExhaustedError("response body too large: " + message);
  if (headers_too_large) return ResourceExhaustedError("response headers too large: " + message);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError(message);
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return InvalidArgumentError(message);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return FailedPreconditionError(message);
    case CURLE_OUT_OF_MEMORY:
      return ResourceExhaustedError(message);
    default:
      // (The scheme is checked before sending, so UNSUPPORTED_PROTOCOL here means an HTTP/0.9 or
      // otherwise unrecognisable reply.)
      // Refused, reset, DNS, TLS handshake, partial or malformed replies, nothing received:
      // all a matter of the peer or the network, worth trying again later.
      return UnavailableError(message);
  }
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

void HttpHeaders::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::Set(std::string name, std::string value) {
  Remove(name);
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return EqualsIgnoreCase(f.first, name); });
}

std::optional<std::string_view> HttpHeaders::Get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

Result<HttpResponse> HttpTransport::SendSync(HttpRequest request) {
  // A shared promise: the callback may run after this frame is gone only if the transport
  // breaks its contract, but keep it safe anyway.
  auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
  auto future = promise->get_future();
  Send(std::move(request),
       [promise](Result<HttpResponse> result) { promise->set_value(std::move(result)); });
  return future.get();
}

std::string EscapeUrlComponent(std::string_view s) {
  if (s.empty()) return {};
  char* escaped = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  if (escaped == nullptr) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

std::string FormEncode(
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += EscapeUrlComponent(name);
    out += '=';
    out += EscapeUrlComponent(value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HttpClient::Impl

// The state behind HttpClient: a queue of new requests (under mu_) handed to the I/O thread,
// which alone owns the CURLM handle's transfers, the easy-handle pool and every callback.
// Thread-safety: as HttpClient.
class HttpClient::Impl {
 public:
  explicit Impl(HttpClientOptions options) : options_(std::move(options)) {}
  ~Impl() { Shutdown(); }

  Status Start();
  void Send(HttpRequest request, HttpCallback done);
  void Shutdown();
  const HttpClientStats& stats() const { return stats_; }

 private:
  // One request on its way. Owned by the I/O thread once queued.
  struct Transfer {
    HttpRequest request;
    HttpCallback done;
    EasyPtr easy;
    SlistPtr header_list;
    HttpResponse response;
    size_t header_bytes = 0;
    bool body_too_large = false;
    bool headers_too_large = false;
    char error[CURL_ERROR_SIZE] = {};
    const HttpClientOptions* options = nullptr;
  };

  static size_t OnBody(char* data, size_t size, size_t count, void* user);
  static size_t OnHeader(char* data, size_t size, size_t count, void* user);
  static curl_socket_t OnSocketOpen(void* user, curlsocktype purpose,
                                    struct curl_sockaddr* address);

  void Run();
  Status Prepare(Transfer& t);
  void StartQueued();
  void Complete(CURL* easy, CURLcode code);
  void FailAll(const Status& status);
  static void Deliver(std::unique_ptr<Transfer> t, Result<HttpResponse> result);

  const HttpClientOptions options_;
  HttpClientStats stats_;
  MultiPtr multi_;
  std::thread thread_;

  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queue_;  // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
  bool joined_ = false;                          // guarded by mu_

  // I/O thread only.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<EasyPtr> idle_easies_;
};

Status HttpClient::Impl::Start() {
  static std::once_flag global_init;
  static CURLcode global_code = CURLE_OK;
  std::call_once(global_init, [] { global_code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_code != CURLE_OK) {
    return InternalError(std::string("curl_global_init: ") + curl_easy_strerror(global_code));
  }
  if (options_.max_host_connections < 1) {
    return InvalidArgumentError("max_host_connections must be at least 1");
  }
  multi_.reset(curl_multi_init());
  if (!multi_) return InternalError("curl_multi_init failed");
  long idle = options_.max_idle_connections > 0 ? options_.max_idle_connections
                                                : 4L * options_.max_host_connections;
  curl_multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.max_host_connections));
  curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, idle);
  curl_multi_setopt(multi_.get(), CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_NOTHING));
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void HttpClient::Impl::Send(HttpRequest request, HttpCallback done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  t->options = &options_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stats_.requests.fetch_add(1, std::memory_order_relaxed);
      stats_.in_flight.fetch_add(1, std::memory_order_relaxed);
      queue_.push_back(std::move(t));
    }
  }
  if (t) {  // rejected: the client is shut down
    stats_.transport_errors.fetch_add(1, std::memory_order_relaxed);
    HttpCallback cb = std::move(t->done);
    t.reset();
    cb(UnavailableError("http client is shut down"));
    return;
  }
  curl_multi_wakeup(multi_.get());
}

void HttpClient::Impl::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (joined_) return;
    joined_ = true;
  }
  if (multi_) curl_multi_wakeup(multi_.get());
  if (thread_.joinable()) thread_.join();
}

size_t HttpClient::Impl::OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->response.body.size() + n > t->options->max_response_bytes) {
    t->body_too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t HttpClient::Impl::OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > t->options->max_response_header_bytes) {
    t->headers_too_large = true;
    return 0;
  }
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 1xx interim response): start the header set afresh.
    t->response.headers = HttpHeaders();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;  // blank line or junk: ignore
  t->response.headers.Add(std::string(Trim(line.substr(0, colon))),
                          std::string(Trim(line.substr(colon + 1))));
  return n;
}

curl_socket_t HttpClient::Impl::OnSocketOpen(void* user, curlsocktype purpose,
                                             struct curl_sockaddr* address) {
  auto* stats = static_cast<HttpClientStats*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  curl_socket_t fd = socket(address->family, address->socktype, address->protocol);
  if (fd != CURL_SOCKET_BAD) stats->connections_opened.fetch_add(1, std::memory_order_relaxed);
  return fd;
}

Status HttpClient::Impl::Prepare(Transfer& t) {
  const HttpRequest& r = t.request;
  if (!ValidToken(r.method)) return InvalidArgumentError("invalid HTTP method '" + r.method + "'");
  if (!r.url.starts_with("http://") && !r.url.starts_with("https://")) {
    return InvalidArgumentError("URL must be http:// or https://: '" + r.url + "'");
  }
  if (!idle_easies_.empty()) {
    t.easy = std::move(idle_easies_.back());
    idle_easies_.pop_back();
    curl_easy_reset(t.easy.get());
  } else {
    t.easy.reset(curl_easy_init());
    if (!t.easy) return ResourceExhaustedError("curl_easy_init failed");
  }
  CURL* e = t.easy.get();
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  auto timeout = r.timeout.count() > 0 ? r.timeout : options_.request_timeout;
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::OnSocketOpen);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &stats_);

  if (r.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (r.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    // The body is sent from the request's own string, without a copy.
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }

  curl_slist* list = nullptr;
  auto append = [&list](const std::string& line) -> bool {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  };
  bool ok = true;
  bool has_content_type = false;
  for (const auto& [name, value] : r.headers) {
    if (!ValidToken(name) || !ValidHeaderValue(value)) {
      if (list != nullptr) curl_slist_free_all(list);
      return InvalidArgumentError("invalid header field '" + name + "'");
    }
    if (EqualsIgnoreCase(name, "Content-Type")) has_content_type = true;
    // "Name;" is curl's way to send a header with an empty value.
    ok = ok && append(value.empty() ? name + ";" : name + ": " + value);
  }
  // Without an explicit Content-Type, curl would label POST bodies as form data.
  if (!has_content_type && r.method != "GET" && r.method != "HEAD")
    ok = ok && append("Content-Type:");
  ok = ok && append("Expect:");
  if (!r.headers.Has("User-Agent")) ok = ok && append("User-Agent: " + options_.user_agent);
  t.header_list.reset(list);
  if (!ok) return ResourceExhaustedError("out of memory building headers");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list.get());
  return Status::Ok();
}

void HttpClient::Impl::StartQueued() {
  std::deque<std::unique_ptr<Transfer>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
  }
  for (auto& t : batch) {
    Status s = Prepare(*t);
    if (s.ok()) {
      CURLMcode mc = curl_multi_add_handle(multi_.get(), t->easy.get());
      if (mc != CURLM_OK)
        s = InternalError(std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc));
    }
    if (!s.ok()) {
      if (t->easy) idle_easies_.push_back(std::move(t->easy));
      stats_.transport_errors.fetch_add(1, std::memory_order_relaxed);
      stats_.in_flight.fetch_sub(1, std::memory_order_relaxed);
      Deliver(std::move(t), s);
      continue;
    }
    CURL* key = t->easy.get();
    active_.emplace(key, std::move(t));
  }
}

void HttpClient::Impl::Deliver(std::unique_ptr<Transfer> t, Result<HttpResponse> result) {
  HttpCallback done = std::move(t->done);
  t.reset();  // free the request before the callback, which may send again
  try {
    done(std::move(result));
  } catch (...) {
    // A throwing callback must not take the I/O thread down; the contract says it must not.
  }
}

void HttpClient::Impl::Complete(CURL* easy, CURLcode code) {
  auto it = active_.find(easy);
  if (it == active_.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  active_.erase(it);
  curl_multi_remove_handle(multi_.get(), easy);
  stats_.in_flight.fetch_sub(1, std::memory_order_relaxed);
  Result<HttpResponse> result = UnavailableError("unset");
  if (code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    t->response.status = static_cast<int>(status);
    result = std::move(t->response);
    stats_.responses.fetch_add(1, std::memory_order_relaxed);
  } else {
    result = TransportStatus(code, t->error, t->body_too_large, t->headers_too_large);
    stats_.transport_errors.fetch_add(1, std::memory_order_relaxed);
  }
  // Keep the handle: curl_easy_reset keeps its connection-independent caches (DNS, TLS session).
  idle_easies_.push_back(std::move(t->easy));
  t->header_list.reset();
  Deliver(std::move(t), std::move(result));
}

void HttpClient::Impl::FailAll(const Status& status) {
  std::vector<std::unique_ptr<Transfer>> all;
  for (auto& [easy, t] : active_) {
    curl_multi_remove_handle(multi_.get(), easy);
    all.push_back(std::move(t));
  }
  active_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : queue_) all.push_back(std::move(t));
    queue_.clear();
  }
  for (auto& t : all) {
    stats_.in_flight.fetch_sub(1, std::memory_order_relaxed);
    stats_.transport_errors.fetch_add(1, std::memory_order_relaxed);
    t->easy.reset();
    Deliver(std::move(t), status);
  }
}

void HttpClient::Impl::Run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    StartQueued();
    int running = 0;
    curl_multi_perform(multi_.get(), &running);
    int pending = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &pending)) {
      if (msg->msg == CURLMSG_DONE) Complete(msg->easy_handle, msg->data.result);
    }
    // Callbacks may have queued new requests: start them before sleeping.
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      if (!queue_.empty()) continue;
    }
    curl_multi_poll(multi_.get(), nullptr, 0, 1000, nullptr);
  }
  FailAll(UnavailableError("http client shut down; request cancelled"));
  idle_easies_.clear();
}

// ---------------------------------------------------------------------------------------------
// HttpClient

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

void HttpClient::Send(HttpRequest request, HttpCallback done) {
  impl_->Send(std::move(request), std::move(done));
}

void HttpClient::Shutdown() { impl_->Shutdown(); }

const HttpClientStats& HttpClient::stats() const { return impl_->stats(); }

}  // namespace sluice::http
