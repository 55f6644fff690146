// vgg.cpp: see vgg.h. Is not: file I/O (the weight files are read through nn/files.h).
#include "tasks/optimizees/vgg.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "nn/files.h"

namespace l2l {

const std::vector<VggLayerInfo>& vgg19_layers() {
  static const std::vector<VggLayerInfo> layers = {
      {"conv1_1", "block1_conv1.f32", 3, 64},    {"conv1_2", "block1_conv2.f32", 64, 64},
      {"conv2_1", "block2_conv1.f32", 64, 128},  {"conv2_2", "block2_conv2.f32", 128, 128},
      {"conv3_1", "block3_conv1.f32", 128, 256}, {"conv3_2", "block3_conv2.f32", 256, 256},
      {"conv3_3", "block3_conv3.f32", 256, 256}, {"conv3_4", "block3_conv4.f32", 256, 256}};
  return layers;
}

namespace {

// The floats of one file, which must hold exactly `count` of them, all finite and within +-100. The file is
// read with read_regular_file (nn/files.h), bounded by the exact size it must have.
std::vector<float> read_floats(const std::string& path, size_t count) {
  const std::string size = std::to_string(count * 4) + " bytes (" + std::to_string(count) +
                           " float32: 3x3 kernel and bias)";
  const std::string copy = "copy the files of shared/data/weights/vgg19_conv1_1-conv3_4/ again (see "
                           "shared/data/README.md)";
  Bytes b = read_regular_file(path, count * 4, copy + "; this one must be " + size, "VGG weight file " + path);
  if (b.size() != count * 4)
    throw std::runtime_error("VGG weight file " + path + " has " + std::to_string(b.size()) + " bytes, expected " +
                             size + "; the file is truncated or not this layer's: " + copy);
  std::vector<float> v(count);
  std::memcpy(v.data(), b.data(), count * 4);
  // VGG-19's weights and biases are all within +-1.8 (conv1_1's are the largest): a value past
  // +-100 would reach inf in the features, which would be reported as a diverged meta-training.
  for (size_t i = 0; i < count; i++)
    if (!(std::fabs(v[i]) <= 100))
      throw std::runtime_error("VGG weight file " + path + ": value " + std::to_string(i) + " is " + std::to_string(v[i]) +
                               ", expected a finite number within +-100 (VGG-19's are within +-1.8; the file is "
                               "corrupt): " + copy);
  return v;
}

// HWIO [ky][kx][ci][co] floats -> w (O,C,3,3) and b (O). With `rgb`, input channel c of w
// reads the file's channel 2 - c (the file's order is B,G,R).
VggConv to_conv(const VggLayerInfo& l, const std::string& path, const std::vector<float>& f, bool rgb) {
  VggConv c{l.name, path, Tensor({l.cout, l.cin, 3, 3}), Tensor({l.cout})};
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++)
      for (int ci = 0; ci < l.cin; ci++)
        for (int co = 0; co < l.cout; co++) {
          int ours = rgb ? 2 - ci : ci;
          c.w[(((size_t)co * l.cin + ours) * 3 + ky) * 3 + kx] = f[((size_t)(ky * 3 + kx) * l.cin + ci) * l.cout + co];
        }
  for (int co = 0; co < l.cout; co++) c.b[co] = f[(size_t)9 * l.cin * l.cout + co];
  return c;
}

}  // namespace

Vgg load_vgg(const std::string& dir, int count) {
  const auto& layers = vgg19_layers();
  if (count < 1 || count > (int)layers.size())
    throw std::invalid_argument("[load_vgg] count must be 1.." + std::to_string(layers.size()) + ", got " + std::to_string(count));
  Vgg net;
  for (int i = 0; i < count; i++) {
    const VggLayerInfo& l = layers[i];
    std::string path = (std::filesystem::path(dir) / l.file).string();
    net.convs.push_back(to_conv(l, path, read_floats(path, (size_t)9 * l.cin * l.cout + l.cout), i == 0));
  }
  return net;
}

std::map<std::string, Var> vgg_features(const Vgg& net, Var x, const std::string& deepest) {
  const Shape& s = x.shape();
  if (s.size() != 4 || s[1] != 3)
    throw std::invalid_argument("[vgg_features] expected an image (N,3,H,W), got " + shape_str(s));
  Tape& tape = *x.tape;
  // RGB [0,1] -> 255 x - mean, per channel (the constant broadcasts over N, H, W).
  Tensor mean({1, 3, 1, 1}, {(real)kVggMeanRGB[0], (real)kVggMeanRGB[1], (real)kVggMeanRGB[2]});
  Var h = x * real(255) - tape.constant(std::move(mean));
  std::map<std::string, Var> out;
  for (size_t i = 0; i < net.convs.size(); i++) {
    const VggConv& c = net.convs[i];
    std::string layer = "relu" + c.name.substr(4);  // conv2_1 -> relu2_1
    if (i > 0 && (c.name == "conv2_1" || c.name == "conv3_1")) {
      if (h.shape()[2] % 2 || h.shape()[3] % 2)
        throw std::invalid_argument("[vgg_features] image sides must be multiples of 4, got " + shape_str(s));
      h = max_pool2d(h, 2);
    }
    h = relu(conv2d(h, tape.constant(c.w), tape.constant(c.b), 1, 1));
    out[layer] = h;
    if (layer == deepest) return out;
  }
  throw std::invalid_argument("[vgg_features] layer " + deepest + " is not among the " + std::to_string(net.convs.size()) +
                              " loaded conv layers");
}

}  // namespace l2l
