#include "sluice/sfsim/record_id.h"

#include <cctype>

namespace sluice::sfsim {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kChecksumAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
// Characters 4-6 of every id this simulator makes: a pod-like "Dn" and the reserved "0".
constexpr std::string_view kPod = "Dn0";

int Base62Value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

}  // namespace

std::string IdChecksum(std::string_view id15) {
  std::string out;
  for (int chunk = 0; chunk < 3; ++chunk) {
    int flags = 0;
    for (int i = 0; i < 5; ++i) {
      size_t at = static_cast<size_t>(chunk * 5 + i);
      char c = at < id15.size() ? id15[at] : '0';
      if (c >= 'A' && c <= 'Z') flags |= 1 << i;
    }
    out.push_back(kChecksumAlphabet[static_cast<size_t>(flags)]);
  }
  return out;
}

std::string MakeRecordId(std::string_view key_prefix, uint64_t n) {
  char digits[9];
  for (int i = 8; i >= 0; --i) {
    digits[i] = kBase62[n % 62];
    n /= 62;
  }
  std::string id;
  id.reserve(18);
  id.append(key_prefix.substr(0, 3));
  while (id.size() < 3) id.push_back('0');
  id.append(kPod);
  id.append(digits, 9);
  id.append(IdChecksum(id));
  return id;
}

bool IsValidRecordId(std::string_view id) {
  if (id.size() != 15 && id.size() != 18) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  if (id.size() == 18 && IdChecksum(id.substr(0, 15)) != id.substr(15)) return false;
  return true;
}

std::optional<uint64_t> ParseRecordNumber(std::string_view id, std::string_view key_prefix) {
  if (!IsValidRecordId(id)) return std::nullopt;
  if (id.substr(0, 3) != key_prefix || id.substr(3, 3) != kPod) return std::nullopt;
  uint64_t n = 0;
  for (char c : id.substr(6, 9)) n = n * 62 + static_cast<uint64_t>(Base62Value(c));
  return n;
}

}  // namespace sluice::sfsim
