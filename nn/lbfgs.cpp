// lbfgs.cpp: L-BFGS and its backtracking line search (the math is in lbfgs.h). Vectors are
// std::vector<double>; x and the gradients the oracle sees are `real` Tensors, so s is taken
// from x as stored (after rounding), never from a * d.
#include "lbfgs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace l2l {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(t.size());
  for (size_t i = 0; i < v.size(); i++) v[i] = t[i];
  return v;
}

bool all_finite(const Tensor& t) {
  for (size_t i = 0; i < t.size(); i++)
    if (!std::isfinite((double)t[i])) return false;
  return true;
}

// The next trial after a rejected finite one (N&W 3.5, "Interpolation"). phi0 = phi(0),
// dphi0 = phi'(0) < 0; (a1, f1) is the trial just rejected, (a0, f0) the one before it (a0 = 0
// when there is none). Quadratic through phi(0), phi'(0), phi(a1) on the first backtrack,
// cubic through phi(0), phi'(0), phi(a0), phi(a1) after; result clamped to [0.1 a1, 0.5 a1].
double interpolate(double phi0, double dphi0, double a0, double f0, double a1, double f1) {
  double next;
  if (a0 <= 0) {
    next = -dphi0 * a1 * a1 / (2 * (f1 - phi0 - dphi0 * a1));  // denominator > 0: Armijo failed
  } else {
    // phi(a) ~ c a^3 + b a^2 + dphi0 a + phi0 (N&W eq. 3.58 with alpha_0 = a0, alpha_1 = a1)
    double r1 = f1 - phi0 - dphi0 * a1, r0 = f0 - phi0 - dphi0 * a0;
    double den = a0 * a0 * a1 * a1 * (a1 - a0);
    double c = (a0 * a0 * r1 - a1 * a1 * r0) / den;
    double b = (-a0 * a0 * a0 * r1 + a1 * a1 * a1 * r0) / den;
    double disc = b * b - 3 * c * dphi0;
    if (c == 0) next = -dphi0 / (2 * b);
    else next = (-b + std::sqrt(std::max(disc, 0.0))) / (3 * c);
  }
  if (!std::isfinite(next)) next = 0.5 * a1;
  return std::clamp(next, 0.1 * a1, 0.5 * a1);
}

}  // namespace

void check_lbfgs_options(const LbfgsOptions& o) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("[lbfgs] " + what); };
  if (o.history < 1) bad("history (m) must be >= 1, got " + std::to_string(o.history));
  if (!(o.initial_step > 0) || !std::isfinite(o.initial_step)) bad("initial_step must be finite and > 0");
  if (!(o.c1 > 0 && o.c1 < 1)) bad("c1 must be in (0, 1)");
  if (o.max_trials < 1) bad("max_trials must be >= 1, got " + std::to_string(o.max_trials));
  if (!(o.curvature_eps >= 0)) bad("curvature_eps must be >= 0");
}

Lbfgs::Lbfgs(const LbfgsOptions& o) : opt(o) { check_lbfgs_options(opt); }

void Lbfgs::step(std::vector<Tensor*>&, const std::vector<Tensor>&) {
  throw std::logic_error("[lbfgs] step(params, grads) cannot run a line search: L-BFGS needs function "
                         "evaluations, call step_with_oracle(x, f, g, oracle) (tasks/evaluate.cpp does)");
}

void Lbfgs::reset() {
  s_.clear(), y_.clear(), rho_.clear();
  last_ = {};
  iterations_ = evaluations_ = 0;
}

std::vector<double> Lbfgs::direction(const std::vector<double>& g) const {
  std::vector<double> q = g;
  const size_t k = s_.size();
  std::vector<double> a(k);
  for (size_t j = k; j-- > 0;) {  // newest to oldest
    a[j] = rho_[j] * dot(s_[j], q);
    for (size_t i = 0; i < q.size(); i++) q[i] -= a[j] * y_[j][i];
  }
  if (k > 0) {
    double gamma = dot(s_.back(), y_.back()) / dot(y_.back(), y_.back());
    for (double& v : q) v *= gamma;
  }
  for (size_t j = 0; j < k; j++) {  // oldest to newest
    double b = rho_[j] * dot(y_[j], q);
    for (size_t i = 0; i < q.size(); i++) q[i] += (a[j] - b) * s_[j][i];
  }
  for (double& v : q) v = -v;
  return q;
}

void Lbfgs::store_pair(std::vector<double> s, std::vector<double> y, LbfgsStep& info) {
  double sy = dot(s, y), ss = dot(s, s), yy = dot(y, y);
  if (!(sy > opt.curvature_eps * std::sqrt(ss * yy)) || !(yy > 0)) {
    info.skipped_pair = true;
    return;
  }
  s_.push_back(std::move(s)), y_.push_back(std::move(y)), rho_.push_back(1 / sy);
  while ((int)s_.size() > opt.history) s_.pop_front(), y_.pop_front(), rho_.pop_front();
  info.stored_pair = true;
}

LbfgsStep Lbfgs::step_with_oracle(Tensor& x, double f, const Tensor& g, const Oracle& oracle) {
  check_lbfgs_options(opt);
  if (g.size() != x.size())
    throw std::invalid_argument("[lbfgs] x has " + std::to_string(x.size()) + " coordinates but the gradient has " +
                                std::to_string(g.size()));
  if (!s_.empty() && s_[0].size() != x.size())
    throw std::invalid_argument("[lbfgs] x has " + std::to_string(x.size()) + " coordinates but the history was built for " +
                                std::to_string(s_[0].size()) + " (call reset() to start over)");
  LbfgsStep info;
  info.f = f;
  iterations_++;
  const std::vector<double> g0 = to_doubles(g);
  const double gnorm = std::sqrt(dot(g0, g0));
  if (gnorm == 0) {
    info.zero_gradient = true;
    return last_ = info;
  }
  std::vector<double> d = direction(g0);
  double dphi0 = dot(g0, d);
  if (s_.empty() || !(dphi0 < 0) || !std::isfinite(dphi0)) {  // steepest descent
    s_.clear(), y_.clear(), rho_.clear();
    for (size_t i = 0; i < d.size(); i++) d[i] = -g0[i];
    dphi0 = -gnorm * gnorm;
    info.steepest = true;
  }
  double a = info.steepest ? opt.initial_step / gnorm : 1.0;
  double a_prev = 0, f_prev = f;  // the previous finite rejected trial (a_prev = 0: none)
  Tensor xt(x.shape()), gt;
  for (int trial = 0; trial < opt.max_trials; trial++) {
    for (size_t i = 0; i < x.size(); i++) xt[i] = (real)(x[i] + a * d[i]);
    double ft = oracle(xt, gt);
    info.evals++, evaluations_++;
    bool finite = std::isfinite(ft) && gt.size() == x.size() && all_finite(gt);
    if (finite && ft <= f + opt.c1 * a * dphi0) {
      std::vector<double> s(x.size()), y(x.size());
      for (size_t i = 0; i < x.size(); i++) s[i] = (double)xt[i] - (double)x[i], y[i] = (double)gt[i] - g0[i];
      x = xt;
      info.moved = true, info.step = a, info.f = ft;
      store_pair(std::move(s), std::move(y), info);
      return last_ = info;
    }
    if (!finite) {
      a *= 0.1;  // no interpolation through inf/NaN; forget the previous trial too
      a_prev = 0;
      continue;
    }
    double next = interpolate(f, dphi0, a_prev, f_prev, a, ft);
    a_prev = a, f_prev = ft, a = next;
  }
  info.failed = true;  // nothing acceptable: stay, and restart from steepest descent
  s_.clear(), y_.clear(), rho_.clear();
  return last_ = info;
}

}  // namespace l2l
