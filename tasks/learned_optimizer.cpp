// learned_optimizer.cpp: preprocessing, the coordinatewise net and the optimizer around it.
#include "learned_optimizer.h"

#include <cmath>
#include <sstream>
#include <stdexcept>


namespace l2l {

std::string NetConfig::describe() const {
  std::ostringstream s;
  if (layers == 0) s << "linear map (0 LSTM layers)";
  else s << layers << "x" << hidden << " LSTM" << (fused ? " (fused cell)" : " (composed cell)");
  s << ", preprocess " << preprocess;
  if (preprocess == "logsign") s << " p=" << p;
  s << ", output x" << out_scale;
  return s.str();
}

int preprocess_inputs(const NetConfig& cfg) {
  if (cfg.preprocess == "none") return 1;
  if (cfg.preprocess == "logsign") return 2;
  throw std::invalid_argument("unknown preprocessing '" + cfg.preprocess + "' (expected none or logsign)");
}

// Appendix A: (log|g|/p, sign g) if |g| >= e^-p, else (-1, e^p g). Both inputs stay O(1)
// for gradients spanning many orders of magnitude.
Tensor preprocess_gradient(const Tensor& grad, const NetConfig& cfg) {
  int I = preprocess_inputs(cfg);
  int n = (int)grad.size();
  Tensor x({n, I});
  if (I == 1) {
    for (int i = 0; i < n; i++) x[i] = grad[i];
    return x;
  }
  const double p = cfg.p, thresh = std::exp(-p), ep = std::exp(p);
  for (int i = 0; i < n; i++) {
    double g = grad[i], a = std::fabs(g);
    if (a >= thresh) {
      x[2 * i] = (real)(std::log(a) / p);
      x[2 * i + 1] = (real)((g > 0) - (g < 0));
    } else {
      x[2 * i] = -1;
      x[2 * i + 1] = (real)(ep * g);
    }
  }
  return x;
}

// ---- the net --------------------------------------------------------------------------------

CoordNet::CoordNet(const NetConfig& cfg, Rng& rng, const std::string& name) : cfg_(cfg) {
  int I = preprocess_inputs(cfg), H = cfg.hidden;
  if (cfg.layers < 0 || (cfg.layers > 0 && H <= 0))
    throw std::invalid_argument("net needs layers >= 0 and hidden > 0");
  if (cfg.layers > 0) {
    lstm_ = LSTM(I, H, cfg.layers, rng, name + ".lstm", cfg.fused);
    double a = 1 / std::sqrt((double)H);
    out_w_ = Param(name + ".out.W", randu({H, 1}, rng, -a, a));
  } else {
    out_w_ = Param(name + ".out.W", Tensor::zeros({I, 1}));  // a linear map starting at zero
  }
  out_b_ = Param(name + ".out.b", Tensor::zeros({1}));
}

NetState CoordNet::zero_state(size_t n) const {
  LSTMState z = lstm_.zero_state((int)n);
  return NetState{z.h, z.c};
}

Var CoordNet::step(Tape& tape, Var x, std::vector<Var>& h, std::vector<Var>& c) {
  Var top = cfg_.layers > 0 ? lstm_.forward(tape, x, h, c) : x;
  Var out = matmul(top, tape.param(out_w_)) + tape.param(out_b_);  // (n, 1)
  return cfg_.out_scale == 1.0 ? out : scale(out, (real)cfg_.out_scale);
}

std::vector<Param*> CoordNet::params() {
  std::vector<Param*> ps = lstm_.params();
  ps.push_back(&out_w_);
  ps.push_back(&out_b_);
  return ps;
}

// ---- the optimizer --------------------------------------------------------------------------

LearnedOptimizer::LearnedOptimizer(const std::vector<NetConfig>& cfgs, uint64_t seed) {
  if (cfgs.empty()) throw std::invalid_argument("LearnedOptimizer needs at least one net");
  Rng rng(seed);
  for (size_t k = 0; k < cfgs.size(); k++) nets_.push_back(std::make_unique<CoordNet>(cfgs[k], rng, "net" + std::to_string(k)));
}

void LearnedOptimizer::set_groups(const std::vector<size_t>& sizes) {
  if (sizes.size() != nets_.size())
    throw std::invalid_argument("the problem has " + std::to_string(sizes.size()) + " parameter groups but the learned optimizer has " +
                                std::to_string(nets_.size()) + " nets");
  groups_ = sizes;
  state_.clear();
}

std::vector<NetState> LearnedOptimizer::zero_state() const {
  std::vector<NetState> s;
  for (size_t k = 0; k < nets_.size(); k++) s.push_back(nets_[k]->zero_state(groups_[k]));
  return s;
}

Var LearnedOptimizer::update(Tape& tape, const Tensor& grad, std::vector<std::vector<Var>>& h,
                             std::vector<std::vector<Var>>& c) {
  size_t N = 0;
  for (size_t n : groups_) N += n;
  if (groups_.empty() || grad.size() != N)
    throw std::invalid_argument("[learned optimizer] gradient has " + std::to_string(grad.size()) +
                                " coordinates, groups cover " + std::to_string(N) + " (call set_groups first)");
  std::vector<Var> parts;
  size_t off = 0;
  for (size_t k = 0; k < nets_.size(); k++) {
    size_t n = groups_[k];
    Tensor gk({(int)n});
    for (size_t i = 0; i < n; i++) gk[i] = grad[off + i];
    off += n;
    Var x = tape.constant(preprocess_gradient(gk, nets_[k]->config()));
    parts.push_back(nets_[k]->step(tape, x, h[k], c[k]));
  }
  Var u = parts.size() == 1 ? parts[0] : concat(parts, 0);
  return reshape(u, {(int)N});
}

void LearnedOptimizer::step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) {
  if (params.size() != grads.size()) throw std::invalid_argument("[lstm step] params and grads differ in count");
  size_t N = 0;
  for (const Tensor* p : params) N += p->size();
  if (groups_.empty()) groups_ = {N};
  if (state_.empty()) state_ = zero_state();
  // Flatten the gradients in parameter order (usually there is just one flat theta).
  Tensor g({(int)N});
  size_t off = 0;
  for (size_t i = 0; i < grads.size(); i++) {
    if (grads[i].size() != params[i]->size()) throw std::invalid_argument("[lstm step] gradient shape differs from its parameter");
    for (size_t j = 0; j < grads[i].size(); j++) g[off + j] = grads[i][j];
    off += grads[i].size();
  }
  NoGradGuard off_tape;  // evaluation: nothing is differentiated
  Tape tape;
  std::vector<std::vector<Var>> h(nets_.size()), c(nets_.size());
  for (size_t k = 0; k < nets_.size(); k++)
    for (size_t l = 0; l < state_[k].h.size(); l++) {
      h[k].push_back(tape.constant(std::move(state_[k].h[l])));
      c[k].push_back(tape.constant(std::move(state_[k].c[l])));
    }
  const Tensor& u = update(tape, g, h, c).value();
  for (size_t k = 0; k < nets_.size(); k++)
    for (size_t l = 0; l < h[k].size(); l++) {
      state_[k].h[l] = h[k][l].value();
      state_[k].c[l] = c[k][l].value();
    }
  off = 0;
  for (Tensor* p : params) {
    for (size_t j = 0; j < p->size(); j++) (*p)[j] += u[off + j];
    off += p->size();
  }
}

std::vector<Param*> LearnedOptimizer::params() {
  std::vector<Param*> ps;
  for (auto& n : nets_)
    for (Param* p : n->params()) ps.push_back(p);
  return ps;
}

size_t LearnedOptimizer::param_count() {
  size_t n = 0;
  for (Param* p : params()) n += p->value.size();
  return n;
}

}  // namespace l2l
