// tuning.cpp: see tuning.h. The grid is kept as integer indices k, rate 10^(lo + k / per_decade),
// so widening by a decade adds exactly per_decade indices and never accumulates rounding.
#include "tasks/tuning.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>

#include "tasks/evaluate.h"
#include "nn/optim.h"

namespace l2l {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string fmt(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", x);
  return b;
}

void check_grid(const LrGrid& g) {
  if (!(g.lo <= g.hi) || g.per_decade <= 0 || g.max_extra_decades < 0 || !(g.min_exp <= g.max_exp))
    throw std::invalid_argument("learning-rate grid: expected lo <= hi, per_decade > 0, max_extra_decades >= 0 and "
                                "min_exp <= max_exp; got lo " + fmt(g.lo) + ", hi " + fmt(g.hi) + ", per_decade " +
                                std::to_string(g.per_decade));
}

// The search state: scores by grid index, the index range, decades added per side.
struct Grid {
  const LrGrid& g;
  std::map<int, double> loss;  // k -> score
  int klo = 0, khi = 0, extra_low = 0, extra_high = 0;
  double exponent(int k) const { return g.lo + (double)k / g.per_decade; }
  double rate(int k) const { return std::pow(10.0, exponent(k)); }
  // Can one more decade be added below (side -1) or above (side +1)?
  bool can_widen(int side) const {
    const double eps = 1e-9;
    if (side < 0) return extra_low < g.max_extra_decades && exponent(klo - g.per_decade) >= g.min_exp - eps;
    return extra_high < g.max_extra_decades && exponent(khi + g.per_decade) <= g.max_exp + eps;
  }
  int best() const {  // lowest score, ties to the smaller rate
    int b = klo;
    for (int k = klo; k <= khi; k++)
      if (loss.at(k) < loss.at(b)) b = k;
    return b;
  }
};

void run_range(Grid& s, int from, int to, const std::function<double(double)>& loss_of) {
  for (int k = from; k <= to; k++) {
    double v = loss_of(s.rate(k));
    s.loss[k] = std::isnan(v) ? kInf : v;
  }
}

}  // namespace

LrSearch search_lr(const std::function<double(double lr)>& loss_of, const LrGrid& g) {
  check_grid(g);
  Grid s{g, {}};
  s.khi = (int)std::floor((g.hi - g.lo) * g.per_decade + 1e-9);  // the start grid, as log_grid builds it
  run_range(s, s.klo, s.khi, loss_of);
  for (;;) {
    int b = s.best();
    bool low = b == s.klo && s.can_widen(-1), high = b == s.khi && s.can_widen(+1);
    if (!low && !high) break;
    if (low) {
      run_range(s, s.klo - g.per_decade, s.klo - 1, loss_of);
      s.klo -= g.per_decade, s.extra_low++;
    }
    if (high) {
      run_range(s, s.khi + 1, s.khi + g.per_decade, loss_of);
      s.khi += g.per_decade, s.extra_high++;
    }
  }
  LrSearch r;
  int b = s.best();
  r.best_lr = s.rate(b), r.best_loss = s.loss.at(b);
  for (const auto& [k, v] : s.loss) r.tried.push_back({s.rate(k), v});
  r.lo = s.exponent(s.klo), r.hi = s.exponent(s.khi);
  r.widened_low = s.extra_low, r.widened_high = s.extra_high;
  r.edge = s.klo == s.khi ? -1 : b == s.klo ? -1 : b == s.khi ? +1 : 0;
  return r;
}

LrSearch tune_lr(const std::string& name, const Task& task, int problems, int steps, const LrGrid& grid,
                 const std::function<void(int)>& after_rate) {
  if (problems <= 0 || steps <= 0) throw std::invalid_argument("tune_lr: problems and steps must be positive");
  make_optimizer(name, 1e-3);  // an unknown name throws here, before any run
  auto mean_final_score = [&](double lr) {
    std::unique_ptr<Optimizer> opt = make_optimizer(name, lr);
    double total = 0;
    for (int i = 0; i < problems; i++) {
      double f = final_score(run_optimizer(*opt, task, ProblemId::val(i), steps, false).loss);
      if (!std::isfinite(f)) return kInf;  // one diverged run disqualifies the rate
      total += f / problems;
    }
    return total;
  };
  int tried = 0;
  auto loss_of = [&](double lr) {
    double loss = mean_final_score(lr);
    if (after_rate) after_rate(++tried);
    return loss;
  };
  return search_lr(loss_of, grid);
}

std::string LrSearch::describe() const {
  std::string s = "grid " + fmt(std::pow(10.0, lo)) + ".." + fmt(std::pow(10.0, hi));
  if (widened_low) s += ", widened " + std::to_string(widened_low) + " decade" + (widened_low > 1 ? "s" : "") + " down";
  if (widened_high) s += ", widened " + std::to_string(widened_high) + " decade" + (widened_high > 1 ? "s" : "") + " up";
  if (!std::isfinite(best_loss)) return s + "; every rate diverged: no usable rate";
  if (edge < 0) s += "; best rate at the grid's low edge: not a true optimum";
  if (edge > 0) s += "; best rate at the grid's high edge: not a true optimum";
  return s;
}

}  // namespace l2l
