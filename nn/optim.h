// optim.h: the hand-written optimizers: SGD, NAG (Nesterov momentum), RMSprop and Adam.
//
// Is: plain loops over Tensors that update parameters in place from given gradients. They
//     run OFF the tape: nothing here records a node, so an update never becomes part of a
//     graph (the paper's baselines and the Adam that meta-trains the learned optimizer's
//     weights phi both work this way). The same `Optimizer` interface is implemented by the
//     learned (LSTM) optimizer in tasks/, so evaluation code can loop over all of them.
// Is not: learning-rate schedules, weight decay, gradient clipping, sparse updates.
//
// Defaults follow the Torch7 `optim` package, which the paper used for everything except
// the learning rate (tuned per problem). Per element, with g the gradient and x the
// parameter (all arithmetic in double, stored back as `real`):
//
//   sgd      x -= lr g                                         (Torch7 optim.sgd, lr 1e-3)
//
//   nag      v' = mu v - lr g                                  (mu = momentum = 0.9, lr 1e-3)
//            x  += -mu v + (1 + mu) v'      then v = v'
//     Torch7's optim.nag evaluates the gradient at a look-ahead point: with z the "real"
//     iterate it does  z += mu v;  g = grad(z);  z -= lr g;  v = mu v - lr g.
//     Here the stored parameter IS that look-ahead point, x = z + mu v, so step() needs only
//     the gradient at the current parameters and the sequence of points where gradients
//     (and losses) are evaluated is exactly Torch7's. Check: x' = z' + mu v'
//     = (z + mu v - lr g) + mu v' = x + v' + mu v' - mu v. (Sutskever et al. 2013 with the
//     Bengio et al. 2012 change of variables.) Only the point returned after the last step
//     differs: Torch7 leaves z there, this leaves z + mu v.
//
//   rmsprop  v = alpha v + (1 - alpha) g^2                     (Torch7 optim.rmsprop:
//            x -= lr g / (sqrt(v) + eps)                        lr 1e-2, alpha 0.99, eps 1e-8)
//
//   adam     t += 1                                            (Torch7 optim.adam: lr 1e-3,
//            m = beta1 m + (1 - beta1) g                        beta1 0.9, beta2 0.999,
//            v = beta2 v + (1 - beta2) g^2                      eps 1e-8)
//            step_size = lr sqrt(1 - beta2^t) / (1 - beta1^t)
//            x -= step_size m / (sqrt(v) + eps)
//     (eps is added to sqrt(v) before the bias correction, as Torch7 does; the Kingma & Ba
//     paper adds it to sqrt(v_hat). The difference only shows when |g| is near eps.)
//
// State (v, m, t) starts at zero. Per-tensor state is allocated on the first step; later
// steps must pass the same number of tensors with the same shapes (std::invalid_argument
// otherwise: call reset() to start over with other parameters). Every evaluation run must
// start from fresh state (reset() or a new optimizer): the DeepMind code's Adam baseline
// kept its moments between runs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/tape.h"
#include "named_tensors.h"  // NamedTensors, the unit of optimizer state and of checkpoints
#include "nn/module.h"       // TensorSpec

namespace l2l {

// One optimizer, many parameter tensors. step() is given the current gradients, one per
// tensor (same shapes as params), and updates params in place.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  virtual void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) = 0;
  // Forget all state (moments, step count): the next step behaves like the first.
  virtual void reset() = 0;
  // Start a run on parameters laid out as `specs` (evaluation calls it before every run). The
  // baselines only reset; the learned optimizer lays out its nets' state from the groups.
  virtual void begin(const std::vector<TensorSpec>& /*specs*/) { reset(); }

  // The whole state as named tensors (names start with name() + "."), for checkpoints, and
  // the inverse. load_state() checks that it gets exactly the names it would write and
  // throws std::invalid_argument otherwise; after it, the next step continues bit for bit
  // where the saved optimizer stopped. Stateless optimizers return {} and accept only {}.
  virtual NamedTensors state() const { return {}; }
  virtual void load_state(const NamedTensors& s);
};

// Steps Params with their accumulated .grad (does not zero the grads; call zero_grad()).
// This is how the meta-optimizer (Adam) updates the learned optimizer's weights.
void step_params(Optimizer& opt, const std::vector<Param*>& ps);

// The argument checks every step() here starts with, for other Optimizers to reuse: as many
// gradients as parameters, no null parameter, matching shapes; else std::invalid_argument
// "[opt] parameter 1 has shape (3,4) but its gradient has shape (4,3)".
void check_step_args(const std::string& opt, const std::vector<Tensor*>& params, const std::vector<Tensor>& grads);

// "sgd", "nag", "rmsprop", "adam" with the defaults above and the given learning rate.
// Throws std::invalid_argument listing the valid names.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double lr);
std::vector<std::string> optimizer_names();  // {"sgd", "nag", "rmsprop", "adam"}

// ---- the four baselines --------------------------------------------------------------------
// Hyper-parameters are public members, checked (std::invalid_argument) at construction and at
// every step: lr > 0, 0 < momentum < 1, 0 <= alpha, beta1, beta2 < 1, eps >= 0.

class Sgd : public Optimizer {
 public:
  explicit Sgd(double lr = 1e-3);
  std::string name() const override { return "sgd"; }
  void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) override;
  void reset() override {}
  double lr;
};

class Nag : public Optimizer {
 public:
  explicit Nag(double lr = 1e-3, double momentum = 0.9);
  std::string name() const override { return "nag"; }
  void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) override;
  void reset() override { v_.clear(); }
  NamedTensors state() const override;  // "nag.v.0", "nag.v.1", ...
  void load_state(const NamedTensors& s) override;
  double lr, momentum;

 private:
  std::vector<Tensor> v_;  // velocity, one per parameter tensor (empty before the first step)
};

class RmsProp : public Optimizer {
 public:
  explicit RmsProp(double lr = 1e-2, double alpha = 0.99, double eps = 1e-8);
  std::string name() const override { return "rmsprop"; }
  void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) override;
  void reset() override { v_.clear(); }
  NamedTensors state() const override;  // "rmsprop.v.0", ...
  void load_state(const NamedTensors& s) override;
  double lr, alpha, eps;

 private:
  std::vector<Tensor> v_;  // running mean of g^2
};

class Adam : public Optimizer {
 public:
  explicit Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  std::string name() const override { return "adam"; }
  void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) override;
  void reset() override;
  // "adam.t" (shape (1), the step count as a `real`), then "adam.m.0", "adam.v.0", "adam.m.1",
  // ... The count is exact up to 2^24 steps in the float build and 2^53 in the double build
  // (a checkpoint stores `real` as is, so a resumed Adam continues bit for bit); state()
  // throws std::invalid_argument beyond that rather than save a rounded count.
  NamedTensors state() const override;
  void load_state(const NamedTensors& s) override;
  double lr, beta1, beta2, eps;

  int64_t steps() const { return t_; }                // steps taken since the last reset
  const std::vector<Tensor>& m() const { return m_; }  // first moments (empty before a step)
  const std::vector<Tensor>& v() const { return v_; }  // second moments

 private:
  int64_t t_ = 0;
  std::vector<Tensor> m_, v_;
};

}  // namespace l2l
