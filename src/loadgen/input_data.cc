#include "loadgen/input_data.h"

#include <charconv>
#include <cstring>
#include <random>

#include <rapidjson/document.h>

#include "client/half_float.h"
#include "client/tensor_json.h"
#include "common/file.h"

namespace moat::loadgen {

namespace {

constexpr int64_t kMaxTensorBytes = int64_t{1} << 30;
constexpr size_t kMaxRawFileBytes = size_t{1} << 30;

template <typename T>
void AppendValue(std::string& bytes, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));  // little-endian hosts only, as the rest of Moat
  bytes.append(raw, sizeof(T));
}

std::string RandomBytes(DataType datatype, int64_t count, std::mt19937_64& random) {
  std::string bytes;
  std::uniform_real_distribution<float> unit_float(0.0f, 1.0f);
  std::uniform_real_distribution<double> unit_double(0.0, 1.0);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t bits = random();
    switch (datatype) {
      case DataType::kBool:
        AppendValue<uint8_t>(bytes, bits & 1);
        break;
      case DataType::kFp16:
        AppendValue(bytes, client::FloatToHalfBits(unit_float(random)));
        break;
      case DataType::kBf16:
        AppendValue(bytes, client::FloatToBf16Bits(unit_float(random)));
        break;
      case DataType::kFp32:
        AppendValue(bytes, unit_float(random));
        break;
      case DataType::kFp64:
        AppendValue(bytes, unit_double(random));
        break;
      case DataType::kBytes: {
        std::string text = "s" + std::to_string(bits % 100000);
        AppendValue(bytes, static_cast<uint32_t>(text.size()));
        bytes += text;
        break;
      }
      default: {
        // Integers of every width take the low bytes of a random 64-bit word.
        char raw[sizeof(bits)];
        std::memcpy(raw, &bits, sizeof(bits));
        bytes.append(raw, DataTypeSize(datatype));
        break;
      }
    }
  }
  return bytes;
}

const TensorSpec* FindSpec(const ModelMetadata& metadata, const std::string& name) {
  for (const TensorSpec& spec : metadata.inputs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status CheckOverridesKnown(const ModelMetadata& metadata, const ShapeOverrides& shapes) {
  for (const auto& [name, shape] : shapes) {
    if (FindSpec(metadata, name) == nullptr) {
      return InvalidArgumentError("--shape names input '" + name + "', which model '" + metadata.name +
                                  "' does not have");
    }
  }
  return OkStatus();
}

}  // namespace

Status ParseShapeOverride(const std::string& text, ShapeOverrides& shapes) {
  size_t equals = text.find('=');
  if (equals == 0 || equals == std::string::npos || equals + 1 == text.size()) {
    return InvalidArgumentError("invalid shape '" + text +
                                "': expected NAME=DIM,DIM,... such as INPUT0=1,16");
  }
  std::string name = text.substr(0, equals);
  std::vector<int64_t> shape;
  std::string_view dims = std::string_view(text).substr(equals + 1);
  while (true) {
    size_t comma = dims.find(',');
    std::string_view dim = dims.substr(0, comma);
    int64_t value = -1;
    auto [end, error] = std::from_chars(dim.data(), dim.data() + dim.size(), value);
    if (error != std::errc() || end != dim.data() + dim.size() || value < 0) {
      return InvalidArgumentError("invalid shape '" + text + "': dimension '" + std::string(dim) +
                                  "' is not a non-negative whole number");
    }
    shape.push_back(value);
    if (comma == std::string_view::npos) break;
    dims = dims.substr(comma + 1);
  }
  if (!shapes.emplace(name, std::move(shape)).second) {
    return InvalidArgumentError("invalid shape '" + text + "': input '" + name + "' was given a shape twice");
  }
  return OkStatus();
}

StatusOr<std::vector<int64_t>> ResolveInputShape(const TensorSpec& spec, const ShapeOverrides& shapes) {
  auto found = shapes.find(spec.name);
  if (found != shapes.end()) {
    MOAT_RETURN_IF_ERROR(CheckShapeMatches(spec, found->second));
    return found->second;
  }
  for (int64_t dim : spec.shape) {
    if (dim < 0) {
      return InvalidArgumentError("input '" + spec.name + "' has the variable shape " +
                                  ShapeToString(spec.shape) + "; give its shape with --shape " + spec.name +
                                  "=DIM,DIM,...");
    }
  }
  return spec.shape;
}

StatusOr<std::vector<Tensor>> GenerateInputs(const ModelMetadata& metadata, const ShapeOverrides& shapes,
                                             uint64_t seed) {
  MOAT_RETURN_IF_ERROR(CheckOverridesKnown(metadata, shapes));
  std::mt19937_64 random(seed);
  std::vector<Tensor> inputs;
  for (const TensorSpec& spec : metadata.inputs) {
    MOAT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ResolveInputShape(spec, shapes));
    MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(shape, "input '" + spec.name + "'"));
    // BYTES elements take at most 10 bytes here ("s" + 5 digits + prefix).
    size_t element_size = spec.datatype == DataType::kBytes ? 10 : DataTypeSize(spec.datatype);
    if (count > kMaxTensorBytes / static_cast<int64_t>(element_size)) {
      return InvalidArgumentError("input '" + spec.name + "' of shape " + ShapeToString(shape) +
                                  " would be over 1 GiB");
    }
    inputs.push_back(
        MakeOwnedTensor(spec.name, spec.datatype, shape, RandomBytes(spec.datatype, count, random)));
  }
  return inputs;
}

StatusOr<std::vector<Tensor>> ParseJsonRequestInputs(const std::string& json,
                                                     const std::string& source_name) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError() || !document.IsObject()) {
    return InvalidArgumentError(source_name + " is not a JSON object");
  }
  auto inputs = document.FindMember("inputs");
  if (inputs == document.MemberEnd() || !inputs->value.IsArray() || inputs->value.Empty()) {
    return InvalidArgumentError(source_name + " has no \"inputs\" array");
  }
  std::vector<Tensor> tensors;
  for (const rapidjson::Value& input : inputs->value.GetArray()) {
    if (!input.IsObject() || !input.HasMember("name") || !input["name"].IsString() ||
        !input.HasMember("datatype") || !input["datatype"].IsString() || !input.HasMember("shape") ||
        !input["shape"].IsArray() || !input.HasMember("data")) {
      return InvalidArgumentError(source_name +
                                  ": every input needs \"name\", \"datatype\", \"shape\" and \"data\"");
    }
    std::string name = input["name"].GetString();
    std::optional<DataType> datatype = ParseDataType(input["datatype"].GetString());
    if (!datatype) {
      return InvalidArgumentError(source_name + ": input '" + name +
                                  "' has an unknown datatype; expected one of " + DataTypeNameList());
    }
    std::vector<int64_t> shape;
    for (const rapidjson::Value& dim : input["shape"].GetArray()) {
      if (!dim.IsInt64() || dim.GetInt64() < 0) {
        return InvalidArgumentError(source_name + ": input '" + name + "' has an invalid shape");
      }
      shape.push_back(dim.GetInt64());
    }
    std::string label = "input '" + name + "' of " + source_name;
    MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(shape, label));
    MOAT_ASSIGN_OR_RETURN(std::string bytes,
                          client::TensorBytesFromJson(input["data"], *datatype, count, label));
    tensors.push_back(MakeOwnedTensor(name, *datatype, shape, std::move(bytes)));
  }
  return tensors;
}

StatusOr<std::vector<Tensor>> ReadRawInputs(const ModelMetadata& metadata,
                                            const std::map<std::string, std::string>& raw_files,
                                            const ShapeOverrides& shapes) {
  MOAT_RETURN_IF_ERROR(CheckOverridesKnown(metadata, shapes));
  for (const auto& [name, path] : raw_files) {
    if (FindSpec(metadata, name) == nullptr) {
      return InvalidArgumentError("--input-raw names input '" + name + "', which model '" + metadata.name +
                                  "' does not have");
    }
  }
  std::vector<Tensor> inputs;
  for (const TensorSpec& spec : metadata.inputs) {
    auto file = raw_files.find(spec.name);
    if (file == raw_files.end()) {
      return InvalidArgumentError("input '" + spec.name + "' has no --input-raw " + spec.name + "=FILE");
    }
    MOAT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ResolveInputShape(spec, shapes));
    MOAT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(file->second, kMaxRawFileBytes));
    Tensor tensor = MakeOwnedTensor(spec.name, spec.datatype, shape, std::move(bytes));
    if (Status size = CheckTensorByteSize(tensor); !size.ok()) {
      return InvalidArgumentError("raw input file '" + file->second + "' does not fit input '" + spec.name +
                                  "' " + std::string(DataTypeName(spec.datatype)) + " " +
                                  ShapeToString(shape) + ": " + size.message());
    }
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}

}  // namespace moat::loadgen
