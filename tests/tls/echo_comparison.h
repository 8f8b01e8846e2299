// Test helper for the TLS front-end tests: a request for FakeService's
// "echo" model, and a comparison of the results of two transports.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "client/client_types.h"
#include "common/status.h"
#include "core/inference.h"
#include "testing/tensor_bytes.h"

namespace moat::testing {

inline InferenceRequest EchoRequest() {
  InferenceRequest request;
  request.model_name = "echo";
  request.id = "tls-echo";
  request.inputs.push_back(
      MakeOwnedTensor("INPUT0", DataType::kFp32, {3}, RawBytes<float>({1.5f, -2.0f, 3.25f})));
  return request;
}

// Checks that both results succeeded with the same id and the same single
// output tensor.
inline void ExpectSameEchoResult(const StatusOr<client::InferResult>& over_tls,
                                 const StatusOr<client::InferResult>& over_plain) {
  ASSERT_TRUE(over_tls.ok()) << over_tls.status().ToString();
  ASSERT_TRUE(over_plain.ok()) << over_plain.status().ToString();
  ASSERT_EQ(over_tls->outputs.size(), 1u);
  ASSERT_EQ(over_plain->outputs.size(), 1u);
  EXPECT_EQ(over_tls->id, over_plain->id);
  EXPECT_EQ(over_tls->outputs[0].shape, over_plain->outputs[0].shape);
  EXPECT_EQ(TensorBytes(over_tls->outputs[0]), TensorBytes(over_plain->outputs[0]));
}

}  // namespace moat::testing
