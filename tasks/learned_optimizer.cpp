// learned_optimizer.cpp: the coordinatewise net, the optimizer around it, and loading it from a
// checkpoint. See learned_optimizer.h.
#include "tasks/learned_optimizer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "nn/checkpoint.h"
#include "tasks/fused_window.h"

namespace l2l {

// ---- the net --------------------------------------------------------------------------------

CoordNet::CoordNet(const NetConfig& cfg, Rng& rng, const std::string& name) : cfg_(cfg) {
  cfg.check("net " + name + ": ");
  int I = preprocess_inputs(cfg), H = cfg.hidden;
  if (cfg.layers > 0) {
    lstm_ = LSTM(I, H, cfg.layers, rng, name + ".lstm", cfg.fused);
    double a = 1 / std::sqrt((double)H);
    out_ = Linear(name + ".out", randu({H, 1}, rng, -a, a), Tensor::zeros({1}));
  } else {
    out_ = Linear(name + ".out", Tensor::zeros({I, 1}), Tensor::zeros({1}));  // a linear map starting at zero
  }
}

// (2) the LSTM stack, with (4) after every layer when gac > 0, then (3) the read-out.
Var CoordNet::step(Tape& tape, Var x, std::vector<Var>& h, std::vector<Var>& c) {
  const int gac = cfg_.gac;
  Var top = x;
  if (cfg_.layers > 0 && gac > 0) top = lstm_.forward(tape, x, h, c, [gac](Var hl) { return global_average_cols(hl, gac); });
  else if (cfg_.layers > 0) top = lstm_.forward(tape, x, h, c);  // the paper's net
  Var out = out_.forward(tape, top);  // (n, 1)
  return cfg_.out_scale == 1.0 ? out : scale(out, (real)cfg_.out_scale);
}

std::vector<Param*> CoordNet::params() {
  std::vector<Param*> ps = lstm_.params();
  ps.push_back(&out_.W);
  ps.push_back(&out_.b);
  return ps;
}

// ---- the optimizer --------------------------------------------------------------------------

LearnedOptimizer::LearnedOptimizer(const std::vector<NetConfig>& cfgs, uint64_t seed) {
  if (cfgs.empty()) throw std::invalid_argument("LearnedOptimizer needs at least one net");
  Rng rng(seed);
  for (size_t k = 0; k < cfgs.size(); k++) nets_.push_back(std::make_unique<CoordNet>(cfgs[k], rng, "net" + std::to_string(k)));
}

std::vector<GroupRange> group_ranges(const std::vector<TensorSpec>& specs) {
  std::vector<GroupRange> g;
  size_t off = 0;
  for (const TensorSpec& s : specs) {
    if (g.empty() || s.group != (int)g.size() - 1) {
      if (s.group != (int)g.size())
        throw std::invalid_argument("parameter " + s.name + " is in group " + std::to_string(s.group) + " after group " +
                                    std::to_string((int)g.size() - 1) + ": groups must be 0, 1, 2, ... in spec order");
      g.push_back({off, 0});
    }
    size_t n = shape_numel(s.shape);
    g.back().size += n;
    off += n;
  }
  return g;
}

OptimizerVars OptimizerVars::on_tape(const OptimizerState& s, Tape& tape) {
  OptimizerVars v{s.groups, std::vector<std::vector<Var>>(s.nets.size()), std::vector<std::vector<Var>>(s.nets.size()),
                  s.moments};
  for (size_t k = 0; k < s.nets.size(); k++) s.nets[k].to_tape(tape, v.h[k], v.c[k]);
  return v;
}

OptimizerState OptimizerVars::values() const {
  OptimizerState s{groups, {}, moments};
  for (size_t k = 0; k < h.size(); k++) s.nets.push_back(LSTMState::from_vars(h[k], c[k]));
  return s;
}

OptimizerState LearnedOptimizer::initial_state(const std::vector<TensorSpec>& specs) const {
  OptimizerState s{group_ranges(specs), {}, {}};
  if (s.groups.size() != nets_.size())
    throw std::invalid_argument("the problem has " + std::to_string(s.groups.size()) +
                                " parameter groups but the learned optimizer has " + std::to_string(nets_.size()) + " nets");
  for (size_t k = 0; k < nets_.size(); k++) s.nets.push_back(nets_[k]->zero_state(s.groups[k].size));
  s.moments.resize(nets_.size());  // empty: adamnorm starts them at zero on the first step
  return s;
}

// Net k reads its own range of the gradient and returns the updates of that range; the parts
// are concatenated back in group order. Net k never sees another group's coordinates.
Var LearnedOptimizer::update(Tape& tape, const Tensor& grad, OptimizerVars& st) {
  size_t N = st.groups.empty() ? 0 : st.groups.back().offset + st.groups.back().size;
  if (st.groups.size() != nets_.size() || grad.size() != N)
    throw std::invalid_argument("[learned optimizer] gradient has " + std::to_string(grad.size()) + " coordinates in " +
                                "a state of " + std::to_string(st.groups.size()) + " groups covering " +
                                std::to_string(N) + "; the optimizer has " + std::to_string(nets_.size()) + " nets");
  st.moments.resize(nets_.size());
  std::vector<Var> parts;
  for (size_t k = 0; k < nets_.size(); k++) {
    const GroupRange& r = st.groups[k];
    Tensor gk({(int)r.size});
    std::copy(grad.data() + r.offset, grad.data() + r.offset + r.size, gk.data());
    Var x = tape.constant(preprocess_gradient(gk, nets_[k]->config(), &st.moments[k]));
    parts.push_back(nets_[k]->step(tape, x, st.h[k], st.c[k]));
  }
  Var u = parts.size() == 1 ? parts[0] : concat(parts, 0);
  return reshape(u, {(int)N});
}

void LearnedOptimizer::step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) {
  check_step_args("lstm", params, grads);
  if (state_.groups.empty()) throw std::logic_error("[lstm step] call begin(specs) before the first step of a run");
  // Flatten the gradients in parameter order (usually there is just one flat theta).
  size_t N = 0;
  for (const Tensor* p : params) N += p->size();
  Tensor g({(int)N});
  size_t off = 0;
  for (const Tensor& gi : grads) off = std::copy(gi.data(), gi.data() + gi.size(), g.data() + off) - g.data();
  Tensor u;
  if (fused_window_supported(*this)) {
    u = fused_update(*this, state_, g);  // the state advanced in place, nothing stored
  } else {
    NoGradGuard off_tape;  // evaluation: nothing is differentiated
    scratch_.clear();
    OptimizerVars st = OptimizerVars::on_tape(state_, scratch_);
    u = update(scratch_, g, st).value();
    state_ = st.values();
  }
  off = 0;
  for (Tensor* p : params) {
    for (size_t j = 0; j < p->size(); j++) (*p)[j] += u[off + j];
    off += p->size();
  }
}

std::vector<NetConfig> LearnedOptimizer::configs() const {
  std::vector<NetConfig> c;
  for (auto& n : nets_) c.push_back(n->config());
  return c;
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

void rename_old_readout(Checkpoint& ck) {
  for (auto& [name, t] : ck.tensors)
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".out.W") == 0) name.back() = 'w';
}

namespace {

// How many numbers phi of a net with this configuration has (without building it).
size_t phi_numbers(const NetConfig& c) {
  const size_t I = (size_t)preprocess_inputs(c), H = (size_t)c.hidden;
  size_t n = c.layers > 0 ? H + 1 : I + 1;  // read-out w, b
  for (int l = 0; l < c.layers; l++) n += ((l == 0 ? I : H) + H) * 4 * H + 4 * H;
  return n;
}

// The file's phi (tensors "<prefix>net<k>.") must have as many numbers as its metadata's
// nets: checked before the optimizer is built, so a file that claims 64 nets of 8 x 1024 units
// over a few tensors allocates nothing.
void check_phi_size(const Checkpoint& ck, const std::vector<NetConfig>& cfgs, const std::string& prefix) {
  for (size_t k = 0; k < cfgs.size(); k++) {
    const std::string net = prefix + "net" + std::to_string(k) + ".";
    size_t found = 0;
    for (const auto& [name, t] : ck.tensors)
      if (name.compare(0, net.size(), net) == 0) found += t.size();
    if (found != phi_numbers(cfgs[k]))
      throw std::runtime_error("checkpoint " + ck.source + ": its metadata describes net" + std::to_string(k) + " as " +
                               cfgs[k].describe() + " (" + std::to_string(phi_numbers(cfgs[k])) +
                               " numbers), but its tensors " + net + "* hold " + std::to_string(found) +
                               " (the metadata was edited or the file is damaged). Fix: use the file as l2l wrote "
                               "it, or train again.");
  }
}

}  // namespace

std::unique_ptr<LearnedOptimizer> load_learned_optimizer(const std::string& path, std::string* trained_on,
                                                         std::string* epoch) {
  Checkpoint ck = load_checkpoint(path);
  rename_old_readout(ck);
  const std::vector<NetConfig> cfgs = net_configs_from_meta(ck.meta, path);
  // train_state.ckpt holds phi under "phi."; phi.ckpt holds it bare.
  const std::string prefix = ck.tensor("phi.net0.out.b") ? "phi." : "";
  check_phi_size(ck, cfgs, prefix);
  require_finite(ck, prefix + "net", "use the phi.ckpt of a run that did not diverge, or train again");
  auto opt = std::make_unique<LearnedOptimizer>(cfgs, 0);
  load_params(ck, opt->params(), prefix);
  const std::string* t = ck.meta_value("task");
  const std::string* e = ck.meta_value("best_epoch");
  if (trained_on) *trained_on = t ? *t : "";
  if (epoch) *epoch = e ? *e : "";
  return opt;
}

}  // namespace l2l
