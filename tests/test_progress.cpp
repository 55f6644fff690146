// test_progress.cpp: the progress line's ETA (tasks/run/progress.h) comes from the recent rate.
#include "doctest/doctest.h"
#include "tasks/run/progress.h"

using namespace l2l;

TEST_CASE("progress: the ETA follows the recent rate, not the time since the start") {
  RecentRate r(4);
  CHECK(r.eta(100) < 0);  // unknown before two updates
  r.add(1, 50.0);         // a first update after a long pause (validation, loading data)
  CHECK(r.eta(100) < 0);
  for (int k = 2; k <= 6; k++) r.add(k, 50.0 + (k - 1));  // then one unit per second
  CHECK(r.eta(100) == doctest::Approx(94.0));           // 94 units left at 1/s, the pause forgotten
  // From the start it would have been 56 s / 6 units: 878 s for the 94 left.
  r.add(6, 60.0);          // no progress since: the window's rate drops, never divides by zero
  CHECK(r.eta(100) > 94.0);
  CHECK(r.eta(6) == 0);    // done
}
