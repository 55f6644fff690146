// test_parallel.cpp: the thread pool (autodiff/parallel.h) and the promise built on it, that
// the blocked fused LSTM cell gives the same bits for 1 and for 2 threads (values and every
// gradient, over several steps), and still agrees with the composed cell when N spans many
// blocks with a partial last one.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "autodiff/parallel.h"
#include "helpers.h"
#include "nn/lstm.h"

using namespace l2l;
using namespace l2l::test;

namespace {

// Restores the thread count and block size a test changed.
struct PoolSettings {
  int threads = num_threads(), rows = lstm_block_rows();
  ~PoolSettings() {
    set_num_threads(threads);
    set_lstm_block_rows(rows);
  }
};

// Everything a 2-layer LSTM run produces: the top h of each step, the final states, the
// gradients of the Params and of the inputs and initial states (leaves that require grad).
struct RunResult {
  std::vector<Tensor> out;
};

// `steps` time steps from a nonzero initial state; loss = sum of w_t * h_t over steps with
// fixed random weights (so that every gradient entry is different).
RunResult run_lstm(int N, int I, int H, int steps, bool fused) {
  Rng rng(7);
  LSTM lstm(I, H, 2, rng, "lstm", fused);
  Tape tape;
  std::vector<Var> h, c, leaves;
  for (int l = 0; l < 2; l++) {
    h.push_back(tape.leaf(randn({N, H}, 10 + l, 0.5), true));
    c.push_back(tape.leaf(randn({N, H}, 20 + l, 0.5), true));
    leaves.push_back(h.back());
    leaves.push_back(c.back());
  }
  Var L;
  RunResult r;
  for (int t = 0; t < steps; t++) {
    Var x = tape.leaf(randn({N, I}, 30 + t), true);
    leaves.push_back(x);
    Var top = lstm.forward(tape, x, h, c);
    r.out.push_back(top.value());
    Var term = sum(top * tape.constant(randn({N, H}, 40 + t)));
    L = t ? L + term : term;
  }
  tape.backward(L);
  for (int l = 0; l < 2; l++) r.out.push_back(h[l].value()), r.out.push_back(c[l].value());
  for (Param* p : lstm.params()) r.out.push_back(p->grad);
  for (const Var& v : leaves) r.out.push_back(v.grad());
  return r;
}

}  // namespace

TEST_CASE("parallel_for runs every block exactly once, for 1, 2 and 3 threads") {
  PoolSettings keep;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    CHECK(num_threads() == threads);
    for (int blocks : {0, 1, 2, 7, 100}) {
      std::vector<std::atomic<int>> hits(blocks);
      for (auto& h : hits) h = 0;
      parallel_for(blocks, [&](int b) { hits[b]++; });
      int bad = 0;
      for (auto& h : hits) bad += h.load() != 1;
      CAPTURE(threads);
      CAPTURE(blocks);
      CHECK(bad == 0);
    }
  }
  set_num_threads(0);
  CHECK(num_threads() >= 1);
}

TEST_CASE("parallel_for rethrows a block's exception, and a nested call runs serially") {
  PoolSettings keep;
  set_num_threads(2);
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH_AS(parallel_for(8,
                                    [&](int b) {
                                      ran++;
                                      if (b == 5) throw std::runtime_error("block 5 failed");
                                    }),
                       "block 5 failed", std::runtime_error);
  CHECK(ran == 8);  // the other blocks still ran
  std::atomic<int> inner{0};
  parallel_for(4, [&](int) { parallel_for(3, [&](int) { inner++; }); });
  CHECK(inner == 12);
  CHECK_THROWS_AS(set_lstm_block_rows(0), std::invalid_argument);
}

TEST_CASE("the fused LSTM gives the same bits for 1 and 2 threads (values and every gradient, 3 steps)") {
  PoolSettings keep;
  const int N = 1000, I = 2, H = 20;  // 1000 = 15 blocks of 64 + 40: a partial last block
  set_lstm_block_rows(64);
  set_num_threads(1);
  RunResult one = run_lstm(N, I, H, 3, true);
  set_num_threads(2);
  RunResult two = run_lstm(N, I, H, 3, true);
  REQUIRE(one.out.size() == two.out.size());
  REQUIRE(one.out.size() == 3 + 4 + 4 + 4 + 3);  // outputs, states, Param grads, leaf grads
  for (size_t k = 0; k < one.out.size(); k++) {
    CAPTURE(k);
    CHECK(same_bits(one.out[k], two.out[k]));
  }
  // The gradients are not trivially equal because they are zero.
  CHECK(max_abs_diff(one.out[7], Tensor::zeros(one.out[7].shape())) > 1e-3);
}

TEST_CASE("the blocked fused LSTM agrees with the composed one across many blocks") {
  PoolSettings keep;
  set_num_threads(2);
  for (int rows : {64, 256, 5000}) {  // at most 64 rows (16 blocks), 256 (4), 5000 (2 of 500)
    CAPTURE(rows);
    set_lstm_block_rows(rows);
    RunResult f = run_lstm(1000, 2, 20, 3, true), c = run_lstm(1000, 2, 20, 3, false);
    REQUIRE(f.out.size() == c.out.size());
    for (size_t k = 0; k < f.out.size(); k++) {
      CAPTURE(k);
      CHECK(max_abs_diff(f.out[k], c.out[k]) < 1e-9);
    }
  }
}
