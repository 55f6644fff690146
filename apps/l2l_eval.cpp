// l2l_eval.cpp: `l2l eval`. Runs the learned optimizer (phi from a checkpoint) and the four
// baselines, each with its learning rate tuned on validation problems, on the same fresh test
// problems, and writes OUT/curves.csv, OUT/results.json, OUT/summary.md and OUT/config.txt.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "apps/common.h"
#include "nn/checkpoint.h"
#include "tasks/evaluate.h"

namespace l2l {

namespace {

std::string num(double x) {
  if (!std::isfinite(x)) return "null";
  char b[40];
  std::snprintf(b, sizeof b, "%.8g", x);
  return b;
}

std::string json_array(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) s += (i ? "," : "") + num(v[i]);
  return s + "]";
}

std::string json_str(const std::string& s) {
  std::string r = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') r += '\\';
    if (ch == '\n') { r += "\\n"; continue; }
    r += ch;
  }
  return r + "\"";
}

// The learned optimizer described by a phi checkpoint (its saved training configuration).
std::unique_ptr<LearnedOptimizer> load_learned(const std::string& path, const std::string& task, int groups,
                                               std::string& desc) {
  Checkpoint ck = load_checkpoint(path);
  // Another architecture of the same task is the point of Figures 5 and 6; another task is a mistake.
  const std::string* trained_on = ck.meta_value("task");
  if (trained_on && *trained_on != task)
    throw std::invalid_argument(path + " was meta-trained on --task " + *trained_on + ", not " + task +
                                " (train one with: l2l train --task " + task + ")");
  Flags saved("");
  add_task_flags(saved);
  add_net_flags(saved);
  for (auto& [k, v] : ck.meta)
    if (k != "epoch" && k != "best_epoch" && k != "best_val" && k != "problem_counter") {
      try { saved.set(k, v); } catch (const std::invalid_argument&) {}  // training-only flags
    }
  NetConfig nc = net_config(saved);
  auto opt = std::make_unique<LearnedOptimizer>(std::vector<NetConfig>(groups, nc), 0);
  std::vector<Param*> ps = opt->params();
  if (ck.tensors.size() != ps.size())
    throw std::runtime_error(path + ": holds " + std::to_string(ck.tensors.size()) + " tensors but a " + nc.describe() +
                             " needs " + std::to_string(ps.size()));
  for (size_t i = 0; i < ps.size(); i++) {
    if (ck.tensors[i].first != ps[i]->name || ck.tensors[i].second.shape() != ps[i]->value.shape())
      throw std::runtime_error(path + ": tensor " + ck.tensors[i].first + " " + shape_str(ck.tensors[i].second.shape()) +
                               " does not match " + ps[i]->name + " " + shape_str(ps[i]->value.shape()));
    ps[i]->value = ck.tensors[i].second;
  }
  const std::string* be = ck.meta_value("best_epoch");
  desc = nc.describe() + " (phi from " + path + (be ? ", epoch " + *be : "") + ")";
  return opt;
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  Flags f("usage: l2l eval [flags]\nEvaluate the learned optimizer and tuned baselines on fresh test problems;\n"
          "writes OUT/curves.csv, OUT/results.json, OUT/summary.md and OUT/config.txt.");
  add_task_flags(f);
  f.add("phi", "", "checkpoint of the learned optimizer (from l2l train); needed when --optimizers has lstm");
  f.add("optimizers", "lstm,sgd,nag,rmsprop,adam", "optimizers to run, comma-separated");
  f.add("problems", "100", "test problems (fresh seeds, disjoint from training and validation)");
  f.add("tune-problems", "10", "validation problems used to tune each baseline's learning rate");
  f.add("grid", "-4:1:3", "learning-rate grid lo:hi:per_decade, i.e. 10^lo .. 10^hi");
  f.add("lr", "", "fixed learning rates instead of tuning, e.g. sgd=0.1,adam=0.02");
  f.add("final-metrics", "auto", "also report whole-test-set metrics of the final theta (auto: on for mnist)");
  f.add("out", "results/eval", "output directory");
  if (!f.parse(argc, argv, 2)) return 0;
  std::string cfg_txt = config_text("eval", f);
  std::printf("%s", cfg_txt.c_str());
  int T = (int)f.integer("steps"), P = (int)f.integer("problems"), V = (int)f.integer("tune-problems");
  if (T <= 0 || P <= 0 || V <= 0) throw std::invalid_argument("--steps, --problems and --tune-problems must be positive");
  bool finals = f.str("final-metrics") == "auto" ? f.str("task") == "mnist" : f.boolean("final-metrics");
  // Check every flag before any work: a typo must not cost a tuning run.
  std::vector<std::string> names = split_list(f.str("optimizers"));
  std::vector<std::string> valid = optimizer_names();
  valid.push_back("lstm");
  if (names.empty()) throw std::invalid_argument("--optimizers is empty (e.g. lstm,sgd,nag,rmsprop,adam)");
  for (size_t i = 0; i < names.size(); i++) {
    if (std::find(valid.begin(), valid.end(), names[i]) == valid.end())
      throw std::invalid_argument("--optimizers: unknown '" + names[i] + "' (expected lstm, sgd, nag, rmsprop, adam)");
    if (std::find(names.begin(), names.begin() + i, names[i]) != names.begin() + i)
      throw std::invalid_argument("--optimizers lists '" + names[i] + "' twice");
  }
  double glo, ghi;
  int gper, used = 0;
  const std::string grid = f.str("grid");
  if (std::sscanf(grid.c_str(), "%lf:%lf:%d%n", &glo, &ghi, &gper, &used) != 3 || used != (int)grid.size() || gper <= 0 ||
      glo > ghi || glo < -12 || ghi > 6)
    throw std::invalid_argument("--grid expects lo:hi:per_decade with -12 <= lo <= hi <= 6, such as -4:1:3; got '" + grid + "'");
  std::map<std::string, double> fixed;
  for (const std::string& kv : split_list(f.str("lr"))) {
    size_t eq = kv.find('=');
    std::string name = kv.substr(0, eq);
    char* end = nullptr;
    double lr = eq == std::string::npos ? 0 : std::strtod(kv.c_str() + eq + 1, &end);
    if (eq == std::string::npos || !end || *end || !(lr > 0))
      throw std::invalid_argument("--lr expects name=positive-number pairs such as sgd=0.5,adam=0.02; got '" + kv + "'");
    if (std::find(names.begin(), names.end(), name) == names.end() || name == "lstm")
      throw std::invalid_argument("--lr names '" + name + "', which is not a baseline in --optimizers");
    fixed[name] = lr;
  }
  if (f.str("phi").empty() && std::find(names.begin(), names.end(), "lstm") != names.end())
    throw std::invalid_argument("--optimizers includes lstm but no --phi checkpoint was given");
  std::string out = f.str("out");
  std::filesystem::create_directories(out);
  write_atomic(out + "/config.txt", cfg_txt);

  // Test problems come from the test split of the data; tuning uses validation problems drawn
  // from the training images (the split the optimizer was trained on).
  std::unique_ptr<Task> test_task = make_task(f, "test"), tune_task = make_task(f, "train");
  std::printf("# task: %s\n", test_task->describe().c_str());
  std::vector<Curves> curves;
  std::vector<std::string> descs;
  std::string tuning_json;
  for (const std::string& name : names) {
    std::unique_ptr<Optimizer> opt;
    std::string desc;
    if (name == "lstm") {
      if (f.str("phi").empty()) throw std::invalid_argument("--optimizers includes lstm but no --phi checkpoint was given");
      opt = load_learned(f.str("phi"), f.str("task"), test_task->num_groups(), desc);
    } else if (fixed.count(name)) {
      opt = make_optimizer(name, fixed[name]);
      desc = name + " lr " + num(fixed[name]) + " (fixed by --lr)";
    } else {
      Tuning t = tune_learning_rate(name, *tune_task, V, T, log_grid(glo, ghi, gper));
      opt = make_optimizer(name, t.best_lr);
      desc = name + " lr " + num(t.best_lr) + " (tuned: best mean final loss " + num(t.best_loss) + " on " +
             std::to_string(V) + " validation problems)";
      tuning_json += std::string(tuning_json.empty() ? "" : ",\n    ") + json_str(name) + ": {\"best_lr\": " + num(t.best_lr) +
                     ", \"tried\": [";
      for (size_t i = 0; i < t.tried.size(); i++)
        tuning_json += std::string(i ? "," : "") + "[" + num(t.tried[i].first) + "," + num(t.tried[i].second) + "]";
      tuning_json += "]}";
    }
    std::printf("# %s\n", desc.c_str());
    std::fflush(stdout);
    Curves c = evaluate(*opt, *test_task, Split::test, P, T, finals);
    c.name = name;
    if (c.diverged)  // a diverged run makes the mean infinite: say so next to the numbers
      desc += "; diverged on " + std::to_string(c.diverged) + " of " + std::to_string(P) + " test problems";
    std::vector<double> m = c.mean();
    std::printf("%-8s f at steps 0/%d/%d: %.4g %.4g %.4g%s\n", name.c_str(), T / 2, T, m[0], m[T / 2], m[T],
                c.diverged ? (" (" + std::to_string(c.diverged) + " runs diverged)").c_str() : "");
    curves.push_back(std::move(c));
    descs.push_back(desc);
  }

  // curves.csv: step, then mean and std of f per optimizer.
  std::string csv = "step";
  for (auto& c : curves) csv += "," + c.name + "_mean," + c.name + "_std";
  csv += "\n";
  std::vector<std::vector<double>> means, stds;
  for (auto& c : curves) means.push_back(c.mean()), stds.push_back(c.stddev());
  for (int t = 0; t <= T; t++) {
    csv += std::to_string(t);
    for (size_t k = 0; k < curves.size(); k++) csv += "," + num(means[k][t]) + "," + num(stds[k][t]);
    csv += "\n";
  }
  write_atomic(out + "/curves.csv", csv);

  // results.json: configuration, seeds, tuning, curves, final metrics.
  std::string js = "{\n  \"task\": " + json_str(test_task->describe()) + ",\n  \"config\": {";
  auto all = f.all();
  for (size_t i = 0; i < all.size(); i++) js += std::string(i ? ", " : "") + json_str(all[i].first) + ": " + json_str(all[i].second);
  js += "},\n  \"seeds\": {\"test\": \"problem k uses seed 2^41 + k\", \"validation\": \"problem j uses seed 2^40 + j\"},\n";
  js += "  \"tuning\": {" + tuning_json + "},\n  \"optimizers\": [\n";
  std::string md = "| optimizer | setting | f at step 1 | f at step 10 | f at step " + std::to_string(T / 2) + " | f at step " +
                   std::to_string(T) + " |";
  bool any_final = false;
  for (auto& c : curves) any_final = any_final || (!c.finals.empty() && !c.finals[0].empty());
  if (any_final) md += " final test loss | final test accuracy |";
  md += "\n|---|---|---|---|---|---|" + std::string(any_final ? "---|---|" : "") + "\n";
  for (size_t k = 0; k < curves.size(); k++) {
    const Curves& c = curves[k];
    js += std::string(k ? ",\n" : "") + "    {\"name\": " + json_str(c.name) + ", \"setting\": " + json_str(descs[k]) +
          ", \"diverged_runs\": " + std::to_string(c.diverged) + ", \"mean\": " + json_array(means[k]) +
          ", \"std\": " + json_array(stds[k]);
    auto at = [&](int t) { return num(means[k][std::min(t, T)]); };
    md += "| " + c.name + " | " + descs[k] + " | " + at(1) + " | " + at(10) + " | " + at(T / 2) + " | " + at(T) + " |";
    if (any_final) {
      std::map<std::string, double> avg;
      int n = 0;
      for (auto& fm : c.finals)
        if (!fm.empty()) {
          n++;
          for (auto& [key, v] : fm) avg[key] += v;
        }
      js += ", \"final_metrics\": {";
      bool first = true;
      for (auto& [key, v] : avg) {
        js += std::string(first ? "" : ", ") + json_str(key) + ": " + num(n ? v / n : NAN);
        first = false;
      }
      js += "}";
      md += " " + num(n ? avg["test_loss"] / n : NAN) + " | " + num(n ? avg["test_accuracy"] / n : NAN) + " |";
    }
    js += "}";
    md += "\n";
  }
  js += "\n  ]\n}\n";
  write_atomic(out + "/results.json", js);
  write_atomic(out + "/summary.md", md);
  std::printf("wrote %s/{curves.csv,results.json,summary.md,config.txt}\n", out.c_str());
  return 0;
}

}  // namespace l2l
