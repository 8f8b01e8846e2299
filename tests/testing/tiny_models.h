// Test helper: the tiny test models of tests/models/ as repository entries,
// and sample tensors for their identity models.
#pragma once

#include <cctype>
#include <cstddef>
#include <string>
#include <vector>

#include "core/datatype.h"
#include "testing/signed_repository.h"
#include "testing/tensor_bytes.h"

namespace moat::testing {

// "identity_fp32" for FP32: the identity model of `type`.
inline std::string IdentityModelName(DataType type) {
  std::string name = "identity_";
  for (char c : DataTypeName(type))
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return name;
}

// The identity model of every datatype and add_sub, each as version 1.
inline std::vector<RepositoryModel> TinyModels() {
  std::vector<RepositoryModel> models;
  for (DataType type : kAllDataTypes) {
    models.push_back({IdentityModelName(type), 1, TestModelPath(IdentityModelName(type) + ".onnx")});
  }
  models.push_back({"add_sub", 1, TestModelPath("add_sub.onnx")});
  return models;
}

// Two rows of three elements of `type` in binary form. The BYTES elements
// include an empty one, an embedded NUL and bytes that are not UTF-8.
inline std::string SampleBytes(DataType type) {
  if (type == DataType::kBytes) {
    return BytesElement("") + BytesElement("a") + BytesElement("bc") + BytesElement(std::string("n\0l", 3)) +
           BytesElement("\xff\xfe") + BytesElement("last");
  }
  std::string bytes;
  for (size_t i = 0; i < 6 * DataTypeSize(type); ++i) bytes.push_back(static_cast<char>(0x31 + i % 13));
  if (type == DataType::kBool) {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 2);
  }
  return bytes;
}

}  // namespace moat::testing
