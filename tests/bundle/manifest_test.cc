#include "bundle/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bundle/paths.h"

namespace moat::bundle {
namespace {

using ::testing::HasSubstr;

const std::string kDigestA(64, 'a');
const std::string kDigestB(64, 'b');

Manifest SampleManifest() {
  Manifest manifest;
  manifest.name = "resnet";
  manifest.version = 3;
  manifest.runtime = "onnxruntime";
  manifest.model_file = "model.onnx";
  manifest.inputs = {{"INPUT0", DataType::kFp32, {-1, 3}}};
  manifest.outputs = {{"OUTPUT0", DataType::kInt64, {-1}}};
  manifest.files = {{"model.onnx", 100, kDigestB}, {"labels.txt", 9, kDigestA}};
  return manifest;
}

const std::string kSampleJson =
    R"({"files":[{"path":"labels.txt","sha256":")" + kDigestA +
    R"(","size":9},{"path":"model.onnx","sha256":")" + kDigestB +
    R"(","size":100}],"format":"moat-bundle/1","inputs":[{"datatype":"FP32","name":"INPUT0","shape":[-1,3]}],)"
    R"("model_file":"model.onnx","name":"resnet","outputs":[{"datatype":"INT64","name":"OUTPUT0","shape":[-1]}],)"
    R"("runtime":"onnxruntime","version":3})";

// Returns `text` with the first `from` replaced by `to`. A missing `from`
// fails the test, so a stale case cannot pass by accident.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "case text not found: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ManifestSerialize, CanonicalBytes) { EXPECT_EQ(SerializeManifest(SampleManifest()), kSampleJson); }

TEST(ManifestParse, RoundTrip) {
  StatusOr<Manifest> parsed = ParseManifest(kSampleJson);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->name, "resnet");
  EXPECT_EQ(parsed->version, 3);
  EXPECT_EQ(parsed->runtime, "onnxruntime");
  EXPECT_EQ(parsed->model_file, "model.onnx");
  ASSERT_EQ(parsed->inputs.size(), 1u);
  EXPECT_EQ(parsed->inputs[0].name, "INPUT0");
  EXPECT_EQ(parsed->inputs[0].datatype, DataType::kFp32);
  EXPECT_EQ(parsed->inputs[0].shape, (std::vector<int64_t>{-1, 3}));
  ASSERT_EQ(parsed->outputs.size(), 1u);
  EXPECT_EQ(parsed->outputs[0].datatype, DataType::kInt64);
  ASSERT_EQ(parsed->files.size(), 2u);
  EXPECT_EQ(parsed->files[0].path, "labels.txt");
  EXPECT_EQ(parsed->files[0].size, 9u);
  EXPECT_EQ(parsed->files[1].sha256, kDigestB);
  EXPECT_EQ(SerializeManifest(*parsed), kSampleJson);
}

TEST(ManifestParse, RoundTripEscapedAndUnicodeNames) {
  Manifest manifest = SampleManifest();
  manifest.inputs[0].name = "in\"put\\0";
  manifest.outputs[0].name = "sortie_\xc3\xa9t\xc3\xa9/probabilit\xc3\xa9s";
  manifest.files.push_back({"sub dir/caf\xc3\xa9.txt", 0, kDigestA});
  std::string bytes = SerializeManifest(manifest);
  EXPECT_THAT(bytes, HasSubstr(R"("name":"in\"put\\0")"));
  StatusOr<Manifest> parsed = ParseManifest(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->inputs[0].name, manifest.inputs[0].name);
  EXPECT_EQ(parsed->outputs[0].name, manifest.outputs[0].name);
  EXPECT_EQ(parsed->files.back().path, "sub dir/caf\xc3\xa9.txt");
  EXPECT_EQ(SerializeManifest(*parsed), bytes);
}

TEST(ManifestParse, RejectsWhitespace) {
  std::vector<std::string> variants = {
      kSampleJson + "\n",
      " " + kSampleJson,
      Replace(kSampleJson, R"("version":3)", R"("version": 3)"),
      Replace(kSampleJson, R"(,"format")", ",\n  \"format\""),
  };
  for (const std::string& bytes : variants) {
    StatusOr<Manifest> parsed = ParseManifest(bytes);
    ASSERT_FALSE(parsed.ok()) << bytes;
    EXPECT_THAT(parsed.status().message(), HasSubstr("not in canonical form")) << bytes;
  }
}

TEST(ManifestParse, RejectsOtherNonCanonicalForms) {
  std::vector<std::string> variants = {
      // Keys out of byte order.
      Replace(kSampleJson, R"("runtime":"onnxruntime","version":3})",
              R"("version":3,"runtime":"onnxruntime"})"),
      Replace(kSampleJson, R"({"datatype":"FP32","name":"INPUT0",)",
              R"({"name":"INPUT0","datatype":"FP32",)"),
      // Needless escapes.
      Replace(kSampleJson, R"("name":"resnet")", R"("name":"res\u006eet")"),
      Replace(kSampleJson, R"("format":"moat-bundle/1")", R"("format":"moat-bundle\/1")"),
  };
  for (const std::string& bytes : variants) {
    StatusOr<Manifest> parsed = ParseManifest(bytes);
    ASSERT_FALSE(parsed.ok()) << bytes;
    EXPECT_THAT(parsed.status().message(), HasSubstr("not in canonical form")) << bytes;
  }
}

struct MalformedCase {
  std::string from;
  std::string to;
  std::string expected;
};

TEST(ManifestParse, RejectsMalformedFields) {
  const std::vector<MalformedCase> cases = {
      {R"("format":"moat-bundle/1")", R"("format":"moat-bundle/2")",
       "manifest field format: unsupported format"},
      {R"("format":"moat-bundle/1")", R"("format":1)", "manifest field format: expected a string"},
      {R"("name":"resnet")", R"("name":"")", "manifest field name: model name is empty"},
      {R"("name":"resnet")", R"("name":"res/net")", "model name \"res/net\" contains a character outside"},
      {R"("name":"resnet")", R"("name":"res net")", "model name \"res net\" contains a character outside"},
      {R"("name":"resnet")", R"("name":".resnet")", "must not start with '.'"},
      {R"("name":"resnet")", R"("name":")" + std::string(129, 'n') + "\"", "above the limit of 128"},
      {R"("version":3)", R"("version":0)", "manifest field version: version 0 is not a positive integer"},
      {R"("version":3)", R"("version":-3)", "manifest field version: version -3 is not a positive integer"},
      {R"("version":3)", R"("version":"3")", "manifest field version: expected an integer"},
      {R"("version":3)", R"("version":3.0)", "manifest field version: expected an integer"},
      {R"("version":3)", R"("version":9223372036854775808)", "manifest field version: expected an integer"},
      {R"("runtime":"onnxruntime")", R"("runtime":"tensorrt")",
       "manifest field runtime: unsupported runtime"},
      {R"("model_file":"model.onnx")", R"("model_file":"other.onnx")",
       "manifest field model_file: path \"other.onnx\" is not listed in files"},
      {R"("model_file":"model.onnx")", R"("model_file":"../model.onnx")", "contains a '..' segment"},
      {R"("datatype":"FP32")", R"("datatype":"FLOAT")",
       "manifest field inputs[0].datatype: invalid datatype \"FLOAT\""},
      {R"("datatype":"FP32")", R"("datatype":"fp32")", "invalid datatype \"fp32\""},
      {R"("shape":[-1,3])", R"("shape":[-2,3])",
       "manifest field inputs[0].shape[0]: dimension -2 is invalid"},
      {R"("shape":[-1,3])", R"("shape":[-1,"3"])", "manifest field inputs[0].shape[1]: expected an integer"},
      {R"("shape":[-1,3])", R"("shape":"-1,3")", "manifest field inputs[0].shape: expected an array"},
      {R"("name":"INPUT0")", R"("name":"")", "manifest field inputs[0].name: tensor name is empty"},
      {R"("name":"INPUT0")", R"("name":"IN\u0001PUT0")", "contains a control character"},
      {R"("name":"OUTPUT0")", R"("name":"")", "manifest field outputs[0].name: tensor name is empty"},
      {R"("inputs":[{"datatype":"FP32","name":"INPUT0","shape":[-1,3]}])",
       R"("inputs":[{"datatype":"FP32","name":"INPUT0","shape":[-1,3]},{"datatype":"FP32","name":"INPUT0","shape":[1]}])",
       "manifest field inputs[1].name: tensor name \"INPUT0\" appears twice"},
      {R"("inputs":[{"datatype":"FP32","name":"INPUT0","shape":[-1,3]}])", R"("inputs":{})",
       "manifest field inputs: expected an array"},
      {R"("outputs":[{"datatype":"INT64","name":"OUTPUT0","shape":[-1]}])", R"("outputs":[])",
       "manifest field outputs: the list is empty"},
      {R"({"datatype":"FP32","name":"INPUT0","shape":[-1,3]})",
       R"({"datatype":"FP32","dims":[1],"name":"INPUT0","shape":[-1,3]})",
       "manifest field inputs[0]: unknown key \"dims\""},
      {R"("path":"labels.txt")", R"("path":"../labels.txt")",
       "manifest field files[0].path: path \"../labels.txt\" contains a '..' segment"},
      {R"("path":"labels.txt")", R"("path":"/etc/labels.txt")", "path \"/etc/labels.txt\" is absolute"},
      {R"("path":"labels.txt")", R"("path":"a//labels.txt")",
       "path \"a//labels.txt\" contains an empty segment"},
      {R"("path":"labels.txt")", R"("path":"./labels.txt")", "path \"./labels.txt\" contains a '.' segment"},
      {R"("path":"labels.txt")", R"("path":"a/")", "path \"a/\" contains an empty segment"},
      {R"("path":"labels.txt")", R"("path":"a\\labels.txt")", "contains a backslash"},
      {R"("path":"labels.txt")", R"("path":"labels\ttxt")",
       "path \"labels\\x09txt\" contains a control character"},
      {R"("path":"labels.txt")", R"("path":"")", "manifest field files[0].path: path \"\" is empty"},
      {R"("path":"labels.txt")", R"("path":"manifest.json")", "path \"manifest.json\" is reserved"},
      {R"("path":"labels.txt")", R"("path":"signatures/x.json")", "path \"signatures/x.json\" is reserved"},
      {R"("sha256":")" + kDigestA, R"("sha256":")" + std::string(64, 'A'),
       "manifest field files[0].sha256: for \"labels.txt\" must be 64 lower-case hex digits"},
      {R"("sha256":")" + kDigestA, R"("sha256":")" + std::string(63, 'a'),
       "must be 64 lower-case hex digits"},
      {R"("size":9})", R"("size":-9})", "manifest field files[0].size: for \"labels.txt\" is negative"},
      {R"("size":9})", R"("size":null})", "manifest field files[0].size: expected an integer"},
      {R"("path":"labels.txt")", R"("path":"n.txt")",
       "files must be sorted by path in byte order, but \"model.onnx\" follows \"n.txt\""},
      {R"("path":"labels.txt")", R"("path":"model.onnx")", "path \"model.onnx\" is listed twice"},
      {R"("path":"model.onnx")", R"("path":"labels.txt/model.onnx")",
       "path \"labels.txt/model.onnx\" is inside \"labels.txt\", which is listed as a file"},
      {R"("files":[{"path":"labels.txt","sha256":")" + kDigestA +
           R"(","size":9},{"path":"model.onnx","sha256":")" + kDigestB + R"(","size":100}])",
       R"("files":[])", "manifest field files: the list is empty"},
      {R"("version":3})", R"("version":3,"zzz":1})", "manifest: unknown key \"zzz\""},
      {R"("version":3})", R"("version":3,"version":3})", "manifest: duplicate key \"version\""},
      {R"("runtime":"onnxruntime",)", "", "manifest: missing key \"runtime\""},
  };
  for (const MalformedCase& test_case : cases) {
    SCOPED_TRACE(test_case.to);
    StatusOr<Manifest> parsed = ParseManifest(Replace(kSampleJson, test_case.from, test_case.to));
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(test_case.expected));
  }
}

TEST(ManifestParse, RejectsInvalidJson) {
  struct Case {
    std::string bytes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", "manifest is not valid JSON"},
      {kSampleJson.substr(0, kSampleJson.size() - 1), "manifest is not valid JSON"},
      {"[]", "manifest: expected a JSON object"},
      {kSampleJson + "{}", "manifest is not valid JSON"},
      {Replace(kSampleJson, "resnet", "res\xffnet"), "manifest is not valid JSON"},
      {Replace(kSampleJson, "resnet", std::string("res\0net", 7)), "manifest contains a NUL byte at offset"},
      {kSampleJson + std::string("\0trailing", 9), "manifest contains a NUL byte at offset"},
      {"{\"a\":" + std::string(100000, '['), "manifest is not valid JSON"},
  };
  for (const Case& test_case : cases) {
    SCOPED_TRACE(test_case.bytes.substr(0, 60));
    StatusOr<Manifest> parsed = ParseManifest(test_case.bytes);
    ASSERT_FALSE(parsed.ok());
    EXPECT_THAT(parsed.status().message(), HasSubstr(test_case.expected));
  }
}

TEST(ManifestParse, RejectsOversizedManifest) {
  std::string bytes = Replace(kSampleJson, "resnet", std::string(kMaxManifestBytes, 'r'));
  StatusOr<Manifest> parsed = ParseManifest(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(parsed.status().message(), HasSubstr("above the limit of 1048576 bytes"));
}

TEST(ManifestParse, AcceptsScalarAndFixedShapes) {
  Manifest manifest = SampleManifest();
  manifest.inputs[0].shape = {};
  manifest.outputs[0].shape = {0, 7, 1};
  StatusOr<Manifest> parsed = ParseManifest(SerializeManifest(manifest));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->inputs[0].shape.empty());
  EXPECT_EQ(parsed->outputs[0].shape, (std::vector<int64_t>{0, 7, 1}));
}

TEST(ModelName, Rules) {
  for (const std::string& name :
       std::vector<std::string>{"a", "resnet-50_v1.2", "A.b", std::string(128, 'x')}) {
    EXPECT_TRUE(ValidateModelName(name).ok()) << name;
  }
  for (const std::string& name :
       std::vector<std::string>{"", ".a", "..", "a/b", "a b", "a\nb", "caf\xc3\xa9", std::string(129, 'x')}) {
    Status status = ValidateModelName(name);
    EXPECT_FALSE(status.ok()) << name;
    EXPECT_THAT(status.message(), HasSubstr("model name")) << name;
  }
}

TEST(BundlePath, Rules) {
  for (std::string path :
       {"model.onnx", "a/b/c.bin", "..a", "a..", ".hidden", "signatures2/x", "sub/manifest.json"}) {
    EXPECT_TRUE(ValidateBundlePath(path).ok()) << path;
  }
  std::string deep;
  for (size_t i = 0; i < kMaxPathSegments; ++i) deep += "d/";
  for (const std::string& path : std::vector<std::string>{
           "", "/abs", "a/../b", "..", ".", "a/./b", "a//b", "a/", "a\\b", std::string("a\0b", 3), "a\x7f",
           "manifest.json", "signatures", "signatures/k.json", deep + "f",
           std::string(kMaxPathBytes + 1, 'p'), std::string(256, 's') + "/f"}) {
    Status status = ValidateBundlePath(path);
    EXPECT_FALSE(status.ok()) << path;
    EXPECT_THAT(status.message(), HasSubstr("path \"")) << path;
  }
}

}  // namespace
}  // namespace moat::bundle
