#include "server/tensor_spec_json.h"

namespace moat::server {

std::string ConfigDataTypeName(DataType datatype) {
  if (datatype == DataType::kBytes) return "TYPE_STRING";
  return "TYPE_" + std::string(DataTypeName(datatype));
}

void WriteTensorSpecMembers(JsonWriter& writer, std::string_view name, DataType datatype,
                            std::span<const int64_t> shape, TensorSpecForm form) {
  WriteStringMember(writer, "name", name);
  if (form == TensorSpecForm::kKServe) {
    WriteStringMember(writer, "datatype", DataTypeName(datatype));
    writer.Key("shape");
  } else {
    WriteStringMember(writer, "data_type", ConfigDataTypeName(datatype));
    writer.Key("dims");
  }
  WriteShape(writer, shape);
}

void WriteTensorSpecs(JsonWriter& writer, const std::vector<TensorSpec>& specs, TensorSpecForm form) {
  writer.StartArray();
  for (const TensorSpec& spec : specs) {
    writer.StartObject();
    WriteTensorSpecMembers(writer, spec.name, spec.datatype, spec.shape, form);
    writer.EndObject();
  }
  writer.EndArray();
}

}  // namespace moat::server
