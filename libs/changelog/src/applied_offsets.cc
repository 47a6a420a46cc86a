#include "sluice/changelog/applied_offsets.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::changelog {
namespace {

// The file holds a few lines per partition; anything larger is not ours.
constexpr std::streamsize kMaxFileBytes = 16 << 20;

std::string Errno(const std::string& what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

}  // namespace

AppliedOffsets AppliedOffsets::Load(const std::string& path, std::string* damaged) {
  AppliedOffsets out;
  out.path_ = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;  // missing: start from the beginning
  std::string text(static_cast<size_t>(kMaxFileBytes) + 1, '\0');
  in.read(text.data(), kMaxFileBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  auto fail = [&](const std::string& why) {
    if (damaged != nullptr) *damaged = fmt::format("{}: {}", path, why);
    out.next_.clear();
    return out;
  };
  if (text.size() > static_cast<size_t>(kMaxFileBytes)) return fail("larger than 16 MiB");
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return fail("not a JSON object");
  const auto version = doc.FindMember("version");
  if (version == doc.MemberEnd() || !version->value.IsInt() || version->value.GetInt() != 1) {
    return fail("not version 1");
  }
  const auto parts = doc.FindMember("partitions");
  if (parts == doc.MemberEnd() || !parts->value.IsArray()) return fail("no partitions array");
  for (const auto& p : parts->value.GetArray()) {
    if (!p.IsObject() || !p.HasMember("topic") || !p["topic"].IsString() ||
        !p.HasMember("partition") || !p["partition"].IsInt() || p["partition"].GetInt() < 0 ||
        !p.HasMember("next") || !p["next"].IsInt64() || p["next"].GetInt64() < 0) {
      return fail("a partition entry without topic, partition and next");
    }
    out.next_[{p["topic"].GetString(), p["partition"].GetInt()}] = p["next"].GetInt64();
  }
  return out;
}

int64_t AppliedOffsets::Next(const kafka::TopicPartition& tp) const {
  auto it = next_.find(tp);
  return it == next_.end() ? 0 : it->second;
}

void AppliedOffsets::Advance(const kafka::TopicPartition& tp, int64_t next) {
  int64_t& cur = next_[tp];
  cur = std::max(cur, next);
}

void AppliedOffsets::Clear() { next_.clear(); }

Status AppliedOffsets::Save() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("partitions");
  w.StartArray();
  for (const auto& [tp, next] : next_) {
    w.StartObject();
    w.Key("topic");
    w.String(tp.topic.c_str(), static_cast<rapidjson::SizeType>(tp.topic.size()));
    w.Key("partition");
    w.Int(tp.partition);
    w.Key("next");
    w.Int64(next);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return InternalError(Errno("create", tmp));
  const char* p = buf.GetString();
  size_t left = buf.GetSize();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string e = Errno("write", tmp);
      ::close(fd);
      return InternalError(e);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string e = Errno("fsync", tmp);
    ::close(fd);
    return InternalError(e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return InternalError(Errno("rename", path_));
  return Status::Ok();
}

Status AppliedOffsets::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return InternalError(Errno("remove", path));
  return Status::Ok();
}

}  // namespace sluice::changelog
