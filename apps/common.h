// common.h: what the l2l subcommands share: task and net flags, building a Task and a
// NetConfig from flags, the configuration dump, and atomic text writes.
#pragma once
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/flags.h"
#include "tasks/data.h"
#include "tasks/learned_optimizer.h"
#include "tasks/task.h"

namespace l2l {

inline void add_task_flags(Flags& f) {
  f.add("task", "quadratic", "problem family: quadratic, simple, mnist");
  f.add("seed", "1", "seed of the run: training problems and phi's initialization (test and validation problems are fixed)");
  f.add("steps", "100", "T: optimizee steps per problem");
  f.add("quad-batch", "128", "quadratic: functions per problem");
  f.add("quad-dims", "10", "quadratic: dimensions of each function");
  f.add("quad-dm", "false", "quadratic: the authors' code variant (W,y ~ U[0,1), theta0 ~ N(0,0.01^2))");
  f.add("data", "", "data directory (else $L2L_DATA, ./data, ../shared/data)");
  f.add("mnist-hidden", "20", "mnist: hidden layer sizes, comma-separated (e.g. 20,20); empty for none");
  f.add("mnist-act", "sigmoid", "mnist: hidden activation: sigmoid, relu, tanh");
  f.add("mnist-batch", "128", "mnist: minibatch size");
  f.add("mnist-init", "dm", "mnist: dm (all N(0,0.01^2), authors' code) or glorot");
}

inline void add_net_flags(Flags& f) {
  f.add("layers", "2", "LSTM layers of the learned optimizer (0: a linear map of the gradient)");
  f.add("hidden", "20", "LSTM units per layer");
  f.add("preprocess", "auto", "none or logsign (Appendix A); auto: none for quadratic/simple, logsign otherwise");
  f.add("p", "10", "logsign parameter p (paper 10; authors' code 5)");
  f.add("out-scale", "auto", "output scale; auto: 1 for quadratic/simple, 0.1 otherwise (paper; authors' code 0.01)");
  f.add("cell", "fused", "LSTM cell implementation: fused or composed (the readable reference)");
}

// "a,b,,c" -> {"a", "b", "c"} (empty items are dropped).
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) v.push_back(item);
  return v;
}

inline std::vector<int> parse_ints(const std::string& s, const char* flag) {
  std::vector<int> v;
  for (const std::string& item : split_list(s)) {
    char* end = nullptr;
    long x = std::strtol(item.c_str(), &end, 10);
    if (*end || x <= 0 || x > 1000000)
      throw std::invalid_argument(std::string("flag --") + flag + " expects positive integers separated by commas, got '" + s + "'");
    v.push_back((int)x);
  }
  return v;
}

inline std::unique_ptr<Task> make_task(const Flags& f, const std::string& mnist_split) {
  std::string t = f.str("task");
  if (t == "quadratic") {
    QuadraticOptions o;
    o.batch = (int)f.integer("quad-batch");
    o.dims = (int)f.integer("quad-dims");
    o.dm_variant = f.boolean("quad-dm");
    if (o.batch <= 0 || o.dims <= 0) throw std::invalid_argument("--quad-batch and --quad-dims must be positive");
    return make_quadratic_task(o);
  }
  if (t == "simple") return make_simple_task();
  if (t == "mnist") {
    MnistOptions o;
    o.data_dir = find_data_dir(f.str("data"), "mnist");
    o.hidden = parse_ints(f.str("mnist-hidden"), "mnist-hidden");
    o.activation = f.str("mnist-act");
    o.batch = (int)f.integer("mnist-batch");
    if (f.str("mnist-init") != "dm" && f.str("mnist-init") != "glorot")
      throw std::invalid_argument("--mnist-init expects dm or glorot, got '" + f.str("mnist-init") + "'");
    o.dm_init = f.str("mnist-init") == "dm";
    o.split = mnist_split;
    return make_mnist_task(o);
  }
  throw std::invalid_argument("unknown --task '" + t + "' (expected quadratic, simple or mnist)");
}

inline NetConfig net_config(const Flags& f) {
  bool small = f.str("task") == "quadratic" || f.str("task") == "simple";
  NetConfig c;
  c.layers = (int)f.integer("layers");
  c.hidden = (int)f.integer("hidden");
  c.preprocess = f.str("preprocess") == "auto" ? (small ? "none" : "logsign") : f.str("preprocess");
  c.p = f.number("p");
  c.out_scale = f.str("out-scale") == "auto" ? (small ? 1.0 : 0.1) : f.number("out-scale");
  if (f.str("cell") != "fused" && f.str("cell") != "composed")
    throw std::invalid_argument("--cell expects fused or composed, got '" + f.str("cell") + "'");
  c.fused = f.str("cell") == "fused";
  preprocess_inputs(c);  // validates the name
  if (c.layers < 0 || c.hidden <= 0) throw std::invalid_argument("--layers must be >= 0 and --hidden > 0");
  if (!(c.p > 0)) throw std::invalid_argument("--p must be > 0 (the paper uses 10)");
  if (!(c.out_scale > 0)) throw std::invalid_argument("--out-scale must be > 0");
  return c;
}

// "name = value" lines, printed at start and saved as config.txt.
inline std::string config_text(const std::string& cmd, const Flags& f) {
  std::string s = "# l2l " + cmd + "\n";
  for (auto& [k, v] : f.all()) s += k + " = " + v + "\n";
  return s;
}

// Write a text file atomically: to a temporary name, then rename over the target.
inline void write_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary);
    o << text;
    o.flush();
    if (!o) throw std::runtime_error("cannot write '" + tmp + "' (is the directory writable?)");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace l2l
