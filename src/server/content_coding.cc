#include "server/content_coding.h"

#include <array>
#include <optional>
#include <string>

#include "common/text.h"
#include "server/json.h"

namespace moat::server {
namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<ContentCoding> CodingNamed(std::string_view name) {
  if (EqualsIgnoringCase(name, "identity")) return ContentCoding::kIdentity;
  if (EqualsIgnoringCase(name, "gzip") || EqualsIgnoringCase(name, "x-gzip")) return ContentCoding::kGzip;
  if (EqualsIgnoringCase(name, "deflate")) return ContentCoding::kDeflate;
  return std::nullopt;
}

// Parses a q-value ("0", "0.5", "1", "1.000"), returning it in thousandths.
std::optional<int> ParseQValue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  int value = (text[0] - '0') * 1000;
  if (text.size() == 1) return value;
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value <= 1000 ? std::optional<int>(value) : std::nullopt;
}

// One element of an Accept-Encoding list: a coding name and its weight.
struct AcceptedCoding {
  std::string_view name;
  int weight = 1000;  // q-value in thousandths
};

// Parses "coding[;q=value]"; std::nullopt when malformed. Parameters other
// than q are skipped.
std::optional<AcceptedCoding> ParseAcceptElement(std::string_view element) {
  size_t semicolon = element.find(';');
  AcceptedCoding accepted;
  accepted.name = TrimWhitespace(element.substr(0, semicolon));
  if (accepted.name.empty()) return std::nullopt;
  while (semicolon != std::string_view::npos) {
    element.remove_prefix(semicolon + 1);
    semicolon = element.find(';');
    std::string_view parameter = TrimWhitespace(element.substr(0, semicolon));
    size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    if (!EqualsIgnoringCase(TrimWhitespace(parameter.substr(0, equals)), "q")) continue;
    std::optional<int> weight = ParseQValue(TrimWhitespace(parameter.substr(equals + 1)));
    if (!weight) return std::nullopt;
    accepted.weight = *weight;
  }
  return accepted;
}

}  // namespace

std::string_view ContentCodingName(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::kIdentity:
      return "identity";
    case ContentCoding::kGzip:
      return "gzip";
    case ContentCoding::kDeflate:
      return "deflate";
  }
  return "identity";
}

StatusOr<ContentCoding> ParseContentEncoding(std::string_view header) {
  std::string_view name = TrimWhitespace(header);
  if (name.empty()) return ContentCoding::kIdentity;
  std::optional<ContentCoding> coding;
  if (name.find(',') == std::string_view::npos) coding = CodingNamed(name);
  if (!coding) {
    return UnimplementedError("Content-Encoding " + Quote(header) +
                              " is not supported; send the body with one of gzip, deflate or identity");
  }
  return *coding;
}

ContentCoding NegotiateResponseCoding(std::string_view accept_encoding) {
  // Weights of gzip, deflate and identity in thousandths. A coding the
  // header does not name takes the weight of "*"; identity without "*" stays
  // acceptable (weight 1, below anything the client listed).
  constexpr std::array<ContentCoding, 3> kPreference = {ContentCoding::kGzip, ContentCoding::kDeflate,
                                                        ContentCoding::kIdentity};
  std::array<std::optional<int>, 3> weights;
  std::optional<int> wildcard;

  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view element = TrimWhitespace(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (element.empty()) continue;
    std::optional<AcceptedCoding> accepted = ParseAcceptElement(element);
    if (!accepted) return ContentCoding::kIdentity;
    if (accepted->name == "*") {
      wildcard = accepted->weight;
      continue;
    }
    std::optional<ContentCoding> coding = CodingNamed(accepted->name);
    if (!coding) continue;
    for (size_t i = 0; i < kPreference.size(); ++i) {
      if (kPreference[i] == *coding) weights[i] = accepted->weight;
    }
  }

  ContentCoding best = ContentCoding::kIdentity;
  int best_weight = 0;
  for (size_t i = 0; i < kPreference.size(); ++i) {
    int weight = weights[i].value_or(wildcard.value_or(kPreference[i] == ContentCoding::kIdentity ? 1 : 0));
    if (weight > best_weight) {
      best = kPreference[i];
      best_weight = weight;
    }
  }
  return best;
}

}  // namespace moat::server
