// l2l_eval.cpp: `l2l eval`. Runs the learned optimizer (phi from a checkpoint), the four
// baselines, each with its learning rate tuned on validation problems, and optionally L-BFGS
// (nn/lbfgs.h: no learning rate, so never tuned), on the same fresh test problems, and writes
// OUT/curves.csv (mean and deviation per step), OUT/runs.csv (every test run's f at every step:
// the paired data the verdicts are computed from, `l2l verdict`), OUT/results.json,
// OUT/summary.md and OUT/config.txt.
// Steps: plan (every flag checked before any work), run each optimizer (with a progress
// line), write the three result files.
// Is not: meta-training (apps/l2l.cpp) or the plots and report (scripts/).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "apps/common.h"
#include "apps/tasks.h"
#include "apps/json.h"
#include "nn/files.h"
#include "nn/lbfgs.h"
#include "tasks/evaluate.h"
#include "tasks/run/progress.h"
#include "tasks/run/run_dir.h"
#include "tasks/tuning.h"

namespace l2l {

namespace {

struct EvalPlan {
  std::vector<std::string> names;    // optimizers, in output order
  int T = 0, P = 0, V = 0;           // steps, test problems, tuning problems
  bool finals = false;               // whole-test-set metrics of the final theta
  LrGrid grid;                       // where the tuning starts (it widens at an edge)
  std::map<std::string, double> fixed;  // --lr: rates that are not tuned
  std::string task, out;
  std::map<std::string, std::string> phi;  // learned optimizer name -> its checkpoint
};

// The learned optimizers eval knows, each with the flag that names its checkpoint: "lstm"
// (--phi); "lstm-sub" (--phi-sub: in Figure 7, an optimizer meta-trained only on the labels the
// test subset never uses); and the same two trained at scale (zoo/, scripts/train-zoo.sh).
struct LearnedSlot {
  const char *name, *flag, *help;
};
const LearnedSlot kLearned[] = {
    {"lstm", "phi", "checkpoint of the learned optimizer (from l2l train); needed when --optimizers has lstm"},
    {"lstm-sub", "phi-sub", "a second learned optimizer, run as lstm-sub (Figure 7: trained on held-out labels)"},
    {"lstm-scale", "phi-scale", "a learned optimizer trained at scale (zoo/), run as lstm-scale"},
    {"lstm-sub-scale", "phi-sub-scale", "the lstm-sub of Figure 7 trained at scale, run as lstm-sub-scale"},
};
bool is_learned(const std::string& name) {
  for (const LearnedSlot& s : kLearned)
    if (name == s.name) return true;
  return false;
}

std::vector<std::string> parse_optimizers(const std::string& list) {
  std::vector<std::string> names = comma_list(list, "optimizers"), valid = optimizer_names();
  for (const LearnedSlot& s : kLearned) valid.push_back(s.name);
  valid.push_back("lbfgs");
  std::string expected;
  for (const std::string& v : valid) expected += (expected.empty() ? "" : ", ") + v;
  if (names.empty()) throw std::invalid_argument("--optimizers is empty (e.g. lstm,sgd,nag,rmsprop,adam,lbfgs)");
  for (size_t i = 0; i < names.size(); i++) {
    if (std::find(valid.begin(), valid.end(), names[i]) == valid.end())
      throw std::invalid_argument("--optimizers: unknown '" + names[i] + "' (expected " + expected + ")");
    if (std::find(names.begin(), names.begin() + i, names[i]) != names.begin() + i)
      throw std::invalid_argument("--optimizers lists '" + names[i] + "' twice");
  }
  return names;
}

LrGrid parse_grid(const std::string& grid) {
  double lo, hi;
  int per, used = 0;
  if (std::sscanf(grid.c_str(), "%lf:%lf:%d%n", &lo, &hi, &per, &used) != 3 || used != (int)grid.size() || per <= 0 ||
      per > 100 || lo > hi || lo < -12 || hi > 6)
    throw std::invalid_argument("--grid expects lo:hi:per_decade with -12 <= lo <= hi <= 6, such as -4:1:3; got '" + grid + "'");
  LrGrid g;
  g.lo = lo, g.hi = hi, g.per_decade = per;
  return g;
}

std::map<std::string, double> parse_fixed_rates(const std::string& list, const std::vector<std::string>& names) {
  std::map<std::string, double> fixed;
  for (const std::string& kv : comma_list(list, "lr")) {
    size_t eq = kv.find('=');
    std::string name = kv.substr(0, eq);
    char* end = nullptr;
    double lr = eq == std::string::npos ? 0 : std::strtod(kv.c_str() + eq + 1, &end);
    if (eq == std::string::npos || !end || *end || !(lr > 0) || !std::isfinite(lr))
      throw std::invalid_argument("--lr expects name=positive-number pairs such as sgd=0.5,adam=0.02; got '" + kv + "'");
    if (name == "lbfgs")
      throw std::invalid_argument("--lr names lbfgs, which has no learning rate (its line search picks every step)");
    if (std::find(names.begin(), names.end(), name) == names.end() || is_learned(name))
      throw std::invalid_argument("--lr names '" + name + "', which is not a baseline in --optimizers");
    if (fixed.count(name)) throw std::invalid_argument("--lr names '" + name + "' twice");
    fixed[name] = lr;
  }
  return fixed;
}

// Every flag checked before any work: a typo must not cost a tuning run.
EvalPlan plan_eval(const Flags& f) {
  EvalPlan p;
  p.task = f.str("task");
  p.T = bounded(f, "steps", 1, 1000000);
  p.P = bounded(f, "problems", 1, 1000000);
  p.V = bounded(f, "tune-problems", 1, 100000);
  p.finals = f.str("final-metrics") == "auto" ? p.task == "mnist" || p.task == "cifar" : f.boolean("final-metrics");
  p.names = parse_optimizers(f.str("optimizers"));
  p.grid = parse_grid(f.str("grid"));
  p.fixed = parse_fixed_rates(f.str("lr"), p.names);
  p.out = f.str("out");
  for (const LearnedSlot& s : kLearned) {
    const std::string path = f.str(s.flag), name = s.name, flag = s.flag;
    const bool listed = std::find(p.names.begin(), p.names.end(), name) != p.names.end();
    if (listed && path.empty())
      throw std::invalid_argument("--optimizers includes " + name + " but no --" + flag + " checkpoint was given");
    if (!listed && !path.empty() && name != "lstm")  // --phi alone is allowed: the default list has lstm
      throw std::invalid_argument("--" + flag + " is given but --optimizers does not include " + name);
    if (listed) p.phi[name] = path;
  }
  return p;
}

// One optimizer's outcome: its curves, what it was (setting), and its tuning if it was tuned.
struct Entry {
  std::string name, setting;
  Curves curves;
  bool tuned = false;
  LrSearch tuning;
};

std::unique_ptr<Optimizer> make_learned(const EvalPlan& plan, const std::string& phi, std::string& setting) {
  std::string trained_on, epoch;
  std::unique_ptr<LearnedOptimizer> opt = load_learned_optimizer(phi, &trained_on, &epoch);
  // Another architecture of the same task is the point of Figures 5 and 6; another task is a mistake.
  if (!trained_on.empty() && trained_on != plan.task)
    throw std::invalid_argument(phi + " was meta-trained on --task " + trained_on + ", not " + plan.task +
                                " (train one with: l2l train --task " + plan.task + ")");
  for (int k = 0; k < opt->num_nets(); k++)
    setting += (k ? "; net " + std::to_string(k) + ": " : opt->num_nets() > 1 ? "net 0: " : "") + opt->net(k).config().describe();
  setting += " (phi from " + phi + (epoch.empty() ? "" : ", epoch " + epoch) + ")";
  return opt;
}

Entry run_entry(const std::string& name, const EvalPlan& plan, const Task& task,
                Progress& bar, long& done) {
  Entry e;
  e.name = name;
  std::unique_ptr<Optimizer> opt;
  if (is_learned(name)) {
    opt = make_learned(plan, plan.phi.at(name), e.setting);
  } else if (name == "lbfgs") {  // nothing to tune: the line search chooses every step length
    LbfgsOptions o;
    opt = std::make_unique<Lbfgs>(o);
    e.setting = "lbfgs m " + std::to_string(o.history) + ", backtracking Armijo line search (c1 " + Json::number(o.c1) +
                ", first step length " + Json::number(o.initial_step) + ") on the step's minibatch; not tuned";
  } else if (plan.fixed.count(name)) {
    opt = make_optimizer(name, plan.fixed.at(name));
    e.setting = name + " lr " + Json::number(plan.fixed.at(name)) + " (fixed by --lr)";
  } else {
    long base = done;
    e.tuning = tune_lr(name, task, plan.V, plan.T, plan.grid, [&](int k) {
      done = base + (long)k * plan.V;
      bar.show(done, "runs: tuning " + name + " (" + std::to_string(k) + " rates tried)");
    });
    e.tuned = true;
    opt = make_optimizer(name, e.tuning.best_lr);
    e.setting = name + " lr " + Json::number(e.tuning.best_lr) + " (tuned: best mean final loss " +
                Json::number(e.tuning.best_loss) + " on " + std::to_string(plan.V) + " validation problems; " +
                e.tuning.describe() + ")";
  }
  long base = done;
  e.curves = evaluate(*opt, task, Split::test, plan.P, plan.T, plan.finals, 0, [&](int k) {
    done = base + k;
    bar.show(done, "runs: testing " + name + " (" + std::to_string(k) + "/" + std::to_string(plan.P) + " problems)");
  });
  e.curves.name = name;
  if (name == "lbfgs") {  // one step = one iteration; say what the iterations cost
    double calls = e.curves.mean_evals().back();
    e.setting += "; one step = one iteration: " + Json::number(calls) + " loss_and_grad calls per run on average (" +
                 Json::number(calls / plan.T) + " per step)";
  }
  if (e.curves.diverged)  // a diverged run makes the mean infinite: say so next to the numbers
    e.setting += "; diverged on " + std::to_string(e.curves.diverged) + " of " + std::to_string(plan.P) + " test problems";
  return e;
}

// curves.csv: step, then mean and std of f per optimizer.
std::string curves_csv(const std::vector<Entry>& es, int T) {
  std::string csv = "step";
  for (const Entry& e : es) csv += "," + e.name + "_mean," + e.name + "_std";
  csv += "\n";
  std::vector<std::vector<double>> means, stds;
  for (const Entry& e : es) means.push_back(e.curves.mean()), stds.push_back(e.curves.stddev());
  for (int t = 0; t <= T; t++) {
    csv += std::to_string(t);
    for (size_t k = 0; k < es.size(); k++) csv += "," + Json::number(means[k][t]) + "," + Json::number(stds[k][t]);
    csv += "\n";
  }
  return csv;
}

// runs.csv: one row per optimizer and test run (run k = test problem k for every optimizer: the
// same function, theta_0 and minibatches), its f at every step 0..T (null once f is not finite).
std::string runs_csv(const std::vector<Entry>& es, int T) {
  std::string csv = "optimizer,run";
  for (int t = 0; t <= T; t++) csv += ",f_" + std::to_string(t);
  csv += "\n";
  for (const Entry& e : es)
    for (size_t k = 0; k < e.curves.runs.size(); k++) {
      csv += e.name + "," + std::to_string(k);
      for (int t = 0; t <= T; t++) csv += "," + Json::number(e.curves.runs[k][t]);
      csv += "\n";
    }
  return csv;
}

// The mean over runs of each final metric (runs without metrics, i.e. diverged, left out).
std::map<std::string, double> mean_finals(const Curves& c) {
  std::map<std::string, double> avg;
  int n = 0;
  for (auto& fm : c.finals)
    if (!fm.empty()) {
      n++;
      for (auto& [key, v] : fm) avg[key] += v;
    }
  for (auto& [key, v] : avg) v /= n;
  return avg;
}

// What the final loss and accuracy are measured on (summary.md, results.json, the screen).
const char* kFinalsNote =
    "Final loss and accuracy: the final theta on every image of the test split, the split whose minibatches "
    "the optimizee was trained on during evaluation (the paper's protocol: test problems are new runs on "
    "images meta-training never saw, not a held-out set for the optimizee).";

std::string results_json(const Flags& f, const Task& task, const std::vector<Entry>& es, const EvalPlan& plan) {
  Json j;
  j.open('{').key("task").str(task.describe());
  j.key("config").open('{');
  for (auto& [k, v] : f.all()) j.key(k).str(v);
  j.close('}');
  j.key("seeds").open('{').key("test").str("problem k uses seed 2^41 + k").key("validation").str("problem j uses seed 2^40 + j").close('}');
  if (plan.finals) j.key("final_metrics_note").str(kFinalsNote);
  j.key("divergence").str("diverged: f non-finite or above " + Json::number(kExplodeFactor) +
                          " x f(theta_0); ended_above_start: finite but f(theta_T) > f(theta_0)");
  j.key("tuning").open('{');
  for (const Entry& e : es) {
    if (!e.tuned) continue;
    const LrSearch& t = e.tuning;
    j.key(e.name).open('{').key("best_lr").num(t.best_lr).key("grid").nums({std::pow(10.0, t.lo), std::pow(10.0, t.hi)});
    j.key("widened_decades_low").integer(t.widened_low).key("widened_decades_high").integer(t.widened_high);
    j.key("at_edge").boolean(t.at_edge()).key("note").str(t.describe()).key("tried").open('[');
    for (const LrTrial& tr : t.tried) j.nums({tr.lr, tr.loss});
    j.close(']').close('}');
  }
  j.close('}');
  j.key("optimizers").open('[');
  for (const Entry& e : es) {
    j.open('{').key("name").str(e.name).key("setting").str(e.setting).key("runs").integer(plan.P);
    j.key("diverged_runs").integer(e.curves.diverged).key("ended_above_start_runs").integer(e.curves.ended_above_start);
    j.key("mean").nums(e.curves.mean()).key("std").nums(e.curves.stddev());
    j.key("mean_oracle_calls").nums(e.curves.mean_evals());  // loss_and_grad calls before theta_t
    if (plan.finals) {
      j.key("final_metrics").open('{');
      for (auto& [k, v] : mean_finals(e.curves)) j.key(k).num(v);
      j.close('}');
    }
    j.close('}');
  }
  j.close(']').close('}');
  return j.text();
}

// summary.md: f at steps 1, 10, T/2 and T (those that exist, once each), the run counts, and
// the whole-test-set metrics when they were computed.
std::string summary_md(const std::vector<Entry>& es, const EvalPlan& plan) {
  std::vector<int> steps;
  for (int t : {1, 10, plan.T / 2, plan.T})
    if (t >= 1 && t <= plan.T && std::find(steps.begin(), steps.end(), t) == steps.end()) steps.push_back(t);
  std::string md = "| optimizer | setting |", rule = "|---|---|";
  for (int t : steps) md += " f at step " + std::to_string(t) + " |", rule += "---|";
  md += " diverged | ended above start |", rule += "---|---|";
  if (plan.finals) md += " final loss, test split (trained on) | final accuracy, test split (trained on) |", rule += "---|---|";
  md += "\n" + rule + "\n";
  for (const Entry& e : es) {
    std::vector<double> m = e.curves.mean();
    md += "| " + e.name + " | " + e.setting + " |";
    for (int t : steps) md += " " + Json::number(m[t]) + " |";
    md += " " + std::to_string(e.curves.diverged) + " of " + std::to_string(plan.P) + " | " +
          std::to_string(e.curves.ended_above_start) + " of " + std::to_string(plan.P) + " |";
    if (plan.finals) {
      std::map<std::string, double> fm = mean_finals(e.curves);
      md += " " + Json::number(fm.count("test_loss") ? fm["test_loss"] : NAN) + " | " +
            Json::number(fm.count("test_accuracy") ? fm["test_accuracy"] : NAN) + " |";
    }
    md += "\n";
  }
  if (plan.finals) md += "\n" + std::string(kFinalsNote) + "\n";
  return md;
}

// The number of optimizee runs the plan makes (for the progress line).
long total_runs(const EvalPlan& p) {
  long n = 0;
  long rates = (long)std::floor((p.grid.hi - p.grid.lo) * p.grid.per_decade + 1e-9) + 1;  // before any widening
  for (const std::string& name : p.names)
    n += p.P + (is_learned(name) || name == "lbfgs" || p.fixed.count(name) ? 0 : rates * p.V);
  return n;
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  Flags f("usage: l2l eval [flags]\nEvaluate the learned optimizer and tuned baselines on fresh test problems;\n"
          "writes OUT/curves.csv, OUT/runs.csv (every run's f at every step), OUT/results.json, OUT/summary.md\n"
          "and OUT/config.txt.\n"
          "Test and validation problems are fixed (seeds 2^41 + k and 2^40 + j), so eval takes no --seed.");
  add_task_flags(f);
  for (const LearnedSlot& s : kLearned) f.add(s.flag, "", s.help);
  f.add("optimizers", "lstm,sgd,nag,rmsprop,adam",
        "optimizers to run, comma-separated (lstm-sub needs --phi-sub, lstm-scale --phi-scale; lbfgs: not tuned, one "
        "step = one iteration)");
  f.add("problems", "100", "test problems (fresh seeds, disjoint from training and validation)");
  f.add("tune-problems", "10", "validation problems used to tune each baseline's learning rate");
  f.add("grid", "-4:1:3", "learning-rate grid lo:hi:per_decade, i.e. 10^lo .. 10^hi");
  f.add("lr", "", "fixed learning rates instead of tuning, e.g. sgd=0.1,adam=0.02");
  f.add("final-metrics", "auto", "also report the final theta's loss and accuracy on the whole test split, the images its "
        "minibatches came from (the paper's protocol; auto: on for mnist and cifar)");
  f.add("out", "results/eval", "output directory (results there are overwritten: they are regenerable)");
  add_threads_flag(f);
  add_verbose_flag(f);
  if (!f.parse(argc, argv, 2)) return 0;
  apply_threads_flag(f);
  std::string cfg_txt = config_text("eval", f);
  EvalPlan plan = plan_eval(f);
  for (const auto& [name, phi] : plan.phi) {  // a bad --phi must fail now, not after the tuning
    std::string unused;
    make_learned(plan, phi, unused);
  }
  print_config("eval", cfg_txt, f);  // after the checks: a refused command saves nothing
  // Test problems (Split::test) for the curves; the baselines are tuned on validation problems.
  std::unique_ptr<Task> task = make_task(f);
  std::printf("# task: %s\n", task->describe().c_str());
  RunDirLock lock(plan.out);  // one eval at a time per folder; released when the process ends
  if (std::filesystem::exists(plan.out + "/results.json"))
    std::printf("# note: %s already holds results; they will be replaced\n", plan.out.c_str());
  write_file_atomic(plan.out + "/config.txt", cfg_txt);
  Progress bar(total_runs(plan));
  long done = 0;
  std::vector<Entry> entries;
  for (const std::string& name : plan.names) {
    entries.push_back(run_entry(name, plan, *task, bar, done));
    const Entry& e = entries.back();
    std::vector<double> m = e.curves.mean();
    bar.end_line();
    std::printf("# %s\n%-8s f at steps 0/%d/%d: %.4g %.4g %.4g (diverged %d, ended above start %d, of %d)\n",
                e.setting.c_str(), name.c_str(), plan.T / 2, plan.T, m[0], m[plan.T / 2], m[plan.T], e.curves.diverged,
                e.curves.ended_above_start, plan.P);
    std::fflush(stdout);
  }
  write_file_atomic(plan.out + "/curves.csv", curves_csv(entries, plan.T));
  write_file_atomic(plan.out + "/results.json", results_json(f, *task, entries, plan));
  write_file_atomic(plan.out + "/summary.md", summary_md(entries, plan));
  write_file_atomic(plan.out + "/runs.csv", runs_csv(entries, plan.T));
  std::printf("wrote %s/{curves.csv,runs.csv,results.json,summary.md,config.txt}\n", plan.out.c_str());
  return 0;
}

}  // namespace l2l
