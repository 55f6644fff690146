// linear.h: the fully connected layer and the multilayer perceptron, built from autodiff ops.
//
//   Linear:  y = x W + b       x (N, in), W (in, out), b (out), y (N, out)
//   MLP:     sizes {d0, d1, ..., dk}: k Linear layers d0->d1->...->dk, the activation after
//            every layer but the last (the last is left linear: logits or an update).
//
// Default initialization: W Glorot-uniform, b zero (see nn/init.h). A caller that wants
// another scheme (e.g. the DM MNIST optimizee's N(0, 0.01^2)) overwrites W.value.
// The MNIST optimizee (tasks/optimizees/mnist.cpp) is this MLP reading its tensors from slices of theta.
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
  // The same with given initial values: W (in, out), b (out).
  Linear(const std::string& name, Tensor W, Tensor b);

  // x (N, in) -> (N, out), W and b read from `src` (module.h: bound Params or theta slices).
  Var forward(Var x, ParamSource& src);
  // The same with W and b bound to `tape` (x must live on the same tape).
  Var forward(Tape& tape, Var x) {
    BoundParams own(tape);
    return forward(x, own);
  }
  std::vector<Param*> params() override { return {&W, &b}; }

  int in = 0, out = 0;
  Param W, b;
};

class MLP : public Module {
 public:
  MLP() = default;
  // activation: "sigmoid", "relu" or "tanh". Layers are named name + ".0", name + ".1", ...
  MLP(const std::vector<int>& sizes, const std::string& activation, Rng& rng, const std::string& name = "mlp");

  // x (N, sizes.front()) -> (N, sizes.back()), parameters read from `src` or bound to `tape`.
  Var forward(Var x, ParamSource& src);
  Var forward(Tape& tape, Var x) {
    BoundParams own(tape);
    return forward(x, own);
  }
  const std::vector<int>& sizes() const { return sizes_; }
  std::vector<Param*> params() override;

  std::string activation;
  std::vector<Linear> layers;

 private:
  std::vector<int> sizes_;
};

// The activation named `name` ("sigmoid" | "relu" | "tanh") applied to x; throws otherwise.
Var activate(Var x, const std::string& name);
// Throws std::invalid_argument "<who>: unknown activation ..." unless `name` is one of them.
void check_activation(const std::string& name, const std::string& who);

}  // namespace l2l
