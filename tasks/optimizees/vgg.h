// vgg.h: the first conv layers of VGG-19 (conv1_1 .. conv3_4, the ones shipped in
// shared/data/weights/vgg19_conv1_1-conv3_4/), loaded as constants, and their forward pass.
//
// Files (shared/data/README.md, section 4): raw little-endian float32, kernel [3][3][cin][cout]
// (HWIO, cout fastest) then bias [cout]. Loaded into the engine's conv2d layout w (O,C,3,3),
// b (O). The network expects BGR in 0..255 minus the ImageNet mean (B 103.939, G 116.779,
// R 123.68); vgg_features takes RGB in [0, 1] and does that conversion itself
// (x' = 255 x - mean_rgb, and conv1_1's input channels are reordered to R,G,B at load).
//
// The weights are constants: they enter the tape with tape.constant (no gradient is ever
// computed for them); only d/d image flows back.
// Is not: a full VGG (no conv4_1 and deeper: they are not in the data) or a classifier.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autodiff/ops.h"

namespace l2l {

struct VggConv {
  std::string name;  // conv1_1, ...
  std::string file;  // the file it was read from
  Tensor w, b;       // (O,C,3,3), (O); conv1_1's C in R,G,B order
};

struct Vgg {
  std::vector<VggConv> convs;  // in network order: conv1_1, conv1_2, conv2_1, ...
};

// The layer names, in order, and their (cin, cout).
struct VggLayerInfo {
  const char* name;
  const char* file;
  int cin, cout;
};
const std::vector<VggLayerInfo>& vgg19_layers();  // conv1_1 .. conv3_4

// Reads the first `count` conv layers (1..8) from `dir`, checking that every file exists and
// has exactly (9 cin cout + cout) * 4 bytes and only finite values within +-100; throws std::runtime_error
// naming the file, the expected and the actual size otherwise.
Vgg load_vgg(const std::string& dir, int count);

// The ReLU outputs of an image x (1,3,H,W) RGB in [0,1], H and W multiples of 4 for relu3_x:
// "relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", ... up to and including `deepest`
// (the forward pass stops there). 2x2 max-pooling after relu1_2 and relu2_2, as VGG.
std::map<std::string, Var> vgg_features(const Vgg& net, Var x, const std::string& deepest);

// The ImageNet mean (R, G, B) on the 0..255 scale.
constexpr double kVggMeanRGB[3] = {123.68, 116.779, 103.939};

}  // namespace l2l
