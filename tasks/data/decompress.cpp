// decompress.cpp: gzip (zlib) and xz (liblzma) in memory, bounded.
//
// What this file is: the two functions of decompress.h. Output buffers grow by doubling up
// to max_out + 1 bytes: one byte more than allowed is how "too large" is detected, so no input
// can make us allocate more than about twice max_out. What it is not: file reading
// (nn/files.cpp) or file formats (data.cpp).
#include "tasks/data/decompress.h"

#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <stdexcept>

namespace l2l {
namespace {

// Throws "<name>: expected <expected>, found <found>. Fix: <fix>" (the style of data.cpp).
[[noreturn]] void fail(const std::string& name, const std::string& expected, const std::string& found,
                       const std::string& fix) {
  throw std::runtime_error(name + ": expected " + expected + ", found " + found + ". Fix: " + fix);
}

std::string describe_head(const Bytes& b, size_t n) {
  if (b.empty()) return "an empty file";
  std::ostringstream s;
  s << "first bytes";
  for (size_t i = 0; i < std::min(n, b.size()); ++i) s << " 0x" << std::hex << int(b[i]);
  return s.str();
}

std::string mib(size_t n) { return std::to_string(n >> 20) + " MiB"; }

// Makes room for more output: doubles `out` (at least 64 KiB), but to no more than cap bytes.
// Returns false if `out` already holds cap bytes.
bool grow(Bytes& out, size_t used, size_t cap) {
  if (used < out.size()) return true;
  if (out.size() >= cap) return false;
  out.resize(std::min(cap, std::max<size_t>(2 * out.size(), 1 << 16)));
  return true;
}

std::string lzma_error_name(lzma_ret r) {
  switch (r) {
    case LZMA_FORMAT_ERROR: return "data not in .xz format (LZMA_FORMAT_ERROR)";
    case LZMA_DATA_ERROR: return "corrupt compressed data (LZMA_DATA_ERROR)";
    case LZMA_BUF_ERROR: return "a stream that ends too early, i.e. truncated (LZMA_BUF_ERROR)";
    case LZMA_MEM_ERROR: return "out of memory (LZMA_MEM_ERROR)";
    case LZMA_MEMLIMIT_ERROR: return "a stream that needs more than 128 MiB to decode (LZMA_MEMLIMIT_ERROR)";
    case LZMA_OPTIONS_ERROR: return "unsupported options (LZMA_OPTIONS_ERROR)";
    case LZMA_UNSUPPORTED_CHECK: return "an unsupported integrity check (LZMA_UNSUPPORTED_CHECK)";
    default: return "liblzma error code " + std::to_string(int(r));
  }
}

}  // namespace

Bytes gunzip(const Bytes& in, const std::string& name, size_t max_out, const std::string& fix) {
  if (in.size() < 2 || in[0] != 0x1f || in[1] != 0x8b)
    fail(name, "a gzip file (magic bytes 0x1f 0x8b)", describe_head(in, 2), fix);
  if (in.size() > 0xffffffffu) fail(name, "a gzip file under 4 GiB", std::to_string(in.size()) + " bytes", fix);
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)  // 16 + : expect a gzip header
    fail(name, "a gzip decoder", "inflateInit2 failed", fix);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = uInt(in.size());
  Bytes out;
  size_t used = 0;
  std::string problem;
  for (;;) {
    if (!grow(out, used, max_out + 1)) {
      problem = "more than " + std::to_string(max_out) + " bytes after decompression";
      break;
    }
    z.next_out = out.data() + used;
    z.avail_out = uInt(std::min<size_t>(out.size() - used, 1u << 30));
    int r = inflate(&z, Z_NO_FLUSH);
    used = size_t(z.next_out - out.data());
    if (r == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {  // another member
        inflateReset(&z);
        continue;
      }
      problem = std::to_string(z.avail_in) + " bytes after the end of the gzip stream";
      break;
    }
    if (r != Z_OK && r != Z_BUF_ERROR) {
      problem = std::string("zlib error \"") + (z.msg ? z.msg : "unknown") + "\"";
      break;
    }
    if (z.avail_in == 0 && z.avail_out > 0) {  // all input consumed, stream not finished
      problem = "a stream that ends too early (truncated)";
      break;
    }
  }
  inflateEnd(&z);
  if (problem.empty() && used > max_out) problem = "more than " + std::to_string(max_out) + " bytes after decompression";
  if (!problem.empty()) fail(name, "a complete, valid gzip stream of at most " + mib(max_out), problem, fix);
  out.resize(used);
  return out;
}

Bytes unxz(const Bytes& in, const std::string& name, size_t max_out, const std::string& fix) {
  static const unsigned char kMagic[6] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
  if (in.size() < 6 || !std::equal(kMagic, kMagic + 6, in.begin()))
    fail(name, "an xz file (magic bytes 0xfd '7zXZ' 0x00)", describe_head(in, 6), fix);
  lzma_stream strm = LZMA_STREAM_INIT;
  const uint64_t kMemLimit = uint64_t(128) << 20;  // xz -9 needs 65 MiB to decode
  if (lzma_stream_decoder(&strm, kMemLimit, 0) != LZMA_OK)
    fail(name, "an xz decoder", "lzma_stream_decoder failed to initialise", fix);
  strm.next_in = in.data();
  strm.avail_in = in.size();
  Bytes out;
  size_t used = 0;
  std::string problem;
  lzma_ret r = LZMA_OK;
  while (r == LZMA_OK) {
    if (!grow(out, used, max_out + 1)) {
      problem = "more than " + std::to_string(max_out) + " bytes after decompression";
      break;
    }
    strm.next_out = out.data() + used;
    strm.avail_out = out.size() - used;
    r = lzma_code(&strm, LZMA_FINISH);
    used = size_t(strm.next_out - out.data());
  }
  size_t left = strm.avail_in;
  lzma_end(&strm);
  if (problem.empty() && used > max_out) problem = "more than " + std::to_string(max_out) + " bytes after decompression";
  if (problem.empty() && r != LZMA_STREAM_END) problem = lzma_error_name(r);
  if (problem.empty() && left != 0) problem = std::to_string(left) + " trailing bytes after the xz stream";
  if (!problem.empty()) fail(name, "a complete, valid xz stream of at most " + mib(max_out), problem, fix);
  out.resize(used);
  return out;
}

}  // namespace l2l
