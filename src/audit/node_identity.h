// The identity of the machine and program that write an audit log, recorded
// in the server_start record so that an auditor can tell which binary on
// which hardware produced the records that follow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moat::audit {

struct NodeIdentity {
  std::string host;            // gethostname()
  std::string os;              // uname: "Linux 6.1.0-18-amd64 #1 SMP ... x86_64"
  std::string cpu_model;       // the first "model name" of /proc/cpuinfo, or "unknown"
  int64_t logical_cpus = 0;    // online CPUs
  std::vector<std::string> gpus;  // "0: NVIDIA H200 (143771 MiB)", empty without GPUs
  std::string gpu_note;           // why the GPU list is empty or partial, from the inventory
  std::string moat_version;
  std::string onnxruntime_version;
  std::string openssl_version;
  std::string binary_path;    // the running executable, from /proc/self/exe
  std::string binary_sha256;  // lower-case hex of that file, or "unknown"
};

// Collects what the process can read itself: host, OS, CPU, the running
// binary and its SHA-256, the Moat and OpenSSL versions. The caller fills in
// the GPUs and the runtime versions it has. Values that cannot be read
// become "unknown" instead of an error.
NodeIdentity CollectNodeIdentity(std::string onnxruntime_version);

// Returns the value of the first "model name" line of /proc/cpuinfo text, or
// "unknown" when there is none (most ARM kernels omit it).
std::string CpuModelFromCpuinfo(std::string_view cpuinfo);

// Returns the identity as one JSON object, for a record's details.
std::string NodeIdentityJson(const NodeIdentity& node);

}  // namespace moat::audit
