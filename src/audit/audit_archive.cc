#include "audit/audit_archive.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace moat::audit {

namespace {

// Field offsets and sizes of a ustar header block.
constexpr size_t kNameOffset = 0;
constexpr size_t kModeOffset = 100;
constexpr size_t kUidOffset = 108;
constexpr size_t kGidOffset = 116;
constexpr size_t kSizeOffset = 124;
constexpr size_t kSizeBytes = 12;
constexpr size_t kMtimeOffset = 136;
constexpr size_t kChecksumOffset = 148;
constexpr size_t kChecksumBytes = 8;
constexpr size_t kTypeOffset = 156;
constexpr size_t kMagicOffset = 257;
constexpr size_t kPrefixOffset = 345;
constexpr size_t kPrefixBytes = 155;
constexpr uint64_t kMaxMemberBytes = (uint64_t{1} << 33) - 1;  // 11 octal digits

// Writes `value` as `width - 1` octal digits and a NUL.
void PutOctal(char* field, size_t width, uint64_t value) {
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
}

// Sums the header bytes with the checksum field counted as eight spaces.
uint64_t HeaderChecksum(std::string_view block) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kUstarBlockBytes; ++i) {
    bool in_checksum = i >= kChecksumOffset && i < kChecksumOffset + kChecksumBytes;
    sum += in_checksum ? uint64_t{' '} : static_cast<uint8_t>(block[i]);
  }
  return sum;
}

// Parses an octal field: leading spaces, digits, then NULs or spaces to the end.
bool ParseOctal(std::string_view field, uint64_t& value) {
  size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  size_t digits = 0;
  value = 0;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i, ++digits) {
    if (value > (UINT64_MAX >> 3)) return false;
    value = (value << 3) | static_cast<uint64_t>(field[i] - '0');
  }
  for (; i < field.size(); ++i) {
    if (field[i] != '\0' && field[i] != ' ') return false;
  }
  return digits > 0;
}

// Returns the text of a NUL-padded field.
std::string_view FieldText(std::string_view field) {
  size_t end = field.find('\0');
  return end == std::string_view::npos ? field : field.substr(0, end);
}

size_t PaddedSize(uint64_t size) {
  return static_cast<size_t>((size + kUstarBlockBytes - 1) / kUstarBlockBytes * kUstarBlockBytes);
}

Status CheckName(std::string_view name) {
  if (name.empty() || name.size() > kUstarMaxNameBytes || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("archive member name \"" + std::string(name) +
                                "\" must have 1 to 100 bytes without '/' or NUL");
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::string> EncodeUstarArchive(const std::vector<ArchiveMember>& members, int64_t mtime) {
  std::string out;
  for (const ArchiveMember& member : members) {
    MOAT_RETURN_IF_ERROR(CheckName(member.name));
    if (member.data.size() > kMaxMemberBytes) {
      return InvalidArgumentError("archive member " + member.name + " has " + std::to_string(member.data.size()) +
                                  " bytes, over the ustar maximum of " + std::to_string(kMaxMemberBytes));
    }
    std::string block(kUstarBlockBytes, '\0');
    std::memcpy(block.data() + kNameOffset, member.name.data(), member.name.size());
    PutOctal(block.data() + kModeOffset, 8, 0600);
    PutOctal(block.data() + kUidOffset, 8, 0);
    PutOctal(block.data() + kGidOffset, 8, 0);
    PutOctal(block.data() + kSizeOffset, kSizeBytes, member.data.size());
    PutOctal(block.data() + kMtimeOffset, 12, static_cast<uint64_t>(std::max<int64_t>(mtime, 0)));
    block[kTypeOffset] = '0';
    std::memcpy(block.data() + kMagicOffset, "ustar\0" "00", 8);
    // The checksum field is six octal digits, a NUL and a space.
    PutOctal(block.data() + kChecksumOffset, 7, HeaderChecksum(block));
    block[kChecksumOffset + 7] = ' ';
    out += block;
    out += member.data;
    out.append(PaddedSize(member.data.size()) - member.data.size(), '\0');
  }
  out.append(2 * kUstarBlockBytes, '\0');
  return out;
}

StatusOr<std::vector<ArchiveMember>> ParseUstarArchive(std::string_view data, std::string_view source_name) {
  std::vector<ArchiveMember> members;
  std::set<std::string, std::less<>> names;
  size_t offset = 0;
  auto error = [&](const std::string& reason) {
    return DataLossError(std::string(source_name) + ": archive header at byte offset " + std::to_string(offset) +
                         ": " + reason);
  };
  while (true) {
    if (data.size() - offset < kUstarBlockBytes) {
      return DataLossError(std::string(source_name) + ": archive ends at byte offset " + std::to_string(data.size()) +
                           " without the zero blocks that end an archive (file cut short?)");
    }
    std::string_view block = data.substr(offset, kUstarBlockBytes);
    if (std::all_of(block.begin(), block.end(), [](char c) { return c == '\0'; })) break;

    uint64_t stored_checksum = 0;
    if (!ParseOctal(block.substr(kChecksumOffset, kChecksumBytes), stored_checksum) ||
        stored_checksum != HeaderChecksum(block)) {
      return error("header checksum mismatch");
    }
    if (block.substr(kMagicOffset, 5) != "ustar") return error("not a ustar header (magic \"ustar\" missing)");
    char type = block[kTypeOffset];
    if (type != '0' && type != '\0') {
      return error("member type '" + std::string(1, type) + "' is not a regular file");
    }
    std::string name(FieldText(block.substr(kNameOffset, kUstarMaxNameBytes)));
    if (!FieldText(block.substr(kPrefixOffset, kPrefixBytes)).empty()) {
      return error("member name has a directory prefix; audit archives are flat");
    }
    if (!CheckName(name).ok()) return error("member name \"" + name + "\" is empty or contains '/'");
    if (names.contains(name)) return error("member " + name + " appears twice");
    uint64_t size = 0;
    if (!ParseOctal(block.substr(kSizeOffset, kSizeBytes), size)) return error("member size is not octal");
    size_t body = offset + kUstarBlockBytes;
    if (size > data.size() - body || PaddedSize(size) > data.size() - body) {
      return error("member " + name + " of " + std::to_string(size) + " bytes runs past the end of the archive");
    }
    names.insert(name);
    members.push_back({name, std::string(data.substr(body, static_cast<size_t>(size)))});
    offset = body + PaddedSize(size);
  }
  // Tar programs pad the archive with zero blocks; anything else after the end is suspect.
  std::string_view rest = data.substr(offset);
  size_t stray = rest.find_first_not_of('\0');
  if (stray != std::string_view::npos) {
    return DataLossError(std::string(source_name) + ": non-zero byte at offset " + std::to_string(offset + stray) +
                         " after the end of the archive");
  }
  return members;
}

}  // namespace moat::audit
