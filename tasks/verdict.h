// verdict.h: the paired comparison behind every verdict of the report (`l2l verdict`).
//
// Every optimizer of an `l2l eval` runs the same test problems: the same function, theta_0 and
// minibatches for test problem k. So the learned optimizer and a baseline compare problem by
// problem, and the noise shared by both runs of problem k cancels in their difference:
//
//   s_k       = final_score(f_0 .. f_T of run k): the mean f over the last 10 steps (evaluate.h)
//   d_k       = s_k(learned) - s_k(baseline),  k = 1..n
//   interval  = mean(d) -+ t_{0.975, n-1} * sd(d) / sqrt(n)        (95%, Student's t, paired)
//
// The baseline is the best tuned one: the lowest mean score among those given.
// The words, for the paper's claim "the learned optimizer is lower" (Claim::lower):
//   agrees     the whole interval is below zero
//   disagrees  the whole interval is above zero
//   tie        it contains zero: the data cannot tell the two apart, whatever the order of means
// For the claim "the learned optimizer fails" (Claim::higher, Figure 5's ReLU net) the senses of
// agrees and disagrees swap. With n = 1 there is no interval: a tie.
//
// A run whose score is not finite or above kExplodeFactor * f_0 (a diverged run) would put an
// unbounded number in a mean; its score counts as kExplodeFactor * f_0, the divergence threshold,
// and the verdict says how many runs were capped.
// Is not: the evaluation (tasks/evaluate.h) or the report's wording (scripts/experiments.sh).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace l2l {

// Student's t distribution: the p-quantile for `dof` degrees of freedom (p in (0,1), dof >= 1).
double student_t_quantile(double p, int dof);

// Mean of d and its two-sided `level` t-interval; lo = -inf, hi = +inf when d has one value.
struct Interval {
  double mean = 0, lo = 0, hi = 0;
  int n = 0;
};
Interval paired_interval(const std::vector<double>& d, double level = 0.95);

enum class Claim { lower, higher };  // what the paper says of the learned optimizer's score
enum class Word { agrees, disagrees, tie };
Word judge(const Interval& diff, Claim claim);
const char* word_text(Word w);

// runs.csv of `l2l eval`: optimizer -> [run][step] (null read as +inf), in file order.
struct RunsTable {
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::vector<double>>> runs;
};
RunsTable parse_runs_csv(const std::string& text, const std::string& path);

// A run's score for the verdicts: final_score, capped at the divergence threshold (see above).
double capped_score(const std::vector<double>& loss, bool* capped = nullptr);

struct Verdict {
  std::string learned, baseline;     // the baseline: the lowest mean capped score of those given
  Claim claim = Claim::lower;
  double learned_mean = 0, baseline_mean = 0;  // mean capped scores
  Interval diff;                     // of d_k = learned - baseline
  Word word = Word::tie;
  int learned_lower = 0;             // problems where d_k < 0
  int capped_learned = 0, capped_baseline = 0;
  std::vector<Interval> per_step;    // d at each step t = 0..T (f capped as the scores are)
};
// Throws std::invalid_argument naming what is missing (an optimizer, runs of unequal count).
Verdict judge_runs(const RunsTable& t, const std::string& learned, const std::vector<std::string>& baselines, Claim claim);

}  // namespace l2l
