#include "conformance_case.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <filesystem>

#include "common/crypto.h"
#include "common/file.h"

namespace moat::conformance {
namespace {

using rapidjson::Value;

std::string Serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Bytes given as "<key>_hex", "<key>_base64" or "<key>_text"; empty when none.
StatusOr<std::string> BytesField(const Value& object, const std::string& key) {
  std::string hex = key + "_hex";
  std::string base64 = key + "_base64";
  std::string text = key + "_text";
  if (object.HasMember(hex.c_str())) return HexDecode(object[hex.c_str()].GetString());
  if (object.HasMember(base64.c_str())) return Base64Decode(object[base64.c_str()].GetString());
  if (object.HasMember(text.c_str())) return std::string(object[text.c_str()].GetString());
  return std::string();
}

std::string StringOr(const Value& object, const char* key, std::string fallback) {
  return object.HasMember(key) && object[key].IsString() ? object[key].GetString() : fallback;
}

StatusOr<HttpForm> ParseHttp(const Value& value) {
  HttpForm form;
  form.method = StringOr(value, "method", "POST");
  form.path = StringOr(value, "path", "");
  if (form.path.empty()) return InvalidArgumentError("http.path is missing");
  if (value.HasMember("headers")) {
    for (const auto& header : value["headers"].GetObject()) {
      form.headers.emplace_back(header.name.GetString(), header.value.GetString());
    }
  }
  if (value.HasMember("json")) {
    form.body = Serialize(value["json"]);
  } else {
    MOAT_ASSIGN_OR_RETURN(form.body, BytesField(value, "body"));
  }
  MOAT_ASSIGN_OR_RETURN(form.binary, BytesField(value, "binary"));
  if (value.HasMember("header_length")) {
    form.header_length = StringOr(value, "header_length", "");
  } else if (value.HasMember("binary_hex") || value.HasMember("binary_base64")) {
    form.header_length = std::to_string(form.body.size());
  }
  return form;
}

StatusOr<Expectation> ParseExpectation(const Value& value) {
  Expectation expect;
  expect.code = StringOr(value, "code", "OK");
  if (value.HasMember("http_status")) expect.http_status = value["http_status"].GetUint();
  expect.error = StringOr(value, "error", "");
  expect.http_error = StringOr(value, "http_error", "");
  expect.grpc_error = StringOr(value, "grpc_error", "");
  expect.body_contains = StringOr(value, "body_contains", "");
  if (value.HasMember("id")) expect.id = value["id"].GetString();
  if (value.HasMember("outputs")) {
    for (const Value& output : value["outputs"].GetArray()) {
      ExpectedOutput expected;
      expected.name = output["name"].GetString();
      expected.datatype = output["datatype"].GetString();
      for (const Value& dim : output["shape"].GetArray()) expected.shape.push_back(dim.GetInt64());
      if (output.HasMember("data")) {
        expected.data_json = Serialize(output["data"]);
      } else {
        MOAT_ASSIGN_OR_RETURN(std::string bytes, BytesField(output, "bytes"));
        expected.bytes = std::move(bytes);
      }
      expect.outputs.push_back(std::move(expected));
    }
  }
  if (value.HasMember("memory")) {
    for (const Value& memory : value["memory"].GetArray()) {
      ExpectedMemory expected;
      expected.object = memory["object"].GetString();
      expected.offset = memory.HasMember("offset") ? memory["offset"].GetUint64() : 0;
      MOAT_ASSIGN_OR_RETURN(expected.bytes, BytesField(memory, "bytes"));
      expect.memory.push_back(std::move(expected));
    }
  }
  return expect;
}

StatusOr<Case> ParseCase(const Value& root) {
  Case c;
  c.description = StringOr(root, "description", "");
  if (root.HasMember("http")) {
    MOAT_ASSIGN_OR_RETURN(HttpForm http, ParseHttp(root["http"]));
    c.http = std::move(http);
  }
  if (root.HasMember("grpc")) {
    const Value& grpc = root["grpc"];
    c.grpc =
        GrpcForm{StringOr(grpc, "rpc", ""), grpc.HasMember("request") ? Serialize(grpc["request"]) : "{}"};
  }
  if (!c.http && !c.grpc) return InvalidArgumentError("a case needs an 'http' or a 'grpc' request");
  if (root.HasMember("shared_memory")) {
    for (const Value& object : root["shared_memory"].GetArray()) {
      SharedMemoryObject shm;
      shm.object = object["object"].GetString();
      shm.size = object["size"].GetUint64();
      MOAT_ASSIGN_OR_RETURN(shm.contents, BytesField(object, "contents"));
      if (object.HasMember("region")) {
        shm.region = object["region"].GetString();
        shm.region_offset = object.HasMember("region_offset") ? object["region_offset"].GetUint64() : 0;
        shm.region_size = object.HasMember("region_size") ? object["region_size"].GetUint64() : shm.size;
      }
      c.shared_memory.push_back(std::move(shm));
    }
  }
  if (!root.HasMember("expect")) return InvalidArgumentError("'expect' is missing");
  MOAT_ASSIGN_OR_RETURN(c.expect, ParseExpectation(root["expect"]));
  return c;
}

}  // namespace

StatusOr<Case> LoadCase(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError() || !document.IsObject()) {
    return InvalidArgumentError(path + ": not a JSON object (" +
                                rapidjson::GetParseError_En(document.GetParseError()) + " at offset " +
                                std::to_string(document.GetErrorOffset()) + ")");
  }
  auto parsed = ParseCase(document);
  if (!parsed.ok()) return InvalidArgumentError(path + ": " + parsed.status().message());
  parsed->file = std::filesystem::path(path).filename().string();
  return parsed;
}

std::vector<std::string> ListCases(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace moat::conformance
