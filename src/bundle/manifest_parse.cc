#include <set>
#include <string>

#include "bundle/json.h"
#include "bundle/manifest.h"
#include "bundle/paths.h"

namespace moat::bundle {

namespace {

constexpr size_t kMaxTensorNameBytes = 1024;

Status FieldError(std::string_view field, std::string message) {
  return InvalidArgumentError("manifest field " + std::string(field) + ": " + std::move(message));
}

std::string Indexed(std::string_view field, size_t index) {
  return std::string(field) + "[" + std::to_string(index) + "]";
}

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status ValidateTensorName(std::string_view field, std::string_view name) {
  if (name.empty()) return FieldError(field, "tensor name is empty");
  if (name.size() > kMaxTensorNameBytes) {
    return FieldError(field, "tensor name is longer than " + std::to_string(kMaxTensorNameBytes) + " bytes");
  }
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return FieldError(field, "tensor name " + QuoteForMessage(name) + " contains a control character");
    }
  }
  return OkStatus();
}

StatusOr<TensorSpec> ParseTensorSpec(const rapidjson::Value& value, const std::string& field) {
  std::string object = "manifest field " + field;
  std::string prefix = object + ".";
  MOAT_RETURN_IF_ERROR(CheckObjectKeys(value, object, {"datatype", "name", "shape"}));
  TensorSpec spec;
  MOAT_ASSIGN_OR_RETURN(spec.name, GetStringMember(value, prefix, "name"));
  MOAT_RETURN_IF_ERROR(ValidateTensorName(field + ".name", spec.name));

  MOAT_ASSIGN_OR_RETURN(std::string datatype, GetStringMember(value, prefix, "datatype"));
  auto parsed = ParseDataType(datatype);
  if (!parsed) {
    std::string names;
    for (DataType type : kAllDataTypes)
      names += (names.empty() ? "" : ", ") + std::string(DataTypeName(type));
    return FieldError(field + ".datatype",
                      "invalid datatype " + QuoteForMessage(datatype) + " (expected one of " + names + ")");
  }
  spec.datatype = *parsed;

  MOAT_ASSIGN_OR_RETURN(const rapidjson::Value* shape, GetArrayMember(value, prefix, "shape"));
  for (rapidjson::SizeType d = 0; d < shape->Size(); ++d) {
    const rapidjson::Value& dim = (*shape)[d];
    std::string dim_field = Indexed(field + ".shape", d);
    if (!dim.IsInt64()) return FieldError(dim_field, "expected an integer");
    if (dim.GetInt64() < -1) {
      return FieldError(dim_field, "dimension " + std::to_string(dim.GetInt64()) +
                                       " is invalid (use -1 for a variable dimension)");
    }
    spec.shape.push_back(dim.GetInt64());
  }
  return spec;
}

StatusOr<std::vector<TensorSpec>> ParseTensorSpecs(const rapidjson::Value& root, std::string_view key) {
  MOAT_ASSIGN_OR_RETURN(const rapidjson::Value* array, GetArrayMember(root, "manifest field ", key));
  std::vector<TensorSpec> specs;
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    std::string field = Indexed(key, i);
    MOAT_ASSIGN_OR_RETURN(TensorSpec spec, ParseTensorSpec((*array)[i], field));
    if (!names.insert(spec.name).second) {
      return FieldError(field + ".name", "tensor name " + QuoteForMessage(spec.name) + " appears twice");
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

StatusOr<FileEntry> ParseFileEntry(const rapidjson::Value& value, const std::string& field) {
  std::string object = "manifest field " + field;
  std::string prefix = object + ".";
  MOAT_RETURN_IF_ERROR(CheckObjectKeys(value, object, {"path", "sha256", "size"}));
  FileEntry entry;
  MOAT_ASSIGN_OR_RETURN(entry.path, GetStringMember(value, prefix, "path"));
  Status path_status = ValidateBundlePath(entry.path);
  if (!path_status.ok()) return FieldError(field + ".path", path_status.message());

  MOAT_ASSIGN_OR_RETURN(entry.sha256, GetStringMember(value, prefix, "sha256"));
  if (entry.sha256.size() != 64 || !IsLowerHex(entry.sha256)) {
    return FieldError(field + ".sha256", "for " + QuoteForMessage(entry.path) +
                                             " must be 64 lower-case hex digits, got " +
                                             QuoteForMessage(entry.sha256));
  }
  MOAT_ASSIGN_OR_RETURN(int64_t size, GetInt64Member(value, prefix, "size"));
  if (size < 0) {
    return FieldError(field + ".size",
                      "for " + QuoteForMessage(entry.path) + " is negative (" + std::to_string(size) + ")");
  }
  entry.size = static_cast<uint64_t>(size);
  return entry;
}

// Rejects paths out of order or listed twice, and a path that is listed as a
// file while also being a directory of another listed path ("a" and "a/b").
Status CheckFileSet(const std::vector<FileEntry>& files) {
  std::set<std::string_view> paths;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string field = Indexed("files", i) + ".path";
    if (i > 0 && files[i].path == files[i - 1].path) {
      return FieldError(field, "path " + QuoteForMessage(files[i].path) + " is listed twice");
    }
    if (i > 0 && files[i].path < files[i - 1].path) {
      return FieldError(field, "files must be sorted by path in byte order, but " +
                                   QuoteForMessage(files[i].path) + " follows " +
                                   QuoteForMessage(files[i - 1].path));
    }
    paths.insert(files[i].path);
  }
  for (const FileEntry& file : files) {
    for (size_t slash = file.path.find('/'); slash != std::string::npos;
         slash = file.path.find('/', slash + 1)) {
      std::string_view parent = file.path;
      parent = parent.substr(0, slash);
      if (paths.contains(parent)) {
        return FieldError("files", "path " + QuoteForMessage(file.path) + " is inside " +
                                       QuoteForMessage(parent) + ", which is listed as a file");
      }
    }
  }
  return OkStatus();
}

StatusOr<std::vector<FileEntry>> ParseFiles(const rapidjson::Value& root) {
  MOAT_ASSIGN_OR_RETURN(const rapidjson::Value* array, GetArrayMember(root, "manifest field ", "files"));
  if (array->Empty())
    return FieldError("files", "the list is empty, but it must list at least the model file");
  std::vector<FileEntry> files;
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    MOAT_ASSIGN_OR_RETURN(FileEntry entry, ParseFileEntry((*array)[i], Indexed("files", i)));
    files.push_back(std::move(entry));
  }
  MOAT_RETURN_IF_ERROR(CheckFileSet(files));
  return files;
}

Status ParseScalarFields(const rapidjson::Value& root, Manifest& manifest) {
  MOAT_ASSIGN_OR_RETURN(std::string format, GetStringMember(root, "manifest field ", "format"));
  if (format != kManifestFormat) {
    return FieldError("format", "unsupported format " + QuoteForMessage(format) + " (expected \"" +
                                    std::string(kManifestFormat) + "\")");
  }
  MOAT_ASSIGN_OR_RETURN(manifest.name, GetStringMember(root, "manifest field ", "name"));
  Status name_status = ValidateModelName(manifest.name);
  if (!name_status.ok()) return FieldError("name", name_status.message());

  MOAT_ASSIGN_OR_RETURN(manifest.version, GetInt64Member(root, "manifest field ", "version"));
  if (manifest.version < 1) {
    return FieldError("version",
                      "version " + std::to_string(manifest.version) + " is not a positive integer");
  }
  MOAT_ASSIGN_OR_RETURN(manifest.runtime, GetStringMember(root, "manifest field ", "runtime"));
  if (manifest.runtime != kOnnxRuntimeName) {
    return FieldError("runtime", "unsupported runtime " + QuoteForMessage(manifest.runtime) +
                                     " (expected \"" + std::string(kOnnxRuntimeName) + "\")");
  }
  MOAT_ASSIGN_OR_RETURN(manifest.model_file, GetStringMember(root, "manifest field ", "model_file"));
  Status path_status = ValidateBundlePath(manifest.model_file);
  if (!path_status.ok()) return FieldError("model_file", path_status.message());
  return OkStatus();
}

// Names the first byte where `bytes` and the canonical form differ, so that
// an author can see what a re-serialization or an editor changed.
Status NonCanonicalError(std::string_view bytes, std::string_view canonical) {
  size_t offset = 0;
  while (offset < bytes.size() && offset < canonical.size() && bytes[offset] == canonical[offset]) ++offset;
  return InvalidArgumentError(
      "manifest is not in canonical form: it differs from its canonical serialization at byte offset " +
      std::to_string(offset) + " (" + std::to_string(bytes.size()) + " bytes given, canonical form has " +
      std::to_string(canonical.size()) +
      "). Write it with sorted keys, no whitespace and files sorted by path, for example with `moat pack`");
}

}  // namespace

StatusOr<Manifest> ParseManifest(std::string_view bytes) {
  if (bytes.size() > kMaxManifestBytes) {
    return ResourceExhaustedError("manifest is " + std::to_string(bytes.size()) +
                                  " bytes, above the limit of " + std::to_string(kMaxManifestBytes) +
                                  " bytes");
  }
  rapidjson::Document doc;
  MOAT_RETURN_IF_ERROR(ParseJson(bytes, "manifest", doc));
  MOAT_RETURN_IF_ERROR(CheckObjectKeys(
      doc, "manifest", {"files", "format", "inputs", "model_file", "name", "outputs", "runtime", "version"}));

  Manifest manifest;
  MOAT_RETURN_IF_ERROR(ParseScalarFields(doc, manifest));
  MOAT_ASSIGN_OR_RETURN(manifest.inputs, ParseTensorSpecs(doc, "inputs"));
  MOAT_ASSIGN_OR_RETURN(manifest.outputs, ParseTensorSpecs(doc, "outputs"));
  if (manifest.outputs.empty())
    return FieldError("outputs", "the list is empty, but a model needs at least one output");
  MOAT_ASSIGN_OR_RETURN(manifest.files, ParseFiles(doc));

  bool model_listed = false;
  for (const FileEntry& file : manifest.files)
    model_listed = model_listed || file.path == manifest.model_file;
  if (!model_listed) {
    return FieldError("model_file",
                      "path " + QuoteForMessage(manifest.model_file) + " is not listed in files");
  }

  std::string canonical = SerializeManifest(manifest);
  if (canonical != bytes) return NonCanonicalError(bytes, canonical);
  return manifest;
}

}  // namespace moat::bundle
