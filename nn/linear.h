// linear.h: the fully connected layer and the multilayer perceptron, built from autodiff ops.
//
//   Linear:  y = x W + b       x (N, in), W (in, out), b (out), y (N, out)
//   MLP:     sizes {d0, d1, ..., dk}: k Linear layers d0->d1->...->dk, the activation after
//            every layer but the last (the last is left linear: logits or an update).
//
// Default initialization: W Glorot-uniform, b zero (see nn/init.h). A caller that wants
// another scheme (e.g. the DM MNIST optimizee's N(0, 0.01^2)) overwrites W.value.
// Is not: a place for custom backward code (matmul and add already have theirs), or a
// convolution (the conv layers live in their own file).
#pragma once
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "nn/module.h"
#include "nn/rng.h"

namespace l2l {

class Linear : public Module {
 public:
  Linear() = default;
  // Params are named name + ".w" and name + ".b".
  Linear(int in, int out, Rng& rng, const std::string& name = "linear");

  // x (N, in) -> (N, out). Binds W and b to `tape` (x must live on the same tape).
  Var forward(Tape& tape, Var x);
  std::vector<Param*> params() override { return {&W, &b}; }

  int in = 0, out = 0;
  Param W, b;
};

class MLP : public Module {
 public:
  MLP() = default;
  // activation: "sigmoid", "relu" or "tanh". Layers are named name + ".0", name + ".1", ...
  MLP(const std::vector<int>& sizes, const std::string& activation, Rng& rng, const std::string& name = "mlp");

  // x (N, sizes.front()) -> (N, sizes.back()).
  Var forward(Tape& tape, Var x);
  std::vector<Param*> params() override;

  std::string activation;
  std::vector<Linear> layers;
};

// The activation named `name` ("sigmoid" | "relu" | "tanh") applied to x; throws otherwise.
Var activate(Var x, const std::string& name);

}  // namespace l2l
