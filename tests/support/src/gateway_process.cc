#include "sluice/testing/gateway_process.h"

#include <openssl/sha.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sluice::testing {
namespace {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

std::string GatewayTestEventId(uint32_t run, uint64_t n) {
  char id[64];
  std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012llu", run,
                static_cast<unsigned long long>(n % 1000000000000ULL));
  return id;
}

std::string GatewayTestEvent(uint32_t run, uint64_t n, int keys, const std::string& sobject) {
  return "{\"event_id\":\"" + GatewayTestEventId(run, n) +
         "\",\"operation\":\"upsert\",\"sobject\":\"" + sobject +
         "\",\"external_id_field\":\"Sluice_Key__c\",\"external_id\":\"K-" +
         std::to_string(n % static_cast<uint64_t>(keys)) + "\",\"fields\":{\"LastName\":\"L" +
         std::to_string(n) + "\"},\"occurred_at\":\"2026-11-21T05:52:18.123Z\"}";
}

Result<std::unique_ptr<GatewayProcess>> GatewayProcess::Start(
    const GatewayProcessOptions& options) {
  static int counter = 0;
  const std::string dir =
      (std::filesystem::temp_directory_path() /
       ("sluice-gateway-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
          .string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream tokens(dir + "/tokens.yaml");
    tokens << "tokens:\n"
           << "  - name: any\n    sha256: " << Sha256Hex(kGatewayToken) << "\n"
           << "    sobjects: ['*']\n"
           << "  - name: contact\n    sha256: " << Sha256Hex(kGatewayContactToken) << "\n"
           << "    sobjects: [Contact]\n"
           << options.extra_tokens_yaml;
    std::ofstream config(dir + "/gateway.yaml");
    config << "http: {listen: '127.0.0.1:0'";
    if (!options.tls_cert_file.empty()) {
      config << ", tls_cert_file: '" << options.tls_cert_file << "', tls_key_file: '"
             << options.tls_key_file << "'";
    }
    if (!options.tls_client_certs.empty()) {
      config << ", tls_client_certs: " << options.tls_client_certs;
    }
    if (!options.tls_client_ca_file.empty()) {
      config << ", tls_client_ca_file: '" << options.tls_client_ca_file << "'";
    }
    config << "}\n"
           << "kafka: {bootstrap: '" << options.bootstrap << "'}\n"
           << "auth: {tokens_file: tokens.yaml}\n";
    if (!options.topics.empty()) {
      config << "routing:\n  topics:\n";
      for (const auto& [object, topic] : options.topics) {
        config << "    " << object << ": '" << topic << "'\n";
      }
    }
    config << options.extra_yaml;
  }
  ChildOptions child_options;
  child_options.env = options.env;
  child_options.stderr_path = options.stderr_path;
  ASSIGN_OR_RETURN(auto child, ChildProcess::Start(
                                   {BinPath("sluice-gateway"), "--config", dir + "/gateway.yaml"},
                                   child_options));
  ASSIGN_OR_RETURN(std::string line,
                   child->WaitForLine("listening on", std::chrono::milliseconds(20000)));
  const size_t colon = line.rfind(':');
  const int port = colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return InternalError("no port in: " + line);
  return std::unique_ptr<GatewayProcess>(
      new GatewayProcess(std::move(child), static_cast<uint16_t>(port), dir));
}

GatewayProcess::~GatewayProcess() {
  if (child_ && child_->running()) child_->Stop(std::chrono::milliseconds(15000));
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::optional<int64_t> GatewayProcess::RssKib() const {
  std::ifstream in("/proc/" + std::to_string(child_->pid()) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return std::nullopt;
}

}  // namespace sluice::testing
