// parallel.h: a tiny pool of worker threads for loops over independent blocks of work.
//
//   set_num_threads(2);
//   parallel_for(blocks, [&](int b) { ... work on block b only ... });
//
// Determinism is the caller's side of the contract and the reason for the shape of the API:
// the work is cut into blocks whose boundaries do NOT depend on the thread count, each block
// writes only its own outputs (or its own partial sums), and any reduction over blocks is done
// afterwards, by the caller, in block order. Then which thread ran which block cannot change a
// single bit of the result (tests/test_parallel.cpp checks 1 vs 2 threads, memcmp-exact).
//
// OpenBLAS is kept single-threaded (set at the first use of the pool and by set_num_threads):
// our blocks are the parallelism, and OpenBLAS threads that spin while waiting for work cost
// more system time than they save on these small products.
//
// std::threads rather than OpenMP: the pool is 100 readable lines, needs no compiler flag, and
// its waiting policy is ours (spin briefly, then sleep), so idle workers do not burn the core
// that other processes on this shared machine need.
//
// Is not: a task graph, work stealing, or nestable (a parallel_for called from inside a block
// runs serially on that thread).
#pragma once
#include <functional>

namespace l2l {

// n <= 0: one thread per core (std::thread::hardware_concurrency). The calling thread counts
// as one of them. Also sets OpenBLAS to one thread.
void set_num_threads(int n);
int num_threads();

// fn(0) .. fn(blocks - 1), each exactly once, spread over the pool; returns when all are done.
// The first exception thrown by a block is rethrown here (the other blocks still run).
void parallel_for(int blocks, const std::function<void(int block)>& fn);

}  // namespace l2l
