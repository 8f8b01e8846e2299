#include "audit/tensor_digest.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cstdint>

#include "audit/record.h"
#include "common/crypto.h"
#include "core/datatype.h"

namespace moat::audit {

namespace {

constexpr std::string_view kDomain = "moat-tensor-digest-v1";

void UpdateU64(Sha256& hash, uint64_t value) {
  std::array<uint8_t, 8> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  hash.Update(bytes);
}

void UpdateBytes(Sha256& hash, std::span<const uint8_t> bytes) {
  UpdateU64(hash, bytes.size());
  hash.Update(bytes);
}

void UpdateString(Sha256& hash, std::string_view text) { UpdateBytes(hash, AsBytes(text)); }

}  // namespace

std::string DigestTensors(std::span<const Tensor> tensors) {
  Sha256 hash;
  UpdateString(hash, kDomain);
  UpdateU64(hash, tensors.size());
  for (const Tensor& tensor : tensors) {
    UpdateString(hash, tensor.name);
    UpdateString(hash, DataTypeName(tensor.datatype));
    UpdateU64(hash, tensor.shape.size());
    for (int64_t dim : tensor.shape) UpdateU64(hash, static_cast<uint64_t>(dim));
    UpdateBytes(hash, tensor.data);
  }
  return HexEncode(hash.Finish());
}

namespace {

void WriteTensors(rapidjson::Writer<rapidjson::StringBuffer>& writer, const char* key,
                  std::span<const Tensor> tensors) {
  writer.Key(key);
  writer.StartArray();
  for (const Tensor& tensor : tensors) {
    writer.StartObject();
    writer.Key("name");
    std::string name = ToValidUtf8(tensor.name);
    writer.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    writer.Key("datatype");
    std::string_view type = DataTypeName(tensor.datatype);
    writer.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
    writer.Key("shape");
    writer.StartArray();
    for (int64_t dim : tensor.shape) writer.Int64(dim);
    writer.EndArray();
    writer.Key("data");
    std::string data = Base64Encode(tensor.data);
    writer.String(data.data(), static_cast<rapidjson::SizeType>(data.size()));
    writer.EndObject();
  }
  writer.EndArray();
}

}  // namespace

std::string TensorsDetailsJson(std::span<const Tensor> inputs, std::span<const Tensor> outputs) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  WriteTensors(writer, "inputs", inputs);
  WriteTensors(writer, "outputs", outputs);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace moat::audit
