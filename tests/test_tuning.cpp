// test_tuning.cpp: the self-widening learning-rate search of tasks/tuning.h.
// search_lr on score functions whose optimum is known (a parabola in log10(lr), so the best grid
// point is the one nearest its vertex c): interior best -> no widening; best at the low or high
// edge -> one decade at a time until interior; the bounds -> stops and flags the edge; +inf and
// NaN scores (diverged runs). Then tune_lr on the real simple task f = x^2, where SGD's final loss
// after T steps is (1 - 2 lr)^(2T), so the best rate and the overflowing ones are known by hand.
#include <cmath>
#include <limits>
#include <stdexcept>

#include "doctest/doctest.h"
#include "nn/optim.h"
#include "tasks/optimizees/optimizees.h"
#include "tasks/tuning.h"

using namespace l2l;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Score (log10 lr - c)^2; counts its calls so tests can check each rate is run once.
struct Parabola {
  double c;
  int* calls;
  double operator()(double lr) const {
    ++*calls;
    double d = std::log10(lr) - c;
    return d * d;
  }
};

bool near(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::fabs(b); }

}  // namespace

TEST_CASE("tuning: best inside the grid -> no widening, not at an edge") {
  int calls = 0;
  LrSearch s = search_lr(Parabola{-2.1, &calls}, LrGrid{-4, 1, 3});
  CHECK(s.tried.size() == 16);  // 10^-4 .. 10^1, 3 per decade
  CHECK(calls == 16);
  CHECK(near(s.best_lr, 0.01));
  CHECK(s.widened_low == 0);
  CHECK(s.widened_high == 0);
  CHECK(s.edge == 0);
  CHECK_FALSE(s.at_edge());
  CHECK(s.describe() == "grid 0.0001..10");
}

TEST_CASE("tuning: best at the low edge -> widened a decade at a time until interior") {
  int calls = 0;
  LrSearch s = search_lr(Parabola{-5.4, &calls}, LrGrid{-4, 1, 3});
  // Round 1: best 1e-4 (low edge) -> add 10^-4.33 .. 10^-5; best 1e-5 (edge) -> add down to 1e-6.
  CHECK(s.widened_low == 2);
  CHECK(s.widened_high == 0);
  CHECK(near(s.lo, -6));
  CHECK(near(s.hi, 1));
  CHECK(s.tried.size() == 22);
  CHECK(calls == 22);  // only the new points were run
  CHECK(near(s.best_lr, std::pow(10.0, -5 - 1.0 / 3)));
  CHECK(s.edge == 0);
  CHECK(s.describe() == "grid 1e-06..10, widened 2 decades down");
  for (size_t i = 1; i < s.tried.size(); i++) CHECK(s.tried[i - 1].lr < s.tried[i].lr);  // sorted by lr
}

TEST_CASE("tuning: best at the high edge -> widened upwards until interior") {
  int calls = 0;
  LrSearch s = search_lr(Parabola{2.4, &calls}, LrGrid{-4, 1, 3});
  CHECK(s.widened_high == 2);  // 10 (edge) -> 100 (edge) -> 1000: best 10^2.33 inside
  CHECK(s.widened_low == 0);
  CHECK(near(s.best_lr, std::pow(10.0, 2 + 1.0 / 3)));
  CHECK(s.edge == 0);
}

TEST_CASE("tuning: the bound reached with the best at an edge is flagged, never silent") {
  int calls = 0;
  SUBCASE("three extra decades at most") {
    LrSearch s = search_lr(Parabola{-20, &calls}, LrGrid{-4, 1, 3});
    CHECK(s.widened_low == 3);
    CHECK(near(s.best_lr, 1e-7));
    CHECK(s.edge == -1);
    CHECK(s.at_edge());
    CHECK(s.describe() == "grid 1e-07..10, widened 3 decades down; best rate at the grid's low edge: not a true optimum");
  }
  SUBCASE("never below 1e-8, even with more extra decades allowed") {
    LrGrid g{-4, 1, 3};
    g.max_extra_decades = 10;
    LrSearch s = search_lr(Parabola{-20, &calls}, g);
    CHECK(s.widened_low == 4);
    CHECK(near(s.best_lr, 1e-8));
    CHECK(s.edge == -1);
  }
  SUBCASE("never above 1e3") {
    LrSearch s = search_lr(Parabola{20, &calls}, LrGrid{-4, 1, 3});
    CHECK(s.widened_high == 2);
    CHECK(near(s.best_lr, 1e3));
    CHECK(s.edge == +1);
    CHECK(s.describe() == "grid 0.0001..1000, widened 2 decades up; best rate at the grid's high edge: not a true optimum");
  }
  SUBCASE("no widening allowed at all") {
    LrGrid g{-4, 1, 3};
    g.max_extra_decades = 0;
    LrSearch s = search_lr(Parabola{-20, &calls}, g);
    CHECK(s.tried.size() == 16);
    CHECK(s.edge == -1);
  }
}

TEST_CASE("tuning: diverged rates (+inf, NaN) never win") {
  SUBCASE("the optimum lies where runs diverge: the best finite rate is chosen, no widening past inf") {
    auto f = [](double lr) { return lr > 0.15 ? kInf : std::pow(std::log10(lr), 2); };
    LrSearch s = search_lr(f, LrGrid{-4, 1, 3});
    CHECK(near(s.best_lr, 0.1));
    CHECK(std::isfinite(s.best_loss));
    CHECK(s.edge == 0);
    CHECK(s.tried.back().loss == kInf);
  }
  SUBCASE("NaN counts as diverged") {
    auto f = [](double lr) { return lr > 0.15 ? std::nan("") : std::pow(std::log10(lr), 2); };
    LrSearch s = search_lr(f, LrGrid{-4, 1, 3});
    CHECK(near(s.best_lr, 0.1));
    CHECK(s.tried.back().loss == kInf);
  }
  SUBCASE("every rate diverges: widened down to the bound and said plainly") {
    LrSearch s = search_lr([](double) { return kInf; }, LrGrid{-4, 1, 3});
    CHECK(s.widened_low == 3);
    CHECK(s.widened_high == 0);
    CHECK(s.best_loss == kInf);
    CHECK(s.at_edge());
    CHECK(s.describe() == "grid 1e-07..10, widened 3 decades down; every rate diverged: no usable rate");
  }
}

TEST_CASE("tuning: bad grids and names are refused") {
  auto task = make_simple_task();
  CHECK_THROWS_AS(search_lr([](double) { return 0.0; }, LrGrid{1, -1, 3}), std::invalid_argument);
  CHECK_THROWS_AS(search_lr([](double) { return 0.0; }, LrGrid{-4, 1, 0}), std::invalid_argument);
  CHECK_THROWS_AS(tune_lr("adamw", *task, 1, 5, LrGrid{}), std::invalid_argument);
  CHECK_THROWS_AS(tune_lr("sgd", *task, 0, 5, LrGrid{}), std::invalid_argument);
}

TEST_CASE("tuning: tune_lr on f = x^2 with SGD, where f_T = (1 - 2 lr)^(2T)") {
  auto task = make_simple_task();
  SUBCASE("start grid 1e-4..1e-2, too low: widened up to 1 and stops at 10^-1/3") {
    LrSearch s = tune_lr("sgd", *task, 2, 10, LrGrid{-4, -2, 3});
    CHECK(s.widened_high == 2);  // 1e-2 (edge) -> 1e-1 (edge) -> 1: best 0.464 (|1 - 0.93|^20 ~ 1e-23)
    CHECK(near(s.best_lr, std::pow(10.0, -1.0 / 3)));
    CHECK(s.edge == 0);
    CHECK(near(s.tried.back().loss, 1.0));  // lr 1: x flips sign each step, f stays 1
  }
  SUBCASE("lr 10 overflows to +inf in 300 steps (19^600): never chosen, widened down from lr 1") {
    LrSearch s = tune_lr("sgd", *task, 1, 300, LrGrid{0, 1, 1});
    CHECK(s.tried.back().loss == kInf);
    CHECK(s.widened_low == 2);  // 1 (edge) -> 0.1 (edge, 0.8^600) -> 0.01 (0.98^600): best 0.1
    CHECK(near(s.best_lr, 0.1));
    CHECK(s.edge == 0);
  }
}
