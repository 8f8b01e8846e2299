// Test helper: a real ModelService over a SignedRepository.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string_view>
#include <utility>

#include "config/serving_config.h"
#include "repository/model_service.h"
#include "testing/audit_records.h"
#include "testing/signed_repository.h"

namespace moat::testing {

// Creates a ModelService that serves `repository` with the other settings of
// `options`. The folders and the audit folder (in the repository's folder,
// sync, so that a test can read records while the service runs) replace what
// `options` has. Adds a test failure and returns
// nullptr when the service cannot be created.
inline std::unique_ptr<repository::ModelService> CreateModelService(const SignedRepository& repository,
                                                                    repository::ModelServiceOptions options) {
  options.repository_dir = repository.repository_dir();
  options.trust_dir = repository.trust_dir();
  options.audit = TestAuditOptions(repository.audit_dir(), audit::AuditDurability::kSync);
  auto service = repository::ModelService::Create(options);
  if (!service.ok()) {
    ADD_FAILURE() << "ModelService::Create: " << service.status().ToString();
    return nullptr;
  }
  return std::move(service).value();
}

inline std::unique_ptr<repository::ModelService> CreateModelService(const SignedRepository& repository,
                                                                    bool allow_model_control = false) {
  repository::ModelServiceOptions options;
  options.allow_model_control = allow_model_control;
  return CreateModelService(repository, std::move(options));
}

// Parses the text of a serving configuration. Adds a test failure and
// returns the defaults when it is invalid.
inline config::ServingConfig ParseTestServingConfig(std::string_view text) {
  auto config = config::ParseServingConfig(text, "test.conf");
  if (!config.ok()) {
    ADD_FAILURE() << "ParseServingConfig: " << config.status().ToString();
    return config::ServingConfig();
  }
  return std::move(config).value();
}

}  // namespace moat::testing
