// data.h: readers for the MNIST and CIFAR-10 image data sets.
//
// What this file is: loaders that turn the compressed files in shared/data
// (MNIST: gzip IDX; CIFAR-10: xz-compressed binary batches) into plain float
// arrays in [0,1], plus a label-subset filter (CIFAR-5 / CIFAR-2) and the
// search for the data directory. Every malformed input is reported as a
// std::runtime_error naming the file, what was expected, what was found and
// how to fix it. Files are read with read_regular_file (nn/files.h): only
// regular files (a directory, a FIFO or /dev/zero is refused before a byte is
// read) of at most kMaxDataFileBytes; and decompressed by
// tasks/data/decompress.h to at most kMaxDataFileBytes.
//
// What it is not: no batching, shuffling, normalisation or augmentation, no
// caching of decoded data, and no dependency on the autodiff engine or on any
// project file outside tasks/data/data.*, tasks/data/decompress.* and
// nn/files.* (plain std::vector only). Links with -lz -llzma.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace l2l {

// A set of images with labels. Pixels are float byte/255, row-major, one
// image after another; each image is channels planes of height x width
// (CHW). MNIST: 1 x 28 x 28. CIFAR-10: 3 x 32 x 32, R then G then B plane.
struct Dataset {
  int n = 0, channels = 0, height = 0, width = 0;
  std::vector<float> pixels;  // n * channels * height * width
  std::vector<int> labels;    // n labels, 0..9 (0..k-1 after filter_labels)
  int image_size() const { return channels * height * width; }
};

// Finds the data root: flag_value if non-empty (and only it), else the
// environment variable L2L_DATA if set (and only it), else ./data, then
// ../shared/data. Returns the first candidate that contains the sub-folder
// `sub` (e.g. "mnist") or is that folder itself (a directory named `sub`,
// e.g. "--data ../shared/data/mnist"), as given. load_mnist / load_cifar10
// accept either. If none does, throws std::runtime_error listing every place
// tried and how to fix it.
std::string find_data_dir(const std::string& flag_value, const std::string& sub);

// MNIST from gzip IDX files. part = "train" (train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, 60,000 images) or "test" (t10k-..., 10,000).
// `dir` is the folder holding the four files, or the data root holding it as
// dir/mnist (used whenever dir itself does not hold the files and dir/mnist is
// a directory; a missing file is then reported at its path dir/mnist/<file>).
Dataset load_mnist(const std::string& dir, const std::string& part);

// One gzip IDX image file: big-endian int32 magic 2051, count, rows, cols
// (must be 28, 28), then count*rows*cols bytes. Returned labels are empty.
Dataset read_idx_images(const std::string& path);

// One gzip IDX label file: big-endian int32 magic 2049, count, then count
// label bytes, each 0..9.
std::vector<int> read_idx_labels(const std::string& path);

// CIFAR-10 binary version, xz-compressed (data_batch_1..5.bin.xz for
// part "train", 50,000 images; test_batch.bin.xz for "test", 10,000).
// Each batch must decompress to exactly 10,000 records (30,730,000 bytes).
// As with load_mnist, `dir` may also be the data root (dir/cifar10).
Dataset load_cifar10(const std::string& dir, const std::string& part);
// The batch files load_cifar10(dir, part) reads, in order (they need not exist).
std::vector<std::string> cifar10_files(const std::string& dir, const std::string& part);

// One xz-compressed CIFAR batch with any whole number (>= 1) of 3073-byte
// records: label byte 0..9, then 1024 R, 1024 G, 1024 B bytes (32x32
// row-major each). Rejects a partial record and labels > 9.
Dataset read_cifar_batch(const std::string& path);

// Keeps only the images whose label is in `keep`, relabelled to the position
// of that label in `keep` (0..keep.size()-1). Order of images is preserved.
// Throws std::runtime_error if `keep` has a duplicate or a label outside 0..9.
Dataset filter_labels(const Dataset& d, const std::vector<int>& keep);

// The largest data file read, before and after decompression (256 MiB): the
// biggest real one, MNIST train images, is 47 MB decompressed. A larger file
// (or a "zip bomb") is refused without being decompressed further.
constexpr size_t kMaxDataFileBytes = size_t(256) << 20;

// The readers above on bytes in memory, with the same checks and messages
// (`name` stands for the file). *_from_gzip / *_from_xz take the compressed
// file's bytes (decompressed to at most max_bytes); *_from_bytes the
// decompressed content. The fuzz targets (tests/fuzz/) call these.
Dataset idx_images_from_gzip(const std::vector<unsigned char>& gz, const std::string& name,
                             size_t max_bytes = kMaxDataFileBytes);
std::vector<int> idx_labels_from_gzip(const std::vector<unsigned char>& gz, const std::string& name,
                                      size_t max_bytes = kMaxDataFileBytes);
Dataset cifar_batch_from_xz(const std::vector<unsigned char>& xz, const std::string& name,
                            size_t max_bytes = kMaxDataFileBytes);
Dataset idx_images_from_bytes(const std::vector<unsigned char>& idx, const std::string& name);
std::vector<int> idx_labels_from_bytes(const std::vector<unsigned char>& idx, const std::string& name);
Dataset cifar_batch_from_bytes(const std::vector<unsigned char>& records, const std::string& name);

}  // namespace l2l
