// learned_optimizer.h: the paper's optimizer m(grad, h; phi): a coordinatewise LSTM.
//
// One small net is applied to every coordinate of theta independently: the coordinates are
// the batch axis N of the LSTM, its weights phi are shared by all of them, and each coordinate
// keeps its own hidden and cell state. Per coordinate and step:
//
//   (1) x_t       = preprocess(grad_t)              none: (grad), 1 input
//                                                   logsign (Appendix A, parameter p):
//                                                     (log|g|/p, sign g)  if |g| >= e^-p
//                                                     (-1, e^p g)          otherwise
//                                                   adamnorm: (5) below, 2 inputs
//   (2) h_t, c_t  = LSTM_L(x_t, h_{t-1}, c_{t-1})   L layers of H units (default 2 x 20)
//   (3) update_t  = out_scale * (w . h_t^top + b)   a linear read-out to one number
//       theta_t+1 = theta_t + update_t
//
// Beyond the paper (both off by default: NetConfig{} is the paper's net, bit for bit):
//
// Global averaging cells, gac = A > 0 (the paper's part on sharing information between
// coordinates: a few cells in each LSTM layer whose outgoing activations are averaged at each
// step over all coordinates, a cheap channel of global information). In every layer l, right after the cell
// computes h'^l (n, H) for the n coordinates of the net's group, its first A units are
// replaced by their mean over those coordinates:
//   (4) h^l[i, j] = (1/n) sum_{m=0..n-1} h'^l[m, j]   for j < A      (h'^l[i, j] for j >= A)
// The averaged h^l is the layer's output everywhere: layer l+1 reads it now, and the cell reads
// it as h_{t-1} at the next step. c is never averaged. The sum runs over m in index order, in
// double, on one thread: bit-identical for any thread count. Backward (global_average_cols,
// autodiff/ops.h):
//   dh'[i, j] = (1/n) sum_m dh[m, j] for j < A,   dh[i, j] otherwise.
// The mean is a symmetric function of the coordinates, so the optimizer stays invariant to
// their order (permuting grad permutes the update), up to rounding of the sum.
//
// Adam-like input normalization, preprocess = adamnorm (RNNprop, Lv, Jiang & Li 2017, "Learning
// Gradient Descent: Better Generalization and Longer Horizons": the net sees gradients relative
// to their running scale, so its inputs do not depend on the scale of f). Per coordinate,
// moments m, v kept in the OptimizerState (zero at the start, t counts this net's steps):
//   (5) m_t = b1 m_t-1 + (1-b1) g_t     v_t = b2 v_t-1 + (1-b2) g_t^2
//       mh = m_t / (1 - b1^t)          vh = v_t / (1 - b2^t)
//       x_t = (mh / (sqrt(vh) + eps),  g_t / (sqrt(vh) + eps)),   eps = 1e-8
// (RNNprop's two inputs; its extra ELU input layer and tanh-bounded output are not copied:
// the rest of the net stays the paper's.) m and v are functions of the gradients only, so like
// grad_t itself they are constants of the meta-gradient (no gradient flows through them); they
// are carried as plain tensors across windows, as the LSTM state is.
//
// With 0 LSTM layers the net is a linear map of x_t, zero-initialized (the authors' tests).
// Several nets can share one problem: net k handles group k of the problem's coordinates
// (TensorSpec::group; contiguous ranges of theta, tasks/task.h). The specs are the one source
// of the grouping: initial_state(specs) lays the state out from them.
//
// State is explicit: an OptimizerState per problem, made by initial_state(), passed to every
// step and carried by the caller (meta-training carries it from window to window). The
// gradient grad_t enters as a constant Tensor: in the meta-gradient d grad_t / d phi = 0 (the
// paper's second-order-free assumption; see tasks/meta_train.h). The same object is also an
// Optimizer (nn/optim.h), so evaluation treats it like SGD or Adam: begin(specs), then step().
// Is not: the settings of a net and their checkpoint form (tasks/net_config.h), the input
// preprocessing (tasks/preprocess.h), or meta-training (tasks/meta_train.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "nn/checkpoint.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "nn/rng.h"
#include "tasks/net_config.h"
#include "tasks/preprocess.h"

namespace l2l {

// The coordinates [offset, offset + size) of theta that one net handles.
struct GroupRange {
  size_t offset = 0, size = 0;
};
// One range per group, from the specs' .group fields; throws std::invalid_argument unless the
// groups are 0, 1, 2, ... in order, each a contiguous run of specs.
std::vector<GroupRange> group_ranges(const std::vector<TensorSpec>& specs);

// The optimizer's state on one problem, between steps: per net, its range, its LSTM state and
// its input moments (adamnorm; empty otherwise).
struct OptimizerState {
  std::vector<GroupRange> groups;
  std::vector<LSTMState> nets;
  std::vector<InputMoments> moments;  // one per net, or none (then started at zero)
};

// The same state as Vars on a tape, during a meta-training window: h[k][l], c[k][l] for net k,
// layer l. on_tape() puts it there as constants (no gradient flows into a window's initial
// state); values() reads it back (the truncated-BPTT boundary). The input moments are not Vars
// (constants of the meta-gradient): they ride along as tensors.
struct OptimizerVars {
  std::vector<GroupRange> groups;
  std::vector<std::vector<Var>> h, c;
  std::vector<InputMoments> moments;
  static OptimizerVars on_tape(const OptimizerState& s, Tape& tape);
  OptimizerState values() const;
};

class CoordNet {
 public:
  CoordNet(const NetConfig& cfg, Rng& rng, const std::string& name);
  const NetConfig& config() const { return cfg_; }
  LSTMState zero_state(size_t n) const { return lstm_.zero_state((int)n); }
  // One step for n coordinates. x (n, I) is the preprocessed gradient (a constant leaf);
  // h, c hold one Var (n, H) per layer and are advanced in place. Returns the update (n, 1).
  Var step(Tape& tape, Var x, std::vector<Var>& h, std::vector<Var>& c);
  std::vector<Param*> params();
  // The parts, for the fused window (tasks/fused_window.h), which runs them without a tape.
  LSTM& lstm() { return lstm_; }
  Linear& readout() { return out_; }

 private:
  NetConfig cfg_;
  LSTM lstm_;             // cfg.layers layers of cfg.hidden units (none for a linear net)
  Linear out_;            // read-out (3): W (H or I, 1), b (1)
};

class LearnedOptimizer : public Optimizer {
 public:
  // One net per group, each built from its own config (per-group settings are allowed).
  LearnedOptimizer(const std::vector<NetConfig>& cfgs, uint64_t seed);
  std::string name() const override { return "lstm"; }

  // The zero state for a problem with these specs (one group per net, else invalid_argument).
  OptimizerState initial_state(const std::vector<TensorSpec>& specs) const;
  // Differentiable step for meta-training: grad (N) is the flat gradient (a constant); st is
  // advanced in place. Returns the update Var (N): theta_{t+1} = theta_t + update.
  Var update(Tape& tape, const Tensor& grad, OptimizerVars& st);

  // The Optimizer interface, for evaluation: begin() lays out the state for a problem, step()
  // runs off the tape (params: the problem's tensors in spec order, usually one flat theta).
  void begin(const std::vector<TensorSpec>& specs) override { state_ = initial_state(specs); }
  void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) override;
  void reset() override { state_ = OptimizerState(); }

  std::vector<Param*> params();  // phi: every net's Params, names prefixed "net<k>."
  size_t param_count();
  int num_nets() const { return (int)nets_.size(); }
  CoordNet& net(int k) { return *nets_[k]; }
  std::vector<NetConfig> configs() const;

 private:
  std::vector<std::unique_ptr<CoordNet>> nets_;
  OptimizerState state_;  // of the off-tape steps; empty until begin()
  Tape scratch_;          // reused by the off-tape steps
};

// Checkpoints written before the read-out was nn's Linear name its weight "net<k>.out.W" (now
// "net<k>.out.w"): renamed in place, so that older runs still load and resume.
void rename_old_readout(Checkpoint& ck);

// A learned optimizer from a phi checkpoint (phi.ckpt or train_state.ckpt of l2l train): its
// nets from the metadata (whose digest must match, tasks/net_config.h), phi from the tensors
// (strict names and shapes, all finite). Before the optimizer is built, the file's tensors must
// hold as many numbers as the metadata's nets need: a file cannot make it allocate more than
// it holds. Errors are std::runtime_error naming the file, what it claims and the fix. `trained_on` gets
// the checkpoint's "task" ("" if absent), `epoch` its "best_epoch" ("" if absent).
std::unique_ptr<LearnedOptimizer> load_learned_optimizer(const std::string& path, std::string* trained_on = nullptr,
                                                         std::string* epoch = nullptr);

}  // namespace l2l
