// decompress.h: bounded decompression of the data-set files.
//
// What this file is: the step every data reader (tasks/data/data.cpp) takes after reading a
// file with read_regular_file (nn/files.h: a regular file of bounded size): decompress gzip
// (zlib) or xz (liblzma) bytes in memory into at most a given number of bytes. Errors are
// std::runtime_error "<name>: expected ..., found .... Fix: <fix>", where the caller supplies
// the file's name and the fix (e.g. where to re-copy the file from).
//
// What it is not: no file reading (nn/files.h), no streaming, no file formats (IDX, CIFAR
// records: tasks/data/data.cpp), no other compression formats. Links with -lz -llzma.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nn/files.h"  // Bytes, read_regular_file

namespace l2l {

// The decompressed content of gzip bytes (one or more concatenated gzip members, as gzip(1)
// writes and reads them). Checks the magic 0x1f 0x8b first; refuses a damaged or truncated
// stream, bytes after the last member, and output beyond max_out bytes (a "zip bomb" or a
// file that is not what we expect), the latter without decompressing further.
Bytes gunzip(const Bytes& in, const std::string& name, size_t max_out, const std::string& fix);

// The decompressed content of a single-stream .xz file's bytes. Checks the magic
// 0xfd '7zXZ' 0x00 first; refuses a damaged or truncated stream, trailing bytes, and output
// beyond max_out bytes.
Bytes unxz(const Bytes& in, const std::string& name, size_t max_out, const std::string& fix);

}  // namespace l2l
