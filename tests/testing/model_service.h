// Test helper: a real ModelService over a SignedRepository.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "repository/model_service.h"
#include "testing/signed_repository.h"

namespace moat::testing {

// Creates a ModelService that serves `repository`, with the audit log in the
// repository's folder and not synced to disk. Adds a test failure and returns
// nullptr when the service cannot be created.
inline std::unique_ptr<repository::ModelService> CreateModelService(const SignedRepository& repository,
                                                                    bool allow_model_control = false) {
  repository::ModelServiceOptions options;
  options.repository_dir = repository.repository_dir();
  options.trust_dir = repository.trust_dir();
  options.audit_log_path = repository.audit_log_path();
  options.audit_sync = false;
  options.allow_model_control = allow_model_control;
  auto service = repository::ModelService::Create(options);
  if (!service.ok()) {
    ADD_FAILURE() << "ModelService::Create: " << service.status().ToString();
    return nullptr;
  }
  return std::move(service).value();
}

}  // namespace moat::testing
