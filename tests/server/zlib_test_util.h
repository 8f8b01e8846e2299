// zlib called directly, so that tests check the server's codings against an
// implementation other than its own.
#pragma once

#include <zlib.h>

#include <string>
#include <string_view>

namespace moat::server::testing {

// The wrapper around deflate data: window bits for deflateInit2/inflateInit2.
enum class ZlibFormat { kGzip = 16 + MAX_WBITS, kZlib = MAX_WBITS, kRawDeflate = -MAX_WBITS };

// Compresses `data` whole; returns an empty string if zlib fails.
inline std::string ZlibCompress(std::string_view data, ZlibFormat format, int level = Z_DEFAULT_COMPRESSION) {
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, static_cast<int>(format), 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return "";
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int code = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return code == Z_STREAM_END ? out : "";
}

// Compresses `size` zero bytes without holding them in memory: a small body
// that inflates to a large one. Returns an empty string if zlib fails.
inline std::string CompressedZeros(size_t size, ZlibFormat format) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, static_cast<int>(format), 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  static const char kZeros[1 << 16] = {};
  std::string out;
  char chunk[1 << 16];
  size_t remaining = size;
  int code = Z_OK;
  while (code != Z_STREAM_END) {
    if (stream.avail_in == 0) {
      size_t piece = remaining < sizeof(kZeros) ? remaining : sizeof(kZeros);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(kZeros));
      stream.avail_in = static_cast<uInt>(piece);
      remaining -= piece;
    }
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    code = deflate(&stream, remaining == 0 ? Z_FINISH : Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - stream.avail_out);
    if (code != Z_OK && code != Z_STREAM_END && code != Z_BUF_ERROR) break;
  }
  deflateEnd(&stream);
  return code == Z_STREAM_END ? out : "";
}

// Decompresses `data` whole; returns "<invalid>" if it is not one complete
// stream of `format`.
inline std::string ZlibDecompress(std::string_view data, ZlibFormat format) {
  z_stream stream{};
  if (inflateInit2(&stream, static_cast<int>(format)) != Z_OK) return "<invalid>";
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char chunk[16384];
  int code = Z_OK;
  while (code == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    code = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - stream.avail_out);
  }
  inflateEnd(&stream);
  return code == Z_STREAM_END && stream.avail_in == 0 ? out : "<invalid>";
}

}  // namespace moat::server::testing
