// learned_optimizer.cpp: preprocessing, the coordinatewise net and the optimizer around it.
#include "tasks/learned_optimizer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "nn/checkpoint.h"

namespace l2l {

std::string NetConfig::describe() const {
  std::ostringstream s;
  if (layers == 0) s << "linear map (0 LSTM layers)";
  else s << layers << "x" << hidden << " LSTM" << (fused ? " (fused cell)" : " (composed cell)");
  s << ", preprocess " << preprocess;
  if (preprocess == "logsign") s << " p=" << p;
  if (preprocess == "adamnorm") s << " beta1=" << beta1 << " beta2=" << beta2;
  s << ", output x" << out_scale;
  if (gac > 0) s << ", " << gac << " global averaging cells per layer";
  return s.str();
}

void NetConfig::validate(const std::string& source) const {
  auto bad = [&](const char* field, const std::string& m) { throw std::invalid_argument(source + field + " " + m); };
  if (layers < 0 || layers > 8) bad("layers", "must be in 0..8, got " + std::to_string(layers));
  if (hidden < 1 || hidden > 1024) bad("hidden", "must be in 1..1024, got " + std::to_string(hidden));
  if (preprocess != "none" && preprocess != "logsign" && preprocess != "adamnorm")
    bad("preprocess", "must be none, logsign or adamnorm, got '" + preprocess + "'");
  if (!std::isfinite(p) || !(p > 0) || p > 100) bad("p", "must be finite, > 0 and <= 100 (the paper uses 10), got " + std::to_string(p));
  if (!std::isfinite(out_scale) || !(out_scale > 0)) bad("out-scale", "must be finite and > 0, got " + std::to_string(out_scale));
  if (!(beta1 >= 0 && beta1 < 1)) bad("adam-beta1", "must be in [0, 1), got " + std::to_string(beta1));
  if (!(beta2 >= 0 && beta2 < 1)) bad("adam-beta2", "must be in [0, 1), got " + std::to_string(beta2));
  if (gac < 0 || gac > hidden) bad("gac", "must be in 0..hidden (" + std::to_string(hidden) + "), got " + std::to_string(gac));
  if (gac > 0 && layers == 0) bad("gac", "needs LSTM layers (a linear net has no cells to average), got --layers 0");
}

NetConfig paper_net_config(const std::string& task) {
  NetConfig c;
  bool small = task == "quadratic" || task == "simple";
  c.preprocess = small ? "none" : "logsign";
  c.out_scale = small || task == "art" ? 1.0 : 0.1;  // Neural Art: no output scaling (paper 3.4)
  return c;
}

int preprocess_inputs(const NetConfig& cfg) {
  if (cfg.preprocess == "none") return 1;
  if (cfg.preprocess == "logsign" || cfg.preprocess == "adamnorm") return 2;
  throw std::invalid_argument("unknown preprocessing '" + cfg.preprocess + "' (expected none, logsign or adamnorm)");
}

// (5), RNNprop's inputs: the bias-corrected first moment and the gradient, both divided by
// the root of the bias-corrected second moment. The moments are advanced in place.
static Tensor adam_normalized(const Tensor& grad, const NetConfig& cfg, InputMoments& mom) {
  const int n = (int)grad.size();
  if (mom.m.size() == 0 && mom.v.size() == 0 && mom.t == 0) mom = {Tensor::zeros({n}), Tensor::zeros({n}), 0};
  if ((int)mom.m.size() != n || (int)mom.v.size() != n)
    throw std::invalid_argument("[adamnorm] moments of " + std::to_string(mom.m.size()) + " coordinates for a gradient of " +
                                std::to_string(n));
  mom.t++;
  const double b1 = cfg.beta1, b2 = cfg.beta2, eps = 1e-8;
  const double c1 = 1 - std::pow(b1, mom.t), c2 = 1 - std::pow(b2, mom.t);
  Tensor x({n, 2});
  for (int i = 0; i < n; i++) {
    double g = grad[i];
    double m = b1 * mom.m[i] + (1 - b1) * g, v = b2 * mom.v[i] + (1 - b2) * g * g;
    mom.m[i] = (real)m;
    mom.v[i] = (real)v;
    double d = std::sqrt(v / c2) + eps;
    x[2 * i] = (real)(m / c1 / d);
    x[2 * i + 1] = (real)(g / d);
  }
  return x;
}

// Appendix A: (log|g|/p, sign g) if |g| >= e^-p, else (-1, e^p g). Both inputs stay O(1)
// for gradients spanning many orders of magnitude.
Tensor preprocess_gradient(const Tensor& grad, const NetConfig& cfg, InputMoments* mom) {
  int I = preprocess_inputs(cfg);
  int n = (int)grad.size();
  if (cfg.preprocess == "adamnorm") {
    if (!mom) throw std::invalid_argument("[preprocess] adamnorm needs the optimizer's input moments");
    return adam_normalized(grad, cfg, *mom);
  }
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

// ---- global averaging cells (4) -------------------------------------------------------------

// The mean of each of the first A columns over the n rows, summed in row order in double (one
// thread, fixed order: the same bits for any thread count). Forward and backward are the same map.
static void average_first_cols(const real* src, real* dst, int n, int H, int A) {
  std::copy_n(src, (size_t)n * H, dst);
  if (A == 0 || n == 0) return;
  std::vector<double> sum(A, 0.0);
  for (int m = 0; m < n; m++)
    for (int j = 0; j < A; j++) sum[j] += src[(size_t)m * H + j];
  for (int j = 0; j < A; j++) {
    real mean = (real)(sum[j] / n);
    for (int i = 0; i < n; i++) dst[(size_t)i * H + j] = mean;
  }
}

// y = h with columns j < A replaced by their row mean. The map is linear and symmetric
// (its matrix is block-diagonal: identity, and (1/n) 1 1^T per averaged column), so its
// backward applies the same map to dy: dh'[i, j] += (1/n) sum_m dy[m, j] for j < A, dy[i, j] otherwise.
Var global_average_cols(Var h, int cols) {
  const Shape& s = h.shape();
  if (s.size() != 2 || cols < 0 || cols > s[1])
    throw std::invalid_argument("[global_average_cols] expected h (n, H) and 0 <= cols <= H; got h " + shape_str(s) +
                                ", cols " + std::to_string(cols));
  const int n = s[0], H = s[1], A = cols;
  Tensor y(s);
  average_first_cols(h.value().data(), y.data(), n, H, A);
  return h.tape->record("global_average_cols", std::move(y), {h}, [n, H, A](BackwardCtx& c) {
    if (!c.dx[0]) return;
    Tensor d(c.dy.shape());
    average_first_cols(c.dy.data(), d.data(), n, H, A);
    real* dst = c.dx[0]->data();
    for (size_t i = 0; i < d.size(); i++) dst[i] += d[i];
  });
}

// ---- the net --------------------------------------------------------------------------------

CoordNet::CoordNet(const NetConfig& cfg, Rng& rng, const std::string& name) : cfg_(cfg) {
  cfg.validate("net " + name + ": ");
  int I = preprocess_inputs(cfg), H = cfg.hidden;
  if (cfg.layers > 0) {
    lstm_ = LSTM(I, H, cfg.layers, rng, name + ".lstm", cfg.fused);
    double a = 1 / std::sqrt((double)H);
    out_w_ = Param(name + ".out.W", randu({H, 1}, rng, -a, a));
  } else {
    out_w_ = Param(name + ".out.W", Tensor::zeros({I, 1}));  // a linear map starting at zero
  }
  out_b_ = Param(name + ".out.b", Tensor::zeros({1}));
}

// The LSTM stack with (4) after every layer: the same cells as LSTM::forward, each layer's h
// averaged in its first gac units before the next layer (and the next step) reads it.
static Var lstm_with_averaging(Tape& tape, LSTM& lstm, int gac, Var x, std::vector<Var>& h, std::vector<Var>& c) {
  if ((int)h.size() != lstm.layers() || (int)c.size() != lstm.layers())
    throw std::invalid_argument("[CoordNet] " + std::to_string(lstm.layers()) + " layers, got " + std::to_string(h.size()) +
                                " h and " + std::to_string(c.size()) + " c states");
  for (int l = 0; l < lstm.layers(); l++) {
    Var W = tape.param(lstm.W[l]), b = tape.param(lstm.b[l]);
    LSTMCellOutput s = lstm.fused ? lstm_cell_fused(x, h[l], c[l], W, b) : lstm_cell_composed(x, h[l], c[l], W, b);
    h[l] = global_average_cols(s.h, gac);
    c[l] = s.c;
    x = h[l];
  }
  return x;
}

Var CoordNet::step(Tape& tape, Var x, std::vector<Var>& h, std::vector<Var>& c) {
  Var top = cfg_.layers == 0 ? x
            : cfg_.gac > 0   ? lstm_with_averaging(tape, lstm_, cfg_.gac, x, h, c)
                             : lstm_.forward(tape, x, h, c);  // gac = 0: the paper's net, untouched
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
  NoGradGuard off_tape;  // evaluation: nothing is differentiated
  scratch_.clear();
  OptimizerVars st = OptimizerVars::on_tape(state_, scratch_);
  const Tensor& u = update(scratch_, g, st).value();  // a node's value: valid until scratch_ records again
  state_ = st.values();
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

// ---- the optimizer's description in a checkpoint --------------------------------------------

std::vector<std::pair<std::string, std::string>> net_config_meta(const std::vector<NetConfig>& cfgs) {
  std::vector<std::pair<std::string, std::string>> m = {{"nets", std::to_string(cfgs.size())}};
  char b[40];
  for (size_t k = 0; k < cfgs.size(); k++) {
    const NetConfig& c = cfgs[k];
    std::string p = "net" + std::to_string(k) + ".";
    m.push_back({p + "layers", std::to_string(c.layers)});
    m.push_back({p + "hidden", std::to_string(c.hidden)});
    m.push_back({p + "preprocess", c.preprocess});
    std::snprintf(b, sizeof b, "%.17g", c.p);
    m.push_back({p + "p", b});
    std::snprintf(b, sizeof b, "%.17g", c.out_scale);
    m.push_back({p + "out-scale", b});
    m.push_back({p + "cell", c.fused ? "fused" : "composed"});
    m.push_back({p + "gac", std::to_string(c.gac)});
    std::snprintf(b, sizeof b, "%.17g", c.beta1);
    m.push_back({p + "adam-beta1", b});
    std::snprintf(b, sizeof b, "%.17g", c.beta2);
    m.push_back({p + "adam-beta2", b});
  }
  return m;
}

namespace {

// A metadata lookup whose errors name the file and the key.
struct MetaReader {
  const std::vector<std::pair<std::string, std::string>>& meta;
  const std::string& path;
  const std::string* find(const std::string& key) const {
    for (auto& [k, v] : meta)
      if (k == key) return &v;
    return nullptr;
  }
  const std::string& str(const std::string& key) const {
    if (const std::string* v = find(key)) return *v;
    throw std::runtime_error(path + ": no '" + key + "' in its metadata (written by an older l2l? train it again)");
  }
  long integer(const std::string& key, long lo, long hi) const {
    const std::string& v = str(key);
    char* end = nullptr;
    errno = 0;
    long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || errno == ERANGE || x < lo || x > hi)
      throw std::runtime_error(path + ": metadata " + key + " = '" + v + "' is not an integer in " + std::to_string(lo) +
                               ".." + std::to_string(hi) + " (a corrupt or foreign checkpoint)");
    return x;
  }
  double number(const std::string& key) const {
    const std::string& v = str(key);
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end) throw std::runtime_error(path + ": metadata " + key + " = '" + v + "' is not a number");
    return x;
  }
};

}  // namespace

std::vector<NetConfig> net_configs_from_meta(const std::vector<std::pair<std::string, std::string>>& meta,
                                             const std::string& path) {
  MetaReader r{meta, path};
  long K = r.integer("nets", 1, 64);
  std::vector<NetConfig> cfgs;
  for (long k = 0; k < K; k++) {
    std::string p = "net" + std::to_string(k) + ".";
    NetConfig c;
    c.layers = (int)r.integer(p + "layers", 0, 8);
    c.hidden = (int)r.integer(p + "hidden", 1, 1024);
    c.preprocess = r.str(p + "preprocess");
    c.p = r.number(p + "p");
    c.out_scale = r.number(p + "out-scale");
    const std::string& cell = r.str(p + "cell");
    if (cell != "fused" && cell != "composed") throw std::runtime_error(path + ": metadata " + p + "cell = '" + cell + "'");
    c.fused = cell == "fused";
    // Keys added with the options beyond the paper: absent in older checkpoints = option off.
    if (r.find(p + "gac")) c.gac = (int)r.integer(p + "gac", 0, 1024);
    if (r.find(p + "adam-beta1")) c.beta1 = r.number(p + "adam-beta1");
    if (r.find(p + "adam-beta2")) c.beta2 = r.number(p + "adam-beta2");
    try {
      c.validate(path + ": metadata " + p);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(e.what());
    }
    cfgs.push_back(c);
  }
  return cfgs;
}

std::unique_ptr<LearnedOptimizer> load_learned_optimizer(const std::string& path, std::string* trained_on,
                                                         std::string* epoch) {
  Checkpoint ck = load_checkpoint(path);
  auto opt = std::make_unique<LearnedOptimizer>(net_configs_from_meta(ck.meta, path), 0);
  // train_state.ckpt holds phi under "phi."; phi.ckpt holds it bare.
  load_params(ck, opt->params(), ck.tensor("phi." + opt->params()[0]->name) ? "phi." : "");
  const std::string* t = ck.meta_value("task");
  const std::string* e = ck.meta_value("best_epoch");
  if (trained_on) *trained_on = t ? *t : "";
  if (epoch) *epoch = e ? *e : "";
  return opt;
}

}  // namespace l2l
