// tests/fuzz/train_state_seed.h — the optimizer and flags that fuzz_train_state resumes with,
// and the training state make_seeds writes for it (so the seed and the target always agree).
// What it is not: a test fixture of the doctest suite.
#pragma once
#include <string>

#include "nn/optim.h"
#include "tasks/learned_optimizer.h"
#include "tasks/run/train_state.h"

namespace l2l_fuzz {

// A small net (1 layer of 4 units, logsign, 1 averaging cell): about 120 numbers of phi.
inline l2l::NetConfig net() {
  l2l::NetConfig c;
  c.layers = 1, c.hidden = 4, c.preprocess = "logsign", c.gac = 1;
  return c;
}

inline l2l::Settings settings() { return {{"task", "quadratic"}, {"epochs", "2"}, {"gac", "1"}, {"curriculum", ""}}; }

// A run's files after two epochs (Adam has taken one step), in dir; returns train_state.ckpt.
inline std::string write_state(const std::string& dir) {
  l2l::LearnedOptimizer opt({net()}, 8);
  l2l::Adam adam(1e-3);
  std::vector<l2l::Param*> phi = opt.params();
  for (l2l::Param* p : phi) p->grad = l2l::Tensor::full(p->value.shape(), 0.5f);
  l2l::step_params(adam, phi);
  l2l::MetaState st;
  st.next_epoch = 2, st.problems_used = 40, st.scored_untrained = true;
  st.untrained_val = 1.5, st.best_val = 0.75, st.best_epoch = 1;
  st.train_history = {1.25, 0.5}, st.val_history = {1.0, 0.75};
  for (l2l::Param* p : phi) st.best_phi.emplace_back(p->name, p->value);
  l2l::save_run_files(dir, opt, adam, st, settings(), "");
  return dir + "/train_state.ckpt";
}

}  // namespace l2l_fuzz
