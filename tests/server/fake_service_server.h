// Test fixture: a FakeService served by an HttpServer over real sockets.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fake_service.h"
#include "server/http_server.h"
#include "testing/start_http_server.h"

namespace moat::server::testing {

// An infer request for FakeService's echo model: FP32 values 1 and 2, shape [2].
inline const std::string kEchoRequest =
    R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[2],"data":[1,2]}]})";

class FakeServiceServerTest : public ::testing::Test {
 protected:
  // Starts the server on a port that the OS picks, with `options` otherwise.
  void StartServer(HttpServerOptions options = {}) {
    server_ = moat::testing::StartHttpServer(service_, options);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_->port(), 0);
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  FakeService service_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace moat::server::testing
