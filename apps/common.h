// common.h: what the l2l programs share: task and net flags, list parsing, building a NetConfig
// from flags (every size range-checked, naming its flag), and the configuration dump. The tasks
// themselves are built by apps/tasks.h.
// Is not: a flag parser (apps/flags.h) or a command (apps/l2l.cpp, apps/l2l_eval.cpp).
#pragma once
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/flags.h"
#include "autodiff/parallel.h"
#include "tasks/learned_optimizer.h"

namespace l2l {

// An integer flag in [lo, hi], or an error naming the flag and the range.
inline int bounded(const Flags& f, const std::string& name, long lo, long hi) {
  long long x = f.integer(name);
  if (x < lo || x > hi)
    throw std::invalid_argument("flag --" + name + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                                std::to_string(x));
  return (int)x;
}

inline void add_task_flags(Flags& f) {
  f.add("task", "quadratic", "problem family: quadratic, simple, mnist, cifar, art");
  f.add("steps", "100", "T: optimizee steps per problem");
  f.add("quad-batch", "128", "quadratic: functions per problem");
  f.add("quad-dims", "10", "quadratic: dimensions of each function");
  f.add_bool("quad-dm", false, "quadratic: the authors' code variant (W,y ~ U[0,1), theta0 ~ N(0,0.01^2))");
  f.add("data", "", "data directory (else $L2L_DATA, ./data, ../shared/data)");
  f.add("mnist-hidden", "20", "mnist: hidden layer sizes, comma-separated (e.g. 20,20); empty for none");
  f.add("mnist-act", "sigmoid", "mnist: hidden activation: sigmoid, relu, tanh");
  f.add("mnist-batch", "128", "mnist: minibatch size");
  f.add("mnist-init", "dm", "mnist: dm (all N(0,0.01^2), authors' code) or glorot");
  f.add("cifar-labels", "", "cifar: a label subset, comma-separated (e.g. 0,1,2,3,4 for CIFAR-5); empty for all 10");
  f.add("cifar-batch", "128", "cifar: minibatch size");
  f.add("art-size", "64", "art: image side in pixels (a multiple of 4; the paper: 64 to train, 128 to test)");
  f.add("art-style", "vangogh_starry_night", "art: style painting, a file name in art/style/ without extension");
  f.add("art-weights", "", "art: alpha,beta,gamma (content, style, tv); empty = the documented defaults 4e-5,5e-4,10");
  f.add("art-start", "content", "art: theta_0's base image: content (the photo crop) or grey (0.5 everywhere)");
  f.add("art-init-noise", "-1", "art: std of the Gaussian noise added to theta_0's base image per pixel; -1 = the documented default");
}

// --threads, shared by train and eval: the learned optimizer's LSTM runs on that many threads
// (autodiff/parallel.h; results are bit-identical for any count; OpenBLAS stays at 1).
inline void add_threads_flag(Flags& f) {
  f.add("threads", "0", "threads for the learned optimizer's LSTM; 0 = one per core (results do not depend on it)");
}
inline void apply_threads_flag(const Flags& f) { set_num_threads(bounded(f, "threads", 0, 256)); }

inline void add_net_flags(Flags& f) {
  f.add("layers", "2", "LSTM layers of the learned optimizer (0: a linear map of the gradient)");
  f.add("hidden", "20", "LSTM units per layer");
  f.add("preprocess", "auto", "none, logsign (Appendix A) or adamnorm (RNNprop: m/sqrt(v), g/sqrt(v)); auto = the paper's: none for quadratic/simple, logsign otherwise");
  f.add("p", "10", "logsign parameter p (paper 10; authors' code 5)");
  f.add("out-scale", "auto", "output scale; auto = the paper's: 1 for quadratic/simple/art, 0.1 otherwise (authors' code 0.01)");
  f.add("cell", "fused", "LSTM cell implementation: fused or composed (the readable reference)");
  // Beyond the paper (tasks/learned_optimizer.h, tasks/optimizees/scaled_task.h); off by default.
  f.add("gac", "0", "global averaging cells per LSTM layer (the paper's information sharing); 0 = off");
  f.add("adam-beta1", "0.9", "--preprocess adamnorm (RNNprop, Lv et al. 2017): decay of the first moment");
  f.add("adam-beta2", "0.999", "--preprocess adamnorm: decay of the second moment");
  f.add("random-scale", "0", "s: each training problem's f times exp(U(-s, s)) (RNNprop's random scaling); 0 = off");
}

// --random-scale, checked with the other flags (the wrapper is tasks/optimizees/scaled_task.h).
inline double random_scale_flag(const Flags& f) {
  double s = f.number("random-scale");
  if (!std::isfinite(s) || s < 0 || s > 20)
    throw std::invalid_argument("flag --random-scale must be in [0, 20] (0 = off), got " + f.str("random-scale"));
  return s;
}

// The value of flag --`flag`, "a,b,c" -> {"a", "b", "c"}; "" -> {} (an empty list). An empty
// item ("a,,b", "a,b,", ",") is an error naming the flag: it is a typo, not a value.
inline std::vector<std::string> comma_list(const std::string& s, const std::string& flag) {
  std::vector<std::string> v;
  if (s.empty()) return v;
  for (size_t start = 0;;) {
    size_t comma = s.find(',', start);
    v.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (v.back().empty()) throw std::invalid_argument("flag --" + flag + " has an empty item in '" + s + "' (items are separated by single commas)");
    if (comma == std::string::npos) return v;
    start = comma + 1;
  }
}

inline std::vector<int> parse_ints(const std::string& s, const char* flag) {
  std::vector<int> v;
  for (const std::string& item : comma_list(s, flag)) {
    char* end = nullptr;
    long x = std::strtol(item.c_str(), &end, 10);
    if (*end || x <= 0 || x > 1000000)
      throw std::invalid_argument(std::string("flag --") + flag + " expects positive integers separated by commas, got '" + s + "'");
    v.push_back((int)x);
  }
  return v;
}

// The net described by the flags; "auto" means paper_net_config(task) (tasks/learned_optimizer.h).
inline NetConfig net_config(const Flags& f) {
  NetConfig c = paper_net_config(f.str("task"));
  c.layers = bounded(f, "layers", 0, 8);
  c.hidden = bounded(f, "hidden", 1, 1024);
  if (f.str("preprocess") != "auto") c.preprocess = f.str("preprocess");
  c.p = f.number("p");
  if (f.str("out-scale") != "auto") c.out_scale = f.number("out-scale");
  if (f.str("cell") != "fused" && f.str("cell") != "composed")
    throw std::invalid_argument("--cell expects fused or composed, got '" + f.str("cell") + "'");
  c.fused = f.str("cell") == "fused";
  c.gac = bounded(f, "gac", 0, 1024);
  c.beta1 = f.number("adam-beta1");
  c.beta2 = f.number("adam-beta2");
  c.check("flag --");
  return c;
}

// --verbose, shared by train and eval: the configuration on the screen too (it is always saved).
inline void add_verbose_flag(Flags& f) {
  f.add_bool("verbose", false, "also print every setting at the start (they are always saved in OUT/config.txt)");
}

// The configuration at the start: every line with --verbose, else one line saying where it is.
inline void print_config(const std::string& cmd, const std::string& text, const Flags& f) {
  if (f.boolean("verbose")) std::printf("%s", text.c_str());
  else std::printf("# l2l %s: every setting is saved in %s/config.txt (--verbose prints them here)\n", cmd.c_str(), f.str("out").c_str());
}

// "name = value" lines, printed at start (--verbose) and saved as config.txt.
inline std::string config_text(const std::string& cmd, const Flags& f) {
  std::string s = "# l2l " + cmd + "\n";
  for (auto& [k, v] : f.all()) s += k + " = " + v + "\n";
  return s;
}

}  // namespace l2l
