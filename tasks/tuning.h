// tuning.h: the learning-rate search for the baselines, on a log grid that widens itself when
// the best rate sits at an edge.
//
// A grid 10^lo .. 10^hi with `per_decade` points per decade cannot tell whether its best rate is
// an optimum when that rate is the grid's lowest or highest: the loss may keep falling past the
// edge. So after trying the grid, while the best rate is at an edge, tune_lr adds ONE decade
// beyond that edge (per_decade new points, only the new ones are run) and looks again. It stops
// when the best rate is interior, or when the next decade would cross a bound:
//   - at most `max_extra_decades` (default 3) decades added on each side, and
//   - never below 10^min_exp = 1e-8 nor above 10^max_exp = 1e3 (rates beyond these are
//     meaningless for SGD/NAG/RMSprop/Adam on these tasks: 1e-8 barely moves theta in a few
//     hundred steps, 1e3 diverges at once). A starting grid already beyond them is kept as given.
// If the search stops on a bound with the best rate still at an edge, LrSearch::at_edge says so:
// that rate is the best TRIED, not a true optimum, and the report must say it.
//
// Scoring: the mean over `problems` validation problems (ProblemId::val(i), tasks/task.h) of the
// claim's score, final_score (tasks/evaluate.h): the mean f over the last 10 steps. A run that goes non-finite scores +inf, so its rate is never chosen
// over a finite one. Ties go to the smaller rate (an all-diverged grid so widens downwards).
//
// Not here: which optimizers to tune, writing results.json (apps/l2l_eval.cpp does both).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace l2l {

struct LrGrid {
  double lo = -4, hi = 1;      // exponents: rates 10^lo .. 10^hi
  int per_decade = 3;          // points per decade (both ends included)
  int max_extra_decades = 3;   // widening bound per side, in decades
  double min_exp = -8, max_exp = 3;  // absolute widening bounds, as exponents
};

struct LrTrial {
  double lr = 0;
  double loss = 0;  // mean final_score on the validation problems; +inf if a run went non-finite
};

struct LrSearch {
  double best_lr = 0, best_loss = 0;
  std::vector<LrTrial> tried;       // every rate run, sorted by lr
  double lo = 0, hi = 0;            // exponents of the final grid's ends
  int widened_low = 0, widened_high = 0;  // decades added below lo / above hi of the start grid
  int edge = 0;                     // -1: best is the final grid's lowest rate, +1 its highest, 0 interior
  bool at_edge() const { return edge != 0; }
  // One line for summaries and the report, e.g.
  //   "grid 1e-04..10, widened 2 decades up to 1e+03; best rate at the grid's high edge: not a true optimum"
  std::string describe() const;
};

// The search itself, on any score function loss_of(lr) (+inf = diverged). tune_lr plugs in the
// validation runs; tests plug in functions whose optimum they know.
LrSearch search_lr(const std::function<double(double lr)>& loss_of, const LrGrid& grid);

// Tunes baseline `name` (make_optimizer's names) on `problems` validation problems of `task`,
// `steps` steps each. Throws std::invalid_argument for a bad grid or name. `after_rate(k)` (if
// given) is called after the k-th rate was tried (progress reporting).
LrSearch tune_lr(const std::string& name, const Task& task, int problems, int steps, const LrGrid& grid,
                 const std::function<void(int)>& after_rate = nullptr);

}  // namespace l2l
