// learned_optimizer.h: the paper's optimizer m(grad, h; phi): a coordinatewise LSTM.
//
// One small net is applied to every coordinate of theta independently: the coordinates are
// the batch axis N of the LSTM, its weights phi are shared by all of them, and each coordinate
// keeps its own hidden and cell state. Per coordinate and step:
//
//   x_t        = preprocess(grad_t)                 none: (grad), 1 input
//                                                   logsign (Appendix A, parameter p):
//                                                     (log|g|/p, sign g)  if |g| >= e^-p
//                                                     (-1, e^p g)          otherwise
//   h_t, c_t   = LSTM_L(x_t, h_{t-1}, c_{t-1})      L layers of H units (default 2 x 20)
//   update_t   = out_scale * (w . h_t^top + b)      a linear read-out to one number
//   theta_t+1  = theta_t + update_t
//
// With 0 LSTM layers the net is a linear map of x_t, zero-initialized (the authors' tests).
// Several nets can share one problem: net k handles group k of the problem's coordinates
// (contiguous ranges of theta, tasks/task.h).
//
// The gradient grad_t enters as a constant Tensor: in the meta-gradient d grad_t / d phi = 0
// (the paper's second-order-free assumption); see tasks/meta.cpp for where it is taken.
// The same object is an Optimizer (nn/optim.h), so evaluation treats it like SGD or Adam.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "nn/lstm.h"
#include "nn/optim.h"
#include "nn/rng.h"

namespace l2l {

struct NetConfig {
  int layers = 2;                 // LSTM layers (0: a linear map of the preprocessed gradient)
  int hidden = 20;                // units per layer
  std::string preprocess = "none";  // "none" or "logsign"
  double p = 10;                  // logsign parameter (paper 10, DeepMind k = 5)
  double out_scale = 1.0;         // paper: 0.1 for MNIST; DeepMind 0.01
  bool fused = true;              // fused LSTM cell op (false: the composed reference)
  // Init: the LSTM's own (nn/lstm.h: truncated normal, forget-gate bias 1); the read-out
  // weights ~ U(-1/sqrt(H), 1/sqrt(H)) and bias 0.
  std::string describe() const;
};

// Preprocessing of a flat gradient (n) into the net's input (n, I). Forward only: the input is
// a constant of the meta-gradient.
Tensor preprocess_gradient(const Tensor& grad, const NetConfig& cfg);
int preprocess_inputs(const NetConfig& cfg);  // I: 1 or 2

// The recurrent state of one net over its n coordinates: per layer, h and c of shape (n, H).
struct NetState {
  std::vector<Tensor> h, c;
};

class CoordNet {
 public:
  CoordNet(const NetConfig& cfg, Rng& rng, const std::string& name);
  const NetConfig& config() const { return cfg_; }
  NetState zero_state(size_t n) const;
  // One step for n coordinates. x (n, I) is the preprocessed gradient (a constant leaf);
  // h, c hold one Var (n, H) per layer and are advanced in place. Returns the update (n, 1).
  Var step(Tape& tape, Var x, std::vector<Var>& h, std::vector<Var>& c);
  std::vector<Param*> params();

 private:
  NetConfig cfg_;
  LSTM lstm_;             // cfg.layers layers of cfg.hidden units (none for a linear net)
  Param out_w_, out_b_;   // read-out: (H or I, 1), (1)
};

class LearnedOptimizer : public Optimizer {
 public:
  // One net per group, each built from its own config (usually all the same).
  LearnedOptimizer(const std::vector<NetConfig>& cfgs, uint64_t seed);
  std::string name() const override { return "lstm"; }

  // Off-tape step for evaluation: params are the problem's tensors in order (usually one flat
  // theta); group sizes are set by set_groups (default: everything is group 0).
  void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) override;
  void reset() override { state_.clear(); }
  void set_groups(const std::vector<size_t>& sizes);

  // Differentiable step for meta-training: grad is the flat gradient (a constant), h/c the
  // state Vars of every net (advanced in place). Returns the update Var (N).
  Var update(Tape& tape, const Tensor& grad, std::vector<std::vector<Var>>& h, std::vector<std::vector<Var>>& c);
  std::vector<NetState> zero_state() const;

  std::vector<Param*> params();  // phi: every net's Params, names prefixed "net<k>."
  size_t param_count();
  int num_nets() const { return (int)nets_.size(); }
  CoordNet& net(int k) { return *nets_[k]; }
  const std::vector<size_t>& groups() const { return groups_; }

 private:
  std::vector<std::unique_ptr<CoordNet>> nets_;
  std::vector<size_t> groups_;
  std::vector<NetState> state_;  // between off-tape steps; empty after reset()
};

}  // namespace l2l
