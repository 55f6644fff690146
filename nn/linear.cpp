// linear.cpp: Linear and MLP. See linear.h.
#include "nn/linear.h"

#include <stdexcept>

#include "nn/init.h"

namespace l2l {

Linear::Linear(int in_, int out_, Rng& rng, const std::string& name)
    : in(in_), out(out_), W(name + ".w", init::glorot_uniform({in_, out_}, rng)), b(name + ".b", init::zeros({out_})) {
  if (in_ <= 0 || out_ <= 0)
    throw std::invalid_argument("[Linear] " + name + ": sizes must be positive, got " + std::to_string(in_) +
                                " -> " + std::to_string(out_));
}

Linear::Linear(const std::string& name, Tensor W_, Tensor b_) : W(name + ".w", std::move(W_)), b(name + ".b", std::move(b_)) {
  const Shape &w = W.value.shape(), &v = b.value.shape();
  if (w.size() != 2 || v.size() != 1 || v[0] != w[1] || w[0] <= 0 || w[1] <= 0)
    throw std::invalid_argument("[Linear] " + name + ": expected W (in,out) and b (out), got " + shape_str(w) + " and " + shape_str(v));
  in = w[0], out = w[1];
}

// y = x W + b: matmul (N,in)(in,out) -> (N,out), then b broadcast over the N rows.
Var Linear::forward(Var x, ParamSource& src) {
  if (x.value().ndim() != 2 || x.value().dim(1) != in)
    throw std::invalid_argument("[Linear] " + W.name + ": input " + shape_str(x.shape()) + ", expected (N," +
                                std::to_string(in) + ")");
  return add(matmul(x, src.get(W)), src.get(b));
}

void check_activation(const std::string& name, const std::string& who) {
  if (name != "sigmoid" && name != "relu" && name != "tanh")
    throw std::invalid_argument(who + ": unknown activation '" + name + "' (expected sigmoid, relu or tanh)");
}

Var activate(Var x, const std::string& name) {
  if (name == "sigmoid") return sigmoid(x);
  if (name == "relu") return relu(x);
  if (name == "tanh") return tanh(x);
  check_activation(name, "[activate]");
  return x;
}

MLP::MLP(const std::vector<int>& sizes, const std::string& act, Rng& rng, const std::string& name)
    : activation(act), sizes_(sizes) {
  if (sizes.size() < 2) throw std::invalid_argument("[MLP] " + name + ": needs at least an input and an output size");
  check_activation(act, "[MLP] " + name);
  for (size_t l = 0; l + 1 < sizes.size(); l++)
    layers.emplace_back(sizes[l], sizes[l + 1], rng, name + "." + std::to_string(l));
}

Var MLP::forward(Var x, ParamSource& src) {
  for (size_t l = 0; l < layers.size(); l++) {
    x = layers[l].forward(x, src);
    if (l + 1 < layers.size()) x = activate(x, activation);
  }
  return x;
}

std::vector<Param*> MLP::params() {
  std::vector<Param*> ps;
  for (Linear& l : layers)
    for (Param* p : l.params()) ps.push_back(p);
  return ps;
}

}  // namespace l2l
