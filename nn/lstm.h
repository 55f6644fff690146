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
#include <cstdint>
#include <string>
#include <type_traits>
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

// The same function as ONE op with the hand-written backward (8)-(11): it records a node
// holding [h' | c'] (N, 2H) and returns its two column blocks (each a cheap copy node). This
// is the hot loop of the project. Forward: one GEMM for the four gates, then flat vectorized
// passes for the nonlinearities and the state update; it saves [x, h], the gate activations
// and tanh(c') for backward. Backward: one pass for dz, then three accumulating GEMMs.
// Sigmoid and tanh are computed with exp_poly below rather than std::exp; in double they
// agree with the composed cell to about 1e-15.
LSTMCellOutput lstm_cell_fused(Var x, Var h, Var c, Var W, Var b);

// Floating-point operations of the GEMM (1) for one step of one layer: 2 N (I+H) 4H.
// The backward costs about twice that (two GEMMs of the same size). A 2-layer stack costs
// lstm_flops(N, I, H) + lstm_flops(N, H, H).
inline double lstm_flops(int N, int I, int H) { return 2.0 * N * (I + H) * 4.0 * H; }

// exp(x) by range reduction and a polynomial, written so that a loop over it vectorizes:
// std::exp is an opaque libm call that costs ~4 ns per element here, which made the
// nonlinearities of the cell several times slower than its GEMM. Method (Cephes-style):
// x = n ln2 + r with n an integer and |r| <= ln2/2; exp(r) by its Taylor series (degree 7 in
// float, 13 in double: truncation error well below half an ulp); 2^n built in the exponent bits.
// Inputs are clamped to about [-87, 88] (float) or [-708, 709] (double), so the result is a
// finite normal number; NaN stays NaN. Max relative error measured against std::exp: 7.5e-8 in
// float, 2.2e-16 in double (tests/test_nn.cpp checks both).
template <class T, int Degree>
struct InvFactorials {  // c[k] = 1 / k!, computed at compile time
  T c[Degree + 1];
  constexpr InvFactorials() : c() {
    double f = 1;
    for (int k = 0; k <= Degree; k++) c[k] = T(1 / (f *= (k ? k : 1)));
  }
};

template <class T>
inline T exp_poly(T x) {
  constexpr bool F = std::is_same<T, float>::value;
  using Int = typename std::conditional<F, int32_t, int64_t>::type;
  constexpr T lo = F ? T(-87) : T(-708), hi = F ? T(88) : T(709);
  constexpr T log2e = T(1.4426950408889634);
  // ln 2 split in two so that n * ln2_hi is exact: r keeps its precision.
  constexpr T ln2_hi = F ? T(0.693359375) : T(0.693147180369123816490);
  constexpr T ln2_lo = F ? T(-2.12194440e-4) : T(1.90821492927058770002e-10);
  // Adding then subtracting 1.5 * 2^(mantissa bits) rounds to the nearest integer (in the
  // default rounding mode) and, unlike std::floor without -ffast-math, vectorizes.
  constexpr T round_magic = F ? T(12582912.0) : T(6755399441055744.0);
  constexpr int degree = F ? 7 : 13;
  static constexpr InvFactorials<T, degree> taylor{};

  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  T n = (x * log2e + round_magic) - round_magic;  // nearest integer to x / ln2
  T r = (x - n * ln2_hi) - n * ln2_lo;            // x - n ln2, |r| <= ln2 / 2
  T p = taylor.c[degree];                         // exp(r), Horner
  for (int k = degree - 1; k >= 0; k--) p = p * r + taylor.c[k];
  n = n == n ? n : 0;  // NaN input: keep the int conversion defined (p is NaN, so is the result)
  Int bits = (Int(n) + (F ? 127 : 1023)) << (F ? 23 : 52);  // 2^n: biased exponent, zero mantissa
  return p * __builtin_bit_cast(T, bits);
}

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
  // (nn/module.h), or bound to `tape`.
  Var forward(Var x, std::vector<Var>& h, std::vector<Var>& c, ParamSource& src);
  Var forward(Tape& tape, Var x, std::vector<Var>& h, std::vector<Var>& c) {
    BoundParams own(tape);
    return forward(x, h, c, own);
  }
  std::vector<Param*> params() override;
  LSTMState zero_state(int N) const { return LSTMState(layers(), N, hidden); }
  int layers() const { return (int)W.size(); }

  int input = 0, hidden = 0;
  bool fused = true;           // lstm_cell_fused (fast) or lstm_cell_composed (reference)
  std::vector<Param> W, b;     // per layer; never resized after construction (tapes hold pointers)
};

}  // namespace l2l
