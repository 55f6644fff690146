// ops.h: every differentiable operation of the engine, with its shapes (but one: the fused LSTM
// cell, which lives beside the LSTM in nn/lstm.h).
//
// Each op computes its value now (eager), records a node on the tape of its first input,
// and keeps its backward right beside the forward in the .cpp file named in each section.
// Shape mistakes throw std::invalid_argument naming the op and the shapes, e.g.
//   "[matmul] a (3,4) and b (5,2): inner sizes 4 and 5 differ".
//
// Broadcasting (add, sub, mul, div) follows numpy: shapes are aligned on the right and a
// dimension of size 1 (or a missing one) is repeated. So (N,D) op (D) is a row broadcast,
// (N,D) op (N,1) a column broadcast and (N,D) op (1) a scalar.
#pragma once
#include <vector>

#include "tape.h"

namespace l2l {

// ---- elementwise, binary, broadcasting (ops_elementwise.cpp) ---------------------------
Var add(Var a, Var b);   // a + b
Var sub(Var a, Var b);   // a - b
Var mul(Var a, Var b);   // a * b
Var div(Var a, Var b);   // a / b
Var scale(Var x, real c);       // c * x
Var add_scalar(Var x, real c);  // x + c

// ---- elementwise, unary (ops_elementwise.cpp) ------------------------------------------
Var neg(Var x);
Var exp(Var x);
Var log(Var x);                      // x > 0
Var sqrt(Var x);                     // x > 0
Var square(Var x);
Var pow(Var x, real p);              // x^p (x > 0 unless p is a whole number)
Var abs(Var x);                      // d/dx = sign(x), 0 at 0
Var clamp(Var x, real lo, real hi);  // d/dx = 1 strictly inside (lo, hi), else 0
Var sigmoid(Var x);
Var tanh(Var x);
Var relu(Var x);                     // d/dx = 1 for x > 0, else 0
Var softplus(Var x);                 // log(1 + e^x), stable for large |x|

// ---- reductions and shape (ops_shape.cpp) -----------------------------------------------
Var sum(Var x);                                   // -> (1)
Var mean(Var x);                                  // -> (1)
Var sum(Var x, int axis, bool keepdim = false);   // drops `axis` (or keeps it as size 1)
Var mean(Var x, int axis, bool keepdim = false);
Var reshape(Var x, const Shape& s);               // same number of elements
Var transpose(Var x);                             // (M,N) -> (N,M)
Var slice(Var x, int axis, int start, int end);   // x[..., start:end, ...] along axis
Var concat(const std::vector<Var>& xs, int axis); // all shapes equal except along axis
// h (n,H) with its first `cols` columns replaced by their mean over the n rows (summed in row
// order, in double): the learned optimizer's global averaging cells (tasks/learned_optimizer.h
// (4)). Backward: the same map on dy. 0 <= cols <= H.
Var global_average_cols(Var h, int cols);

// ---- matrix products and losses (ops_matmul.cpp) ----------------------------------------
// op(a) op(b) with op = transpose when the flag is set; op(a) is (M,K), op(b) is (K,N).
Var matmul(Var a, Var b, bool trans_a = false, bool trans_b = false);
// Mean over the N rows of -log softmax(logits)[label]; logits (N,C), labels in [0,C).
// Fused and stable (subtracts the row max).
Var softmax_cross_entropy(Var logits, const std::vector<int>& labels);

// ---- convolution (ops_conv.cpp), pooling and batch norm (ops_pool_bn.cpp) ---------------
// x (N,C,Hh,Ww), w (O,C,K,K), b (O) or an invalid Var for no bias -> (N,O,Ho,Wo) with
// Ho = (Hh + 2 pad - K) / stride + 1. Cross-correlation (no kernel flip), zero padding.
Var conv2d(Var x, Var w, Var b, int stride = 1, int pad = 0);
// k x k windows moved by `stride` (default k); no padding, windows must fit.
Var max_pool2d(Var x, int k, int stride = 0);
Var avg_pool2d(Var x, int k, int stride = 0);
// Batch normalization with batch statistics (training mode). x (N,C,Hh,Ww) normalizes each
// channel over N,Hh,Ww; x (N,D) normalizes each feature over N. gamma, beta: (C) or (D).
Var batch_norm(Var x, Var gamma, Var beta, real eps = 1e-5);
// relu(batch_norm(x, gamma, beta, eps)) as one op (the same bits, one pass less each way).
Var batch_norm_relu(Var x, Var gamma, Var beta, real eps = 1e-5);
// max_pool2d(batch_norm_relu(x, gamma, beta, eps), k) as one op, k x k windows at stride k,
// x (N,C,Hh,Ww) -> (N,C,Hh/k,Ww/k): nothing full-size written, backward over the pooled outputs.
Var batch_norm_relu_max_pool(Var x, Var gamma, Var beta, int k, real eps = 1e-5);

// ---- gradient stopping for meta-training (ops_frozen.cpp) ------------------------------
// A loss whose value and gradient were computed elsewhere (by an oracle, on another tape):
// value (1) = f, and backward adds dy * grad into theta (N). So d/dtheta is exactly `grad` at
// this theta, with no second-order term: the paper's d grad / d phi = 0, and none of the
// optimizee's graph on this tape. theta.size() must equal grad.size().
Var frozen_loss(Var theta, real f, Tensor grad);

// ---- operators --------------------------------------------------------------------------
inline Var operator+(Var a, Var b) { return add(a, b); }
inline Var operator-(Var a, Var b) { return sub(a, b); }
inline Var operator*(Var a, Var b) { return mul(a, b); }
inline Var operator/(Var a, Var b) { return div(a, b); }
inline Var operator-(Var a) { return neg(a); }
inline Var operator+(Var a, real c) { return add_scalar(a, c); }
inline Var operator+(real c, Var a) { return add_scalar(a, c); }
inline Var operator-(Var a, real c) { return add_scalar(a, -c); }
inline Var operator-(real c, Var a) { return add_scalar(neg(a), c); }
inline Var operator*(Var a, real c) { return scale(a, c); }
inline Var operator*(real c, Var a) { return scale(a, c); }
inline Var operator/(Var a, real c) { return scale(a, 1 / c); }
inline Var operator/(real c, Var a) { return scale(pow(a, -1), c); }

// Shape of a numpy-style broadcast of a and b; throws naming `op` if they do not broadcast.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);

}  // namespace l2l
