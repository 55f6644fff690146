// progress.h: the one progress line of the long-running commands (l2l train, l2l eval).
//
// On a terminal: a bar redrawn in place, "[#####     ] 12/40 <what> ETA 31s". Otherwise (a
// log file, CI): a plain line at most every 10 s and at the end, so logs stay readable.
// Is not: a logger (results and summaries go to stdout; progress goes to stderr).
#pragma once
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace l2l {

class Progress {
 public:
  Progress(long total, bool quiet = false) : total_(std::max(total, 1L)), quiet_(quiet) {}

  // `done` of the total units are finished; `what` says what is happening now.
  void show(long done, const std::string& what) {
    if (quiet_) return;
    double el = elapsed();
    double eta = done && done < total_ ? el / done * (total_ - done) : 0;  // the total may be an estimate
    if (tty_) {
      int w = 30, fill = (int)(w * std::min(done, total_) / total_);
      std::fprintf(stderr, "\r[%.*s%*s] %ld/%ld %s ETA %.0fs \033[K", fill, "##############################", w - fill, "",
                   done, total_, what.c_str(), eta);
      open_line_ = true;
    } else if (el - last_line_ >= 10 || done == total_) {
      last_line_ = el;
      std::fprintf(stderr, "  %ld/%ld %s, %.0fs elapsed, ETA %.0fs\n", done, total_, what.c_str(), el, eta);
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
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace l2l
