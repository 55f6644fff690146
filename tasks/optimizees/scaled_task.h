// scaled_task.h: random scaling of the optimizee during meta-training (RNNprop: Lv, Jiang & Li
// 2017, "Learning Gradient Descent: Better Generalization and Longer Horizons"), as a Task
// wrapper around any Task. Off unless l2l train gets --random-scale s > 0.
//
// Each TRAINING problem's objective is multiplied by its own constant
//   f_c(theta) = c f(theta),   c = exp(u),  u ~ U(-s, s)     (so grad f_c = c grad f)
// drawn from the problem's seed (a stream of its own: the function, theta_0 and the minibatches
// are the unscaled problem's). The learned optimizer then meets gradients of many scales while
// it trains, instead of the one scale of the training task. Which variant: RNNprop scales the
// optimizee's PARAMETERS (f(c theta), started at theta_0 / c); we scale the objective, the
// simpler of the two, which changes the gradient's scale (c) and the curvature's (c) alike.
// Only training problems are scaled: validation and test problems (the early-stopping score and
// every reported curve) are the wrapped task's, unchanged: ProblemId::split tells them apart.
//
// Is not: a change to meta-training (tasks/meta_train.* is unaware of it) or to the task's problems.
#pragma once
#include <memory>

#include "tasks/task.h"

namespace l2l {

// c for problem `id`: 1 for validation and test problems, and for s = 0.
double random_scale_factor(const ProblemId& id, double s);

// The problem `inner` with f multiplied by c (every other part forwarded unchanged).
std::unique_ptr<Problem> scale_problem(std::unique_ptr<Problem> inner, double c);

// `inner` with its training problems scaled as above. s must be finite and in [0, 20]
// (std::invalid_argument naming --random-scale otherwise). s = 0 returns problems untouched.
std::unique_ptr<Task> make_randomly_scaled_task(std::unique_ptr<Task> inner, double s);

}  // namespace l2l
