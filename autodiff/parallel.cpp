// parallel.cpp: the worker pool behind parallel_for. See parallel.h for the contract.
//
// One job at a time, all of its bookkeeping under one mutex (a claim is a few tens of
// nanoseconds; a block is tens of microseconds or more). The caller publishes (fn, blocks) and
// bumps `generation`; then the caller and whichever workers are awake claim block indices one
// at a time until none are left, and the caller returns once every claimed block is done. The
// caller never waits for a worker that has not woken up yet (on a busy machine that can take
// milliseconds): it just runs the blocks itself. A waiting worker spins for a short while
// (jobs come every few tens of microseconds in the LSTM) and then sleeps, so an idle pool costs
// nothing.
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <immintrin.h>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "blas.h"

namespace l2l {

namespace {

constexpr int kSpins = 2000;  // ~50 us of _mm_pause before a waiting thread sleeps

thread_local bool t_inside_block = false;  // nested parallel_for runs serially

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; i++) workers_.emplace_back([this] { worker_loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
      generation_++;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void run(int blocks, const std::function<void(int)>& fn) {
    std::unique_lock<std::mutex> l(m_);
    fn_ = &fn;
    blocks_ = blocks;
    next_ = done_ = 0;
    done_atomic_.store(0);
    error_ = nullptr;
    generation_++;
    l.unlock();
    wake_.notify_all();
    l.lock();
    work(l);
    if (done_ != blocks_) {  // workers still finish their last blocks: spin a little, then sleep
      l.unlock();
      for (int s = 0; s < kSpins && done_atomic_.load(std::memory_order_acquire) != blocks; s++) _mm_pause();
      l.lock();
      all_done_.wait(l, [&] { return done_ == blocks_; });
    }
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Claim and run blocks of the current job until none are left. Called with the lock held;
  // runs each block unlocked. Remembers the first exception.
  void work(std::unique_lock<std::mutex>& l) {
    while (fn_ && next_ < blocks_) {
      int b = next_++;
      const std::function<void(int)>* fn = fn_;
      l.unlock();
      std::exception_ptr e;
      t_inside_block = true;
      try {
        (*fn)(b);
      } catch (...) {
        e = std::current_exception();
      }
      t_inside_block = false;
      l.lock();
      if (e && !error_) error_ = e;
      done_atomic_.store(++done_, std::memory_order_release);
      if (done_ == blocks_) all_done_.notify_one();
    }
  }

  void worker_loop() {
    unsigned seen = 0;
    std::unique_lock<std::mutex> l(m_);
    for (;;) {
      if (generation_.load() == seen) {
        l.unlock();
        for (int s = 0; s < kSpins && generation_.load(std::memory_order_acquire) == seen; s++) _mm_pause();
        l.lock();
        wake_.wait(l, [&] { return generation_.load() != seen; });
      }
      if (stop_) return;
      seen = generation_.load();
      work(l);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable wake_, all_done_;
  std::atomic<unsigned> generation_{0};  // written under m_; read without it while spinning
  std::atomic<int> done_atomic_{0};      // copy of done_ for the caller's spin
  bool stop_ = false;
  const std::function<void(int)>* fn_ = nullptr;  // null between jobs
  int blocks_ = 0, next_ = 0, done_ = 0;
  std::exception_ptr error_;
};

int g_threads = 0;  // 0: not chosen yet (all cores)
std::unique_ptr<Pool> g_pool;

int all_cores() { return std::max(1u, std::thread::hardware_concurrency()); }

Pool& pool() {
  if (!g_pool) {
    set_blas_threads(1);
    g_pool = std::make_unique<Pool>(g_threads > 0 ? g_threads : all_cores());
  }
  return *g_pool;
}

}  // namespace

void set_num_threads(int n) {
  int want = n > 0 ? n : all_cores();
  set_blas_threads(1);
  if (g_threads == want && g_pool) return;
  g_pool.reset();  // joins the old workers
  g_threads = want;
}

int num_threads() { return g_threads > 0 ? g_threads : all_cores(); }

void parallel_for(int blocks, const std::function<void(int)>& fn) {
  if (blocks <= 0) return;
  if (blocks == 1 || t_inside_block || num_threads() == 1) {
    for (int b = 0; b < blocks; b++) fn(b);
    return;
  }
  pool().run(blocks, fn);
}

}  // namespace l2l
