#include "bundle/paths.h"

#include <cstdio>

namespace moat::bundle {

namespace {

bool IsControl(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

bool IsModelNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

}  // namespace

Status ValidateModelName(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("model name is empty");
  if (name.size() > kMaxModelNameBytes) {
    return InvalidArgumentError("model name " + QuoteForMessage(name.substr(0, 32)) + "... is " +
                                std::to_string(name.size()) + " bytes long, above the limit of " +
                                std::to_string(kMaxModelNameBytes) + " bytes");
  }
  if (name.front() == '.') {
    return InvalidArgumentError("model name " + QuoteForMessage(name) + " must not start with '.'");
  }
  for (char c : name) {
    if (!IsModelNameChar(c)) {
      return InvalidArgumentError("model name " + QuoteForMessage(name) +
                                  " contains a character outside [A-Za-z0-9._-]");
    }
  }
  return OkStatus();
}

Status ValidateBundlePath(std::string_view path) {
  auto invalid = [&](std::string_view reason) {
    return InvalidArgumentError("path " + QuoteForMessage(path) + " " + std::string(reason));
  };
  if (path.empty()) return invalid("is empty");
  if (path.size() > kMaxPathBytes) {
    return invalid("is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  if (path.front() == '/')
    return invalid("is absolute, but bundle paths are relative to the bundle directory");
  for (char c : path) {
    if (c == '\\') return invalid("contains a backslash (use '/' to separate directories)");
    if (IsControl(c)) return invalid("contains a control character");
  }

  size_t segments = 0;
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view segment = path.substr(start, end == std::string_view::npos ? end : end - start);
    ++segments;
    if (segment.empty()) return invalid("contains an empty segment");
    if (segment == ".") return invalid("contains a '.' segment");
    if (segment == "..") return invalid("contains a '..' segment");
    if (segment.size() > kMaxPathSegmentBytes) {
      return invalid("has a segment longer than " + std::to_string(kMaxPathSegmentBytes) + " bytes");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (segments > kMaxPathSegments) {
    return invalid("has more than " + std::to_string(kMaxPathSegments) + " segments");
  }
  if (IsReservedPath(path)) {
    return invalid("is reserved for the manifest or the signatures and may not be listed");
  }
  return OkStatus();
}

bool IsReservedPath(std::string_view path) {
  if (path == kManifestFileName || path == kSignaturesDirName) return true;
  return path.size() > kSignaturesDirName.size() && path.starts_with(kSignaturesDirName) &&
         path[kSignaturesDirName.size()] == '/';
}

std::string QuoteForMessage(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (IsControl(c)) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace moat::bundle
