// bench.h: the table of `make bench`: a row is a name, the FLOPs of one call and the call; it is
// timed (median wall and CPU time, page faults) at 1 and at 2 threads and printed with its
// GFLOP/s and its percentages of this run's sgemm and of this run's FP32 FMA peak. apps/bench.cpp and apps/bench_art.h add rows.
// Is not: a test (no row can fail) or a profiler.
#pragma once
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autodiff/parallel.h"
#include "nn/lstm.h"

namespace l2l {

struct Timing {
  double ms = 0;      // wall time, median of the repetitions
  double cpu = 0;     // CPU time of the process (all threads), median of the repetitions
  double faults = 0;  // minor page faults per repetition (mean)
};

inline double cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

inline long minor_faults() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Median wall time of `reps` calls after one warm-up call, and page faults per call.
inline Timing measure(int reps, const std::function<void()>& fn) {
  fn();
  std::vector<double> t, c;
  long f0 = minor_faults();
  for (int r = 0; r < reps; r++) {
    auto a = std::chrono::steady_clock::now();
    double c0 = cpu_ms();
    fn();
    c.push_back(cpu_ms() - c0);
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  long f1 = minor_faults();
  std::sort(t.begin(), t.end());
  std::sort(c.begin(), c.end());
  return {t[t.size() / 2], c[c.size() / 2], double(f1 - f0) / reps};
}

// One row: a name, the FLOPs of one call (0: not counted) and the call itself.
struct Row {
  std::string name;
  double flops;  // per unit
  int reps;
  std::function<void()> fn;
  int units = 1;  // units of work per call: the row prints time per unit (e.g. 5 windows of one problem)
};

inline double g_sgemm[3];    // GFLOP/s at 1 and 2 OpenBLAS threads (index = threads)
inline double g_peak[3];     // FP32 FMA peak at the widest vector, GFLOP/s at 1 and 2 threads (0: not yet)
inline int g_only_threads;  // --threads N: measure the rows at N threads only (0: at 1 and at 2)

// Percent of a yardstick, or "-" before it is measured.
inline void print_percent(double gf, double of) {
  if (of > 0)
    std::printf(" %6.0f%%", 100 * gf / of);
  else
    std::printf(" %7s", "-");
}

inline void print_header() {
  std::printf("%-44s | %-54s | %-54s | %s\n", "", "1 thread", "2 threads", "2t/1t");
  std::printf("%-44s | %9s %7s %8s %7s %7s %9s | %9s %7s %8s %7s %7s %9s | %s\n", "row", "ms", "cpu ms", "GFLOP/s",
              "%sgemm", "%peak", "faults/it", "ms", "cpu ms", "GFLOP/s", "%sgemm", "%peak", "faults/it", "wall");
}

inline void print_row(const std::string& name, double flops, const Timing (&t)[3]) {
  std::printf("%-44s |", name.c_str());
  for (int th = 1; th <= 2; th++) {
    if (t[th].ms == 0) {  // not measured (--threads)
      std::printf(" %9s %7s %8s %7s %7s %9s |", "-", "-", "-", "-", "-", "-");
    } else if (flops > 0) {
      double gf = flops / (t[th].ms * 1e6);
      std::printf(" %9.3f %7.2f %8.1f", t[th].ms, t[th].cpu, gf);
      print_percent(gf, g_sgemm[th]);
      print_percent(gf, g_peak[th]);
      std::printf(" %9.1f |", t[th].faults);
    } else {
      std::printf(" %9.3f %7.2f %8s %7s %7s %9.1f |", t[th].ms, t[th].cpu, "-", "-", "-", t[th].faults);
    }
  }
  if (t[1].ms > 0 && t[2].ms > 0)
    std::printf(" %.2fx\n", t[1].ms / t[2].ms);
  else
    std::printf(" -\n");
}

inline void run_row(const Row& r) {
  Timing t[3];
  for (int th = 1; th <= 2; th++) {
    if (g_only_threads && th != g_only_threads) continue;
    set_num_threads(th);
    t[th] = measure(r.reps, r.fn);
    t[th].ms /= r.units, t[th].cpu /= r.units, t[th].faults /= r.units;
  }
  print_row(r.name, r.flops, t);
}

const int kH = 20, kI = 2;  // the learned optimizer's 2x20 LSTM with logsign input

// FLOPs of U steps of the 2x20 LSTM forward and backward over n coordinates.
inline double lstm_window_flops(int n, int U) { return 3.0 * U * (lstm_flops(n, kI, kH) + lstm_flops(n, kH, kH)); }

}  // namespace l2l
