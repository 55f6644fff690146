// conv_kernels.cpp: the channel-vectorized stride-1 conv kernels of conv_kernels.h, and the
// naive reference convolution (forward and backward in plain loops) the tests hold them to.
//
// Why channels as the vector axis: the CIFAR net's convolutions all have 16 output channels,
// exactly one 512-bit register of floats. With a vector of output channels per output pixel,
//   forward  acc[t] += w[k, o:o+L] * x[pixel t shifted by k]    (a vector times a broadcast)
//   dw       acc[k] += dy[pixel, o:o+L] * x[pixel shifted by k]
// each FMA's scalar comes straight from memory as an embedded broadcast, no lane ever needs
// to be summed with another (the dot products over pixels that the pixel-vectorized dw had to
// reduce horizontally), and only real output pixels are computed (no junk columns of a padded
// grid). Tiles: T output pixels of one row in registers for the forward (T = 16, 8, ... 1);
// all K K kernel entries of one input channel for dw (K = 5: 25 accumulators). With floats in
// 512 bits, 16 x 16 blocks are transposed in registers (dy to channel-inner, forward tiles to
// channel rows).
// Is not: the blocking over images and threads (ops_conv.cpp), or strided convolution.
#include "conv_kernels.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace l2l {

namespace {

// GCC's predictive commoning (-O3) sees that x[j + b + 1] at one step is x[j + b'] at the next
// and carries those scalars across iterations in spilled registers; the embedded broadcasts
// from memory it replaces are free. Off for the two tiles, whose loops are then loads and FMAs
// only (it also keeps them out of line: one call per tile).
#define L2L_NO_COMMONING __attribute__((optimize("no-predictive-commoning")))

template <int Bytes>
struct Lanes {
  typedef real Vec __attribute__((vector_size(Bytes)));
  static constexpr int n = Bytes / sizeof(real);
  static Vec load(const real* p) {  // unaligned
    Vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
};

// r[a][b] -> r[b][a] for a 16 x 16 block, one row per 16-lane vector (floats in 512 bits): pairs
// of rows interleaved, then pairs of pairs (each 4-lane group k of r[4 i + j] then holds rows
// 4i .. 4i+3 of column 4 k + j), then the 4 x 4 grid of 4-lane groups transposed. Each step is
// one two-register permute.
typedef real V16 __attribute__((vector_size(16 * sizeof(real))));
inline void transpose16(V16 r[16]) {
  V16 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = __builtin_shufflevector(r[2 * i], r[2 * i + 1], 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
    t[2 * i + 1] = __builtin_shufflevector(r[2 * i], r[2 * i + 1], 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31);
  }
  for (int i = 0; i < 8; i++) {  // pairs (t[4q], t[4q + 2]) and (t[4q + 1], t[4q + 3])
    const int x = 4 * (i / 2) + i % 2, y = x + 2, out = 4 * (i / 2) + 2 * (i % 2);
    r[out] = __builtin_shufflevector(t[x], t[y], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    r[out + 1] = __builtin_shufflevector(t[x], t[y], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  }
  for (int j = 0; j < 4; j++) {
    const V16 u0 = __builtin_shufflevector(r[j], r[4 + j], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const V16 u1 = __builtin_shufflevector(r[j], r[4 + j], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    const V16 u2 = __builtin_shufflevector(r[8 + j], r[12 + j], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const V16 u3 = __builtin_shufflevector(r[8 + j], r[12 + j], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    t[j] = __builtin_shufflevector(u0, u2, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
    t[4 + j] = __builtin_shufflevector(u0, u2, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    t[8 + j] = __builtin_shufflevector(u1, u3, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
    t[12 + j] = __builtin_shufflevector(u1, u3, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  }
  for (int k = 0; k < 16; k++) r[k] = t[k];  // t[4 q + j] is row 4 q + j of the transpose
}
constexpr bool kTranspose16 = kConvBytes == 64 && sizeof(real) == 4;  // 16 x 16 blocks in registers

// ---- forward (and dx): T output pixels of one row, L output channels -----------------------
//
// acc[t][o] = sum_{c, ki, kj} w[(c K + ki) K + kj][o] x0[c plane + ki Wp + kj + t], with w rows
// `wstep` apart and x0 the input at (channel 0, row r, column j0): per (c, ki, kj) one vector load
// of w and T FMAs, each with its x broadcast from memory.
template <int Bytes, int T>
L2L_NO_COMMONING inline void conv_tile(const PaddedPlanes& in, int K, const real* w, size_t wstep, const real* x0,
                      typename Lanes<Bytes>::Vec* out) {
  typedef typename Lanes<Bytes>::Vec Vec;
  Vec acc[T] = {};
  const size_t plane = (size_t)in.Hp * in.Wp;
  for (int c = 0; c < in.C; c++)
    for (int ki = 0; ki < K; ki++) {
      const real* xr = x0 + c * plane + (size_t)ki * in.Wp;
      const real* wr = w + (size_t)((c * K + ki) * K) * wstep;
      for (int kj = 0; kj < K; kj++) {
        const Vec wv = Lanes<Bytes>::load(wr + kj * wstep);
        for (int t = 0; t < T; t++) acc[t] += wv * xr[kj + t];
      }
    }
  for (int t = 0; t < T; t++) out[t] = acc[t];
}

// Writes (or adds) a tile: channels [o0, o0 + n) of T pixels starting at out + j0 of row r.
template <int Bytes, int T>
inline void store_tile(const typename Lanes<Bytes>::Vec* acc, int o0, int n, const real* bias, bool add, real* out,
                       size_t plane) {
  if (kTranspose16 && Lanes<Bytes>::n == 16 && T == 16 && n == 16) {  // channel rows as vectors
    V16 r[16];
    std::memcpy(r, acc, sizeof r);
    transpose16(r);
    for (int l = 0; l < 16; l++) {
      real* o = out + (size_t)(o0 + l) * plane;
      V16 v;
      std::memcpy(&v, o, sizeof v);
      v = add ? v + r[l] : r[l] + (bias ? bias[o0 + l] : real(0));
      std::memcpy(o, &v, sizeof v);
    }
    return;
  }
  real v[T][Lanes<Bytes>::n];
  std::memcpy(v, acc, sizeof v);
  for (int l = 0; l < n; l++) {
    real* o = out + (size_t)(o0 + l) * plane;
    if (add) {
      for (int t = 0; t < T; t++) o[t] += v[t][l];
    } else {
      const real b = bias ? bias[o0 + l] : real(0);
      for (int t = 0; t < T; t++) o[t] = v[t][l] + b;
    }
  }
}

template <int Bytes, int T>
void conv_pixels(const PaddedPlanes& in, int K, const real* wT, int O, int r, int j0, const real* bias, bool add,
                 real* out, size_t plane, int Wo) {
  constexpr int L = Lanes<Bytes>::n;
  const size_t Op = chan_padded(O);
  typename Lanes<Bytes>::Vec acc[T];
  for (int o0 = 0; o0 < O; o0 += L) {
    conv_tile<Bytes, T>(in, K, wT + o0, Op, in.data + (size_t)r * in.Wp + j0, acc);
    store_tile<Bytes, T>(acc, o0, std::min(L, O - o0), bias, add, out + (size_t)r * Wo + j0, plane);
  }
}

}  // namespace

template <int Bytes>
void chan_conv_rows(const PaddedPlanes& in, int K, const real* wT, int O, int rows, int Wo, const real* bias,
                    bool add, real* out, size_t plane) {
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < Wo;) {
      const int left = Wo - j;
      if (left >= 16) {
        conv_pixels<Bytes, 16>(in, K, wT, O, r, j, bias, add, out, plane, Wo), j += 16;
      } else if (left >= 8) {
        conv_pixels<Bytes, 8>(in, K, wT, O, r, j, bias, add, out, plane, Wo), j += 8;
      } else if (left >= 4) {
        conv_pixels<Bytes, 4>(in, K, wT, O, r, j, bias, add, out, plane, Wo), j += 4;
      } else {
        conv_pixels<Bytes, 1>(in, K, wT, O, r, j, bias, add, out, plane, Wo), j += 1;
      }
    }
}

namespace {

// ---- dw: KI x KJ kernel entries of one input channel, L output channels ---------------------
//
// acc[a KJ + b][o] = sum_{i, j} dyT[(i Wo + j) Op + o] xc[(i + a) Wp + j + b], xc the channel's
// plane at (ki0, kj0): per pixel one vector load of dy and KI KJ FMAs with x broadcast.
template <int Bytes, int KI, int KJ>
L2L_NO_COMMONING inline void dw_tile(const real* xc, int Wp, const real* dyT, size_t Op, int Ho, int Wo,
                    typename Lanes<Bytes>::Vec* out) {
  typedef typename Lanes<Bytes>::Vec Vec;
  Vec acc[KI * KJ] = {};
  for (int i = 0; i < Ho; i++) {
    const real* xr = xc + (size_t)i * Wp;
    const real* d = dyT + (size_t)i * Wo * Op;
    for (int j = 0; j < Wo; j++) {
      const Vec dv = Lanes<Bytes>::load(d + j * Op);
      for (int a = 0; a < KI; a++)
        for (int b = 0; b < KJ; b++) acc[a * KJ + b] += dv * xr[(size_t)a * Wp + j + b];
    }
  }
  for (int k = 0; k < KI * KJ; k++) out[k] = acc[k];
}

// dwT[((c K + ki0 + a) K + kj0 + b) Op + o] += tile entry (a, b) for all channel vectors o0:
// whole vectors (lanes >= O are sums of dyT's zero padding: zeros).
template <int Bytes, int KI, int KJ>
void dw_entries(const PaddedPlanes& in, int K, const real* dyT, int O, int Ho, int Wo, int c, int ki0, int kj0,
                real* dwT) {
  typedef typename Lanes<Bytes>::Vec Vec;
  constexpr int L = Lanes<Bytes>::n;
  const size_t Op = chan_padded(O);
  const real* xc = in.data + (size_t)c * in.Hp * in.Wp + (size_t)ki0 * in.Wp + kj0;
  Vec acc[KI * KJ];
  for (int o0 = 0; o0 < O; o0 += L) {
    dw_tile<Bytes, KI, KJ>(xc, in.Wp, dyT + o0, Op, Ho, Wo, acc);
    for (int a = 0; a < KI; a++)
      for (int b = 0; b < KJ; b++) {
        real* to = dwT + ((size_t)(c * K + ki0 + a) * K + kj0 + b) * Op + o0;
        Vec v = Lanes<Bytes>::load(to) + acc[a * KJ + b];
        std::memcpy(to, &v, sizeof v);
      }
  }
}

}  // namespace

template <int Bytes>
void chan_dw_add(const PaddedPlanes& in, int K, const real* dyT, int O, int Ho, int Wo, real* dwT) {
  for (int c = 0; c < in.C; c++) {
    if (K == 5) {
      dw_entries<Bytes, 5, 5>(in, K, dyT, O, Ho, Wo, c, 0, 0, dwT);
    } else if (K == 3) {
      dw_entries<Bytes, 3, 3>(in, K, dyT, O, Ho, Wo, c, 0, 0, dwT);
    } else {
      for (int ki = 0; ki < K; ki++)
        for (int kj = 0; kj < K; kj++) dw_entries<Bytes, 1, 1>(in, K, dyT, O, Ho, Wo, c, ki, kj, dwT);
    }
  }
}

template void chan_conv_rows<32>(const PaddedPlanes&, int, const real*, int, int, int, const real*, bool, real*, size_t);
template void chan_conv_rows<64>(const PaddedPlanes&, int, const real*, int, int, int, const real*, bool, real*, size_t);
template void chan_dw_add<32>(const PaddedPlanes&, int, const real*, int, int, int, real*);
template void chan_dw_add<64>(const PaddedPlanes&, int, const real*, int, int, int, real*);

void to_channel_inner(const real* dy, int O, int P, real* dyT) {
  const int Op = chan_padded(O);
  int p0 = 0;
  if (kTranspose16 && O % 16 == 0)  // whole 16 x 16 blocks, then the last pixels below
    for (; p0 + 16 <= P; p0 += 16)
      for (int o0 = 0; o0 < O; o0 += 16) {
        V16 r[16];
        for (int a = 0; a < 16; a++) std::memcpy(&r[a], dy + (size_t)(o0 + a) * P + p0, sizeof r[a]);
        transpose16(r);
        for (int t = 0; t < 16; t++) std::memcpy(dyT + (size_t)(p0 + t) * Op + o0, &r[t], sizeof r[t]);
      }
  for (int p = p0; p < P; p++) {
    real* row = dyT + (size_t)p * Op;
    for (int o = 0; o < O; o++) row[o] = dy[(size_t)o * P + p];
    std::fill(row + O, row + Op, real(0));
  }
}

// ---- the reference ------------------------------------------------------------------------

void conv_naive_forward(const real* x, const real* w, const real* b, int N, int C, int H, int W, int O, int K,
                        int stride, int pad, real* y) {
  const int Ho = (H + 2 * pad - K) / stride + 1, Wo = (W + 2 * pad - K) / stride + 1;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++)
      for (int i = 0; i < Ho; i++)
        for (int j = 0; j < Wo; j++) {
          double s = b ? b[o] : 0;
          for (int c = 0; c < C; c++)
            for (int ki = 0; ki < K; ki++)
              for (int kj = 0; kj < K; kj++) {
                const int h = i * stride - pad + ki, v = j * stride - pad + kj;
                if (h >= 0 && h < H && v >= 0 && v < W)
                  s += (double)w[((o * C + c) * K + ki) * K + kj] * x[(((size_t)n * C + c) * H + h) * W + v];
              }
          y[(((size_t)n * O + o) * Ho + i) * Wo + j] = (real)s;
        }
}

void conv_naive_backward(const real* x, const real* w, const real* dy, int N, int C, int H, int W, int O, int K,
                         int stride, int pad, real* dx, real* dw, real* db) {
  const int Ho = (H + 2 * pad - K) / stride + 1, Wo = (W + 2 * pad - K) / stride + 1;
  std::vector<double> gx(dx ? (size_t)N * C * H * W : 0), gw(dw ? (size_t)O * C * K * K : 0), gb(db ? O : 0);
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++)
      for (int i = 0; i < Ho; i++)
        for (int j = 0; j < Wo; j++) {
          const double d = dy[(((size_t)n * O + o) * Ho + i) * Wo + j];
          if (db) gb[o] += d;
          for (int c = 0; c < C; c++)
            for (int ki = 0; ki < K; ki++)
              for (int kj = 0; kj < K; kj++) {
                const int h = i * stride - pad + ki, v = j * stride - pad + kj;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const size_t xi = (((size_t)n * C + c) * H + h) * W + v, wi = ((o * C + c) * K + ki) * K + kj;
                if (dx) gx[xi] += d * w[wi];
                if (dw) gw[wi] += d * x[xi];
              }
        }
  for (size_t i = 0; i < gx.size(); i++) dx[i] = (real)gx[i];
  for (size_t i = 0; i < gw.size(); i++) dw[i] = (real)gw[i];
  for (size_t i = 0; i < gb.size(); i++) db[i] = (real)gb[i];
}

}  // namespace l2l
