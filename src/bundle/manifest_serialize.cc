#include <algorithm>

#include "bundle/json.h"
#include "bundle/manifest.h"

namespace moat::bundle {

namespace {

void AppendTensorSpecs(std::string& out, const std::vector<TensorSpec>& specs) {
  out.push_back('[');
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += "{\"datatype\":";
    AppendJsonString(out, DataTypeName(specs[i].datatype));
    out += ",\"name\":";
    AppendJsonString(out, specs[i].name);
    out += ",\"shape\":[";
    for (size_t d = 0; d < specs[i].shape.size(); ++d) {
      if (d > 0) out.push_back(',');
      AppendJsonInt(out, specs[i].shape[d]);
    }
    out += "]}";
  }
  out.push_back(']');
}

void AppendFiles(std::string& out, std::vector<FileEntry> files) {
  std::sort(files.begin(), files.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  out.push_back('[');
  for (size_t i = 0; i < files.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += "{\"path\":";
    AppendJsonString(out, files[i].path);
    out += ",\"sha256\":";
    AppendJsonString(out, files[i].sha256);
    out += ",\"size\":";
    // Sizes above 2^63-1 cannot occur on disk, and the parser rejects them.
    AppendJsonInt(out, static_cast<int64_t>(files[i].size));
    out.push_back('}');
  }
  out.push_back(']');
}

}  // namespace

std::string SerializeManifest(const Manifest& manifest) {
  // Keys appear in byte order: files, format, inputs, model_file, name,
  // outputs, runtime, version.
  std::string out = "{\"files\":";
  AppendFiles(out, manifest.files);
  out += ",\"format\":";
  AppendJsonString(out, kManifestFormat);
  out += ",\"inputs\":";
  AppendTensorSpecs(out, manifest.inputs);
  out += ",\"model_file\":";
  AppendJsonString(out, manifest.model_file);
  out += ",\"name\":";
  AppendJsonString(out, manifest.name);
  out += ",\"outputs\":";
  AppendTensorSpecs(out, manifest.outputs);
  out += ",\"runtime\":";
  AppendJsonString(out, manifest.runtime);
  out += ",\"version\":";
  AppendJsonInt(out, manifest.version);
  out.push_back('}');
  return out;
}

}  // namespace moat::bundle
