// One log line per finished RPC, with its request id, peer and outcome.
#pragma once

#include <grpcpp/server_context.h>

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace moat::grpc_server {

// Created when a call starts; Finish logs the call and converts its status.
// Successes log at info, client errors at warning, server errors at error.
class CallLog {
 public:
  CallLog(std::string_view method, std::string request_id, std::string peer);

  const std::string& request_id() const { return request_id_; }
  const std::string& peer() const { return peer_; }
  void set_request_id(std::string request_id) { request_id_ = std::move(request_id); }
  void set_model(std::string_view model) { model_ = std::string(model); }

  // Logs the call with `status` and returns it as a gRPC status.
  ::grpc::Status Finish(const Status& status) const;

 private:
  std::string_view method_;
  std::string request_id_;
  std::string peer_;
  std::string model_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace moat::grpc_server
