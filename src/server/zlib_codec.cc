#include "server/zlib_codec.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace moat::server {
namespace {

// zlib counts input and output in uInt, so longer buffers go in pieces.
constexpr size_t kMaxZlibChunk = std::numeric_limits<uInt>::max();
constexpr size_t kInitialOutputBytes = 64u << 10;
// Added to the window bits, selects the gzip wrapper (zlib.h, inflateInit2).
constexpr int kGzipWrapper = 16;

// Whether `input` starts with a zlib header (RFC 1950 section 2.2): method 8
// (deflate), a window of at most 32 KiB, and a check value that makes the
// first two bytes a multiple of 31.
bool HasZlibHeader(std::string_view input) {
  if (input.size() < 2) return false;
  auto method = static_cast<uint8_t>(input[0]);
  auto flags = static_cast<uint8_t>(input[1]);
  return (method & 0x0F) == 8 && (method >> 4) <= 7 && ((method << 8) | flags) % 31 == 0;
}

std::string ZlibError(const z_stream& stream, int code) {
  if (stream.msg != nullptr) return stream.msg;
  return "zlib error " + std::to_string(code);
}

// Owns an inflate stream and ends it when the scope ends.
class InflateStream {
 public:
  explicit InflateStream(int window_bits) { status_ = inflateInit2(&stream_, window_bits); }
  ~InflateStream() {
    if (status_ == Z_OK) inflateEnd(&stream_);
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  int init_status() const { return status_; }
  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
  int status_;
};

// Same for a deflate stream.
class DeflateStream {
 public:
  explicit DeflateStream(int window_bits) {
    // Level 1: responses are compressed on the request path, where latency
    // counts more than the last few percent of size.
    status_ = deflateInit2(&stream_, Z_BEST_SPEED, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  }
  ~DeflateStream() {
    if (status_ == Z_OK) deflateEnd(&stream_);
  }
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;

  int init_status() const { return status_; }
  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
  int status_;
};

// Gives `stream` the next piece of `input` once it has used up the last one.
void FeedInput(z_stream& stream, std::string_view input, size_t& consumed) {
  if (stream.avail_in > 0 || consumed == input.size()) return;
  size_t piece = std::min(input.size() - consumed, kMaxZlibChunk);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data() + consumed));
  stream.avail_in = static_cast<uInt>(piece);
  consumed += piece;
}

}  // namespace

StatusOr<std::string> Decompress(ContentCoding coding, std::string_view input, size_t max_output_bytes) {
  std::string name(ContentCodingName(coding));
  auto too_large = [&] {
    return ResourceExhaustedError("request body decompressed from " + name + " is larger than the limit of " +
                                  std::to_string(max_output_bytes) + " bytes");
  };
  if (coding == ContentCoding::kIdentity) {
    if (input.size() > max_output_bytes) return too_large();
    return std::string(input);
  }

  int window_bits = MAX_WBITS;
  if (coding == ContentCoding::kGzip) window_bits += kGzipWrapper;
  if (coding == ContentCoding::kDeflate && !HasZlibHeader(input)) window_bits = -MAX_WBITS;
  InflateStream inflater(window_bits);
  if (inflater.init_status() != Z_OK) {
    return InternalError("failed to start decompressing the " + name + " request body: zlib error " +
                         std::to_string(inflater.init_status()));
  }
  z_stream& stream = inflater.get();

  std::string output;
  size_t produced = 0;
  size_t consumed = 0;
  // Once the output has reached max_output_bytes, inflate writes into this
  // one-byte probe, and any byte there means the body is over the limit.
  Bytef probe = 0;
  while (true) {
    bool at_limit = produced == max_output_bytes;
    if (!at_limit && produced == output.size()) {
      output.resize(std::min(max_output_bytes, std::max(output.size() * 2, kInitialOutputBytes)));
    }
    if (at_limit) {
      stream.next_out = &probe;
      stream.avail_out = 1;
    } else {
      stream.next_out = reinterpret_cast<Bytef*>(output.data() + produced);
      stream.avail_out = static_cast<uInt>(std::min(output.size() - produced, kMaxZlibChunk));
    }
    FeedInput(stream, input, consumed);

    uInt space = stream.avail_out;
    int code = inflate(&stream, Z_NO_FLUSH);
    size_t written = space - stream.avail_out;
    if (at_limit && written > 0) return too_large();
    produced += written;

    bool input_left = stream.avail_in > 0 || consumed < input.size();
    if (code == Z_OK) continue;
    if (code == Z_STREAM_END) {
      if (!input_left) break;
      // A gzip body may be several members back to back (RFC 1952 section 2.2).
      if (coding == ContentCoding::kGzip && inflateReset(&stream) == Z_OK) continue;
      return InvalidArgumentError("the " + name +
                                  " request body has data after the end of its compressed stream");
    }
    if (code == Z_BUF_ERROR && !input_left) {
      return InvalidArgumentError("the " + name +
                                  " request body is truncated: its compressed stream does not end");
    }
    if (code == Z_BUF_ERROR) continue;  // the output was full; the next round grows it
    return InvalidArgumentError("the " + name + " request body is not valid " + name +
                                " data: " + ZlibError(stream, code));
  }
  output.resize(produced);
  return output;
}

StatusOr<std::string> Compress(ContentCoding coding, std::string_view input) {
  if (coding == ContentCoding::kIdentity) return std::string(input);
  DeflateStream deflater(coding == ContentCoding::kGzip ? MAX_WBITS + kGzipWrapper : MAX_WBITS);
  if (deflater.init_status() != Z_OK) {
    return InternalError("failed to start " + std::string(ContentCodingName(coding)) +
                         " compression: zlib error " + std::to_string(deflater.init_status()));
  }
  z_stream& stream = deflater.get();

  // deflateBound is enough for the whole output in one buffer.
  std::string output(deflateBound(&stream, static_cast<uLong>(input.size())), '\0');
  size_t produced = 0;
  size_t consumed = 0;
  while (true) {
    FeedInput(stream, input, consumed);
    stream.next_out = reinterpret_cast<Bytef*>(output.data() + produced);
    stream.avail_out = static_cast<uInt>(std::min(output.size() - produced, kMaxZlibChunk));
    uInt space = stream.avail_out;
    bool last_input = stream.avail_in == 0 || consumed == input.size();
    int code = deflate(&stream, last_input ? Z_FINISH : Z_NO_FLUSH);
    produced += space - stream.avail_out;
    if (code == Z_STREAM_END) break;
    if (code != Z_OK && code != Z_BUF_ERROR) {
      return InternalError(std::string(ContentCodingName(coding)) +
                           " compression failed: " + ZlibError(stream, code));
    }
    if (produced == output.size()) output.resize(output.size() * 2);
  }
  output.resize(produced);
  return output;
}

}  // namespace moat::server
