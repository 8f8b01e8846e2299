// HTTP content codings (RFC 9110 section 8.4): the Content-Encoding of request
// bodies and the choice of a response coding from Accept-Encoding.
#pragma once

#include <string_view>

#include "common/status.h"

namespace moat::server {

enum class ContentCoding { kIdentity, kGzip, kDeflate };

// "identity", "gzip" or "deflate".
std::string_view ContentCodingName(ContentCoding coding);

// Parses a request's Content-Encoding value; an empty value is identity.
// Names are case-insensitive and may have surrounding whitespace.
// UNIMPLEMENTED naming the value for any other coding and for a list of
// codings, which Moat does not decode.
StatusOr<ContentCoding> ParseContentEncoding(std::string_view header);

// Picks the response coding from an Accept-Encoding value: the supported
// coding with the highest q-value, where "*" stands for codings not listed
// and gzip wins ties over deflate, and deflate over identity. Identity when
// the header is empty or malformed, or when it refuses every coding
// (including identity), because a body must be sent either way.
ContentCoding NegotiateResponseCoding(std::string_view accept_encoding);

}  // namespace moat::server
