// The identity of the machine that writes an audit log, stored in every record.
#pragma once

#include <string>
#include <string_view>

namespace moat::audit {

struct NodeIdentity {
  std::string host;                 // gethostname()
  std::string onnxruntime_version;  // as ONNX Runtime reports it, e.g. "1.29.0"
  std::string cpu_model;            // the first "model name" of /proc/cpuinfo
};

// Collects the host name and CPU model of this machine. A value that cannot
// be read becomes "unknown" instead of an error.
NodeIdentity CollectNodeIdentity(std::string onnxruntime_version);

// Returns the value of the first "model name" line of /proc/cpuinfo text, or
// "unknown" when there is none (most ARM kernels omit it).
std::string CpuModelFromCpuinfo(std::string_view cpuinfo);

}  // namespace moat::audit
