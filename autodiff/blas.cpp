// blas.cpp: gemm through cblas, the naive reference, and gemm_small (our kernel for the small
// products of the LSTM cell and of conv's dx). See blas.h.
#include "blas.h"

#include <cblas.h>

#include <algorithm>
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

inline Vec load(const real* p) {
  Vec v;
  __builtin_memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}
inline void store(real* p, Vec v) { __builtin_memcpy(p, &v, sizeof v); }

// C[0:R, 0:COLS] = op(A)[0:R, :] B[:, 0:COLS]: R x COLS/kLanes accumulators in registers; per k,
// the loads of B's row k and R broadcasts of op(A)[r][k], which is A[r lda + k] (A[k lda + r] if
// TA). Every element of C is one chain of fused multiply-adds in k order, whatever the tile.
template <bool TA, int COLS, int R>
inline void tile(int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  constexpr int V = COLS / kLanes;
  Vec acc[R][V];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) acc[r][v] = Vec{};  // (not `= {}`: GCC would memset a stack copy)
  for (int k = 0; k < K; k++) {
    Vec b[V];
    for (int v = 0; v < V; v++) b[v] = load(B + (size_t)k * ldb + v * kLanes);
    for (int r = 0; r < R; r++) {
      Vec a = (TA ? A[(size_t)k * lda + r] : A[(size_t)r * lda + k]) - Vec{};  // broadcast
      for (int v = 0; v < V; v++) acc[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) store(C + (size_t)r * ldc + v * kLanes, acc[r][v]);
}

// The last rows < R of a column strip, as one tile of exactly that many rows.
template <bool TA, int COLS, int R>
inline void tail_tile(int rows, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  if constexpr (R > 1)
    if (rows < R) return tail_tile<TA, COLS, R - 1>(rows, K, A, lda, B, ldb, C, ldc);
  tile<TA, COLS, R>(K, A, lda, B, ldb, C, ldc);
}

// op(A)'s row i: row i of A, or column i when TA.
template <bool TA>
inline const real* a_row(const real* A, int lda, int i) {
  return TA ? A + i : A + (size_t)i * lda;
}

// Rows [0, R) of C, R <= 12, all N columns: strips of 16 columns as tiles of up to 6 rows (12
// float accumulators), then the last 8 columns (if any) as one tile of up to 12 rows, so that
// full tiles have at least 10 independent chains to hide the FMA latency.
template <bool TA>
void row_block(int R, int N, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  const int N16 = N / 16 * 16;
  for (int r = 0; r < R; r += 6)  // rows outer, strips inner: measured 1.4x faster in the cell than the other order
    for (int j = 0; j < N16; j += 16)
      tail_tile<TA, 16, 6>(std::min(6, R - r), K, a_row<TA>(A, lda, r), lda, B + j, ldb, C + (size_t)r * ldc + j, ldc);
  if (N16 < N) tail_tile<TA, 8, 12>(R, K, A, lda, B + N16, ldb, C + N16, ldc);
}

}  // namespace

void gemm_small(bool transA, int M, int N, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  if (N % 8 != 0) {
    gemm(transA, false, M, N, K, real(1), A, lda, B, ldb, real(0), C, ldc);
    return;
  }
  for (int i = 0; i < M; i += 12) {
    const int R = std::min(12, M - i);
    real* Ci = C + (size_t)i * ldc;
    transA ? row_block<true>(R, N, K, a_row<true>(A, lda, i), lda, B, ldb, Ci, ldc)
           : row_block<false>(R, N, K, a_row<false>(A, lda, i), lda, B, ldb, Ci, ldc);
  }
}

}  // namespace l2l
