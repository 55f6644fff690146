// l2l_verdict.cpp: `l2l verdict`. Reads the runs.csv of an `l2l eval` folder and judges the
// paper's claim about one learned optimizer against the best tuned baseline, paired problem by
// problem (tasks/verdict.h: the score, the 95% t-interval and the rule). Prints one sentence for
// the report and writes DIR/verdict_<learned>.json (the numbers) and DIR/paired_<learned>.csv
// (the difference at every step with its interval, for the figures' second panel).
// Is not: the evaluation itself (apps/l2l_eval.cpp) or the report (scripts/experiments.sh).
#include <algorithm>
#include <cstdio>

#include "apps/common.h"
#include "apps/json.h"
#include "nn/files.h"
#include "nn/optim.h"
#include "tasks/verdict.h"

namespace l2l {

namespace {

std::string shown_name(const std::string& n) {
  static const std::map<std::string, std::string> names = {
      {"lstm", "LSTM"},    {"lstm-sub", "LSTM-sub"}, {"lstm-scale", "LSTM at scale"}, {"lstm-sub-scale", "LSTM-sub at scale"},
      {"sgd", "SGD"},      {"nag", "NAG"},           {"rmsprop", "RMSprop"},          {"adam", "Adam"}};
  auto it = names.find(n);
  return it == names.end() ? n : it->second;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// "**agrees**: LSTM 0.2230 vs NAG 0.4534 ...": the report's sentence.
std::string sentence(const Verdict& v) {
  const Interval& d = v.diff;
  std::string s = "**" + std::string(word_text(v.word)) + "**: " + shown_name(v.learned) + " " + num(v.learned_mean) + " vs " +
                  shown_name(v.baseline) + " " + num(v.baseline_mean) + " (the best tuned baseline), mean f over the last 10 steps of " +
                  std::to_string(d.n) + " test problems; paired difference " + num(d.mean);
  if (d.n > 1)
    s += ", 95% interval [" + num(d.lo) + ", " + num(d.hi) + "] (t, " + std::to_string(d.n - 1) + " dof), " +
         num(100 * d.mean / v.baseline_mean) + "% of " + shown_name(v.baseline) + "'s score";
  else
    s += " (one problem: no interval)";
  s += "; " + shown_name(v.learned) + " lower on " + std::to_string(v.learned_lower) + " of " + std::to_string(d.n) + " problems";
  if (v.capped_learned || v.capped_baseline)
    s += "; scores capped at the divergence threshold: " + std::to_string(v.capped_learned) + " " + shown_name(v.learned) +
         " and " + std::to_string(v.capped_baseline) + " " + shown_name(v.baseline) + " runs";
  return s + ".";
}

std::string verdict_json(const Verdict& v, const std::string& claim) {
  Json j;
  j.open('{').key("learned").str(v.learned).key("baseline").str(v.baseline).key("claim").str(claim);
  j.key("learned_shown").str(shown_name(v.learned)).key("baseline_shown").str(shown_name(v.baseline));  // the report's names
  j.key("score").str("mean f over the last 10 steps of each test run (capped at 1000 f_0)");
  j.key("problems").integer(v.diff.n).key("learned_mean").num(v.learned_mean).key("baseline_mean").num(v.baseline_mean);
  j.key("diff_mean").num(v.diff.mean).key("diff_lo").num(v.diff.lo).key("diff_hi").num(v.diff.hi);
  j.key("interval").str("95% paired Student t");
  j.key("learned_lower").integer(v.learned_lower).key("word").str(word_text(v.word));
  j.key("capped_learned").integer(v.capped_learned).key("capped_baseline").integer(v.capped_baseline);
  return j.close('}').text() + "\n";
}

std::string paired_csv(const Verdict& v) {
  std::string csv = "step,diff_mean,diff_lo,diff_hi\n";
  for (size_t t = 0; t < v.per_step.size(); t++) {
    const Interval& d = v.per_step[t];
    csv += std::to_string(t) + "," + Json::number(d.mean) + "," + Json::number(d.lo) + "," + Json::number(d.hi) + "\n";
  }
  return csv;
}

}  // namespace

int cmd_verdict(int argc, char** argv) {
  Flags f("usage: l2l verdict --dir DIR [flags]\nJudge the paper's claim about a learned optimizer from DIR/runs.csv (l2l eval):\n"
          "its score (mean f over the last 10 steps) minus the best tuned baseline's, paired per test problem,\n"
          "with a 95% t-interval: agrees / disagrees / tie. Writes DIR/verdict_<learned>.json and DIR/paired_<learned>.csv.");
  f.add("dir", "", "an l2l eval output folder (holding runs.csv)");
  f.add("learned", "lstm", "the learned optimizer judged (lstm, lstm-sub, lstm-scale or lstm-sub-scale)");
  f.add("claim", "lower", "the paper's claim: lower (the learned optimizer is below the baselines) or higher (it fails)");
  f.add("baselines", "auto", "the tuned baselines it is compared with, the best of them chosen (auto: those of sgd,nag,rmsprop,adam in runs.csv)");
  if (!f.parse(argc, argv, 2)) return 0;
  const std::string dir = f.str("dir"), claim = f.str("claim");
  if (dir.empty()) throw std::invalid_argument("--dir is needed: an l2l eval output folder");
  if (claim != "lower" && claim != "higher") throw std::invalid_argument("--claim must be lower or higher, got '" + claim + "'");
  const std::string path = dir + "/runs.csv";
  Bytes bytes = read_regular_file(path, size_t(1) << 30, "run l2l eval --out " + dir + " first");
  RunsTable t = parse_runs_csv(std::string(bytes.begin(), bytes.end()), path);
  std::vector<std::string> baselines;
  if (f.str("baselines") == "auto") {
    for (const std::string& b : optimizer_names())  // the tuned baselines (nn/optim.h)
      if (t.runs.count(b)) baselines.push_back(b);
  } else {
    baselines = comma_list(f.str("baselines"), "baselines");
  }
  Verdict v = judge_runs(t, f.str("learned"), baselines, claim == "lower" ? Claim::lower : Claim::higher);
  write_file_atomic(dir + "/verdict_" + v.learned + ".json", verdict_json(v, claim));
  write_file_atomic(dir + "/paired_" + v.learned + ".csv", paired_csv(v));
  std::printf("%s\n", sentence(v).c_str());
  return 0;
}

}  // namespace l2l
