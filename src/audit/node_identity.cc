#include "audit/node_identity.h"

#include <unistd.h>

#include <array>
#include <utility>

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
  return node;
}

}  // namespace moat::audit
