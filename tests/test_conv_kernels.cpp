// test_conv_kernels.cpp: the channel-vectorized conv kernels (autodiff/conv_kernels.h) and
// conv2d as a whole against the naive reference convolution (conv_naive_forward/backward, plain
// loops in double). The kernels are called at both vector widths, 32 and 64 bytes, and each must
// match the reference (not necessarily bit for bit each other: the compiler fuses a multiply and
// an add into one FMA in some tiles of one width and not of the other); conv2d
// is run on awkward shapes (partial pixel tiles, channel counts not a multiple of 8 or 16,
// K = 1 .. 5, pad > K / 2 and > K - 1, stride 2 and 3, one image and several) at 1 and 2 threads,
// which must give the same bits.
#include <vector>

#include "autodiff/conv_kernels.h"
#include "autodiff/parallel.h"
#include "helpers.h"

using namespace l2l;
using namespace l2l::test;

namespace {

struct Shape8 {
  int N, C, H, W, O, K, stride, pad;
  int Ho() const { return (H + 2 * pad - K) / stride + 1; }
  int Wo() const { return (W + 2 * pad - K) / stride + 1; }
  std::string str() const {
    return "N" + std::to_string(N) + " C" + std::to_string(C) + " " + std::to_string(H) + "x" + std::to_string(W) +
           " O" + std::to_string(O) + " K" + std::to_string(K) + " stride" + std::to_string(stride) + " pad" +
           std::to_string(pad);
  }
};

// One image x (C, H, W) zero-padded by p: (C, H + 2p, W + 2p).
std::vector<real> padded(const real* x, int C, int H, int W, int p) {
  const int Wp = W + 2 * p;
  std::vector<real> out((size_t)C * (H + 2 * p) * Wp, 0);
  for (int c = 0; c < C; c++)
    for (int h = 0; h < H; h++)
      for (int w = 0; w < W; w++) out[((size_t)c * (H + 2 * p) + h + p) * Wp + w + p] = x[((size_t)c * H + h) * W + w];
  return out;
}

// The kernels on one image (stride 1): y = chan_conv_rows (with bias), dw = chan_dw_add of dy
// (channel-inner, laid back as (O, C K K)).
template <int Bytes>
void kernels_on_image(const Shape8& k, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& dy, Tensor& y,
                      Tensor& dw) {
  const int Op = chan_padded(k.O), Hp = k.H + 2 * k.pad, Wp = k.W + 2 * k.pad, P = k.Ho() * k.Wo();
  std::vector<real> xp = padded(x.data(), k.C, k.H, k.W, k.pad), wT((size_t)k.C * k.K * k.K * Op, 0), dyT((size_t)P * Op);
  for (int o = 0; o < k.O; o++)
    for (int r = 0; r < k.C * k.K * k.K; r++) wT[(size_t)r * Op + o] = w[(size_t)o * k.C * k.K * k.K + r];
  y = Tensor({1, k.O, k.Ho(), k.Wo()});
  chan_conv_rows<Bytes>({xp.data(), k.C, Hp, Wp}, k.K, wT.data(), k.O, k.Ho(), k.Wo(), b.data(), false, y.data(), P);
  to_channel_inner(dy.data(), k.O, P, dyT.data());
  const int R = k.C * k.K * k.K;
  std::vector<real> dwT((size_t)R * Op, 0);  // channel-inner; its padding lanes must stay zero
  chan_dw_add<Bytes>({xp.data(), k.C, Hp, Wp}, k.K, dyT.data(), k.O, k.Ho(), k.Wo(), dwT.data());
  dw = Tensor(w.shape());
  for (int r = 0; r < R; r++)
    for (int o = 0; o < Op; o++) {
      if (o < k.O) dw[(size_t)o * R + r] = dwT[(size_t)r * Op + o];
      else CHECK(dwT[(size_t)r * Op + o] == 0);
    }
}

void check_close(const Tensor& got, const Tensor& want, const char* what) {
  CAPTURE(what);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
}

}  // namespace

TEST_CASE("conv kernels at 32 and 64 bytes match the naive reference") {
  // Wo = 29: pixel tiles 16 + 8 + 4 + 1; O = 5, 17, 40: partial vectors at both widths; K = 1,
  // 2 and 4 (the one-entry dw tiles), 3 and 5; pad up to K + 1.
  const std::vector<Shape8> shapes = {{1, 3, 9, 29, 17, 5, 1, 2}, {1, 2, 6, 7, 5, 3, 1, 1},   {1, 7, 5, 12, 40, 1, 1, 0},
                                      {1, 4, 6, 9, 16, 2, 1, 1},  {1, 3, 5, 6, 8, 4, 1, 3},   {1, 16, 8, 8, 16, 5, 1, 2},
                                      {1, 5, 4, 30, 3, 3, 1, 4}};
  uint64_t seed = 500;
  for (const Shape8& k : shapes) {
    CAPTURE(k.str());
    Tensor x = randn({1, k.C, k.H, k.W}, seed++), w = randn({k.O, k.C, k.K, k.K}, seed++), b = randn({k.O}, seed++);
    Tensor dy = randn({1, k.O, k.Ho(), k.Wo()}, seed++);
    Tensor y32, dw32, y64, dw64;
    kernels_on_image<32>(k, x, w, b, dy, y32, dw32);
    kernels_on_image<64>(k, x, w, b, dy, y64, dw64);
    Tensor y_ref(y32.shape()), dw_ref(w.shape());
    conv_naive_forward(x.data(), w.data(), b.data(), 1, k.C, k.H, k.W, k.O, k.K, 1, k.pad, y_ref.data());
    conv_naive_backward(x.data(), w.data(), dy.data(), 1, k.C, k.H, k.W, k.O, k.K, 1, k.pad, nullptr, dw_ref.data(),
                        nullptr);
    check_close(y32, y_ref, "y, 32 bytes");
    check_close(dw32, dw_ref, "dw, 32 bytes");
    check_close(y64, y_ref, "y, 64 bytes");
    check_close(dw64, dw_ref, "dw, 64 bytes");
  }
}

TEST_CASE("conv2d against the naive reference: awkward shapes, strides, one image and several; 1 and 2 threads agree") {
  ThreadsRestored restore;
  const std::vector<Shape8> shapes = {
      {3, 3, 9, 29, 17, 5, 1, 2},  {1, 3, 9, 29, 17, 5, 1, 2}, {10, 5, 7, 11, 9, 3, 1, 1}, {1, 70, 9, 10, 20, 3, 1, 1},
      {2, 7, 5, 12, 40, 1, 1, 0},  {2, 4, 6, 9, 16, 2, 1, 1},  {1, 3, 5, 6, 8, 4, 1, 3},   {9, 16, 8, 8, 16, 5, 1, 2},
      {2, 5, 4, 30, 3, 3, 1, 4},   {3, 6, 11, 9, 10, 3, 2, 1}, {1, 4, 13, 13, 7, 5, 2, 3}, {2, 3, 10, 11, 5, 4, 3, 2},
  };
  uint64_t seed = 600;
  for (const Shape8& k : shapes) {
    CAPTURE(k.str());
    Tensor x = randn({k.N, k.C, k.H, k.W}, seed++), w = randn({k.O, k.C, k.K, k.K}, seed++), b = randn({k.O}, seed++);
    Tensor dy = randn({k.N, k.O, k.Ho(), k.Wo()}, seed++);
    Tensor y_ref({k.N, k.O, k.Ho(), k.Wo()}), dx_ref(x.shape()), dw_ref(w.shape()), db_ref(b.shape());
    conv_naive_forward(x.data(), w.data(), b.data(), k.N, k.C, k.H, k.W, k.O, k.K, k.stride, k.pad, y_ref.data());
    conv_naive_backward(x.data(), w.data(), dy.data(), k.N, k.C, k.H, k.W, k.O, k.K, k.stride, k.pad, dx_ref.data(),
                        dw_ref.data(), db_ref.data());
    std::vector<Tensor> got[3];
    for (int th = 1; th <= 2; th++) {
      set_num_threads(th);
      Tape t;
      Var xv = t.leaf(x, true), wv = t.leaf(w, true), bv = t.leaf(b, true);
      Var y = conv2d(xv, wv, bv, k.stride, k.pad);
      got[th] = t.grad(sum(mul(y, t.constant(dy))), {xv, wv, bv});
      got[th].insert(got[th].begin(), y.value());
    }
    check_close(got[1][0], y_ref, "y");
    check_close(got[1][1], dx_ref, "dx");
    check_close(got[1][2], dw_ref, "dw");
    check_close(got[1][3], db_ref, "db");
    for (int i = 0; i < 4; i++) CHECK(same_bits(got[1][i], got[2][i]));
  }
}
