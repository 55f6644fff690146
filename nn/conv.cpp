// conv.cpp: the Conv2d and BatchNorm modules. See conv.h.
#include "nn/conv.h"

#include <stdexcept>

#include "nn/init.h"

namespace l2l {

Conv2d::Conv2d(int in_c, int out_c, int k, Rng& rng, int stride_, int pad_, const std::string& name, bool bias)
    : in_channels(in_c), out_channels(out_c), kernel(k), stride(stride_), pad(pad_ < 0 ? k / 2 : pad_), has_bias(bias) {
  if (in_c <= 0 || out_c <= 0 || k <= 0 || stride <= 0)
    throw std::invalid_argument("[Conv2d] channels, kernel and stride must be positive");
  W = Param(name + ".w", init::glorot_uniform({out_c, in_c, k, k}, rng));
  if (bias) b = Param(name + ".b", Tensor::zeros({out_c}));
}

Var Conv2d::forward(Var x, ParamSource& src) {
  return conv2d(x, src.get(W), has_bias ? src.get(b) : Var{}, stride, pad);
}

std::vector<Param*> Conv2d::params() {
  if (has_bias) return {&W, &b};
  return {&W};
}

BatchNorm::BatchNorm(int features, const std::string& name, real eps_, bool scale)
    : eps(eps_), has_scale(scale), gamma(name + ".gamma", Tensor::full({features}, 1)), beta(name + ".beta", Tensor::zeros({features})) {
  if (features <= 0) throw std::invalid_argument("[BatchNorm] features must be positive");
}

Var BatchNorm::forward(Var x, ParamSource& src) {
  Var g = has_scale ? src.get(gamma) : x.tape->constant(gamma.value);  // gamma.value = ones without a scale
  return batch_norm(x, g, src.get(beta), eps);
}

Var BatchNorm::forward_relu(Var x, ParamSource& src) {
  Var g = has_scale ? src.get(gamma) : x.tape->constant(gamma.value);
  return batch_norm_relu(x, g, src.get(beta), eps);
}

Var BatchNorm::forward_relu_max_pool(Var x, ParamSource& src, int k) {
  Var g = has_scale ? src.get(gamma) : x.tape->constant(gamma.value);
  return batch_norm_relu_max_pool(x, g, src.get(beta), k, eps);
}

}  // namespace l2l
