// The structs behind the C API's opaque handles. Internal to src/capi.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/request_id.h"
#include "core/inference.h"
#include "repository/model_service.h"

struct moat_error {
  int code = 0;  // a moat::StatusCode value
  std::string message;
};

struct moat_options {
  std::string repository_dir;
  std::string trust_dir;
  std::string audit_dir;
  std::string audit_key_file;  // empty: beside the audit folder
  std::string node_key_file;   // empty: beside the audit folder
  bool audit_sync = true;
  std::optional<int> intra_op_threads;  // empty: keep the process's setting
};

struct moat_runtime {
  std::unique_ptr<moat::repository::ModelService> service;
  // Request ids for requests without one: "<16 hex digits>-<counter>", the
  // prefix drawn at random when the runtime opens.
  moat::RequestIdGenerator request_ids;
};

// Inputs hold no owner: their data spans point at the caller's memory.
struct moat_request {
  moat::InferenceRequest request;
};

struct moat_response {
  std::string request_id;
  moat::InferenceResponse response;
  std::vector<std::string> datatypes;  // NUL-terminated names, one per output
};
