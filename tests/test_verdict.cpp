// test_verdict.cpp: the verdict rule of the report (tasks/verdict.h) on made-up paired data whose
// answer is known: a clear win, a clear loss, a tie, and the reversed sense of Figure 5's ReLU
// claim; Student's t quantiles against published tables; runs.csv parsing and its errors; the
// capping of diverged runs; and the final score (tasks/evaluate.h) the verdicts are read on.
#include <cmath>
#include <limits>

#include "doctest.h"
#include "tasks/evaluate.h"
#include "tasks/verdict.h"

using namespace l2l;

namespace {

// A runs.csv with optimizers "lstm" and each baseline in `others`: problem k's loss curve is
// flat at base_k + offset (T = 12 steps), base_k = 1 + k/10, so only the offsets differ and
// `noise[k]` is added to lstm's problem k.
std::string table(double lstm_offset, const std::vector<std::pair<std::string, double>>& others,
                  const std::vector<double>& noise) {
  std::string csv = "optimizer,run";
  for (int t = 0; t <= 12; t++) csv += ",f_" + std::to_string(t);
  csv += "\n";
  auto rows = [&](const std::string& name, double off, bool noisy) {
    for (size_t k = 0; k < noise.size(); k++) {
      csv += name + "," + std::to_string(k) + ",3";  // f_0 = 3 for every run
      for (int t = 1; t <= 12; t++) csv += "," + std::to_string(1 + k / 10.0 + off + (noisy ? noise[k] : 0));
      csv += "\n";
    }
  };
  rows("lstm", lstm_offset, true);
  for (auto& [name, off] : others) rows(name, off, false);
  return csv;
}

const std::vector<double> kSmallNoise = {0.01, -0.02, 0.015, -0.005, 0.0, 0.02, -0.01, 0.005, -0.015, 0.01};
const std::vector<double> kBigNoise = {0.5, -0.6, 0.4, -0.45, 0.55, -0.5, 0.6, -0.4, 0.45, -0.55};

Verdict run(const std::string& csv, Claim claim) {
  return judge_runs(parse_runs_csv(csv, "made-up/runs.csv"), "lstm", {"sgd", "adam"}, claim);
}

}  // namespace

TEST_CASE("student_t_quantile matches the published table") {
  CHECK(student_t_quantile(0.975, 1) == doctest::Approx(12.7062).epsilon(1e-5));
  CHECK(student_t_quantile(0.975, 4) == doctest::Approx(2.776445).epsilon(1e-6));
  CHECK(student_t_quantile(0.975, 9) == doctest::Approx(2.262157).epsilon(1e-6));
  CHECK(student_t_quantile(0.975, 19) == doctest::Approx(2.093024).epsilon(1e-6));
  CHECK(student_t_quantile(0.975, 99) == doctest::Approx(1.984217).epsilon(1e-6));
  CHECK(student_t_quantile(0.025, 9) == doctest::Approx(-2.262157).epsilon(1e-6));
  CHECK(student_t_quantile(0.5, 7) == doctest::Approx(0).epsilon(1e-9));
  CHECK_THROWS(student_t_quantile(1.0, 3));
  CHECK_THROWS(student_t_quantile(0.9, 0));
}

TEST_CASE("paired_interval: mean -+ t * sd / sqrt(n)") {
  Interval r = paired_interval({1, 2, 3, 4});  // mean 2.5, sd 1.29099, t_{0.975,3} 3.182446
  CHECK(r.mean == doctest::Approx(2.5));
  CHECK(r.hi - r.mean == doctest::Approx(3.182446 * 1.2909944 / 2).epsilon(1e-6));
  CHECK(r.mean - r.lo == doctest::Approx(r.hi - r.mean));
  Interval one = paired_interval({0.3});
  CHECK(one.lo == -std::numeric_limits<double>::infinity());
  CHECK(judge(one, Claim::lower) == Word::tie);  // one problem decides nothing
}

TEST_CASE("verdict rule: a clear win agrees, a clear loss disagrees, overlapping noise is a tie") {
  // sgd is worse than adam everywhere, so adam is the best tuned baseline.
  const std::vector<std::pair<std::string, double>> bases = {{"sgd", 0.5}, {"adam", 0.0}};
  Verdict win = run(table(-0.2, bases, kSmallNoise), Claim::lower);
  CHECK(win.baseline == "adam");
  CHECK(win.word == Word::agrees);
  CHECK(win.diff.hi < 0);
  CHECK(win.diff.mean == doctest::Approx(-0.2 + 0.001).epsilon(1e-9));  // the noise's mean is 0.001
  CHECK(win.learned_lower == 10);
  Verdict loss = run(table(+0.2, bases, kSmallNoise), Claim::lower);
  CHECK(loss.word == Word::disagrees);
  CHECK(loss.diff.lo > 0);
  // The LSTM's mean is lower (by 0.05), but the paired noise (sd ~0.5) swamps it: a tie.
  Verdict tie = run(table(-0.05, bases, kBigNoise), Claim::lower);
  CHECK(tie.diff.mean < 0);
  CHECK(tie.word == Word::tie);
  CHECK(tie.diff.lo < 0);
  CHECK(tie.diff.hi > 0);
}

TEST_CASE("verdict rule, the reversed claim (Figure 5, ReLU: the paper says the LSTM fails)") {
  const std::vector<std::pair<std::string, double>> bases = {{"sgd", 0.5}, {"adam", 0.0}};
  CHECK(run(table(+0.2, bases, kSmallNoise), Claim::higher).word == Word::agrees);     // it fails here too
  CHECK(run(table(-0.2, bases, kSmallNoise), Claim::higher).word == Word::disagrees);  // it wins here
  CHECK(run(table(-0.05, bases, kBigNoise), Claim::higher).word == Word::tie);
}

TEST_CASE("verdict: a diverged run is scored at the divergence threshold, and counted") {
  std::string csv = table(-0.2, {{"sgd", 0.5}, {"adam", 0.0}}, kSmallNoise);
  // lstm's run 3 becomes non-finite at the end (null, as l2l eval writes it).
  size_t row = csv.find("\nlstm,3,");
  size_t end = csv.find('\n', row + 1);
  size_t last_comma = csv.rfind(',', end);
  csv.replace(last_comma + 1, end - last_comma - 1, "null");
  Verdict v = run(csv, Claim::lower);
  CHECK(v.capped_learned == 1);
  CHECK(v.capped_baseline == 0);
  // Its score counts as 1000 * f_0 = 3000: one such run turns the clear win into a tie.
  CHECK(v.learned_mean > 299);
  CHECK(v.word == Word::tie);
  bool capped = false;
  CHECK(capped_score({2, 1, std::nan("")}, &capped) == doctest::Approx(kExplodeFactor * 2));
  CHECK(capped);
}

TEST_CASE("parse_runs_csv refuses what l2l eval does not write, naming the line") {
  CHECK_THROWS_WITH(parse_runs_csv("optimizer,run,f_100\nlstm,0,1\n", "d/runs.csv"),
                    doctest::Contains("d/runs.csv: expected the header optimizer,run,f_0"));
  CHECK_THROWS_WITH(parse_runs_csv("optimizer,run,f_0,f_1\nlstm,0,1\n", "d/runs.csv"), doctest::Contains("d/runs.csv:2: expected 4 cells"));
  CHECK_THROWS_WITH(parse_runs_csv("optimizer,run,f_0,f_1\nlstm,1,1,2\n", "d/runs.csv"), doctest::Contains("expected run 0 of lstm"));
  CHECK_THROWS_WITH(parse_runs_csv("optimizer,run,f_0,f_1\nlstm,0,1,x2\n", "d/runs.csv"), doctest::Contains("got 'x2'"));
  RunsTable t = parse_runs_csv("optimizer,run,f_0,f_1\nlstm,0,1,null\nsgd,0,1,0.5\n", "d/runs.csv");
  CHECK(t.names == std::vector<std::string>{"lstm", "sgd"});
  CHECK(std::isinf(t.runs["lstm"][0][1]));
  CHECK_THROWS_WITH(judge_runs(t, "lstm", {"adam"}, Claim::lower), doctest::Contains("no optimizer 'adam' (it has lstm, sgd)"));
}

TEST_CASE("final_score: the mean f over the last 10 steps, +inf if one is not finite") {
  std::vector<double> f;
  for (int t = 0; t <= 100; t++) f.push_back(t);
  CHECK(final_score(f) == doctest::Approx((91 + 100) / 2.0));
  CHECK(final_score({4, 2}) == doctest::Approx(3));  // fewer than 10 points: all of them
  f[95] = std::numeric_limits<double>::infinity();
  CHECK(std::isinf(final_score(f)));
}
