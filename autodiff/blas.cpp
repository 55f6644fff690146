// blas.cpp: gemm through cblas, and the naive reference. See blas.h.
#include "blas.h"

#include <cblas.h>

#include <atomic>

namespace l2l {

static CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

static std::atomic<bool> g_blas_threads_set{false};

void set_blas_threads(int n) {
  openblas_set_num_threads(n);
  g_blas_threads_set = true;
}

// Called by every gemm: one thread unless someone chose otherwise (see blas.h).
static void ensure_blas_threads() {
  if (!g_blas_threads_set) set_blas_threads(1);
}

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
  ensure_blas_threads();
  cblas_sgemm(CblasRowMajor, tr(transA), tr(transB), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(bool transA, bool transB, int M, int N, int K, double alpha, const double* A, int lda,
          const double* B, int ldb, double beta, double* C, int ldc) {
  ensure_blas_threads();
  cblas_dgemm(CblasRowMajor, tr(transA), tr(transB), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_naive(bool transA, bool transB, int M, int N, int K, real alpha, const real* A, int lda,
                const real* B, int ldb, real beta, real* C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int k = 0; k < K; k++) {
        real a = transA ? A[k * lda + i] : A[i * lda + k];
        real b = transB ? B[j * ldb + k] : B[k * ldb + j];
        s += (double)a * b;
      }
      C[i * ldc + j] = (real)(alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]));
    }
}

}  // namespace l2l
