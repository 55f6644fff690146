// ops_conv.cpp: conv2d, the convolution of the CIFAR-10 and Neural Art tasks, forward and
// backward side by side, in parallel over blocks of images (parallel.h), or for a batch of one
// image over blocks of its output rows and input channels. Stride 1 (every conv of the CIFAR
// net and of VGG) runs as direct products on the zero-padded image, vectorized over channels
// (conv_kernels.h; no col matrix); other strides, and dx when pad > K - 1 or with few input
// channels, as im2col + GEMM through OpenBLAS. Pooling and batch norm are in ops_pool_bn.cpp.
//
// Is: NCHW tensors (N images, C channels, Hh x Ww pixels, row-major); backward adds (+=) into
// its parents' buffers; the same bits at any thread count.
// Is not: dilation, groups, non-square kernels.
// Read ops_matmul.cpp first: conv2d is "matmul on rearranged pixels".
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "blas.h"
#include "conv_kernels.h"
#include "ops.h"
#include "parallel.h"

namespace l2l {

static std::string err(const char* op, const std::string& what) { return std::string("[") + op + "] " + what; }

// ---- conv2d -----------------------------------------------------------------------------
//
// y[n, o, i, j] = b[o] + sum_{c, ki, kj} w[o, c, ki, kj] x[n, c, i s - p + ki, j s - p + kj]
// (x read as 0 outside the image: zero padding; s = stride, p = pad).
//
// im2col turns this into a matrix product. Lay the input pixels each output position reads
// out as a column:
//   col[(c K + ki) K + kj, i Wo + j] = x[n, c, i s - p + ki, j s - p + kj]     col is (C K K, Ho Wo)
// Then, with w viewed as the matrix (O, C K K) and y[n] as (O, Ho Wo):
//   y[n] = w col (+ b[o] on row o)
// and backward is two matrix products plus the adjoint of im2col:
//   dw   += dy[n] col^T                (O, Ho Wo) (Ho Wo, C K K)
//   dcol  = w^T dy[n]                  (C K K, O) (O, Ho Wo)
//   dx[n] += col2im(dcol)              every col entry adds back to the pixel it was read from
//   db[o] += sum_{n, i, j} dy[n, o, i, j]
//
// Stride 1 does not build col: the same products read its rows as shifted views of the padded
// image ("direct convolution for stride 1" below). im2col is kept for the other strides.
//
// Blocks of images. The batch is cut into blocks of nb consecutive images, nb chosen from the
// geometry alone (about kBlockColumns output pixels per block: nb = 1 for 32x32 and 16x16
// outputs, 4 for 8x8), never from the thread count; the forward runs blocks in parallel, each
// writing only its own images of y. Backward runs chunks of kChunkImages images in parallel:
// each writes only its own images of dx, and its own partial dw and db (its images added in
// order); the partials are summed afterwards in chunk order, so the result is the same bits at
// any thread count. A batch of one image is cut inside the image ("one image on both cores").
// Scratch buffers are per thread and reused between calls; nothing is saved for backward but
// the inputs, so the tape does not keep K K copies of every input alive for a
// whole unroll.

constexpr int kBlockColumns = 256;  // output pixels per block (a block's col is C K K x this)

struct ConvGeom {
  int N, C, Hh, Ww, O, K, stride, pad, Ho, Wo;
  int rows() const { return C * K * K; }  // col rows: one per (c, ki, kj)
  int cols() const { return Ho * Wo; }    // col columns of one image: one per output pixel
  int block_images() const { return std::max(1, std::min(N, kBlockColumns / cols())); }
  int blocks() const { return (N + block_images() - 1) / block_images(); }
  // Output columns j whose input column j s - p + kj lies inside the image: [*j0, *j1).
  void valid_cols(int kj, int* j0, int* j1) const {
    int lo = pad - kj, hi = Ww + pad - kj;  // need lo <= j s < hi
    *j0 = std::min(Wo, std::max(0, (lo + stride - 1) / stride));
    *j1 = std::max(*j0, std::min(Wo, (hi + stride - 1) / stride));
  }
};

// Fills the columns of output rows [i0, i1) of one image x (C, Hh, Ww): col is (C K K, (i1 - i0) Wo)
// with rows `ld` long, column (i - i0) Wo + j for output pixel (i, j); every entry is written:
// each output row is a zero head, the pixels, a zero tail. (Strides > 1 come here; stride 1
// takes the direct products below.)
static void im2col_rows(const real* x, const ConvGeom& g, int i0, int i1, real* col, int ld) {
  for (int c = 0; c < g.C; c++)
    for (int ki = 0; ki < g.K; ki++)
      for (int kj = 0; kj < g.K; kj++) {
        real* row = col + (size_t)((c * g.K + ki) * g.K + kj) * ld;
        int j0, j1;
        g.valid_cols(kj, &j0, &j1);
        for (int i = i0; i < i1; i++) {
          real* out = row + (size_t)(i - i0) * g.Wo;
          int h = i * g.stride - g.pad + ki;
          if (h < 0 || h >= g.Hh) {
            std::fill_n(out, g.Wo, real(0));
            continue;
          }
          const real* in = x + ((size_t)c * g.Hh + h) * g.Ww + kj - g.pad;
          std::fill_n(out, j0, real(0));
          for (int j = j0; j < j1; j++) out[j] = in[j * g.stride];
          std::fill(out + j1, out + g.Wo, real(0));
        }
      }
}

// The adjoint of im2col for input channels [c0, c1): dx (C, Hh, Ww) += the entries of dcol (rows
// `ld` long, the first row being channel c0's (c0, 0, 0)), each to the pixel it came from. A
// pixel read by several output positions receives the sum; padding entries are dropped. Only
// channels [c0, c1) of dx are written.
static void col2im_add(const real* dcol, const ConvGeom& g, int c0, int c1, int ld, real* dx) {
  for (int c = c0; c < c1; c++)
    for (int ki = 0; ki < g.K; ki++)
      for (int kj = 0; kj < g.K; kj++) {
        const real* row = dcol + (size_t)(((c - c0) * g.K + ki) * g.K + kj) * ld;
        int j0, j1;
        g.valid_cols(kj, &j0, &j1);
        for (int i = 0; i < g.Ho; i++) {
          int h = i * g.stride - g.pad + ki;
          if (h < 0 || h >= g.Hh) continue;
          const real* d = row + (size_t)i * g.Wo;
          real* out = dx + ((size_t)c * g.Hh + h) * g.Ww + kj - g.pad;
          if (g.stride == 1)  // a separate loop the compiler vectorizes
            for (int j = j0; j < j1; j++) out[j] += d[j];
          else
            for (int j = j0; j < j1; j++) out[j * g.stride] += d[j];
        }
      }
}

static ConvGeom conv_geom(const Tensor& X, const Tensor& Wt, const Tensor* B, int stride, int pad) {
  std::string shapes = "x " + shape_str(X.shape()) + " and w " + shape_str(Wt.shape());
  if (X.ndim() != 4 || Wt.ndim() != 4)
    throw std::invalid_argument(err("conv2d", shapes + ": need x (N,C,Hh,Ww) and w (O,C,K,K)"));
  ConvGeom g{X.dim(0), X.dim(1), X.dim(2), X.dim(3), Wt.dim(0), Wt.dim(2), stride, pad, 0, 0};
  if (Wt.dim(1) != g.C)
    throw std::invalid_argument(err("conv2d", shapes + ": input channels " + std::to_string(g.C) + " and " +
                                                  std::to_string(Wt.dim(1)) + " differ"));
  if (Wt.dim(2) != Wt.dim(3)) throw std::invalid_argument(err("conv2d", shapes + ": kernel must be square"));
  if (stride < 1 || pad < 0)
    throw std::invalid_argument(err("conv2d", shapes + ": need stride >= 1 and pad >= 0, got stride " +
                                                  std::to_string(stride) + ", pad " + std::to_string(pad)));
  if (g.K < 1 || g.Hh + 2 * pad < g.K || g.Ww + 2 * pad < g.K)
    throw std::invalid_argument(err("conv2d", shapes + ": kernel larger than the padded image (pad " +
                                                  std::to_string(pad) + ")"));
  if (B && (B->ndim() != 1 || B->dim(0) != g.O))
    throw std::invalid_argument(err("conv2d", shapes + ": bias " + shape_str(B->shape()) + " must be (" +
                                                  std::to_string(g.O) + ")"));
  g.Ho = (g.Hh + 2 * pad - g.K) / stride + 1;
  g.Wo = (g.Ww + 2 * pad - g.K) / stride + 1;
  return g;
}

// ---- direct convolution for stride 1 (conv_kernels.h) ------------------------------------
//
// With the image zero-padded to (C, Hp, Wp), Hp = Hh + 2p, Wp = Ww + 2p, output pixel (i, j)
// reads padded[c, i + ki, j + kj]: the forward is chan_conv_rows on the padded image with the
// weights channel-inner, wT[(c K + ki) K + kj][o] = w[o, c, ki, kj]; dx is the same product on
// the zero-padded dy with the kernel flipped (direct_dx_rows); dw is chan_dw_add with dy
// channel-inner. No col is ever written: the padded image (15-25 KB on CIFAR-10) stays in L1/L2.

// Rows [r0, r0 + Hb) of the zero-padded planes of one image: planes (P, Hh, Ww) padded by p on
// every side (padded row r holds image row r - p), into a (P, Hb, Ww + 2p) buffer. The whole
// padded image is r0 = 0, Hb = Hh + 2p; a block of output rows reads only its window of rows.
static void pad_window(const real* x, int P, int Hh, int Ww, int p, int r0, int Hb, std::vector<real>& buf) {
  const int Wp = Ww + 2 * p;
  buf.assign((size_t)P * Hb * Wp, real(0));
  for (int c = 0; c < P; c++)
    for (int r = 0; r < Hb; r++) {
      const int h = r0 + r - p;
      if (h >= 0 && h < Hh) std::copy_n(x + ((size_t)c * Hh + h) * Ww, Ww, buf.data() + ((size_t)c * Hb + r) * Wp + p);
    }
}

// stride 1 (and, for dx, pad <= K - 1): the direct paths apply, at any depth. VGG's 64- to
// 256-channel 3x3 layers too: measured on the Neural Art step (CPU ms per step at 1 thread),
// 33 ms with im2col + sgemm for the layers deeper than C K K = 512 against 23 ms direct at 64x64,
// 124 against 87 at 128x128. But dx goes through col when it has at most kChanPad / 2 channels
// (its vector axis): VGG's conv1_1 (C = 3) fills 3 of 16 lanes, 0.66 ms forward + dx direct
// against 0.37 with dx through col at 64x64, 3.4 against 1.8 at 128x128.
constexpr int kSmallInner = 32;  // dcol = w^T dy by gemm_small while its inner dimension O <= 32
static bool direct_forward(const ConvGeom& g) { return g.stride == 1; }
static bool direct_dx(const ConvGeom& g) { return direct_forward(g) && g.pad <= g.K - 1 && 2 * g.C > kChanPad; }

// One thread's scratch for a block: columns, dcol, a padded image or window, dy channel-inner.
struct ConvScratch {
  std::vector<real> col, dcol, padded, dyw;
};
static ConvScratch& conv_scratch() {
  thread_local ConvScratch s;
  return s;
}

// Images [n0, n0 + nb) of a block.
struct ConvBlock {
  int n0, nb;  // first image, images
};
static ConvBlock conv_block(const ConvGeom& g, int blk) {
  int n0 = blk * g.block_images(), nb = std::min(g.block_images(), g.N - n0);
  return {n0, nb};
}

// ---- one image on both cores ----------------------------------------------------------------
//
// A batch of one image (the Neural Art task) is one block: the image's own work is cut instead,
// again by the geometry alone, and each piece writes only its own outputs, so the bits do not
// depend on the thread count:
//   forward  blocks of output rows: rows [i0, i1) of y[n] from the im2col columns (or the padded
//            window) of those rows only
//   dx       stride 1 direct: blocks of rows of dx, from the window of padded dy they read;
//            through col: blocks of kDxChannels input channels, dcol's rows of those channels
//            for every pixel, then their col2im (it writes only those channels of dx)
//   dw, db   as for a batch (one chunk: the image's sums in order)
constexpr int kRowBlockPixels = 1024;  // at most this many output pixels per block of rows...
constexpr int kMinRowBlocks = 4;       // ...and at least this many blocks (when there are rows)
constexpr int kDxChannels = 8;         // input channels per dx block through col

static bool one_image(const ConvGeom& g) { return g.N == 1; }
// Rows per block for an output of `rows` x `width`.
static int block_rows(int rows, int width) {
  return std::max(1, std::min((rows + kMinRowBlocks - 1) / kMinRowBlocks, kRowBlockPixels / width));
}

// y rows [i0, i1) of one image: yn (O, Ho Wo) row-major, its columns [i0 Wo, i1 Wo) = bias (on
// row o) + w times the columns of those output pixels. Stride 1 (direct_forward) takes the
// direct product on the window of padded rows they read, with w given channel-inner (wT of
// chan_weights). Through col: w as it is, (O, C K K); the rows are set to the bias and the GEMM
// adds into them in place (beta = 1: no temporary, no copy, no zeroing pass).
static void conv_forward_rows(const real* xn, const real* w, const real* bias, const ConvGeom& g, int i0, int i1,
                              real* yn) {
  const int R = g.rows(), P = g.cols(), rows = i1 - i0;
  ConvScratch& s = conv_scratch();
  if (direct_forward(g)) {
    const int Hb = rows + g.K - 1, Wp = g.Ww + 2 * g.pad;  // the window: padded rows [i0, i1 + K - 1)
    pad_window(xn, g.C, g.Hh, g.Ww, g.pad, i0, Hb, s.padded);
    chan_conv_rows<kConvBytes>({s.padded.data(), g.C, Hb, Wp}, g.K, w, g.O, rows, g.Wo, bias, false,
                               yn + (size_t)i0 * g.Wo, P);
    return;
  }
  const int width = rows * g.Wo;
  s.col.resize((size_t)R * width);
  im2col_rows(xn, g, i0, i1, s.col.data(), width);
  real* y0 = yn + (size_t)i0 * g.Wo;
  for (int o = 0; o < g.O; o++) std::fill_n(y0 + (size_t)o * P, width, bias ? bias[o] : real(0));
  gemm(false, false, g.O, width, R, 1, w, R, s.col.data(), width, 1, y0, P);
}

// The weights channel-inner, rows padded to chan_padded channels with zeros (conv_kernels.h):
//   forward  wT[((c K + ki) K + kj) Op + o] = w[o, c, ki, kj]
//   flipped  wT[((o K + ki) K + kj) Cp + c] = w[o, c, K-1-ki, K-1-kj]   (dx, direct_dx_rows)
// A transpose, by blocks of kChanPad output rows (one cache line each): strided writes one
// element at a time cost as much as the smaller VGG convs themselves.
static void chan_weights(const Tensor& Wt, const ConvGeom& g, bool flipped, std::vector<real>& wT) {
  const int K = g.K, KK = K * K, R = g.rows(), Op = chan_padded(g.O), Cp = chan_padded(g.C);
  wT.assign(flipped ? (size_t)g.O * KK * Cp : (size_t)R * Op, real(0));
  if (!flipped) {
    for (int o0 = 0; o0 < g.O; o0 += kChanPad)
      for (int r = 0; r < R; r++)
        for (int o = o0; o < std::min(g.O, o0 + kChanPad); o++) wT[(size_t)r * Op + o] = Wt[(size_t)o * R + r];
    return;
  }
  for (int c0 = 0; c0 < g.C; c0 += kChanPad)
    for (int o = 0; o < g.O; o++)
      for (int k = 0; k < KK; k++)  // k = ki K + kj, read at K K - 1 - k: both taps flipped
        for (int c = c0; c < std::min(g.C, c0 + kChanPad); c++)
          wT[((size_t)o * KK + k) * Cp + c] = Wt[((size_t)o * g.C + c) * KK + KK - 1 - k];
}

// The forward of a batch: blocks of images in parallel, or for one image, blocks of its rows.
static void conv_forward(const Tensor& X, const Tensor& Wt, const real* bias, const ConvGeom& g, Tensor& y) {
  const size_t x_img = (size_t)g.C * g.Hh * g.Ww, y_img = (size_t)g.O * g.cols();
  std::vector<real> wT;
  if (direct_forward(g)) chan_weights(Wt, g, false, wT);
  const real* w = direct_forward(g) ? wT.data() : Wt.data();
  if (one_image(g)) {
    const int per = block_rows(g.Ho, g.Wo), blocks = (g.Ho + per - 1) / per;
    parallel_for(blocks, [&](int blk) {
      conv_forward_rows(X.data(), w, bias, g, blk * per, std::min(g.Ho, (blk + 1) * per), y.data());
    });
    return;
  }
  parallel_for(g.blocks(), [&](int blk) {
    const ConvBlock bl = conv_block(g, blk);
    for (int n = bl.n0; n < bl.n0 + bl.nb; n++)
      conv_forward_rows(X.data() + n * x_img, w, bias, g, 0, g.Ho, y.data() + n * y_img);
  });
}

// sum of v[0 .. n) in double, in four interleaved partial sums (a fixed order: v[p] goes to
// partial p % 4), so the additions do not wait on each other.
static double sum4(const real* v, int n) {
  double s[4] = {0, 0, 0, 0};
  int p = 0;
  for (; p + 4 <= n; p += 4)
    for (int k = 0; k < 4; k++) s[k] += v[p + k];
  for (; p < n; p++) s[p % 4] += v[p];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

// dx[n] rows [h0, h1) += the adjoint of the forward product, for stride 1 and pad <= K - 1, as a
// direct product too: dx[c, h, w] = sum_{o, ki, kj} w[o, c, ki, kj] dy[o, h + p - ki, w + p - kj],
// so with dy zero-padded by p' = K - 1 - p (planes Ho + 2p' by Wo + 2p') and the flipped kernel
// (wF of chan_weights, channel-inner over c) it is the forward's product, on Hh rows of Ww
// pixels; rows [h0, h1) read the window of padded dy rows [h0, h1 + K - 1).
static void direct_dx_rows(const real* wF, const real* dyn, const ConvGeom& g, int h0, int h1, real* dxn) {
  const int p = g.K - 1 - g.pad, rows = h1 - h0, Hb = rows + g.K - 1, Wq = g.Wo + 2 * p;
  ConvScratch& s = conv_scratch();
  pad_window(dyn, g.O, g.Ho, g.Wo, p, h0, Hb, s.padded);
  chan_conv_rows<kConvBytes>({s.padded.data(), g.O, Hb, Wq}, g.K, wF, g.C, rows, g.Ww, nullptr, true,
                             dxn + (size_t)h0 * g.Ww, (size_t)g.Hh * g.Ww);
}

// dx[n] channels [c0, c1) += col2im(dcol) through col: dcol's rows of those channels,
// dcol = w^T dy[n] ((c1 - c0) K K, O) (O, Ho Wo), wT = w^T (C K K, O) row-major: a plain A B
// product with a short inner dimension O (gemm_small: no packing, no zeroing pass) up to
// kSmallInner, OpenBLAS above (VGG's 64-256 channels: faster there).
static void col_dx_channels(const real* wT, const real* dyn, const ConvGeom& g, int c0, int c1, real* dxn) {
  const int KK = g.K * g.K, rows = (c1 - c0) * KK, P = g.cols();
  ConvScratch& s = conv_scratch();
  s.dcol.resize((size_t)rows * P);
  const real* wTc = wT + (size_t)c0 * KK * g.O;
  if (g.O <= kSmallInner)
    gemm_small(false, rows, P, g.O, wTc, g.O, dyn, P, s.dcol.data(), P);
  else
    gemm(false, false, rows, P, g.O, 1, wTc, g.O, dyn, P, 0, s.dcol.data(), P);
  col2im_add(s.dcol.data(), g, c0, c1, P, dxn);
}

// dx[n] += the adjoint, by the path the geometry takes; block `blk` of `blocks` (one image on both
// cores: rows or channel groups, see "one image on both cores"; blocks = 1: the whole image).
static int dx_blocks(const ConvGeom& g) {
  if (direct_dx(g)) return (g.Hh + block_rows(g.Hh, g.Ww) - 1) / block_rows(g.Hh, g.Ww);
  return (g.C + kDxChannels - 1) / kDxChannels;
}
static void conv_dx(const real* wT, const real* wF, const real* dyn, const ConvGeom& g, int blk, int blocks,
                    real* dxn) {
  if (direct_dx(g)) {
    const int per = blocks == 1 ? g.Hh : block_rows(g.Hh, g.Ww);
    direct_dx_rows(wF, dyn, g, blk * per, std::min(g.Hh, (blk + 1) * per), dxn);
  } else {
    const int per = blocks == 1 ? g.C : kDxChannels;
    col_dx_channels(wT, dyn, g, blk * per, std::min(g.C, (blk + 1) * per), dxn);
  }
}

// dw += dy[n] col_n^T without col, for stride 1, dw channel-inner (dwT: C K K rows of Op
// channels): with the image zero-padded and dy channel-inner (dyT, pixel by pixel),
//   dwT[c, ki, kj, o] += sum_{i, j} dyT[i Wo + j, o] padded[c, i + ki, j + kj]    (chan_dw_add)
static void direct_dw_add(const real* xn, const real* dyn, const ConvGeom& g, real* dwT) {
  const int Hp = g.Hh + 2 * g.pad, Wp = g.Ww + 2 * g.pad;
  ConvScratch& s = conv_scratch();
  pad_window(xn, g.C, g.Hh, g.Ww, g.pad, 0, Hp, s.padded);
  s.dyw.resize((size_t)g.cols() * chan_padded(g.O));
  to_channel_inner(dyn, g.O, g.cols(), s.dyw.data());
  chan_dw_add<kConvBytes>({s.padded.data(), g.C, Hp, Wp}, g.K, s.dyw.data(), g.O, g.Ho, g.Wo, dwT);
}

// A chunk's partial dw: channel-inner (C K K, Op) on the direct path, (O, C K K) through col.
static size_t dw_part_size(const ConvGeom& g) {
  return direct_forward(g) ? (size_t)g.rows() * chan_padded(g.O) : (size_t)g.O * g.rows();
}
static real dw_part_at(const real* part, const ConvGeom& g, int o, int r) {
  return direct_forward(g) ? part[(size_t)r * chan_padded(g.O) + o] : part[(size_t)o * g.rows() + r];
}

// Backward of one block of images, reading dy[n] (O, Ho Wo) of each image in place:
//   dw_part += dy[n] col_n^T             (the chunk's share of dw, dw_part_size; `first`: zeroed first)
//   dx[n] += the adjoint                 (conv_dx, the whole image)
//   db_part[o] += sum of dy[n]'s row o (double)
static void conv_backward_block(const Tensor& X, const real* wT, const real* wF, const Tensor& dY, const ConvGeom& g,
                                int blk, bool first, real* dw_part, double* db_part, Tensor* dX) {
  const ConvBlock bl = conv_block(g, blk);
  const int R = g.rows(), P = g.cols();
  ConvScratch& s = conv_scratch();
  if (dw_part && first) std::fill_n(dw_part, dw_part_size(g), real(0));
  const size_t x_img = (size_t)g.C * g.Hh * g.Ww;
  for (int n = bl.n0; n < bl.n0 + bl.nb; n++) {
    const real *dyn = dY.data() + (size_t)n * g.O * P, *xn = X.data() + n * x_img;
    if (dw_part && direct_forward(g)) {
      direct_dw_add(xn, dyn, g, dw_part);
    } else if (dw_part) {
      s.col.resize((size_t)R * P);
      im2col_rows(xn, g, 0, g.Ho, s.col.data(), P);
      gemm(false, true, g.O, R, P, 1, dyn, P, s.col.data(), P, 1, dw_part, R);
    }
    if (dX) conv_dx(wT, wF, dyn, g, 0, 1, dX->data() + n * x_img);
    if (db_part)
      for (int o = 0; o < g.O; o++) db_part[o] += sum4(dyn + (size_t)o * P, P);
  }
}

// The weights as the dx paths read them: w^T (C K K, O) for the col path, or flipped and
// channel-inner for the direct one (chan_weights).
static void dx_weights(const Tensor& Wt, const ConvGeom& g, std::vector<real>& wT, std::vector<real>& wF) {
  const int R = g.rows();
  if (direct_dx(g)) return chan_weights(Wt, g, true, wF);
  wT.resize((size_t)R * g.O);
  for (int o = 0; o < g.O; o++)
    for (int r = 0; r < R; r++) wT[(size_t)r * g.O + o] = Wt[(size_t)o * R + r];
}

// Backward jobs: chunks of kChunkImages consecutive images (whole blocks; fixed by the geometry,
// never by the thread count). A chunk accumulates its blocks' dw into one partial, in image
// order, with the GEMM's beta = 1; the partials of the chunks are then summed in chunk order.
// One image: dw and db as one chunk, dx in blocks of its own (conv_dx).
constexpr int kChunkImages = 8;

static int chunk_blocks(const ConvGeom& g) { return std::max(1, kChunkImages / g.block_images()); }

static void conv_backward(const ConvGeom& g, BackwardCtx& c) {
  const Tensor &X = *c.x[0], &Wt = *c.x[1];
  Tensor *dX = c.dx[0], *dW = c.dx[1], *dB = c.dx.size() > 2 ? c.dx[2] : nullptr;
  const int blocks = g.blocks(), per_chunk = chunk_blocks(g), chunks = (blocks + per_chunk - 1) / per_chunk;
  const int R = g.rows();
  std::vector<real> wT, wF;
  if (dX) dx_weights(Wt, g, wT, wF);
  Tensor* dX_chunks = one_image(g) ? nullptr : dX;  // one image: dx below, in its own blocks
  const size_t part = dw_part_size(g);
  std::vector<real> dw_parts(dW ? chunks * part : 0);
  std::vector<double> db_parts(dB ? (size_t)chunks * g.O : 0, 0.0);
  if (dW || dB || dX_chunks)
    parallel_for(chunks, [&](int ch) {
      for (int blk = ch * per_chunk; blk < std::min(blocks, (ch + 1) * per_chunk); blk++)
        conv_backward_block(X, wT.data(), wF.data(), c.dy, g, blk, blk == ch * per_chunk,
                            dW ? dw_parts.data() + ch * part : nullptr,
                            dB ? db_parts.data() + (size_t)ch * g.O : nullptr, dX_chunks);
    });
  if (dX && one_image(g)) {
    const int n = dx_blocks(g);
    parallel_for(n, [&](int blk) { conv_dx(wT.data(), wF.data(), c.dy.data(), g, blk, n, dX->data()); });
  }
  if (dW)
    for (int ch = 0; ch < chunks; ch++)  // the partials, in chunk order
      for (int o = 0; o < g.O; o++)
        for (int r = 0; r < R; r++) (*dW)[(size_t)o * R + r] += dw_part_at(dw_parts.data() + ch * part, g, o, r);
  if (dB)
    for (int o = 0; o < g.O; o++) {
      double sum = 0;
      for (int ch = 0; ch < chunks; ch++) sum += db_parts[(size_t)ch * g.O + o];
      (*dB)[o] += (real)sum;
    }
}

Var conv2d(Var x, Var w, Var b, int stride, int pad) {
  const bool has_bias = b.tape != nullptr;
  const Tensor &X = x.value(), &Wt = w.value();
  const ConvGeom g = conv_geom(X, Wt, has_bias ? &b.value() : nullptr, stride, pad);
  Tensor y({g.N, g.O, g.Ho, g.Wo});
  conv_forward(X, Wt, has_bias ? b.value().data() : nullptr, g, y);
  std::vector<Var> parents = {x, w};
  if (has_bias) parents.push_back(b);
  return x.tape->record("conv2d", std::move(y), parents, [g](BackwardCtx& c) { conv_backward(g, c); });
}

}  // namespace l2l
