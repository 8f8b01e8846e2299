// gzip and deflate bodies through zlib: bounded decompression of requests and
// compression of responses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/content_coding.h"

namespace moat::server {

// Decompresses `input`. For kDeflate the zlib format (RFC 1950) is expected,
// and raw deflate (RFC 1951) is accepted when the zlib header is absent. A
// gzip body may contain several members. Never keeps more than
// `max_output_bytes` of output: RESOURCE_EXHAUSTED naming the limit as soon as
// the output would pass it. INVALID_ARGUMENT for corrupt or truncated data and
// for bytes after the end of a deflate stream. kIdentity returns a copy.
StatusOr<std::string> Decompress(ContentCoding coding, std::string_view input, size_t max_output_bytes);

// Compresses `input` as gzip (RFC 1952) or zlib-format deflate, the form that
// HTTP's "deflate" names. kIdentity returns a copy. INTERNAL when zlib fails.
StatusOr<std::string> Compress(ContentCoding coding, std::string_view input);

}  // namespace moat::server
