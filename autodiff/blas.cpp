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

// ---- the small-product kernel ------------------------------------------------------------------

namespace {

typedef real Vec __attribute__((vector_size(32)));  // 8 floats or 4 doubles
constexpr int kLanes = 32 / sizeof(real);
constexpr int kCols = 16;                           // columns of C per tile: 2 or 4 vectors
constexpr int kVecs = kCols / kLanes;

inline Vec load(const real* p) {
  Vec v;
  __builtin_memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}
inline void store(real* p, Vec v) { __builtin_memcpy(p, &v, sizeof v); }

// C[0:R, 0:16] = A[0:R, :] B[:, 0:16] for R <= 6 rows: R x kVecs accumulators in registers;
// per k, kVecs loads of B's row k and R broadcasts of A[r][k].
template <int R>
inline void tile(int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  Vec acc[R][kVecs] = {};
  for (int k = 0; k < K; k++) {
    Vec b[kVecs];
    for (int v = 0; v < kVecs; v++) b[v] = load(B + (size_t)k * ldb + v * kLanes);
    for (int r = 0; r < R; r++) {
      Vec a = A[(size_t)r * lda + k] - Vec{};  // broadcast
      for (int v = 0; v < kVecs; v++) acc[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < kVecs; v++) store(C + (size_t)r * ldc + v * kLanes, acc[r][v]);
}

}  // namespace

void gemm_small_nn(int M, int N, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  if (N % kCols != 0) {
    gemm(false, false, M, N, K, real(1), A, lda, B, ldb, real(0), C, ldc);
    return;
  }
  int i = 0;
  for (; i + 6 <= M; i += 6)
    for (int j = 0; j < N; j += kCols) tile<6>(K, A + (size_t)i * lda, lda, B + j, ldb, C + (size_t)i * ldc + j, ldc);
  for (; i < M; i++)
    for (int j = 0; j < N; j += kCols) tile<1>(K, A + (size_t)i * lda, lda, B + j, ldb, C + (size_t)i * ldc + j, ldc);
}

}  // namespace l2l
