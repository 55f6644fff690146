// gradcheck.cpp: see gradcheck.h.
#include "gradcheck.h"

#include "ops.h"

#include <cmath>
#include <random>
#include <sstream>

namespace l2l {

namespace {

// L(x) = <R, f(x)> evaluated without recording anything.
double projected(const GradcheckFn& f, const std::vector<Tensor>& xs, const Tensor& R) {
  NoGradGuard off;
  Tape t;
  std::vector<Var> vs;
  for (const Tensor& x : xs) vs.push_back(t.constant(x));
  const Tensor& y = f(t, vs).value();
  double s = 0;
  for (size_t i = 0; i < y.size(); i++) s += (double)R[i] * y[i];
  return s;
}

struct Compare {
  const GradcheckOptions& opt;
  GradcheckResult& res;
  int failures = 0;
  void operator()(double num, double ana, const std::string& where) {
    double err = std::fabs(num - ana);
    res.checks++;
    res.max_abs_err = std::max(res.max_abs_err, err);
    if (err <= opt.atol + opt.rtol * std::max(std::fabs(num), std::fabs(ana)) && std::isfinite(ana)) return;
    res.ok = false;
    if (failures++ < 8) {
      std::ostringstream o;
      o << "  " << where << ": expected (finite differences) " << num << ", actual (tape) " << ana
        << ", |diff| " << err << "\n";
      res.report += o.str();
    }
  }
};

// N(0, 1) draws from opt.seed: one engine and one distribution for the whole check, in the order
// R, S, directions.
struct Normal {
  std::mt19937_64 rng;
  std::normal_distribution<double> normal{0, 1};
  real operator()() { return (real)normal(rng); }
};

// Records a failed structural check (not a finite-difference comparison) in res.
void fail(GradcheckResult& res, size_t i, size_t j, double got, double want, const char* why) {
  res.ok = false;
  res.report += "  input " + std::to_string(i) + "[" + std::to_string(j) + "]: got " + std::to_string(got) +
                ", expected " + std::to_string(want) + " (" + why + ")\n";
}

// The tape's gradients of <R, f(x)> (R drawn here, returned in *R), from two backward sweeps: the
// second must double the first, and both must be finite.
std::vector<Tensor> analytic(const GradcheckFn& f, const std::vector<Tensor>& inputs, Normal& normal,
                             Tensor* R, GradcheckResult& res) {
  Tape tape;
  std::vector<Var> vs;
  for (const Tensor& x : inputs) vs.push_back(tape.leaf(x, true));
  Var y = f(tape, vs);
  *R = Tensor(y.shape());
  for (size_t i = 0; i < R->size(); i++) (*R)[i] = normal();
  tape.backward(y, *R);
  std::vector<Tensor> g1;
  for (const Var& v : vs) g1.push_back(v.grad());
  tape.backward(y, *R);
  for (size_t i = 0; i < vs.size(); i++) {
    Tensor g2 = vs[i].grad();
    for (size_t j = 0; j < g2.size(); j++)
      if (std::fabs(g2[j] - 2 * g1[i][j]) > 1e-9 * (1 + std::fabs(g2[j])) || !std::isfinite(g1[i][j])) {
        fail(res, i, j, g2[j], 2 * g1[i][j], "a second backward must double the gradient, and it must be finite");
        break;
      }
  }
  return g1;
}

// Within ONE sweep, an op's backward must add to what other consumers of its inputs left there.
// Each input also feeds a later node <S_i, x_i>, whose backward runs first (reverse order) and
// leaves S_i in x_i's adjoint; a backward that assigns instead of adding erases it.
void check_accumulates(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& R,
                       const std::vector<Tensor>& g1, Normal& normal, GradcheckResult& res) {
  Tape t2;
  std::vector<Var> ws;
  for (const Tensor& x : inputs) ws.push_back(t2.leaf(x, true));
  Var total = sum(mul(f(t2, ws), t2.constant(R)));
  std::vector<Tensor> S;
  for (const Var& w : ws) {
    S.push_back(Tensor(w.shape()));
    for (size_t j = 0; j < S.back().size(); j++) S.back()[j] = normal();
    total = add(total, sum(mul(w, t2.constant(S.back()))));
  }
  t2.backward(total);
  for (size_t i = 0; i < ws.size(); i++) {
    Tensor g = ws[i].grad();
    for (size_t j = 0; j < g.size(); j++) {
      double want = g1[i][j] + S[i][j];
      if (std::fabs(g[j] - want) > 1e-9 * (1 + std::fabs(want))) {
        fail(res, i, j, g[j], want, "backward must add (+=) to gradients other uses of its input left in the same sweep");
        break;
      }
    }
  }
}

// Central differences of <R, f> for input i, against the tape's gradient g: entry by entry for a
// small input, along opt.directions random directions v (d/de <R, f(x + e v)> = <v, g>) otherwise.
void check_numeric(const GradcheckFn& f, std::vector<Tensor>& xs, size_t i, const Tensor& R, const Tensor& g,
                   const GradcheckOptions& opt, Normal& normal, Compare& cmp) {
  Tensor& x = xs[i];
  if (x.size() <= opt.max_elementwise) {
    for (size_t j = 0; j < x.size(); j++) {
      real keep = x[j];
      x[j] = keep + (real)opt.eps;
      double lp = projected(f, xs, R);
      x[j] = keep - (real)opt.eps;
      double lm = projected(f, xs, R);
      x[j] = keep;
      cmp((lp - lm) / (2 * opt.eps), g[j], "input " + std::to_string(i) + " index " + std::to_string(j));
    }
    return;
  }
  for (int d = 0; d < opt.directions; d++) {
    Tensor v(x.shape());
    double ana = 0;
    for (size_t j = 0; j < v.size(); j++) {
      v[j] = normal();
      ana += (double)v[j] * g[j];
    }
    Tensor keep = x;
    for (size_t j = 0; j < x.size(); j++) x[j] = keep[j] + (real)opt.eps * v[j];
    double lp = projected(f, xs, R);
    for (size_t j = 0; j < x.size(); j++) x[j] = keep[j] - (real)opt.eps * v[j];
    double lm = projected(f, xs, R);
    x = keep;
    cmp((lp - lm) / (2 * opt.eps), ana, "input " + std::to_string(i) + " direction " + std::to_string(d));
  }
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  GradcheckResult res;
  Normal normal{std::mt19937_64(opt.seed)};
  Tensor R;
  std::vector<Tensor> g1 = analytic(f, inputs, normal, &R, res);
  check_accumulates(f, inputs, R, g1, normal, res);
  Compare cmp{opt, res};
  std::vector<Tensor> xs = inputs;
  for (size_t i = 0; i < xs.size(); i++) check_numeric(f, xs, i, R, g1[i], opt, normal, cmp);
  if (!res.ok) res.report = "gradcheck failed:\n" + res.report;
  return res;
}

}  // namespace l2l
