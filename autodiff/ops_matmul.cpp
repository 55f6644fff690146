// ops_matmul.cpp: matrix product through cblas, and the fused softmax cross-entropy loss.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "blas.h"
#include "ops.h"
#include "parallel.h"

namespace l2l {

// A large product on both cores: C's rows cut into blocks of kRowsPerBlock, each one
// single-threaded gemm on its rows (rows [m0, m1) of op(A) start at A + m0 lda, or at A + m0 when
// A is stored transposed). The blocks depend on the shape only, so the bits do not depend on the
// thread count. Small products (under kParallelMacs multiply-adds: every product of the MNIST,
// quadratic and CIFAR optimizees during training) stay one call: there a split costs more than
// it saves. The Neural Art task's Gram matrices (64-256 channels, 256-16,384 pixels) come here.
constexpr double kParallelMacs = 8e6;
constexpr int kRowsPerBlock = 16;
static void gemm_rows(bool ta, bool tb, int M, int N, int K, real alpha, const real* A, int lda, const real* B,
                      int ldb, real beta, real* C, int ldc) {
  if ((double)M * N * K < kParallelMacs || M < 2 * kRowsPerBlock) {
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  parallel_for((M + kRowsPerBlock - 1) / kRowsPerBlock, [&](int blk) {
    const int m0 = blk * kRowsPerBlock, m = std::min(M, m0 + kRowsPerBlock) - m0;
    gemm(ta, tb, m, N, K, alpha, A + (ta ? (size_t)m0 : (size_t)m0 * lda), lda, B, ldb, beta, C + (size_t)m0 * ldc, ldc);
  });
}

// C = op(A) op(B), op(A) (M,K), op(B) (K,N), C (M,N). With dC = dL/dC:
//   C = A B      dA += dC B^T      dB += A^T dC
//   C = A^T B    dA += B dC^T      dB += A dC
//   C = A B^T    dA += dC B        dB += dC^T A
//   C = A^T B^T  dA += B^T dC^T    dB += dC^T A^T
// Each line is one gemm with beta = 1, which is what makes gradients accumulate.
Var matmul(Var a, Var b, bool ta, bool tb) {
  const Tensor &A = a.value(), &B = b.value();
  if (A.ndim() != 2 || B.ndim() != 2)
    throw std::invalid_argument("[matmul] needs matrices, got a " + shape_str(A.shape()) + " and b " +
                                shape_str(B.shape()));
  int M = ta ? A.dim(1) : A.dim(0), K = ta ? A.dim(0) : A.dim(1);
  int Kb = tb ? B.dim(1) : B.dim(0), N = tb ? B.dim(0) : B.dim(1);
  if (K != Kb)
    throw std::invalid_argument("[matmul] a " + shape_str(A.shape()) + (ta ? "^T" : "") + " and b " +
                                shape_str(B.shape()) + (tb ? "^T" : "") + ": inner sizes " + std::to_string(K) +
                                " and " + std::to_string(Kb) + " differ");
  Tensor y({M, N});
  gemm_rows(ta, tb, M, N, K, 1, A.data(), A.dim(1), B.data(), B.dim(1), 0, y.data(), N);
  return a.tape->record("matmul", std::move(y), {a, b}, [ta, tb, M, N, K](BackwardCtx& c) {
    const Tensor &A = *c.x[0], &B = *c.x[1], &dC = c.dy;
    int lda = A.dim(1), ldb = B.dim(1);
    if (Tensor* dA = c.dx[0]) {
      if (!ta) gemm_rows(false, !tb, M, K, N, 1, dC.data(), N, B.data(), ldb, 1, dA->data(), lda);  // dC op(B)^T
      else gemm_rows(tb, true, K, M, N, 1, B.data(), ldb, dC.data(), N, 1, dA->data(), lda);        // op(B) dC^T
    }
    if (Tensor* dB = c.dx[1]) {
      if (!tb) gemm_rows(!ta, false, K, N, M, 1, A.data(), lda, dC.data(), N, 1, dB->data(), ldb);  // op(A)^T dC
      else gemm_rows(true, ta, N, K, M, 1, dC.data(), N, A.data(), lda, 1, dB->data(), ldb);        // dC^T op(A)
    }
  });
}

// L = -(1/N) sum_n log p[n, label_n],  p = softmax(logits) row by row.
// dlogits[n, j] += dL (p[n, j] - [j == label_n]) / N.
Var softmax_cross_entropy(Var logits, const std::vector<int>& labels) {
  const Tensor& X = logits.value();
  if (X.ndim() != 2 || (size_t)X.dim(0) != labels.size())
    throw std::invalid_argument("[softmax_cross_entropy] logits " + shape_str(X.shape()) + " need shape (N,C) with N = " +
                                std::to_string(labels.size()) + " labels");
  int N = X.dim(0), C = X.dim(1);
  Tensor p({N, C});
  double loss = 0;
  for (int n = 0; n < N; n++) {
    if (labels[n] < 0 || labels[n] >= C)
      throw std::invalid_argument("[softmax_cross_entropy] label " + std::to_string(labels[n]) + " at row " +
                                  std::to_string(n) + " is outside [0, " + std::to_string(C) + ")");
    const real* x = X.data() + (size_t)n * C;
    real* pr = p.data() + (size_t)n * C;
    real mx = x[0];
    for (int j = 1; j < C; j++) mx = std::max(mx, x[j]);
    double z = 0;
    for (int j = 0; j < C; j++) z += (pr[j] = std::exp(x[j] - mx));
    for (int j = 0; j < C; j++) pr[j] = (real)(pr[j] / z);
    loss -= (x[labels[n]] - mx) - std::log(z);
  }
  return logits.tape->record("softmax_xent", Tensor::scalar((real)(loss / N)), {logits},
                             [p = std::move(p), labels](BackwardCtx& c) {
                               if (!c.dx[0]) return;
                               int N = p.dim(0), C = p.dim(1);
                               real g = c.dy[0] / N;
                               for (int n = 0; n < N; n++)
                                 for (int j = 0; j < C; j++)
                                   (*c.dx[0])[(size_t)n * C + j] += g * (p[(size_t)n * C + j] - (j == labels[n]));
                             });
}

}  // namespace l2l
