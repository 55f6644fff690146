// tests/f32/test_kernels_f32.cpp — float32 kernels against double references, with stated bounds.
//
// What this file is: the code the programs actually run (float32, compiled -O3 -march=native):
// gemm (OpenBLAS sgemm) and gemm_naive against a double triple loop, within the classical
// rounding-error bound of a K-term dot product; the fused LSTM cell (forward values and
// every gradient) against a plain double reimplementation of lstm.h's equations (1)-(11)
// evaluated with std::exp on the same float inputs; and, through that cell, its float exp_poly
// based sigmoid and tanh over the whole input range, saturation and clamping included.
// Everything goes through public functions (gemm, lstm_cell_fused), so a rewrite of their
// insides (blocking, threads, where exp_poly lives) is tested by the same cases.
// What it is not: a gradient check (the double suite does those), or a speed test.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "autodiff/blas.h"
#include "autodiff/conv_kernels.h"
#include "autodiff/ops.h"
#include "autodiff/parallel.h"
#include "doctest/doctest.h"
#include "nn/lstm.h"

using namespace l2l;

static_assert(sizeof(real) == 4, "tests/f32 must be compiled without -DL2L_DOUBLE");

namespace {

// Normal(0, s) floats, reproducible from seed.
std::vector<float> randn(size_t n, uint64_t seed, double s = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0, s);
  std::vector<float> v(n);
  for (float& x : v) x = (float)d(rng);
  return v;
}

Tensor tensor(const Shape& shape, const std::vector<float>& v) {
  Tensor t(shape);
  for (size_t i = 0; i < t.size(); i++) t[i] = v[i];
  return t;
}

// ---- gemm ---------------------------------------------------------------------------------

// C = alpha op(A) op(B) + beta C in double, and the bound on the error of any float
// evaluation: |fl(C) - C| <= gamma_{K+2} (|alpha| |op(A)| |op(B)| + |beta| |C0|) elementwise,
// gamma_n = n u / (1 - n u), u = 2^-24 (Higham, Accuracy and Stability, 3.5; +2 for alpha
// and beta). Returns the largest ratio error / bound over C (must be <= 1).
double gemm_error_ratio(bool ta, bool tb, int M, int N, int K, float alpha, const std::vector<float>& A, int lda,
                        const std::vector<float>& B, int ldb, float beta, const std::vector<float>& C0,
                        const std::vector<float>& C, int ldc) {
  const double u = std::ldexp(1.0, -24), gamma = (K + 2) * u / (1 - (K + 2) * u);
  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double exact = 0, mag = 0;
      for (int k = 0; k < K; k++) {
        double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        exact += a * b;
        mag += std::fabs(a * b);
      }
      double c0 = C0[(size_t)i * ldc + j];
      exact = alpha * exact + beta * c0;
      double bound = gamma * (std::fabs(alpha) * mag + std::fabs(beta) * std::fabs(c0)) + DBL_MIN;
      worst = std::max(worst, std::fabs(C[(size_t)i * ldc + j] - exact) / bound);
    }
  return worst;
}

// ---- the LSTM cell in double ----------------------------------------------------------------

struct CellRef {
  std::vector<double> h1, c1, dx, dh, dc, dW, db;
};

// Equations (1)-(11) of nn/lstm.h, one row at a time, in double with std::exp.
CellRef lstm_cell_double(int N, int I, int H, const std::vector<float>& x, const std::vector<float>& h,
                         const std::vector<float>& c, const std::vector<float>& W, const std::vector<float>& b,
                         const std::vector<float>& dh1, const std::vector<float>& dc1) {
  const int K = I + H, G = 4 * H;
  auto sig = [](double z) { return 1 / (1 + std::exp(-z)); };
  CellRef r;
  r.h1.resize((size_t)N * H), r.c1.resize((size_t)N * H), r.dx.resize((size_t)N * I), r.dh.resize((size_t)N * H);
  r.dc.resize((size_t)N * H), r.dW.assign((size_t)K * G, 0), r.db.assign(G, 0);
  std::vector<double> xh(K), z(G), dz(G);
  for (int n = 0; n < N; n++) {
    for (int k = 0; k < I; k++) xh[k] = x[(size_t)n * I + k];
    for (int k = 0; k < H; k++) xh[I + k] = h[(size_t)n * H + k];
    for (int j = 0; j < G; j++) {  // (1)
      z[j] = b[j];
      for (int k = 0; k < K; k++) z[j] += xh[k] * W[(size_t)k * G + j];
    }
    for (int j = 0; j < H; j++) {
      double i = sig(z[j]), f = sig(z[H + j]), g = std::tanh(z[2 * H + j]), o = sig(z[3 * H + j]);  // (2)-(5)
      double cold = c[(size_t)n * H + j], cn = f * cold + i * g, tc = std::tanh(cn);                // (6)
      r.c1[(size_t)n * H + j] = cn;
      r.h1[(size_t)n * H + j] = o * tc;  // (7)
      double gh = dh1[(size_t)n * H + j], dct = dc1[(size_t)n * H + j] + gh * o * (1 - tc * tc);  // (8)
      dz[j] = dct * g * i * (1 - i);  // (9)
      dz[H + j] = dct * cold * f * (1 - f);
      dz[2 * H + j] = dct * i * (1 - g * g);
      dz[3 * H + j] = gh * tc * o * (1 - o);
      r.dc[(size_t)n * H + j] = dct * f;  // (10)
    }
    for (int k = 0; k < K; k++) {  // (11)
      double s = 0;
      for (int j = 0; j < G; j++) {
        r.dW[(size_t)k * G + j] += xh[k] * dz[j];
        s += dz[j] * W[(size_t)k * G + j];
      }
      if (k < I) r.dx[(size_t)n * I + k] = s;
      else r.dh[(size_t)n * H + k - I] = s;
    }
    for (int j = 0; j < G; j++) r.db[j] += dz[j];
  }
  return r;
}

// max |f - d| / max(1, max |d|): the error relative to the tensor's scale (entries near zero
// carry the absolute rounding of their larger neighbours, so an elementwise relative error
// would be meaningless there).
double scaled_error(const Tensor& f, const std::vector<double>& d) {
  REQUIRE(f.size() == d.size());
  double err = 0, scale = 1;
  for (size_t i = 0; i < d.size(); i++) {
    err = std::max(err, std::fabs((double)f[i] - d[i]));
    scale = std::max(scale, std::fabs(d[i]));
  }
  return err / scale;
}

struct CellCase {
  int N, I, H;
  double w_std, b_std;  // larger b_std pushes gates into saturation
};

// Runs lstm_cell_fused in float on random inputs and compares with the double reference;
// returns the worst scaled error over the forward values and the five gradients.
double fused_cell_error(const CellCase& k, uint64_t seed) {
  const int N = k.N, I = k.I, H = k.H;
  std::vector<float> x = randn((size_t)N * I, seed), h = randn((size_t)N * H, seed + 1),
                     c = randn((size_t)N * H, seed + 2), W = randn((size_t)(I + H) * 4 * H, seed + 3, k.w_std),
                     b = randn((size_t)4 * H, seed + 4, k.b_std), dh1 = randn((size_t)N * H, seed + 5),
                     dc1 = randn((size_t)N * H, seed + 6);
  CellRef ref = lstm_cell_double(N, I, H, x, h, c, W, b, dh1, dc1);

  Tape t;
  Var vx = t.leaf(tensor({N, I}, x), true), vh = t.leaf(tensor({N, H}, h), true), vc = t.leaf(tensor({N, H}, c), true);
  Var vW = t.leaf(tensor({I + H, 4 * H}, W), true), vb = t.leaf(tensor({4 * H}, b), true);
  LSTMCellOutput out = lstm_cell_fused(vx, vh, vc, vW, vb);
  Var hc = concat({out.h, out.c}, 1);  // (N, 2H): seed [dh' | dc']
  Tensor seed_t({N, 2 * H});
  for (int n = 0; n < N; n++)
    for (int j = 0; j < H; j++) {
      seed_t[(size_t)n * 2 * H + j] = dh1[(size_t)n * H + j];
      seed_t[(size_t)n * 2 * H + H + j] = dc1[(size_t)n * H + j];
    }
  t.backward(hc, seed_t);

  double e[7] = {scaled_error(out.h.value(), ref.h1), scaled_error(out.c.value(), ref.c1),
                 scaled_error(vx.grad(), ref.dx),     scaled_error(vh.grad(), ref.dh),
                 scaled_error(vc.grad(), ref.dc),     scaled_error(vW.grad(), ref.dW),
                 scaled_error(vb.grad(), ref.db)};
  const char* names[7] = {"h'", "c'", "dx", "dh", "dc", "dW", "db"};
  double worst = 0;
  for (int i = 0; i < 7; i++) {
    INFO("N " << N << " I " << I << " H " << H << ": " << names[i] << " scaled error " << e[i]);
    CHECK(e[i] < 2e-5);
    worst = std::max(worst, e[i]);
  }
  return worst;
}

}  // namespace

TEST_CASE("f32: sgemm and gemm_naive stay within the float rounding bound of a double gemm") {
  struct G {
    int M, N, K;
  };
  double worst_blas = 0, worst_naive = 0;
  uint64_t seed = 1;
  for (G g : {G{1, 1, 1}, G{7, 5, 3}, G{33, 17, 65}, G{128, 80, 22}, G{300, 9, 1000}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (auto [alpha, beta] : {std::pair<float, float>{1, 0}, {0.5f, 1}, {-2, 0.25f}}) {
          const int lda = (ta ? g.M : g.K) + 3, ldb = (tb ? g.K : g.N) + 1, ldc = g.N + 2;  // padded rows
          std::vector<float> A = randn((size_t)(ta ? g.K : g.M) * lda, seed++),
                             B = randn((size_t)(tb ? g.N : g.K) * ldb, seed++), C0 = randn((size_t)g.M * ldc, seed++);
          std::vector<float> C = C0, Cn = C0;
          gemm(ta, tb, g.M, g.N, g.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          gemm_naive(ta, tb, g.M, g.N, g.K, alpha, A.data(), lda, B.data(), ldb, beta, Cn.data(), ldc);
          worst_blas = std::max(worst_blas, gemm_error_ratio(ta, tb, g.M, g.N, g.K, alpha, A, lda, B, ldb, beta, C0, C, ldc));
          worst_naive =
              std::max(worst_naive, gemm_error_ratio(ta, tb, g.M, g.N, g.K, alpha, A, lda, B, ldb, beta, C0, Cn, ldc));
          // Padding between rows must be left as it was.
          for (int i = 0; i < g.M; i++)
            for (int j = g.N; j < ldc; j++) REQUIRE(C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j]);
        }
  MESSAGE("gemm float error / rounding bound: sgemm " << worst_blas << ", gemm_naive " << worst_naive);
  CHECK(worst_blas <= 1);
  CHECK(worst_naive <= 1);
}

// gemm_small (the cell's own kernel, 512-bit tiles where AVX-512 is compiled in): within the same
// bound, and bit-equal to a scalar std::fma chain in k order (its promise that no result depends
// on the tiling). Shapes: the cell's (N = 80, K = 23 / 41; transA with K = 504; N = 24 / 40 / 48
// with K = 80), conv's N = 24 / 40, and awkward M, N = 8 / 88, K = 1.
TEST_CASE("f32: gemm_small within the float rounding bound, and one FMA chain per element") {
  struct G {
    int M, N, K;
  };
  double worst = 0;
  uint64_t seed = 100;
  for (G g : {G{504, 80, 23}, G{504, 80, 41}, G{23, 80, 504}, G{41, 80, 504}, G{504, 24, 80}, G{504, 48, 80},
              G{61, 40, 80}, G{13, 8, 7}, G{7, 88, 1}, G{5, 88, 33}, G{1, 16, 3}})
    for (bool ta : {false, true}) {
      CAPTURE(g.M);
      CAPTURE(g.N);
      CAPTURE(g.K);
      CAPTURE(ta);
      const int lda = (ta ? g.M : g.K) + 1, ldb = g.N + 8, ldc = g.N + 3;
      std::vector<float> A = randn((size_t)(ta ? g.K : g.M) * lda, seed++), B = randn((size_t)g.K * ldb, seed++);
      std::vector<float> C0((size_t)g.M * ldc, 7.0f), C = C0;
      gemm_small(ta, g.M, g.N, g.K, A.data(), lda, B.data(), ldb, C.data(), ldc);
      worst = std::max(worst, gemm_error_ratio(ta, false, g.M, g.N, g.K, 1, A, lda, B, ldb, 0, C0, C, ldc));
      bool chain = true, padding = true;
      for (int i = 0; i < g.M; i++) {
        for (int j = 0; j < g.N; j++) {
          float c = 0;
          for (int k = 0; k < g.K; k++)
            c = std::fma(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k], B[(size_t)k * ldb + j], c);
          chain = chain && c == C[(size_t)i * ldc + j];
        }
        for (int j = g.N; j < ldc; j++) padding = padding && C[(size_t)i * ldc + j] == 7.0f;
      }
      CHECK(chain);
      CHECK(padding);
    }
  MESSAGE("gemm_small float error / rounding bound: " << worst);
  CHECK(worst <= 1);
}

TEST_CASE("f32: the fused LSTM cell matches a double reference on values and every gradient") {
  // Tolerance: 2e-5 of each tensor's scale (max(1, max |entry|)). Float rounding alone gives
  // about K u |terms| for a K-term sum (u = 6e-8): ~1e-6 for these sizes; a wrong formula,
  // a wrong gate, or a sigmoid/tanh off by 1e-4 is far above the bound.
  double worst = 0;
  uint64_t seed = 100;
  for (CellCase k : {CellCase{1, 1, 1, 1, 1}, CellCase{5, 3, 7, 0.5, 1}, CellCase{257, 2, 20, 0.2, 1},
                     CellCase{1000, 20, 20, 0.2, 3}, CellCase{64, 2, 20, 2, 8}})
    worst = std::max(worst, fused_cell_error(k, seed += 10));
  MESSAGE("fused LSTM cell, float vs double: worst scaled error " << worst);
}

TEST_CASE("f32: the fused cell's float sigmoid and tanh (exp_poly) over [-100, 100], clamps included") {
  // I = 1, H = 1, W = 1 for every gate, b = 0, h = c = 0: each row n has all four gate
  // pre-activations z_n = x_n, so c' = sigmoid(z) tanh(z) and h' = sigmoid(z) tanh(c'),
  // swept over a fine grid that reaches far into saturation (|z| > 88 hits exp_poly's clamp).
  const int N = 20001;
  Tensor x({N, 1}), zeros({N, 1}), W({2, 4}, {1, 1, 1, 1, 0, 0, 0, 0}), b = Tensor::zeros({4});
  zeros.fill(0);
  for (int n = 0; n < N; n++) x[n] = (float)(-100.0 + 200.0 * n / (N - 1));
  Tape t;
  LSTMCellOutput out = lstm_cell_fused(t.constant(x), t.constant(zeros), t.constant(zeros), t.constant(W), t.constant(b));
  double worst_c = 0, worst_h = 0;
  for (int n = 0; n < N; n++) {
    double z = x[n], s = 1 / (1 + std::exp(-z)), c1 = s * std::tanh(z), h1 = s * std::tanh(c1);
    REQUIRE(std::isfinite(out.c.value()[n]));
    worst_c = std::max(worst_c, std::fabs(out.c.value()[n] - c1));
    worst_h = std::max(worst_h, std::fabs(out.h.value()[n] - h1));
  }
  MESSAGE("float sigmoid/tanh via the fused cell, |z| <= 100: max abs error c' " << worst_c << ", h' " << worst_h);
  CHECK(worst_c < 1e-6);  // values are in (-1, 1): a few float ulps
  CHECK(worst_h < 1e-6);
}

// conv2d in float (autodiff/ops_conv.cpp: stride-1 direct kernels vectorized over channels, im2col
// + sgemm for dx when pad > K - 1, one image cut into row and channel blocks) against the defining
// sums in double on the same float inputs: y, and dx, dw of sum(y * r). Each entry's error is
// held to the rounding bound of its sum, n eps / (1 - n eps) times the sum of |terms| (n terms).
// 1 and 2 threads must give the same bits.
TEST_CASE("f32: conv2d values and gradients within the float rounding bound; 1 and 2 threads agree") {
  struct Case {
    int N, C, H, W, O, K, pad;
  };
  const int threads = num_threads();
  uint64_t seed = 100;
  double worst = 0;
  for (Case k : {Case{1, 3, 19, 21, 8, 3, 1}, Case{1, 70, 9, 10, 40, 3, 1}, Case{1, 12, 6, 7, 3, 3, 4},
                 Case{3, 5, 11, 11, 7, 3, 1}, Case{2, 64, 5, 6, 40, 3, 1}, Case{3, 3, 9, 29, 17, 5, 2},
                 Case{9, 16, 8, 8, 16, 5, 2}, Case{2, 4, 6, 9, 5, 2, 1}, Case{2, 16, 5, 17, 3, 3, 1}}) {
    const int Ho = k.H + 2 * k.pad - k.K + 1, Wo = k.W + 2 * k.pad - k.K + 1;
    Tensor x = tensor({k.N, k.C, k.H, k.W}, randn((size_t)k.N * k.C * k.H * k.W, seed++)),
           w = tensor({k.O, k.C, k.K, k.K}, randn((size_t)k.O * k.C * k.K * k.K, seed++)),
           r = tensor({k.N, k.O, Ho, Wo}, randn((size_t)k.N * k.O * Ho * Wo, seed++));
    Tensor got[3][3];
    for (int th = 1; th <= 2; th++) {
      set_num_threads(th);
      Tape t;
      Var xv = t.leaf(x, true), wv = t.leaf(w, true);
      Var y = conv2d(xv, wv, Var{}, 1, k.pad);
      std::vector<Tensor> g = t.grad(sum(mul(y, t.constant(r))), {xv, wv});
      got[th][0] = y.value(), got[th][1] = g[0], got[th][2] = g[1];
    }
    // Reference sums and sums of |terms|, in double.
    std::vector<double> y(got[1][0].size()), ya(y.size()), dx(x.size()), dxa(x.size()), dw(w.size()), dwa(w.size());
    for (int n = 0; n < k.N; n++)
      for (int o = 0; o < k.O; o++)
        for (int i = 0; i < Ho; i++)
          for (int j = 0; j < Wo; j++) {
            const size_t yi = (((size_t)n * k.O + o) * Ho + i) * Wo + j;
            for (int c = 0; c < k.C; c++)
              for (int ki = 0; ki < k.K; ki++)
                for (int kj = 0; kj < k.K; kj++) {
                  const int h = i - k.pad + ki, v = j - k.pad + kj;
                  if (h < 0 || h >= k.H || v < 0 || v >= k.W) continue;
                  const size_t xi = (((size_t)n * k.C + c) * k.H + h) * k.W + v,
                               wi = (((size_t)o * k.C + c) * k.K + ki) * k.K + kj;
                  const double a = (double)w[wi] * x[xi], b = (double)r[yi] * w[wi], d = (double)r[yi] * x[xi];
                  y[yi] += a, ya[yi] += std::fabs(a), dx[xi] += b, dxa[xi] += std::fabs(b), dw[wi] += d, dwa[wi] += std::fabs(d);
                }
          }
    auto check = [&](const Tensor& g, const std::vector<double>& ref, const std::vector<double>& abs, int terms) {
      const double u = FLT_EPSILON / 2, bound = terms * u / (1 - terms * u);
      for (size_t i = 0; i < ref.size(); i++)
        if (abs[i] > 0) worst = std::max(worst, std::fabs(g[i] - ref[i]) / (bound * abs[i]));
    };
    check(got[1][0], y, ya, k.C * k.K * k.K);
    check(got[1][1], dx, dxa, k.O * k.K * k.K);
    check(got[1][2], dw, dwa, k.N * Ho * Wo);
    for (int i = 0; i < 3; i++)
      CHECK(std::memcmp(got[1][i].data(), got[2][i].data(), got[1][i].size() * sizeof(real)) == 0);
  }
  set_num_threads(threads);
  MESSAGE("conv2d float error / rounding bound, worst entry: " << worst);
  CHECK(worst <= 1);
}

// The channel-vectorized conv kernels (autodiff/conv_kernels.h) called directly, at both vector
// widths, 32 and 64 bytes, against the naive reference (conv_naive_forward/backward: double sums
// rounded once). Bound per entry: (n + 1) u / (1 - (n + 1) u) times the sum of |terms|, n terms
// (the kernel's float sum, plus the reference's one rounding); the sums of |terms| are the
// reference on |x|, |w|, |dy|, |b|. Shapes: partial pixel tiles (Wo = 29: 16 + 8 + 4 + 1), channel
// counts not a multiple of 8 or 16, K = 1 .. 5, pad up to K + 1.
TEST_CASE("f32: conv kernels at 32 and 64 bytes within the float rounding bound of the naive reference") {
  struct Case {
    int C, H, W, O, K, pad;
  };
  uint64_t seed = 300;
  double worst = 0;
  for (Case k : {Case{3, 9, 29, 17, 5, 2}, Case{16, 8, 8, 16, 5, 2}, Case{7, 5, 12, 40, 1, 0}, Case{4, 6, 9, 5, 2, 1},
                 Case{3, 5, 6, 8, 4, 3}, Case{70, 6, 10, 20, 3, 1}}) {
    const int Ho = k.H + 2 * k.pad - k.K + 1, Wo = k.W + 2 * k.pad - k.K + 1, P = Ho * Wo, Op = chan_padded(k.O);
    const int Hp = k.H + 2 * k.pad, Wp = k.W + 2 * k.pad, R = k.C * k.K * k.K;
    std::vector<float> x = randn((size_t)k.C * k.H * k.W, seed++), w = randn((size_t)k.O * R, seed++),
                       dy = randn((size_t)k.O * P, seed++), b = randn(k.O, seed++), ax(x), aw(w), ady(dy), ab(b);
    for (std::vector<float>* v : {&ax, &aw, &ady, &ab})
      for (float& e : *v) e = std::fabs(e);
    std::vector<float> y_ref(k.O * P), y_abs(k.O * P), dw_ref(w.size()), dw_abs(w.size());
    conv_naive_forward(x.data(), w.data(), b.data(), 1, k.C, k.H, k.W, k.O, k.K, 1, k.pad, y_ref.data());
    conv_naive_forward(ax.data(), aw.data(), ab.data(), 1, k.C, k.H, k.W, k.O, k.K, 1, k.pad, y_abs.data());
    conv_naive_backward(x.data(), w.data(), dy.data(), 1, k.C, k.H, k.W, k.O, k.K, 1, k.pad, nullptr, dw_ref.data(), nullptr);
    conv_naive_backward(ax.data(), aw.data(), ady.data(), 1, k.C, k.H, k.W, k.O, k.K, 1, k.pad, nullptr, dw_abs.data(), nullptr);
    std::vector<float> xp((size_t)k.C * Hp * Wp, 0), wT((size_t)R * Op, 0), dyT((size_t)P * Op);
    for (int c = 0; c < k.C; c++)
      for (int h = 0; h < k.H; h++)
        for (int v = 0; v < k.W; v++) xp[((size_t)c * Hp + h + k.pad) * Wp + v + k.pad] = x[((size_t)c * k.H + h) * k.W + v];
    for (int o = 0; o < k.O; o++)
      for (int r = 0; r < R; r++) wT[(size_t)r * Op + o] = w[(size_t)o * R + r];
    to_channel_inner(dy.data(), k.O, P, dyT.data());
    auto check = [&](const std::vector<float>& got, const std::vector<float>& ref, const std::vector<float>& abs, int n) {
      const double u = FLT_EPSILON / 2, bound = (n + 1) * u / (1 - (n + 1) * u);
      for (size_t i = 0; i < ref.size(); i++)
        if (abs[i] > 0) worst = std::max(worst, std::fabs((double)got[i] - ref[i]) / (bound * abs[i]));
    };
    for (int bytes : {32, 64}) {
      CAPTURE(bytes);
      std::vector<float> y(k.O * P), dwT((size_t)R * Op, 0), dw(w.size());
      const PaddedPlanes in{xp.data(), k.C, Hp, Wp};
      if (bytes == 32) {
        chan_conv_rows<32>(in, k.K, wT.data(), k.O, Ho, Wo, b.data(), false, y.data(), P);
        chan_dw_add<32>(in, k.K, dyT.data(), k.O, Ho, Wo, dwT.data());
      } else {
        chan_conv_rows<64>(in, k.K, wT.data(), k.O, Ho, Wo, b.data(), false, y.data(), P);
        chan_dw_add<64>(in, k.K, dyT.data(), k.O, Ho, Wo, dwT.data());
      }
      for (int o = 0; o < k.O; o++)  // dw channel-inner, laid back as (O, C K K)
        for (int r = 0; r < R; r++) dw[(size_t)o * R + r] = dwT[(size_t)r * Op + o];
      check(y, y_ref, y_abs, R + 1);  // + the bias
      check(dw, dw_ref, dw_abs, P);
    }
  }
  MESSAGE("conv kernels float error / rounding bound, worst entry: " << worst);
  CHECK(worst <= 1);
}
