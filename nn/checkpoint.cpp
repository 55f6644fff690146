// checkpoint.cpp: encode and decode checkpoint files (format in checkpoint.h), and read back
// their metadata with range checks.
//
// Encoding builds the whole file in memory, then writes it in one go with write_file_atomic
// (nn/files.h); decoding reads the whole file with read_regular_file (bounded, regular files
// only) and walks it with a bounds-checked cursor, so a bad length can never make us read past
// the end or allocate more than the file could hold. Is not: file I/O itself (nn/files.cpp).
#include "checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <type_traits>

#include "files.h"

namespace l2l {

static const unsigned char kMagic[8] = {'L', '2', 'L', 'C', 'K', 'P', 'T', '\0'};
static const uint32_t kVersion = 2;  // version 1 (no dtype byte, float32 data) is still read

// The dtype byte save_checkpoint writes: the build's own `real`, so saving loses nothing.
static_assert(sizeof(real) == 4 || sizeof(real) == 8, "real must be float or double");
static const unsigned char kNativeDtype = sizeof(real) == 8 ? 'd' : 'f';
using RealBits = std::conditional_t<sizeof(real) == 8, uint64_t, uint32_t>;  // same size as real

uint64_t fnv1a64(const unsigned char* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

// ---- encoding -------------------------------------------------------------------------------

namespace {

struct Writer {
  std::vector<unsigned char> bytes;
  void u32(uint32_t v) {
    for (int i = 0; i < 4; i++) bytes.push_back((unsigned char)(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; i++) bytes.push_back((unsigned char)(v >> (8 * i)));
  }
  void real_bits(real x) {  // x's IEEE bits: 4 bytes for float, 8 for double
    RealBits bits;
    std::memcpy(&bits, &x, sizeof bits);
    if (sizeof bits == 8) u64(bits);
    else u32((uint32_t)bits);
  }
  void str(const std::string& s) {  // u32 length + bytes
    u32((uint32_t)s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
};

// Everything save_checkpoint refuses, before it touches the disk.
void validate(const Checkpoint& ck, const std::string& path) {
  auto bad = [&](const std::string& msg) {
    throw std::invalid_argument("cannot save checkpoint " + path + ": " + msg);
  };
  const size_t kMaxLen = 0xffffffffu;
  std::set<std::string> keys, names;
  for (const auto& [k, v] : ck.meta) {
    if (k.empty()) bad("a metadata key is empty");
    if (!keys.insert(k).second) bad("metadata key '" + k + "' appears twice");
    if (k.size() > kMaxLen || v.size() > kMaxLen) bad("metadata entry '" + k + "' is too long");
  }
  for (const auto& [n, t] : ck.tensors) {
    if (n.empty()) bad("a tensor name is empty");
    if (!names.insert(n).second) bad("tensor name '" + n + "' appears twice");
    if (n.size() > kMaxLen) bad("tensor name '" + n.substr(0, 40) + "...' is too long");
    for (int d : t.shape())
      if (d < 0) bad("tensor '" + n + "' has a negative dimension " + shape_str(t.shape()));
    if (t.size() != shape_numel(t.shape()))  // only a default-constructed Tensor()
      bad("tensor '" + n + "' is an empty Tensor() with no shape");
  }
}

std::vector<unsigned char> encode(const Checkpoint& ck) {
  Writer w;
  w.bytes.assign(kMagic, kMagic + 8);
  w.u32(kVersion);
  w.u32((uint32_t)ck.meta.size());
  for (const auto& [k, v] : ck.meta) {
    w.str(k);
    w.str(v);
  }
  w.u32((uint32_t)ck.tensors.size());
  for (const auto& [n, t] : ck.tensors) {
    w.str(n);
    w.u32((uint32_t)t.ndim());
    for (int d : t.shape()) w.u32((uint32_t)d);  // i32 on disk; validate() ruled out d < 0
    w.bytes.push_back(kNativeDtype);
    for (size_t i = 0; i < t.size(); i++) w.real_bits(t[i]);
  }
  w.u64(fnv1a64(w.bytes.data(), w.bytes.size()));
  return std::move(w.bytes);
}

// ---- decoding -------------------------------------------------------------------------------

// A cursor over the file's bytes; every read names its field so errors can say which one.
struct Reader {
  const unsigned char* buf;
  size_t size;
  const std::string& path;
  size_t pos = 0;

  size_t left() const { return size - pos; }
  static std::string number(double n) {
    char b[32];
    std::snprintf(b, sizeof b, n < 1e15 ? "%.0f" : "%.3g", n);
    return b;
  }
  [[noreturn]] void fail(const std::string& msg) const {
    throw std::runtime_error("checkpoint " + path + ": " + msg);
  }
  // n is a double so that a product of corrupted dimensions cannot overflow (exact to 2^53).
  void need(double n, const std::string& field) const {
    if (n > (double)left())
      fail("truncated or corrupted: " + field + " needs " + number(n) + " bytes at offset " +
           std::to_string(pos) + " but only " + std::to_string(left()) + " remain (file is " +
           std::to_string(size) + " bytes)");
  }
  uint32_t u32(const std::string& field) {
    need(4, field);
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)buf[pos + i] << (8 * i);
    pos += 4;
    return v;
  }
  uint64_t u64(const std::string& field) {
    need(8, field);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)buf[pos + i] << (8 * i);
    pos += 8;
    return v;
  }
  std::string str(const std::string& field) {  // u32 length + bytes
    uint32_t n = u32(field + " length");
    need(n, field);  // bounds the allocation by the file size
    std::string s((const char*)buf + pos, n);
    pos += n;
    return s;
  }
  // A u32 count of entries that each take at least min_bytes: larger than the file allows
  // means a corrupted count, reported before anything is allocated for it.
  uint32_t count(const std::string& field, size_t min_bytes) {
    uint32_t n = u32(field);
    if ((uint64_t)n * min_bytes > left())
      fail("truncated or corrupted: " + field + " is " + std::to_string(n) + ", but that many entries need at least " +
           std::to_string((uint64_t)n * min_bytes) + " bytes and only " + std::to_string(left()) + " remain");
    return n;
  }
};

// The IEEE value whose bits are `bits` (F is float with 32 bits or double with 64).
template <class F, class Bits>
F bits_to(Bits bits) {
  static_assert(sizeof(F) == sizeof(Bits), "one float, its own bits");
  F f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// A tensor's dimensions must multiply to at most 2^31-1 (zeros counted as 1, so that the
// strides of a shape like (0, 65536, 65536) cannot overflow an int either).
constexpr double kMaxNumel = (double)INT_MAX;

}  // namespace

namespace {

// Magic and version; returns the version (1 or kVersion).
uint32_t read_header(Reader& r) {
  r.need(8, "magic");
  if (std::memcmp(r.buf, kMagic, 8) != 0) r.fail("not an l2l checkpoint (bad magic bytes)");
  r.pos = 8;
  uint32_t version = r.u32("format version");
  if (version != 1 && version != kVersion)
    r.fail("unsupported format version " + std::to_string(version) + " (this build reads versions 1 and " +
           std::to_string(kVersion) + ")");
  return version;
}

void read_metadata(Reader& r, Checkpoint& ck) {
  uint32_t n_meta = r.count("metadata count", 8);  // two u32 lengths per entry
  for (uint32_t i = 0; i < n_meta; i++) {
    std::string field = "metadata entry " + std::to_string(i);
    std::string k = r.str(field + " key");
    std::string v = r.str(field + " value");
    if (ck.meta_value(k)) r.fail("corrupted: metadata key '" + k + "' appears twice");
    ck.meta.emplace_back(std::move(k), std::move(v));
  }
}

// u32 ndim, then ndim i32 dimensions, none negative, their product (zeros as 1) at most 2^31-1.
Shape read_shape(Reader& r, const std::string& field) {
  uint32_t ndim = r.u32(field + " ndim");
  r.need(4.0 * ndim, field + " dims");
  Shape shape(ndim);
  double extent = 1;  // a double, so absurd dimensions cannot overflow it
  for (uint32_t d = 0; d < ndim; d++) {
    int32_t dim = (int32_t)r.u32(field + " dims");
    if (dim < 0) r.fail("corrupted: " + field + " has negative dimension " + std::to_string(dim));
    shape[d] = dim;
    extent *= std::max(dim, 1);
    if (extent > kMaxNumel)
      r.fail("corrupted: " + field + " has dimensions whose product exceeds 2^31-1 (" +
             shape_str(Shape(shape.begin(), shape.begin() + d + 1)) + "...)");
  }
  return shape;
}

// Bytes per element on disk: the dtype byte ('f' 4, 'd' 8); version 1 has none (always float32).
size_t read_width(Reader& r, uint32_t version, const std::string& field) {
  unsigned char dtype = 'f';
  if (version >= 2) {
    r.need(1, field + " dtype");
    dtype = r.buf[r.pos++];
  }
  if (dtype != 'f' && dtype != 'd') {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", dtype);
    r.fail("corrupted: " + field + " has unknown dtype byte " + hex + " (expected 'f' for float32 or 'd' for float64)");
  }
  return dtype == 'd' ? 8 : 4;
}

// One named tensor: name, shape, dtype, then its little-endian data converted to `real`.
void read_tensor(Reader& r, uint32_t version, uint32_t i, Checkpoint& ck) {
  std::string field = "tensor " + std::to_string(i);
  std::string name = r.str(field + " name");
  field += " ('" + name + "')";
  if (ck.tensor(name)) r.fail("corrupted: tensor name '" + name + "' appears twice");
  Shape shape = read_shape(r, field);
  const size_t width = read_width(r, version, field);
  r.need((double)shape_numel(shape) * width, field + " data, shape " + shape_str(shape) + ",");  // before allocating
  Tensor t(shape);
  for (size_t j = 0; j < t.size(); j++, r.pos += width) {  // bounds checked by need() above
    uint64_t bits = 0;
    for (size_t b = 0; b < width; b++) bits |= (uint64_t)r.buf[r.pos + b] << (8 * b);
    t[j] = width == 8 ? (real)bits_to<double>(bits) : (real)bits_to<float>((uint32_t)bits);
  }
  ck.tensors.emplace_back(std::move(name), std::move(t));
}

}  // namespace

Checkpoint decode_checkpoint(const unsigned char* buf, size_t size, const std::string& path) {
  Reader r{buf, size, path};
  const uint32_t version = read_header(r);
  Checkpoint ck;
  ck.source = path;
  read_metadata(r, ck);
  uint32_t n_tensors = r.count("tensor count", version >= 2 ? 9 : 8);  // name length, ndim, dtype
  for (uint32_t i = 0; i < n_tensors; i++) read_tensor(r, version, i, ck);
  size_t body = r.pos;
  uint64_t stored = r.u64("checksum");
  if (r.left() != 0) r.fail("corrupted: " + std::to_string(r.left()) + " unexpected bytes after the checksum");
  if (stored != fnv1a64(buf, body)) r.fail("corrupted: checksum mismatch");
  return ck;
}

// ---- files ----------------------------------------------------------------------------------

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  validate(ck, path);
  std::vector<unsigned char> bytes = encode(ck);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()), "save checkpoint");
}

Checkpoint load_checkpoint(const std::string& path) {
  Bytes buf = read_regular_file(path, kMaxCheckpointBytes, "pass the path of a .ckpt file written by l2l",
                                "checkpoint " + path);
  return decode_checkpoint(buf.data(), buf.size(), path);
}

// ---- typed metadata -------------------------------------------------------------------------

std::string exact_text(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", x);
  return b;
}

MetadataReader::MetadataReader(const std::vector<std::pair<std::string, std::string>>& meta, const std::string& file)
    : meta_(meta), file_(file.empty() ? "(not from a file)" : file) {}

MetadataReader::MetadataReader(const Checkpoint& ck) : MetadataReader(ck.meta, ck.source) {}

bool MetadataReader::has(const std::string& key) const {
  for (const auto& [k, v] : meta_)
    if (k == key) return true;
  return false;
}

const std::string& MetadataReader::str(const std::string& key) const {
  for (const auto& [k, v] : meta_)
    if (k == key) return v;
  throw std::runtime_error("checkpoint " + file_ + ": has no metadata '" + key +
                           "' (the file is damaged or was not written by this version of l2l)");
}

void MetadataReader::bad(const std::string& key, const std::string& expected) const {
  const std::string& value = str(key);
  std::string shown = value.size() > 40 ? value.substr(0, 40) + "..." : value;
  throw std::runtime_error("checkpoint " + file_ + ": metadata '" + key + "' is '" + shown + "', expected " +
                           expected + " (the file is damaged or was not written by l2l)");
}

long MetadataReader::integer(const std::string& key, long lo, long hi) const {
  const std::string& v = str(key);
  errno = 0;
  char* end = nullptr;
  long x = v.empty() || std::isspace((unsigned char)v[0]) ? 0 : std::strtol(v.c_str(), &end, 10);
  if (!end || *end != '\0' || errno == ERANGE || x < lo || x > hi)
    bad(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

// s parsed in full by strtod as a number (no leading space, nothing after), finite unless
// inf_ok, never NaN; false if not.
static bool parse_number(const std::string& s, double& x, bool inf_ok = false) {
  if (s.empty() || std::isspace((unsigned char)s[0])) return false;
  char* end = nullptr;
  x = std::strtod(s.c_str(), &end);
  return *end == '\0' && !std::isnan(x) && (inf_ok || std::isfinite(x));
}

double MetadataReader::number(const std::string& key, double lo, double hi) const {
  double x = 0;
  if (!parse_number(str(key), x) || x < lo || x > hi) {
    char range[96] = "";
    if (lo != -HUGE_VAL || hi != HUGE_VAL) std::snprintf(range, sizeof range, " in [%g, %g]", lo, hi);
    bad(key, std::string("a finite number") + range);
  }
  return x;
}

// The comma-separated numbers of `s`; throws through bad() naming the first item that is not one.
static std::vector<double> parse_list(const std::string& s, bool inf_ok, const std::function<void(const std::string&)>& bad) {
  std::vector<double> out;
  if (s.empty()) return out;
  for (size_t i = 0;;) {
    const size_t j = s.find(',', i);
    const std::string item = s.substr(i, j == std::string::npos ? std::string::npos : j - i);
    double x = 0;
    if (!parse_number(item, x, inf_ok)) bad("(item " + std::to_string(out.size()) + " is '" + item.substr(0, 40) + "')");
    out.push_back(x);
    if (j == std::string::npos) return out;
    i = j + 1;
  }
}

std::vector<double> MetadataReader::list(const std::string& key) const {
  return parse_list(str(key), false, [&](const std::string& which) { bad(key, "a comma-separated list of finite numbers " + which); });
}

double MetadataReader::score(const std::string& key) const {
  double x = 0;
  if (!parse_number(str(key), x, true)) bad(key, "a number (inf allowed, not NaN)");
  return x;
}

std::vector<double> MetadataReader::scores(const std::string& key) const {
  return parse_list(str(key), true, [&](const std::string& which) { bad(key, "a comma-separated list of numbers (inf allowed, not NaN) " + which); });
}

// ---- lookups and Params ---------------------------------------------------------------------

const Tensor* Checkpoint::tensor(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

const std::string* Checkpoint::meta_value(const std::string& key) const {
  for (const auto& [k, v] : meta)
    if (k == key) return &v;
  return nullptr;
}

void add_tensors(Checkpoint& ck, const std::string& prefix, const NamedTensors& ts) {
  for (const auto& [n, t] : ts) ck.tensors.emplace_back(prefix + n, t);
}

void require_finite(const Checkpoint& ck, const std::string& prefix, const std::string& fix) {
  for (const auto& [n, t] : ck.tensors) {
    if (n.compare(0, prefix.size(), prefix) != 0) continue;
    for (size_t i = 0; i < t.size(); i++)
      if (!std::isfinite((double)t[i]))
        throw std::runtime_error("checkpoint " + ck.source + ": tensor '" + n + "' holds " + std::to_string((double)t[i]) +
                                 " at index " + std::to_string(i) + ", expected finite numbers (the file is damaged or "
                                 "was edited). Fix: " + fix);
  }
}

NamedTensors tensors_with_prefix(const Checkpoint& ck, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [n, t] : ck.tensors)
    if (n.compare(0, prefix.size(), prefix) == 0) out.emplace_back(n.substr(prefix.size()), t);
  return out;
}

void add_params(Checkpoint& ck, const std::vector<Param*>& ps, const std::string& prefix) {
  for (const Param* p : ps) {
    if (!p) throw std::invalid_argument("add_params: null Param pointer");
    ck.tensors.emplace_back(prefix + p->name, p->value);
  }
}

void load_params(const Checkpoint& ck, const std::vector<Param*>& ps, const std::string& prefix) {
  const std::string where = "checkpoint " + (ck.source.empty() ? std::string("(not from a file)") : ck.source);
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : ck.tensors)
    if (n.compare(0, prefix.size(), prefix) == 0) by_name[n] = &t;

  // Check everything first, so that a failed load leaves every Param as it was.
  std::set<std::string> wanted;
  for (const Param* p : ps) {
    if (!p) throw std::invalid_argument("load_params: null Param pointer");
    const std::string n = prefix + p->name;
    if (!wanted.insert(n).second) throw std::invalid_argument("load_params: two Params are named '" + n + "'");
    auto it = by_name.find(n);
    if (it == by_name.end()) {
      std::string have;
      int listed = 0;
      for (const auto& [m, t] : by_name)
        if (listed++ < 12) have += (have.empty() ? "" : ", ") + m;
      if (listed > 12) have += ", ...";
      throw std::runtime_error(where + " has no tensor " + n + " (the model expects shape " +
                               shape_str(p->value.shape()) + "); it has: " + (have.empty() ? "none" : have));
    }
    if (it->second->shape() != p->value.shape())
      throw std::runtime_error(where + " has tensor " + n + " of shape " + shape_str(it->second->shape()) +
                               " but the model expects " + shape_str(p->value.shape()));
  }
  for (const auto& [n, t] : by_name)
    if (!wanted.count(n))
      throw std::runtime_error(where + " has tensor " + n + " of shape " + shape_str(t->shape()) +
                               " that the model does not have");
  for (Param* p : ps) p->value = *by_name[prefix + p->name];
}

void save_params(const std::string& path, const std::vector<Param*>& ps) {
  Checkpoint ck;
  add_params(ck, ps);
  save_checkpoint(path, ck);
}

void load_params(const std::string& path, const std::vector<Param*>& ps) { load_params(load_checkpoint(path), ps); }

}  // namespace l2l
