// optim.cpp: SGD, NAG, RMSprop and Adam as plain loops (the update rules are in optim.h).
//
// Every step() first checks its arguments and its state, and only then changes anything, so
// a step that throws leaves parameters and state as they were. Per-element arithmetic is done
// in double and stored back as `real`; the stored state is what the next step reads, so a
// run resumed from state() continues bit for bit.
#include "optim.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace l2l {

namespace {

[[noreturn]] void fail(const std::string& opt, const std::string& msg) {
  throw std::invalid_argument("[" + opt + "] " + msg);
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// lo < value < hi (or lo <= value when lo_inclusive); NaN fails every comparison.
void check_range(const std::string& opt, const char* what, double value, double lo, double hi,
                 bool lo_inclusive) {
  bool ok = (lo_inclusive ? value >= lo : value > lo) && value < hi;
  if (!ok)
    fail(opt, std::string(what) + " = " + num(value) + " is outside " + (lo_inclusive ? "[" : "(") + num(lo) +
                  ", " + num(hi) + ")");
}

void check_lr(const std::string& opt, double lr) { check_range(opt, "lr", lr, 0, HUGE_VAL, false); }

// Per-tensor state: zeros shaped like params on the first step (st empty), afterwards the
// same count and shapes are required.
void ensure_state(const std::string& opt, std::vector<Tensor>& st, const std::vector<Tensor*>& params) {
  if (st.empty()) {
    for (const Tensor* p : params) st.push_back(Tensor::zeros(p->shape()));
    return;
  }
  const std::string hint = " (call reset() to start over with other parameters)";
  if (st.size() != params.size())
    fail(opt, "step got " + std::to_string(params.size()) + " parameter tensors but its state was built for " +
                  std::to_string(st.size()) + hint);
  for (size_t k = 0; k < params.size(); k++)
    if (st[k].shape() != params[k]->shape())
      fail(opt, "parameter " + std::to_string(k) + " has shape " + shape_str(params[k]->shape()) +
                    " but its state was built for " + shape_str(st[k].shape()) + hint);
}

// The names state() writes for per-tensor lists, e.g. "adam.m.3".
std::string state_name(const std::string& opt, const char* what, size_t k) {
  return opt + "." + what + "." + std::to_string(k);
}

void expect_name(const std::string& opt, const NamedTensors& s, size_t i, const std::string& want) {
  if (s[i].first != want)
    fail(opt, "load_state: entry " + std::to_string(i) + " is '" + s[i].first + "' but '" + want +
                  "' was expected");
}

// Reads the list opt.what.0, opt.what.1, ... that makes up all of s.
std::vector<Tensor> load_list(const std::string& opt, const char* what, const NamedTensors& s) {
  std::vector<Tensor> out;
  for (size_t i = 0; i < s.size(); i++) {
    expect_name(opt, s, i, state_name(opt, what, i));
    out.push_back(s[i].second);
  }
  return out;
}

NamedTensors save_list(const std::string& opt, const char* what, const std::vector<Tensor>& st) {
  NamedTensors out;
  for (size_t k = 0; k < st.size(); k++) out.emplace_back(state_name(opt, what, k), st[k]);
  return out;
}

}  // namespace

void check_step_args(const std::string& opt, const std::vector<Tensor*>& params,
                     const std::vector<Tensor>& grads) {
  if (params.size() != grads.size())
    fail(opt, "step got " + std::to_string(params.size()) + " parameter tensors but " +
                  std::to_string(grads.size()) + " gradients");
  for (size_t k = 0; k < params.size(); k++) {
    if (!params[k]) fail(opt, "parameter " + std::to_string(k) + " is a null pointer");
    if (params[k]->shape() != grads[k].shape())
      fail(opt, "parameter " + std::to_string(k) + " has shape " + shape_str(params[k]->shape()) +
                    " but its gradient has shape " + shape_str(grads[k].shape()));
  }
}

void Optimizer::load_state(const NamedTensors& s) {
  if (!s.empty())
    fail(name(), "load_state: this optimizer has no state but got " + std::to_string(s.size()) +
                     " tensors (first '" + s[0].first + "')");
}

void step_params(Optimizer& opt, const std::vector<Param*>& ps) {
  std::vector<Tensor*> values;
  std::vector<Tensor> grads;  // a copy: cheap next to the forward/backward that produced it
  for (size_t k = 0; k < ps.size(); k++) {
    if (!ps[k]) fail(opt.name(), "step_params: Param " + std::to_string(k) + " is a null pointer");
    values.push_back(&ps[k]->value);
    grads.push_back(ps[k]->grad);
  }
  opt.step(values, grads);
}

std::vector<std::string> optimizer_names() { return {"sgd", "nag", "rmsprop", "adam"}; }

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double lr) {
  if (name == "sgd") return std::make_unique<Sgd>(lr);
  if (name == "nag") return std::make_unique<Nag>(lr);
  if (name == "rmsprop") return std::make_unique<RmsProp>(lr);
  if (name == "adam") return std::make_unique<Adam>(lr);
  std::string valid;
  for (const auto& n : optimizer_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown optimizer '" + name + "' (valid names: " + valid + ")");
}

// ---- sgd: x -= lr g ------------------------------------------------------------------------

Sgd::Sgd(double lr_) : lr(lr_) { check_lr(name(), lr); }

void Sgd::step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) {
  check_lr(name(), lr);
  check_step_args(name(), params, grads);
  for (size_t k = 0; k < params.size(); k++) {
    real* x = params[k]->data();
    const real* g = grads[k].data();
    for (size_t i = 0; i < grads[k].size(); i++) x[i] = (real)(x[i] - lr * g[i]);
  }
}

// ---- nag: v' = mu v - lr g;  x += -mu v + (1 + mu) v' ------------------------------------

Nag::Nag(double lr_, double momentum_) : lr(lr_), momentum(momentum_) {
  check_lr(name(), lr);
  check_range(name(), "momentum", momentum, 0, 1, false);
}

void Nag::step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) {
  check_lr(name(), lr);
  check_range(name(), "momentum", momentum, 0, 1, false);
  check_step_args(name(), params, grads);
  ensure_state(name(), v_, params);
  const double mu = momentum;
  for (size_t k = 0; k < params.size(); k++) {
    real* x = params[k]->data();
    real* v = v_[k].data();
    const real* g = grads[k].data();
    for (size_t i = 0; i < grads[k].size(); i++) {
      double v_old = v[i], v_new = mu * v_old - lr * g[i];
      x[i] = (real)(x[i] - mu * v_old + (1 + mu) * v_new);
      v[i] = (real)v_new;
    }
  }
}

NamedTensors Nag::state() const { return save_list(name(), "v", v_); }
void Nag::load_state(const NamedTensors& s) { v_ = load_list(name(), "v", s); }

// ---- rmsprop: v = alpha v + (1 - alpha) g^2;  x -= lr g / (sqrt(v) + eps) ------------------

RmsProp::RmsProp(double lr_, double alpha_, double eps_) : lr(lr_), alpha(alpha_), eps(eps_) {
  check_lr(name(), lr);
  check_range(name(), "alpha", alpha, 0, 1, true);
  check_range(name(), "eps", eps, 0, HUGE_VAL, true);
}

void RmsProp::step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) {
  check_lr(name(), lr);
  check_range(name(), "alpha", alpha, 0, 1, true);
  check_range(name(), "eps", eps, 0, HUGE_VAL, true);
  check_step_args(name(), params, grads);
  ensure_state(name(), v_, params);
  for (size_t k = 0; k < params.size(); k++) {
    real* x = params[k]->data();
    real* v = v_[k].data();
    const real* g = grads[k].data();
    for (size_t i = 0; i < grads[k].size(); i++) {
      double gi = g[i], vi = alpha * v[i] + (1 - alpha) * gi * gi;
      v[i] = (real)vi;
      x[i] = (real)(x[i] - lr * gi / (std::sqrt(vi) + eps));
    }
  }
}

NamedTensors RmsProp::state() const { return save_list(name(), "v", v_); }
void RmsProp::load_state(const NamedTensors& s) { v_ = load_list(name(), "v", s); }

// ---- adam: bias-corrected step size, eps outside the correction (Torch7) --------------------

Adam::Adam(double lr_, double beta1_, double beta2_, double eps_)
    : lr(lr_), beta1(beta1_), beta2(beta2_), eps(eps_) {
  check_lr(name(), lr);
  check_range(name(), "beta1", beta1, 0, 1, true);
  check_range(name(), "beta2", beta2, 0, 1, true);
  check_range(name(), "eps", eps, 0, HUGE_VAL, true);
}

void Adam::reset() {
  t_ = 0;
  m_.clear();
  v_.clear();
}

void Adam::step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) {
  check_lr(name(), lr);
  check_range(name(), "beta1", beta1, 0, 1, true);
  check_range(name(), "beta2", beta2, 0, 1, true);
  check_range(name(), "eps", eps, 0, HUGE_VAL, true);
  check_step_args(name(), params, grads);
  ensure_state(name(), m_, params);
  ensure_state(name(), v_, params);  // always built together with m_, so this cannot throw
  t_++;
  const double bias1 = 1 - std::pow(beta1, (double)t_), bias2 = 1 - std::pow(beta2, (double)t_);
  const double step_size = lr * std::sqrt(bias2) / bias1;
  for (size_t k = 0; k < params.size(); k++) {
    real* x = params[k]->data();
    real* m = m_[k].data();
    real* v = v_[k].data();
    const real* g = grads[k].data();
    for (size_t i = 0; i < grads[k].size(); i++) {
      double gi = g[i];
      double mi = beta1 * m[i] + (1 - beta1) * gi;
      double vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m[i] = (real)mi;
      v[i] = (real)vi;
      x[i] = (real)(x[i] - step_size * mi / (std::sqrt(vi) + eps));
    }
  }
}

// The largest step count a `real` holds exactly, and so the largest "adam.t" can carry:
// 2^24 = 16777216 in the float build, 2^53 in the double build. Every whole number up to it
// is exact, so a checkpoint (which stores `real` as is) restores t bit for bit.
static const int64_t kMaxExactSteps = int64_t(1) << std::numeric_limits<real>::digits;

NamedTensors Adam::state() const {
  if (t_ > kMaxExactSteps)  // refuse rather than save a rounded count
    fail(name(), "state: step count " + std::to_string(t_) + " is beyond " + std::to_string(kMaxExactSteps) +
                     ", the largest whole number 'adam.t' holds exactly in this build");
  NamedTensors out = {{"adam.t", Tensor::scalar((real)t_)}};
  for (size_t k = 0; k < m_.size(); k++) {
    out.emplace_back(state_name(name(), "m", k), m_[k]);
    out.emplace_back(state_name(name(), "v", k), v_[k]);
  }
  return out;
}

void Adam::load_state(const NamedTensors& s) {
  if (s.empty() || s.size() % 2 == 0)
    fail(name(), "load_state: expected 'adam.t' followed by pairs adam.m.k, adam.v.k, got " +
                     std::to_string(s.size()) + " tensors");
  expect_name(name(), s, 0, "adam.t");
  const Tensor& t = s[0].second;
  if (t.size() != 1 || !(t[0] >= 0) || t[0] != std::floor(t[0]) || (double)t[0] > (double)kMaxExactSteps)
    fail(name(), "load_state: 'adam.t' must hold one whole number in [0, " + std::to_string(kMaxExactSteps) +
                     "], got " + t.str());
  std::vector<Tensor> m, v;
  for (size_t i = 1; i < s.size(); i += 2) {
    size_t k = (i - 1) / 2;
    expect_name(name(), s, i, state_name(name(), "m", k));
    expect_name(name(), s, i + 1, state_name(name(), "v", k));
    if (s[i].second.shape() != s[i + 1].second.shape())
      fail(name(), "load_state: " + s[i].first + " has shape " + shape_str(s[i].second.shape()) + " but " +
                       s[i + 1].first + " has shape " + shape_str(s[i + 1].second.shape()));
    m.push_back(s[i].second);
    v.push_back(s[i + 1].second);
  }
  t_ = (int64_t)t[0];
  m_ = std::move(m);
  v_ = std::move(v);
}

}  // namespace l2l
