// fused_window.h: a truncated-BPTT window and an evaluation step of the learned optimizer
// without a tape, for the paper's kind of net (an LSTM of fused cells, no global averaging
// cells): the functions of unroll_window (tasks/meta_train.h) and of LearnedOptimizer::step,
// the same numbers up to rounding, in a shape of computation that is several times faster.
//
// Why a window's backward needs no tape. Over U steps the meta-loss is L = sum_t f(theta_t)
// with theta_t+1 = theta_t + u_t, and the optimizee's gradient g_t enters the net as a
// constant (the paper's second-order-free assumption). So, per coordinate,
//   (W1) dL/du_t = sum_{s=t+1..U} g_s =: a_t              a running sum, from the last step back
// and the rest of the backward is per coordinate too: the read-out (3) of
// tasks/learned_optimizer.h, then each layer's cell (8)-(11) of nn/lstm.h, from step U-1 back to
// step 0, with dh and dc carried from a step to the one before. The coordinates are cut into
// blocks of rows (nn/lstm_rows.h), and one parallel pass runs the whole backward of a block:
// all U steps, every layer and the read-out, while the block's dh and dc stay in L2.
// phi's gradient: each block sums its steps' parts in double, then the blocks' sums are added
// in block order, so any thread count gives the same bits.
// The forward must go step by step (g_t+1 depends on every coordinate's u_t); a step is one
// parallel pass over the blocks (every layer, the read-out and theta += u), storing what the
// backward reads: the inputs x_t, the states, the gates [i f g o] and tanh(c') of each layer.
//
// Is not: the definition. unroll_window records the same window on a tape and stays the
// reference; tests/test_fused_window.cpp compares the two. Nets with global averaging cells
// (they mix rows), with no LSTM layer, or with composed cells run on the tape.
#pragma once
#include "tasks/learned_optimizer.h"
#include "tasks/meta_train.h"

namespace l2l {

// Every net of `opt` is an LSTM (layers >= 1) of fused cells without global averaging cells.
bool fused_window_supported(LearnedOptimizer& opt);

// unroll_window without a tape: advances the trajectory by U steps, adds dL/dphi into the
// Params' grads and returns L. Requires fused_window_supported(opt); U >= 1.
double unroll_window_fused(LearnedOptimizer& opt, Trajectory& tr, int U, bool include_start);

// Whether a window's forward keeps the gates and tanh(c') of every step for the backward
// (default), or keeps only the states and recomputes them there: one more forward GEMM per
// step and layer, against writing and reading back 100 of the 140 floats a row stores per
// layer and step. The same bits either way (the recomputation is the same arithmetic).
void set_window_store_gates(bool store);

// One evaluation step off the tape: advances `st` in place (nothing is stored for a backward)
// and returns the update (N) for the flat gradient `grad` (N). Requires fused_window_supported.
Tensor fused_update(LearnedOptimizer& opt, OptimizerState& st, const Tensor& grad);

}  // namespace l2l
