// progress.h: the one progress line of the long-running commands (l2l train, l2l eval).
//
// On a terminal: a bar redrawn in place, "[#####     ] 12/40 <what> ETA 31s". Otherwise (a
// log file, CI): a plain line at most every 10 s and at the end, so logs stay readable.
// The ETA comes from the recent rate (RecentRate: the last 32 updates), not from the time since
// the start, so a slow first step or a pause (validation between epochs, loading data) does not
// throw it off for the rest of the run.
// Is not: a logger (results and summaries go to stdout; progress goes to stderr).
#pragma once
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <string>

namespace l2l {

// Units per second over the last `window` updates: (done, seconds) pairs as they come.
class RecentRate {
 public:
  explicit RecentRate(size_t window = 32) : window_(window) {}
  void add(long done, double seconds) {
    points_.push_back({done, seconds});
    if (points_.size() > window_ + 1) points_.pop_front();
  }
  // Seconds to finish `total` units at the recent rate; -1 (unknown) until two updates are apart.
  double eta(long total) const {
    if (points_.size() < 2) return -1;
    const auto &a = points_.front(), &b = points_.back();
    if (b.second <= a.second || b.first <= a.first) return -1;
    return std::max(0L, total - b.first) * (b.second - a.second) / (b.first - a.first);
  }

 private:
  size_t window_;
  std::deque<std::pair<long, double>> points_;
};

class Progress {
 public:
  Progress(long total, bool quiet = false) : total_(std::max(total, 1L)), quiet_(quiet) {}

  // `done` of the total units are finished; `what` says what is happening now.
  void show(long done, const std::string& what) {
    if (quiet_) return;
    double el = elapsed();
    rate_.add(done, el);
    const double eta = done < total_ ? rate_.eta(total_) : 0;  // the total may be an estimate
    char eta_text[32] = "?";
    if (eta >= 0) std::snprintf(eta_text, sizeof eta_text, "%.0fs", eta);
    if (tty_) {
      int w = 30, fill = (int)(w * std::min(done, total_) / total_);
      std::fprintf(stderr, "\r[%.*s%*s] %ld/%ld %s ETA %s \033[K", fill, "##############################", w - fill, "",
                   done, total_, what.c_str(), eta_text);
      open_line_ = true;
    } else if (el - last_line_ >= 10 || done == total_) {
      last_line_ = el;
      std::fprintf(stderr, "  %ld/%ld %s, %.0fs elapsed, ETA %s\n", done, total_, what.c_str(), el, eta_text);
    }
  }
  // Ends the bar's line so that the next message starts on a line of its own.
  void end_line() {
    if (open_line_) std::fprintf(stderr, "\n");
    open_line_ = false;
  }
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  long total_;
  bool quiet_, tty_ = isatty(2), open_line_ = false;
  double last_line_ = -1e9;
  RecentRate rate_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace l2l
