// Test helpers for the gRPC front end: a stub over a real channel to
// 127.0.0.1, request builders, and a health check through grpc++'s generic
// stub. The health messages are encoded by hand, because the tests have no
// generated code for grpc.health.v1.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inference.grpc.pb.h"

namespace moat::grpc_server::testing {

// The "ipv4:" scheme makes the channel use the address as is, with no name
// resolution.
inline std::shared_ptr<::grpc::Channel> MakeChannel(uint16_t port) {
  return ::grpc::CreateChannel("ipv4:127.0.0.1:" + std::to_string(port),
                               ::grpc::InsecureChannelCredentials());
}

inline std::unique_ptr<inference::GRPCInferenceService::Stub> MakeStub(uint16_t port) {
  return inference::GRPCInferenceService::NewStub(MakeChannel(port));
}

// Adds an input without data to `request`.
inline inference::ModelInferRequest::InferInputTensor* AddInput(inference::ModelInferRequest& request,
                                                                const std::string& name,
                                                                const std::string& datatype,
                                                                std::vector<int64_t> shape) {
  auto* input = request.add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  return input;
}

// Returns a request for `model` with one raw input INPUT0.
inline inference::ModelInferRequest RawRequest(const std::string& model, const std::string& datatype,
                                               std::vector<int64_t> shape, const std::string& bytes) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  AddInput(request, "INPUT0", datatype, std::move(shape));
  request.add_raw_input_contents(bytes);
  return request;
}

// Returns the status of one ModelInfer call and fills `response`.
inline ::grpc::Status Infer(inference::GRPCInferenceService::Stub& stub,
                            const inference::ModelInferRequest& request,
                            inference::ModelInferResponse* response) {
  ::grpc::ClientContext context;
  return stub.ModelInfer(&context, request, response);
}

inline ::grpc::Status Infer(inference::GRPCInferenceService::Stub& stub,
                            const inference::ModelInferRequest& request) {
  inference::ModelInferResponse response;
  return Infer(stub, request, &response);
}

// Returns the serving status that grpc.health.v1.Health/Check reports for
// `service` (1 SERVING, 2 NOT_SERVING), or nullopt with the call's status
// code in `code` when the call fails.
inline std::optional<int> HealthStatus(uint16_t port, const std::string& service,
                                       ::grpc::StatusCode* code = nullptr) {
  // HealthCheckRequest { string service = 1; }
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back(0x0a);
    request_bytes.push_back(static_cast<char>(service.size()));
    request_bytes += service;
  }
  ::grpc::Slice slice(request_bytes);
  ::grpc::ByteBuffer request(&slice, 1);

  ::grpc::GenericStub stub(MakeChannel(port));
  ::grpc::CompletionQueue queue;
  ::grpc::ClientContext context;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request, &queue);
  call->StartCall();
  ::grpc::ByteBuffer response;
  ::grpc::Status status;
  int tag = 1;
  call->Finish(&response, &status, &tag);
  void* got_tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&got_tag, &ok));
  queue.Shutdown();
  while (queue.Next(&got_tag, &ok)) {
  }
  if (code != nullptr) *code = status.error_code();
  if (!status.ok()) return std::nullopt;

  // HealthCheckResponse { ServingStatus status = 1; }: 0x08 then the value,
  // or nothing at all for the default value 0 (UNKNOWN).
  std::vector<::grpc::Slice> slices;
  EXPECT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& part : slices) bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
  if (bytes.empty()) return 0;
  EXPECT_EQ(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], 0x08);
  return bytes.size() == 2 ? std::optional<int>(bytes[1]) : std::nullopt;
}

}  // namespace moat::grpc_server::testing
