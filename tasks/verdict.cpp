// verdict.cpp: see verdict.h.
#include "tasks/verdict.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "tasks/evaluate.h"

namespace l2l {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The continued fraction of the regularized incomplete beta function I_x(a, b) (modified Lentz;
// converges fast for x < (a + 1) / (a + b + 2), which the caller ensures by symmetry).
double beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 300; m++) {
    for (int odd = 0; odd < 2; odd++) {  // the even term d_{2m}, then the odd term d_{2m+1}
      double num = odd ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                       : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
      d = 1 + num * d;
      if (std::fabs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (std::fabs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
      if (odd && std::fabs(d * c - 1) < 1e-15) return h;
    }
  }
  return h;
}

// I_x(a, b) = x^a (1-x)^b / (a B(a,b)) * fraction, with I_x(a,b) = 1 - I_{1-x}(b,a).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
  return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

// P(T <= t) for Student's t with v degrees of freedom: 1 - I_{v/(v+t^2)}(v/2, 1/2) / 2 for t >= 0.
double student_t_cdf(double t, int v) {
  double tail = 0.5 * incomplete_beta(0.5 * v, 0.5, v / (v + t * t));
  return t >= 0 ? 1 - tail : tail;
}

}  // namespace

double student_t_quantile(double p, int dof) {
  if (!(p > 0 && p < 1) || dof < 1) throw std::invalid_argument("student_t_quantile: p must be in (0,1) and dof >= 1");
  if (p < 0.5) return -student_t_quantile(1 - p, dof);
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, dof) < p) hi *= 2;  // the cdf is increasing: bracket, then bisect
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, dof) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval paired_interval(const std::vector<double>& d, double level) {
  Interval r;
  r.n = (int)d.size();
  if (r.n == 0) throw std::invalid_argument("paired_interval: no differences");
  double sum = 0;
  for (double x : d) sum += x;  // in problem order: the same bits on every machine
  r.mean = sum / r.n;
  if (r.n == 1) {
    r.lo = -kInf, r.hi = kInf;
    return r;
  }
  double ss = 0;
  for (double x : d) ss += (x - r.mean) * (x - r.mean);
  double half = student_t_quantile(0.5 + level / 2, r.n - 1) * std::sqrt(ss / (r.n - 1) / r.n);
  r.lo = r.mean - half, r.hi = r.mean + half;
  return r;
}

Word judge(const Interval& diff, Claim claim) {
  const bool below = diff.hi < 0, above = diff.lo > 0;
  if (!below && !above) return Word::tie;
  return (below == (claim == Claim::lower)) ? Word::agrees : Word::disagrees;
}

const char* word_text(Word w) { return w == Word::agrees ? "agrees" : w == Word::disagrees ? "disagrees" : "tie"; }

double capped_score(const std::vector<double>& loss, bool* capped) {
  const double cap = kExplodeFactor * std::max(loss.front(), 1e-30);
  double s = final_score(loss);
  bool over = !(s <= cap);  // also true for +inf and NaN
  if (capped) *capped = over;
  return over ? cap : s;
}

namespace {

// One data line of runs.csv: "name,run,f_0,...,f_T" into its cells.
std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) cells.push_back(cell);
  return cells;
}

double parse_f(const std::string& cell, const std::string& where) {
  if (cell == "null") return kInf;
  char* end = nullptr;
  double v = std::strtod(cell.c_str(), &end);
  if (cell.empty() || *end) throw std::invalid_argument(where + ": expected a number or null, got '" + cell + "'");
  return v;
}

}  // namespace

RunsTable parse_runs_csv(const std::string& text, const std::string& path) {
  std::stringstream in(text);
  std::string line;
  const std::string fix = " (runs.csv is written by l2l eval: run it again)";
  if (!std::getline(in, line) || line.rfind("optimizer,run,f_0", 0) != 0)
    throw std::invalid_argument(path + ": expected the header optimizer,run,f_0,...,f_T" + fix);
  const size_t columns = csv_cells(line).size();
  RunsTable t;
  for (int no = 2; std::getline(in, line); no++) {
    if (line.empty()) continue;
    std::vector<std::string> c = csv_cells(line);
    const std::string where = path + ":" + std::to_string(no);
    if (c.size() != columns)
      throw std::invalid_argument(where + ": expected " + std::to_string(columns) + " cells, got " + std::to_string(c.size()) + fix);
    auto& runs = t.runs[c[0]];
    if (runs.empty()) t.names.push_back(c[0]);
    if (c[1] != std::to_string(runs.size()))
      throw std::invalid_argument(where + ": expected run " + std::to_string(runs.size()) + " of " + c[0] + ", got '" + c[1] + "'" + fix);
    std::vector<double> f;
    for (size_t i = 2; i < c.size(); i++) f.push_back(parse_f(c[i], where));
    runs.push_back(std::move(f));
  }
  return t;
}

namespace {

// The runs of `name`, or an error naming what the table has.
const std::vector<std::vector<double>>& runs_of(const RunsTable& t, const std::string& name) {
  auto it = t.runs.find(name);
  if (it == t.runs.end()) {
    std::string have;
    for (const std::string& n : t.names) have += (have.empty() ? "" : ", ") + n;
    throw std::invalid_argument("runs.csv has no optimizer '" + name + "' (it has " + have + ")");
  }
  return it->second;
}

double mean_capped(const std::vector<std::vector<double>>& runs, int* capped) {
  double s = 0;
  for (const auto& r : runs) {
    bool c = false;
    s += capped_score(r, &c) / runs.size();
    *capped += c;
  }
  return s;
}

// d at every step, each f capped at the divergence threshold of its run (as the scores are).
std::vector<Interval> per_step_differences(const std::vector<std::vector<double>>& a,
                                           const std::vector<std::vector<double>>& b) {
  std::vector<Interval> out;
  for (size_t t = 0; t < a[0].size(); t++) {
    std::vector<double> d;
    for (size_t k = 0; k < a.size(); k++) {
      const double cap = kExplodeFactor * std::max(a[k][0], 1e-30);
      d.push_back(std::min(a[k][t], cap) - std::min(b[k][t], cap));
    }
    out.push_back(paired_interval(d));
  }
  return out;
}

}  // namespace

Verdict judge_runs(const RunsTable& t, const std::string& learned, const std::vector<std::string>& baselines, Claim claim) {
  Verdict v;
  v.learned = learned, v.claim = claim;
  const auto& L = runs_of(t, learned);
  int unused = 0;
  double best = kInf;
  for (const std::string& b : baselines) {
    const auto& B = runs_of(t, b);
    if (B.size() != L.size() || B[0].size() != L[0].size())
      throw std::invalid_argument("runs.csv: " + b + " and " + learned + " have different runs or steps: not paired");
    double m = mean_capped(B, &unused);
    if (v.baseline.empty() || m < best) best = m, v.baseline = b;
  }
  if (v.baseline.empty()) throw std::invalid_argument("judge_runs: no baseline to compare with");
  const auto& B = runs_of(t, v.baseline);
  v.learned_mean = mean_capped(L, &v.capped_learned);
  v.baseline_mean = mean_capped(B, &v.capped_baseline);
  std::vector<double> d;
  for (size_t k = 0; k < L.size(); k++) {
    d.push_back(capped_score(L[k]) - capped_score(B[k]));
    v.learned_lower += d.back() < 0;
  }
  v.diff = paired_interval(d);
  v.word = judge(v.diff, claim);
  v.per_step = per_step_differences(L, B);
  return v;
}

}  // namespace l2l
