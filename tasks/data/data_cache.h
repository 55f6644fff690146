// data_cache.h: decoded data sets kept on disk, so xz is decompressed once, not on every run.
//
// load_cached(sources, name, decode) returns decode() the first time and writes the result to
// <cache dir>/<name>.l2ldata; later calls read that file instead (about 50x faster for the
// CIFAR-10 training split), as long as it is still valid. Valid means: the magic and version
// are right, the FNV-1a checksum of the whole file matches, and the fingerprint stored in it
// equals the sources' fingerprint now (each source file's size and the FNV-1a hash of its
// bytes), so a changed, replaced or re-compressed source rebuilds the cache; its dimensions
// and labels (0..9) are checked too. Anything else, a corrupt, truncated or forged cache
// included (a label 200 would fail late, in the loss), is decoded again and rewritten.
//
// Cache dir: $L2L_CACHE if set, else $XDG_CACHE_HOME/l2l, else $HOME/.cache/l2l. Setting
// L2L_CACHE=off disables caching. If the cache cannot be written, decoding still works.
// Sources and the cache file are read only if they are regular files of bounded size
// (read_regular_file, nn/files.h): a source that cannot be read (missing, a directory, a FIFO,
// /dev/zero, ...) skips the cache and lets decode() report it; a cache file that cannot be
// read is rebuilt. The cache is written atomically (write_file_atomic).
// Pixels are stored as bytes (value * 255; exact for images that came from bytes / 255).
// Is not: a general serializer, or shared between machines (native endianness is fine here).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tasks/data/data.h"

namespace l2l {

Dataset load_cached(const std::vector<std::string>& sources, const std::string& name,
                    const std::function<Dataset()>& decode);

// The data set in b if b is a valid cache file for fingerprint fp (magic, checksum, fingerprint,
// dimensions of at most 4 channels of 4096 x 4096, exact size, labels 0..9); otherwise false
// and d untouched. What load_cached does with the cache file's bytes; the fuzz target's entry.
bool decode_cache_file(const std::vector<unsigned char>& b, uint64_t fp, Dataset& d);

// The directory used (empty when caching is off).
std::string data_cache_dir();

}  // namespace l2l
