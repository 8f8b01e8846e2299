#include "server/content_coding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "server/zlib_codec.h"
#include "zlib_test_util.h"

namespace moat::server {
namespace {

using ::testing::HasSubstr;
using testing::ZlibCompress;
using testing::ZlibDecompress;
using testing::ZlibFormat;

// Text that compresses well, of `size` bytes.
std::string SampleText(size_t size) {
  std::string text;
  while (text.size() < size)
    text += "{\"name\":\"INPUT0\",\"datatype\":\"FP32\"} " + std::to_string(text.size());
  text.resize(size);
  return text;
}

TEST(ContentEncoding, ParsesSupportedCodings) {
  const std::pair<std::string, ContentCoding> cases[] = {
      {"", ContentCoding::kIdentity},       {"identity", ContentCoding::kIdentity},
      {"gzip", ContentCoding::kGzip},       {" GZip ", ContentCoding::kGzip},
      {"x-gzip", ContentCoding::kGzip},     {"deflate", ContentCoding::kDeflate},
      {"Deflate", ContentCoding::kDeflate},
  };
  for (const auto& [header, coding] : cases) {
    SCOPED_TRACE(header);
    auto parsed = ParseContentEncoding(header);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, coding);
  }
}

TEST(ContentEncoding, RejectsOtherCodingsAndLists) {
  for (std::string header : {"br", "zstd", "compress", "gzip, deflate", "gzip,identity", "identity, gzip"}) {
    SCOPED_TRACE(header);
    auto parsed = ParseContentEncoding(header);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kUnimplemented);
    EXPECT_THAT(parsed.status().message(), HasSubstr("Content-Encoding '" + header + "' is not supported"));
  }
}

TEST(AcceptEncoding, PicksPreferredCoding) {
  const std::pair<std::string, ContentCoding> cases[] = {
      {"", ContentCoding::kIdentity},
      {"gzip", ContentCoding::kGzip},
      {"deflate", ContentCoding::kDeflate},
      {"gzip, deflate", ContentCoding::kGzip},
      {"deflate, gzip", ContentCoding::kGzip},
      {"gzip;q=0.5, deflate", ContentCoding::kDeflate},
      {"gzip;q=0.5, deflate;q=0.8", ContentCoding::kDeflate},
      {"GZIP;Q=1.000", ContentCoding::kGzip},
      {"br", ContentCoding::kIdentity},
      {"br, deflate;q=0.1", ContentCoding::kDeflate},
      {"*", ContentCoding::kGzip},
      {"*;q=0.3, gzip;q=0.2", ContentCoding::kDeflate},
      {"identity", ContentCoding::kIdentity},
      {"identity;q=1, gzip;q=0.5", ContentCoding::kIdentity},
      {"gzip;q=0", ContentCoding::kIdentity},
      {"gzip;q=0, deflate;q=0", ContentCoding::kIdentity},
      {"identity;q=0", ContentCoding::kIdentity},
      {"identity;q=0, deflate", ContentCoding::kDeflate},
      {"*;q=0, gzip", ContentCoding::kGzip},
      {"gzip;level=9;q=0.9", ContentCoding::kGzip},
      {"gzip;q=2", ContentCoding::kIdentity},
      {"gzip;q=abc", ContentCoding::kIdentity},
      {"gzip;q", ContentCoding::kIdentity},
      {" , gzip ,", ContentCoding::kGzip},
  };
  for (const auto& [header, coding] : cases) {
    SCOPED_TRACE(header);
    EXPECT_EQ(NegotiateResponseCoding(header), coding);
  }
}

TEST(ZlibCodec, DecompressesGzipAndBothDeflateForms) {
  std::string text = SampleText(100000);
  const std::pair<ContentCoding, ZlibFormat> cases[] = {
      {ContentCoding::kGzip, ZlibFormat::kGzip},
      {ContentCoding::kDeflate, ZlibFormat::kZlib},
      {ContentCoding::kDeflate, ZlibFormat::kRawDeflate},
  };
  for (const auto& [coding, format] : cases) {
    SCOPED_TRACE(static_cast<int>(format));
    std::string compressed = ZlibCompress(text, format);
    ASSERT_FALSE(compressed.empty());
    auto decompressed = Decompress(coding, compressed, text.size());
    ASSERT_TRUE(decompressed.ok()) << decompressed.status().ToString();
    EXPECT_EQ(*decompressed, text);
  }
}

TEST(ZlibCodec, DecompressesGzipMembers) {
  std::string first = SampleText(3000);
  std::string second = "and a second member";
  auto decompressed =
      Decompress(ContentCoding::kGzip,
                 ZlibCompress(first, ZlibFormat::kGzip) + ZlibCompress(second, ZlibFormat::kGzip), 1 << 20);
  ASSERT_TRUE(decompressed.ok()) << decompressed.status().ToString();
  EXPECT_EQ(*decompressed, first + second);
}

TEST(ZlibCodec, LimitIsExact) {
  std::string text = SampleText(50000);
  std::string compressed = ZlibCompress(text, ZlibFormat::kGzip);
  auto at_limit = Decompress(ContentCoding::kGzip, compressed, text.size());
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->size(), text.size());

  auto over = Decompress(ContentCoding::kGzip, compressed, text.size() - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(over.status().message(),
              HasSubstr("request body decompressed from gzip is larger than the limit of 49999 bytes"));
}

TEST(ZlibCodec, BombStopsAtLimit) {
  // 256 MiB of zeros in about 256 KiB; the limit stops it at 1 MiB.
  std::string bomb = testing::CompressedZeros(size_t{256} << 20, ZlibFormat::kZlib);
  ASSERT_FALSE(bomb.empty());
  ASSERT_LT(bomb.size(), size_t{1} << 20);
  auto decompressed = Decompress(ContentCoding::kDeflate, bomb, size_t{1} << 20);
  ASSERT_FALSE(decompressed.ok());
  EXPECT_EQ(decompressed.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(decompressed.status().message(), HasSubstr("larger than the limit of 1048576 bytes"));
}

TEST(ZlibCodec, RejectsCorruptData) {
  std::string gzip = ZlibCompress(SampleText(5000), ZlibFormat::kGzip);
  std::string zlib = ZlibCompress(SampleText(5000), ZlibFormat::kZlib);
  struct Case {
    std::string label;
    ContentCoding coding;
    std::string data;
    std::string fragment;
  };
  const Case cases[] = {
      {"not gzip", ContentCoding::kGzip, "plain text, not gzip", "is not valid gzip data"},
      {"truncated gzip", ContentCoding::kGzip, gzip.substr(0, gzip.size() / 2), "is truncated"},
      {"gzip with a bad checksum", ContentCoding::kGzip,
       gzip.substr(0, gzip.size() - 8) + std::string(8, '\x7f'), "is not valid gzip data"},
      {"garbage after gzip", ContentCoding::kGzip, gzip + "xyz", "is not valid gzip data"},
      {"data after zlib stream", ContentCoding::kDeflate, zlib + "xyz", "has data after the end"},
      {"truncated zlib", ContentCoding::kDeflate, zlib.substr(0, 10), "is truncated"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.label);
    auto decompressed = Decompress(test.coding, test.data, 1 << 20);
    ASSERT_FALSE(decompressed.ok());
    EXPECT_EQ(decompressed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decompressed.status().message(), HasSubstr(test.fragment));
  }
}

TEST(ZlibCodec, CompressesForOtherDecoders) {
  std::string text = SampleText(20000);
  auto gzip = Compress(ContentCoding::kGzip, text);
  ASSERT_TRUE(gzip.ok()) << gzip.status().ToString();
  EXPECT_LT(gzip->size(), text.size());
  EXPECT_EQ(ZlibDecompress(*gzip, ZlibFormat::kGzip), text);

  auto deflate = Compress(ContentCoding::kDeflate, text);
  ASSERT_TRUE(deflate.ok()) << deflate.status().ToString();
  EXPECT_EQ(ZlibDecompress(*deflate, ZlibFormat::kZlib), text);

  auto empty = Compress(ContentCoding::kGzip, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(ZlibDecompress(*empty, ZlibFormat::kGzip), "");
}

TEST(ZlibCodec, IdentityCopiesWithinLimit) {
  EXPECT_EQ(*Decompress(ContentCoding::kIdentity, "abc", 3), "abc");
  EXPECT_EQ(Decompress(ContentCoding::kIdentity, "abcd", 3).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(*Compress(ContentCoding::kIdentity, "abc"), "abc");
}

}  // namespace
}  // namespace moat::server
