#include "audit/node_identity.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <filesystem>
#include <utility>
#include <vector>

#include "audit/record.h"
#include "common/crypto.h"
#include "common/file.h"
#include "common/text.h"

namespace moat::audit {

namespace {

constexpr std::string_view kUnknown = "unknown";

std::string HostName() {
  // 256 bytes covers HOST_NAME_MAX (64 on Linux) with room to spare.
  std::array<char, 256> buffer{};
  if (::gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') {
    return std::string(kUnknown);
  }
  return std::string(buffer.data());
}

std::string OperatingSystem() {
  struct utsname name {};
  if (::uname(&name) != 0) return std::string(kUnknown);
  return std::string(name.sysname) + " " + name.release + " " + name.version + " " + name.machine;
}

// Hashes the file in 1 MiB reads, so that a large binary is never held in memory.
std::string FileSha256(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string(kUnknown);
  Sha256 hash;
  std::vector<char> buffer(size_t{1} << 20);
  bool ok = true;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    hash.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  if (!ok) return std::string(kUnknown);
  Sha256Digest digest = hash.Finish();
  return HexEncode(digest);
}

}  // namespace

std::string CpuModelFromCpuinfo(std::string_view cpuinfo) {
  while (!cpuinfo.empty()) {
    size_t end = cpuinfo.find('\n');
    std::string_view line = cpuinfo.substr(0, end);
    cpuinfo.remove_prefix(end == std::string_view::npos ? cpuinfo.size() : end + 1);

    size_t colon = line.find(':');
    if (colon == std::string_view::npos || TrimWhitespace(line.substr(0, colon)) != "model name") continue;
    std::string_view value = TrimWhitespace(line.substr(colon + 1));
    if (!value.empty()) return std::string(value);
  }
  return std::string(kUnknown);
}

NodeIdentity CollectNodeIdentity(std::string onnxruntime_version) {
  NodeIdentity node;
  node.host = HostName();
  node.onnxruntime_version = std::move(onnxruntime_version);
  // /proc/cpuinfo is a few kilobytes per core; 4 MiB bounds it on any machine.
  StatusOr<std::string> cpuinfo = ReadFile("/proc/cpuinfo", size_t{4} << 20);
  node.cpu_model = cpuinfo.ok() ? CpuModelFromCpuinfo(*cpuinfo) : std::string(kUnknown);
  node.os = OperatingSystem();
  node.logical_cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  node.moat_version = MOAT_VERSION_STRING;
  node.openssl_version = OpenSSL_version(OPENSSL_VERSION);
  std::error_code error;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  node.binary_path = error ? std::string(kUnknown) : exe.string();
  // /proc/self/exe opens the running image even when the path was replaced since.
  node.binary_sha256 = FileSha256("/proc/self/exe");
  return node;
}

std::string NodeIdentityJson(const NodeIdentity& node) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto field = [&writer](const char* key, std::string_view value) {
    writer.Key(key);
    std::string valid = ToValidUtf8(value);
    writer.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  };
  writer.StartObject();
  field("host", node.host);
  field("os", node.os);
  field("cpu_model", node.cpu_model);
  writer.Key("logical_cpus");
  writer.Int64(node.logical_cpus);
  writer.Key("gpus");
  writer.StartArray();
  for (const std::string& gpu : node.gpus) {
    std::string valid = ToValidUtf8(gpu);
    writer.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  }
  writer.EndArray();
  field("gpu_note", node.gpu_note);
  field("moat_version", node.moat_version);
  field("onnxruntime_version", node.onnxruntime_version);
  field("openssl_version", node.openssl_version);
  field("binary_path", node.binary_path);
  field("binary_sha256", node.binary_sha256);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace moat::audit
