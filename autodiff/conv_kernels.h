// conv_kernels.h: the inner loops of stride-1 conv2d (ops_conv.cpp), vectorized over channels,
// and the naive reference convolution they are tested against.
//
// Is: two kernels on zero-padded planes, each sum in one fixed order (the same bits at any
// thread count, given the same calls):
//   chan_conv_rows  out[o, r, j] (+)= sum_{c, ki, kj} wT[c, ki, kj, o] in[c, r + ki, j + kj]
//                   (the forward, and dx as the same product on the padded dy)
//   chan_dw_add     dwT[c, ki, kj, o] += sum_{i, j} dyT[i, j, o] in[c, i + ki, j + kj]
// with one vector register holding `Bytes` bytes of consecutive output channels o (16 floats
// in a 512-bit register): no horizontal sums, no work on junk columns. Both vector widths are
// compiled everywhere (a 64-byte vector on a machine without AVX-512 is two 256-bit halves);
// ops_conv.cpp uses kConvBytes, the tests check both against the reference.
// Channel-inner layouts (wT, dyT) are padded to kChanPad channels with zeros, whatever the width.
// Is not: strided or dilated convolution (the reference covers strides; the kernels do not).
#pragma once
#include <cstddef>

#include "real.h"

namespace l2l {

#ifdef __AVX512F__
constexpr int kConvBytes = 64;
#else
constexpr int kConvBytes = 32;
#endif
constexpr int kChanPad = 64 / sizeof(real);  // channel-inner rows are padded to this many
inline int chan_padded(int n) { return (n + kChanPad - 1) / kChanPad * kChanPad; }

// C planes of Hp x Wp, `plane` = Hp Wp apart (zero padding already in place).
struct PaddedPlanes {
  const real* data;
  int C, Hp, Wp;
};

// Output rows r = 0 .. rows - 1, columns j = 0 .. Wo - 1, of channels o = 0 .. O - 1:
//   v = sum over c < in.C, ki < K, kj < K of wT[((c K + ki) K + kj) Op + o] in[c, r + ki, j + kj]
// (in the order c, ki, kj), Op = chan_padded(O), wT zero for o >= O. Stored at
// out[o plane + r Wo + j] as v + bias[o] (bias may be null), or added to it when `add`.
template <int Bytes>
void chan_conv_rows(const PaddedPlanes& in, int K, const real* wT, int O, int rows, int Wo, const real* bias,
                    bool add, real* out, size_t plane);

// dwT[((c K + ki) K + kj) Op + o] += sum over i < Ho, j < Wo (in that order) of
// dyT[(i Wo + j) Op + o] in[c, i + ki, j + kj], for c < in.C and all o < Op (dw channel-inner:
// whole vector adds, no scatter; the lanes o >= O stay zero, as dyT's are).
template <int Bytes>
void chan_dw_add(const PaddedPlanes& in, int K, const real* dyT, int O, int Ho, int Wo, real* dwT);

// dyT[p Op + o] = dy[o P + p] for p < P, o < O; zero for O <= o < Op.
void to_channel_inner(const real* dy, int O, int P, real* dyT);

// ---- the reference: the definition in plain loops (any stride and padding) -----------------
//
// y[n, o, i, j] = b[o] + sum_{c, ki, kj} w[o, c, ki, kj] x[n, c, i s - p + ki, j s - p + kj]
// x (N, C, H, W), w (O, C, K, K), y (N, O, Ho, Wo); sums in double.
void conv_naive_forward(const real* x, const real* w, const real* b, int N, int C, int H, int W, int O, int K,
                        int stride, int pad, real* y);
// Given dy (N, O, Ho, Wo): dx = dL/dx, dw = dL/dw, db = dL/db (each written, not added; any
// may be null).
void conv_naive_backward(const real* x, const real* w, const real* dy, int N, int C, int H, int W, int O, int K,
                         int stride, int pad, real* dx, real* dw, real* db);

}  // namespace l2l
