// conv.h: the layers of the CIFAR-10 optimizee: 2-d convolution, max pooling, batch norm.
//
//   Conv2d:     x (N,C,Hh,Ww) -> (N,O,Ho,Wo), weight (O,C,K,K), bias (O); zero padding
//   MaxPool2d:  k x k windows, stride k (no parameters)
//   BatchNorm:  per channel (4-d input) or per feature (2-d input), batch statistics,
//               then gamma * xhat + beta
//
// Thin modules over the ops of autodiff/ops_conv.cpp and ops_pool_bn.cpp (where forward and
// backward live): they own the Params, name them, initialize them, and read them on every
// forward from a ParamSource (nn/module.h): their own bound Params, or slices of an
// optimizee's theta.
// Is not: running averages / an inference mode for batch norm (the paper's optimizee is only
// ever trained, and each step's statistics come from its minibatch), grouped or dilated conv.
#pragma once
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "nn/module.h"
#include "nn/rng.h"

namespace l2l {

class Conv2d : public Module {
 public:
  Conv2d() = default;
  // Params name + ".w" (O,C,K,K), Glorot-uniform over fan-in C K K and fan-out O K K, and
  // name + ".b" (O), zeros. pad = K/2 gives SAME padding for odd K at stride 1.
  Conv2d(int in_channels, int out_channels, int kernel, Rng& rng, int stride = 1, int pad = -1,
         const std::string& name = "conv", bool bias = true);
  Var forward(Var x, ParamSource& src);  // parameters from src (module.h)
  Var forward(Tape& tape, Var x) {
    BoundParams own(tape);
    return forward(x, own);
  }
  Var forward_relu(Var x, ParamSource& src);  // relu(forward(x)), as one op (batch_norm_relu)
  // max_pool2d(relu(forward(x)), k), as one op (batch_norm_relu_max_pool)
  Var forward_relu_max_pool(Var x, ParamSource& src, int k);
  std::vector<Param*> params() override;

  int in_channels = 0, out_channels = 0, kernel = 0, stride = 1, pad = 0;
  bool has_bias = true;
  Param W, b;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int k = 2, int stride = 0) : k(k), stride(stride) {}
  Var forward(Tape&, Var x) { return max_pool2d(x, k, stride); }
  std::vector<Param*> params() override { return {}; }
  int k, stride;
};

class BatchNorm : public Module {
 public:
  BatchNorm() = default;
  // Params name + ".gamma" (ones) and name + ".beta" (zeros), of size `features`. With
  // scale = false only beta is a parameter and gamma stays 1 (Sonnet's default, which the
  // authors' CIFAR code used: a learned offset, no learned scale).
  explicit BatchNorm(int features, const std::string& name = "bn", real eps = 1e-5, bool scale = true);
  Var forward(Var x, ParamSource& src);  // parameters from src (module.h)
  Var forward(Tape& tape, Var x) {
    BoundParams own(tape);
    return forward(x, own);
  }
  Var forward_relu(Var x, ParamSource& src);  // relu(forward(x)), as one op (batch_norm_relu)
  // max_pool2d(relu(forward(x)), k), as one op (batch_norm_relu_max_pool)
  Var forward_relu_max_pool(Var x, ParamSource& src, int k);
  std::vector<Param*> params() override {
    if (has_scale) return {&gamma, &beta};
    return {&beta};
  }

  real eps = 1e-5;
  bool has_scale = true;
  Param gamma, beta;
};

}  // namespace l2l
