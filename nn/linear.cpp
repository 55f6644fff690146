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

// y = x W + b: matmul (N,in)(in,out) -> (N,out), then b broadcast over the N rows.
Var Linear::forward(Tape& tape, Var x) {
  if (x.value().ndim() != 2 || x.value().dim(1) != in)
    throw std::invalid_argument("[Linear] " + W.name + ": input " + shape_str(x.shape()) + ", expected (N," +
                                std::to_string(in) + ")");
  return add(matmul(x, tape.param(W)), tape.param(b));
}

Var activate(Var x, const std::string& name) {
  if (name == "sigmoid") return sigmoid(x);
  if (name == "relu") return relu(x);
  if (name == "tanh") return tanh(x);
  throw std::invalid_argument("[activate] unknown activation \"" + name + "\" (sigmoid, relu or tanh)");
}

MLP::MLP(const std::vector<int>& sizes, const std::string& act, Rng& rng, const std::string& name) : activation(act) {
  if (sizes.size() < 2) throw std::invalid_argument("[MLP] " + name + ": needs at least an input and an output size");
  if (act != "sigmoid" && act != "relu" && act != "tanh")
    throw std::invalid_argument("[MLP] " + name + ": unknown activation \"" + act + "\" (sigmoid, relu or tanh)");
  for (size_t l = 0; l + 1 < sizes.size(); l++)
    layers.emplace_back(sizes[l], sizes[l + 1], rng, name + "." + std::to_string(l));
}

Var MLP::forward(Tape& tape, Var x) {
  for (size_t l = 0; l < layers.size(); l++) {
    x = layers[l].forward(tape, x);
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
