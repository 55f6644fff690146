// own_model.h: a learned optimizer on a model you define yourself, the code path of
// apps/own_model.cpp (and of its test, tests/test_own_model.cpp).
//
// A model here is anything with Params (nn/module.h) and a loss on a minibatch:
//   ToyModel::loss(tape, step) -> Var     the minibatch loss of step `step` (bound Params)
// train_curve runs any Optimizer (nn/optim.h) on it: the learned one (loaded from a phi
// checkpoint with load_learned_optimizer) or Adam, in the same loop:
//   opt.begin(specs_of(params));  then per step:  tape, loss, backward, step_params(opt, params)
// Two toy models: a sigmoid MLP on Gaussian clusters and a small tanh conv net on images of
// bars, both with softmax cross-entropy, minibatches drawn with replacement (as the MNIST task).
// Is not: a task of the paper (tasks/optimizees/) or the evaluation protocol (tasks/evaluate.h:
// fixed test problems, tuned baselines); tune_adam is a small grid on another seed.
#pragma once
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/optim.h"
#include "nn/rng.h"

namespace l2l {

// A labelled data set: x (n, features...) and its labels.
struct ToyData {
  Tensor x;
  std::vector<int> labels;
  int classes = 0;
};

// n points of `dim` dimensions in `classes` Gaussian clusters (centres ~ N(0, 1), each point
// N(0, spread^2) off its centre per dimension).
inline ToyData clusters(int n, int dim, int classes, double spread, Rng& rng) {
  ToyData d{Tensor({n, dim}), std::vector<int>(n), classes};
  Tensor centres = randn({classes, dim}, rng);
  for (int i = 0; i < n; i++) {
    d.labels[i] = (int)rng.below(classes);
    for (int j = 0; j < dim; j++) d.x.at(i, j) = centres.at(d.labels[i], j) + (real)(spread * rng.normal());
  }
  return d;
}

// n one-channel side x side images: label 0 a horizontal bar, 1 a vertical one, 2 a diagonal,
// at a random place, plus N(0, 0.3^2) noise.
inline ToyData bars(int n, int side, Rng& rng) {
  ToyData d{Tensor({n, 1, side, side}), std::vector<int>(n), 3};
  for (int i = 0; i < n; i++) {
    const int label = (int)rng.below(3), at = (int)rng.below(side);
    d.labels[i] = label;
    for (int r = 0; r < side; r++)
      for (int c = 0; c < side; c++) {
        const bool on = label == 0 ? r == at : label == 1 ? c == at : (r + at) % side == c;
        d.x[((size_t)i * side + r) * side + c] = (real)((on ? 1.0 : 0.0) + 0.3 * rng.normal());
      }
  }
  return d;
}

// `batch` rows of d drawn with replacement by rng.
inline ToyData minibatch(const ToyData& d, int batch, Rng& rng) {
  Shape s = d.x.shape();
  const size_t row = d.x.size() / s[0];
  s[0] = batch;
  ToyData b{Tensor(s), std::vector<int>(batch), d.classes};
  for (int i = 0; i < batch; i++) {
    const size_t k = rng.below(d.labels.size());
    std::copy(d.x.data() + k * row, d.x.data() + (k + 1) * row, b.x.data() + i * row);
    b.labels[i] = d.labels[k];
  }
  return b;
}

class ToyModel : public Module {
 public:
  virtual Var loss(Tape& tape, const ToyData& batch) = 0;
};

// A sigmoid MLP (the activation of the paper's MNIST net), e.g. sizes {16, 20, 10}.
class MlpModel : public ToyModel {
 public:
  MlpModel(const std::vector<int>& sizes, Rng& rng) : mlp_(sizes, "sigmoid", rng) {}
  Var loss(Tape& tape, const ToyData& b) override {
    return softmax_cross_entropy(mlp_.forward(tape, tape.constant(b.x)), b.labels);
  }
  std::vector<Param*> params() override { return mlp_.params(); }

 private:
  MLP mlp_;
};

// conv 3x3 (1 -> channels) -> tanh -> 2x2 max-pool -> linear to the classes.
class ConvModel : public ToyModel {
 public:
  ConvModel(int side, int channels, int classes, Rng& rng)
      : conv_(1, channels, 3, rng), fc_(channels * (side / 2) * (side / 2), classes, rng, "fc"), flat_(channels * (side / 2) * (side / 2)) {}
  Var loss(Tape& tape, const ToyData& b) override {
    Var h = max_pool2d(tanh(conv_.forward(tape, tape.constant(b.x))), 2);
    Var logits = fc_.forward(tape, reshape(h, {(int)b.labels.size(), flat_}));
    return softmax_cross_entropy(logits, b.labels);
  }
  std::vector<Param*> params() override {
    std::vector<Param*> ps = conv_.params();
    for (Param* p : fc_.params()) ps.push_back(p);
    return ps;
  }

 private:
  Conv2d conv_;
  Linear fc_;
  int flat_;
};

// Trains a fresh model (made by `make`) for `steps` steps with `opt` on minibatches of `data`
// drawn by an Rng seeded `seed`; returns the minibatch loss before each step and after the last
// (steps + 1 numbers). Any Optimizer: the learned one or a baseline, the same loop.
inline std::vector<double> train_curve(const std::function<std::unique_ptr<ToyModel>()>& make, const ToyData& data,
                                       Optimizer& opt, int steps, int batch, uint64_t seed) {
  std::unique_ptr<ToyModel> model = make();
  std::vector<Param*> params = model->params();
  opt.begin(specs_of(params));  // the learned optimizer lays out its LSTM state here
  Rng rng(seed);
  std::vector<double> curve;
  for (int t = 0; t <= steps; t++) {
    Tape tape;
    Var loss = model->loss(tape, minibatch(data, batch, rng));
    curve.push_back(loss.item());
    if (t == steps || !std::isfinite(curve.back())) break;
    model->zero_grad();
    tape.backward(loss);
    step_params(opt, params);
  }
  return curve;
}

// Adam's learning rate: the rate of 10^-3, 10^-2.5, ..., 10^0 whose run on `seed` ends lowest
// (mean of the last 10 losses). Tuned on its own seed, then compared on another.
inline double tune_adam(const std::function<std::unique_ptr<ToyModel>()>& make, const ToyData& data, int steps,
                        int batch, uint64_t seed) {
  double best_lr = 1e-3, best = INFINITY;
  for (int k = 0; k <= 6; k++) {
    const double lr = std::pow(10.0, -3 + 0.5 * k);
    Adam adam(lr);
    std::vector<double> c = train_curve(make, data, adam, steps, batch, seed);
    double tail = 0;
    const int n = std::min<int>(10, (int)c.size());
    for (int i = (int)c.size() - n; i < (int)c.size(); i++) tail += c[i] / n;
    if ((int)c.size() == steps + 1 && tail < best) best = tail, best_lr = lr;
  }
  return best_lr;
}

}  // namespace l2l
