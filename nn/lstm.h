// lstm.h: the LSTM of the learned optimizer: a cell (two implementations) and a stack of layers.
//
// The learned optimizer runs one small LSTM on every coordinate of the optimizee at once:
// the N coordinates (e.g. 15,910 for the MNIST net) are the batch axis, the weights are shared,
// and each coordinate keeps its own (h, c). One step of one layer, input x (N,I), state
// h, c (N,H), weights W (I+H, 4H), bias b (4H), gate order i, f, g, o along the 4H axis:
//
//   (1) z  = [x, h] W + b                  (N, 4H): one GEMM for all four gates
//   (2) i  = sigmoid(z[:, 0H:1H])          input gate
//   (3) f  = sigmoid(z[:, 1H:2H])          forget gate
//   (4) g  = tanh   (z[:, 2H:3H])          cell candidate
//   (5) o  = sigmoid(z[:, 3H:4H])          output gate
//   (6) c' = f * c + i * g                 new cell state
//   (7) h' = o * tanh(c')                  new hidden state (the layer's output)
//
// Backward, with dh' = dL/dh', dc' = dL/dc' (what lstm_cell_fused computes by hand):
//   (8)  dct = dc' + dh' o (1 - tanh^2 c')            total gradient reaching c'
//   (9)  dz_i = dct g i (1-i)    dz_f = dct c f (1-f)    dz_g = dct i (1-g^2)    dz_o = dh' tanh(c') o (1-o)
//   (10) dc += dct f
//   (11) dW += [x,h]^T dz    db += sum over rows of dz    [dx, dh] += dz W^T
//
// Initialization (our choice, documented): W ~ truncated normal with std 1/sqrt(I+H) and
// b = 0 except the forget block b[H:2H] = 1, so that at the start a cell keeps most of its
// state (f ~ sigmoid(1) = 0.73). This follows the defaults of Sonnet v1 (as we read its
// source), which the DeepMind code used: truncated-normal weights with that std, zero bias,
// and a constant forget_bias = 1 added inside the sigmoid. Storing the 1 in b gives the same
// function and, since b enters additively, the same gradients. (Sonnet orders the gates
// i, g, f, o; ours is i, f, g, o.)
//
// Is not: a sequence API (the caller steps it, one optimizee step at a time), peepholes, or
// the output layer that turns h into an update (that is a Linear, in the optimizer).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "nn/module.h"
#include "nn/rng.h"

namespace l2l {

struct LSTMCellOutput {
  Var h, c;  // h' and c', each (N, H)
};

// The reference: equations (1)-(7) written with existing ops (concat, matmul, add, slice,
// sigmoid, tanh, mul). Sixteen nodes per step; every backward comes from those ops.
LSTMCellOutput lstm_cell_composed(Var x, Var h, Var c, Var W, Var b);

// The same function as ONE op with the hand-written backward (8)-(11): it records c' (parents x,
// h, c, W, b) and then h' (parents c' and the same five), and returns those two nodes (no copies
// of either state). h''s backward does all of (8)-(11) and stores the total dL/dc' into c''s
// adjoint; c''s own backward runs only in sweeps that do not reach h' (see lstm.cpp).
// The tape's hot loop (meta-training runs the same block kernels, nn/lstm_rows.h, without a
// tape: tasks/fused_window.h). The N rows are cut into blocks run on the thread pool
// (autodiff/parallel.h); per block, forward: one GEMM [x, h, 1] [W; b] for the four gates, then
// flat vectorized passes for the nonlinearities and the state update, while the block is in
// L2; backward: one pass for dz, then the GEMMs for dx, dh and the block's part of [dW; db]
// (every product by gemm_small, autodiff/blas.h). It saves the gate activations and tanh(c')
// for backward ([x, h, 1] is gathered again from the parents' values). The parts of dW and db
// are added in block order: bit-identical results for any thread count. Sigmoid and tanh use
// exp_poly (nn/fastmath.h) rather than std::exp; in double they agree with the composed cell
// to about 1e-15.
LSTMCellOutput lstm_cell_fused(Var x, Var h, Var c, Var W, Var b);

// Floating-point operations of the GEMM (1) for one step of one layer: 2 N (I+H) 4H.
// The backward costs about twice that (two GEMMs of the same size). A 2-layer stack costs
// lstm_flops(N, I, H) + lstm_flops(N, H, H).
inline double lstm_flops(int N, int I, int H) { return 2.0 * N * (I + H) * 4.0 * H; }

// Rows per block of the fused cell, at most (see lstm.cpp for the measurement behind the
// default, and for how N is cut into an even number of blocks). The block size, not the thread
// count, fixes the order of the dW and db sums: results are the same bits for any number of
// threads, and may differ in the last bits for another block size.
void set_lstm_block_rows(int rows);
int lstm_block_rows();

// One stack of LSTM layers: layer 0 reads x (N, I), layer l > 0 reads layer l-1's new h.
struct LSTMState {
  std::vector<Tensor> h, c;  // one (N, H) tensor per layer
  LSTMState() = default;
  LSTMState(int layers, int N, int H);  // all zeros: the state at the first optimizee step

  // Put the state on a tape as constants (no gradient flows into an initial state), filling
  // h and c with one Var per layer: what LSTM::forward takes.
  void to_tape(Tape& tape, std::vector<Var>& h, std::vector<Var>& c) const;
  // Copy the values of Vars out of a tape (stop-gradient: the truncated-BPTT boundary).
  static LSTMState from_vars(const std::vector<Var>& h, const std::vector<Var>& c);
};

class LSTM : public Module {
 public:
  LSTM() = default;
  // Params: name + ".<l>.w" ((in_l + H), 4H) and name + ".<l>.b" (4H), in_0 = input, in_l = H.
  LSTM(int input, int hidden, int layers, Rng& rng, const std::string& name = "lstm", bool fused = true);

  // One time step of every layer: h[l], c[l] (Vars on x's tape, one per layer) are replaced by
  // the new states; returns the top layer's new h (N, H). W and b are read from `src`
  // (nn/module.h), or bound to `tape`. `after_layer` (if given) maps each layer's new h before
  // anything reads it (the next layer now, the same layer at the next step): the learned
  // optimizer's global averaging cells.
  using LayerMap = std::function<Var(Var)>;
  Var forward(Var x, std::vector<Var>& h, std::vector<Var>& c, ParamSource& src, const LayerMap& after_layer = nullptr);
  Var forward(Tape& tape, Var x, std::vector<Var>& h, std::vector<Var>& c, const LayerMap& after_layer = nullptr) {
    BoundParams own(tape);
    return forward(x, h, c, own, after_layer);
  }
  std::vector<Param*> params() override;
  LSTMState zero_state(int N) const { return LSTMState(layers(), N, hidden); }
  int layers() const { return (int)W.size(); }

  int input = 0, hidden = 0;
  bool fused = true;           // lstm_cell_fused (fast) or lstm_cell_composed (reference)
  std::vector<Param> W, b;     // per layer; never resized after construction (tapes hold pointers)
};

}  // namespace l2l
