// tasks.h: the tasks the programs know, by name (--task): each entry builds its Task from the
// task flags of apps/common.h, checking every value and naming its flag (the flags before the
// data is looked for, so a mistyped value is reported even where the data is missing).
// Is not: the tasks themselves (tasks/optimizees/optimizees.h).
#pragma once
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/common.h"
#include "tasks/data/data.h"
#include "tasks/optimizees/optimizees.h"

namespace l2l {

inline std::unique_ptr<Task> quadratic_from_flags(const Flags& f) {
  QuadraticOptions o;
  o.batch = bounded(f, "quad-batch", 1, 100000);
  o.dims = bounded(f, "quad-dims", 1, 1000);
  if ((long)o.batch * o.dims * o.dims > 100000000L)
    throw std::invalid_argument("--quad-batch x --quad-dims^2 is over 1e8 numbers for W: choose smaller values");
  o.dm_variant = f.boolean("quad-dm");
  return make_quadratic_task(o);
}

inline std::unique_ptr<Task> mnist_from_flags(const Flags& f) {
  MnistOptions o;
  o.hidden = parse_ints(f.str("mnist-hidden"), "mnist-hidden");
  for (int h : o.hidden)
    if (h > 10000) throw std::invalid_argument("flag --mnist-hidden: layer sizes must be at most 10000, got " + std::to_string(h));
  o.data_dir = find_data_dir(f.str("data"), "mnist");
  o.activation = f.str("mnist-act");
  o.batch = bounded(f, "mnist-batch", 1, 60000);
  if (f.str("mnist-init") != "dm" && f.str("mnist-init") != "glorot")
    throw std::invalid_argument("--mnist-init expects dm or glorot, got '" + f.str("mnist-init") + "'");
  o.dm_init = f.str("mnist-init") == "dm";
  return make_mnist_task(o);
}

inline std::unique_ptr<Task> cifar_from_flags(const Flags& f) {
  CifarOptions o;
  for (const std::string& item : comma_list(f.str("cifar-labels"), "cifar-labels")) {
    if (item.size() != 1 || item[0] < '0' || item[0] > '9')
      throw std::invalid_argument("flag --cifar-labels expects labels 0..9 separated by commas, got '" + f.str("cifar-labels") + "'");
    o.labels.push_back(item[0] - '0');
  }
  o.data_dir = find_data_dir(f.str("data"), "cifar10");
  o.batch = bounded(f, "cifar-batch", 1, 50000);
  return make_cifar_task(o);
}

// --art-weights alpha,beta,gamma into o (empty: the documented defaults).
inline void art_weights_from_flag(const Flags& f, ArtOptions& o) {
  std::vector<std::string> w = comma_list(f.str("art-weights"), "art-weights");
  if (w.empty()) return;
  if (w.size() != 3) throw std::invalid_argument("flag --art-weights expects alpha,beta,gamma, got '" + f.str("art-weights") + "'");
  double* dst[3] = {&o.alpha, &o.beta, &o.gamma};
  for (int i = 0; i < 3; i++) {
    char* end = nullptr;
    *dst[i] = std::strtod(w[i].c_str(), &end);
    if (*end || !(*dst[i] >= 0) || !std::isfinite(*dst[i]))
      throw std::invalid_argument("flag --art-weights expects three numbers >= 0, got '" + f.str("art-weights") + "'");
  }
}

inline std::unique_ptr<Task> art_from_flags(const Flags& f) {
  ArtOptions o;
  o.data_dir = find_data_dir(f.str("data"), "art");
  o.size = bounded(f, "art-size", 4, 1024);
  if (o.size % 4) throw std::invalid_argument("flag --art-size must be a multiple of 4, got " + std::to_string(o.size));
  o.style = f.str("art-style");
  art_weights_from_flag(f, o);
  std::string start = f.str("art-start");
  if (start != "content" && start != "grey")
    throw std::invalid_argument("flag --art-start expects content or grey, got '" + start + "'");
  o.start_from_noise = start == "grey";
  o.init_noise = f.number("art-init-noise");
  if (!std::isfinite(o.init_noise) || o.init_noise > 10 || (o.init_noise < 0 && o.init_noise != -1))
    throw std::invalid_argument("flag --art-init-noise expects a std in 0..10, or -1 for the default, got '" + f.str("art-init-noise") + "'");
  return make_art_task(o);
}

struct TaskEntry {
  std::string name;
  std::function<std::unique_ptr<Task>(const Flags&)> make;
};

inline const std::vector<TaskEntry>& task_registry() {
  static const std::vector<TaskEntry> tasks = {
      {"quadratic", quadratic_from_flags},
      {"simple", [](const Flags&) { return make_simple_task(); }},
      {"mnist", mnist_from_flags},
      {"cifar", cifar_from_flags},
      {"art", art_from_flags},
  };
  return tasks;
}

// The Task named by --task (an unknown name: the closest known one, when close, and the list).
inline std::unique_ptr<Task> make_task(const Flags& f) {
  std::string names;
  std::vector<std::string> known;
  for (const TaskEntry& t : task_registry()) {
    if (t.name == f.str("task")) return t.make(f);
    names += (names.empty() ? "" : ", ") + t.name;
    known.push_back(t.name);
  }
  throw std::invalid_argument("unknown --task '" + f.str("task") + "'" + did_you_mean(f.str("task"), known) +
                              " (expected one of: " + names + ")");
}

}  // namespace l2l
