// blas.cpp: gemm through cblas, the naive reference, and gemm_small (our kernel for the small
// products of the LSTM cell and of conv's dx). See blas.h.
#include "blas.h"

#include <cblas.h>
#include <immintrin.h>

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

// The vector of the target: 64 bytes (16 floats, 8 doubles; 32 zmm registers) where AVX-512F is
// compiled in (-march=native on this machine), else 32 bytes (8 floats, 4 doubles; 16 ymm).
// Half is half a vector, for the last 8 float columns when N % 16 == 8 on AVX-512.
#ifdef __AVX512F__
constexpr int kVecBytes = 64;
constexpr int kStripVecs = 5;   // a strip of C is up to 5 vectors wide: the LSTM's 4H = 80 floats
constexpr int kStripRows = 4;   // rows of a full-strip tile: 4 x 5 = 20 accumulators
constexpr int kMaxAcc = 24;     // accumulators of the narrower strips (of 32 registers)
#else
constexpr int kVecBytes = 32;
constexpr int kStripVecs = 2;   // 16 floats
constexpr int kStripRows = 6;   // 6 x 2 = 12 accumulators (of 16 registers)
constexpr int kMaxAcc = 12;
#endif
constexpr int kBlockRows = 12;  // C is computed in blocks of 12 rows, all columns (see row_block)

typedef real Vec __attribute__((vector_size(kVecBytes)));
typedef real Half __attribute__((vector_size(kVecBytes / 2)));
constexpr int kLanes = kVecBytes / sizeof(real);

// c + a b, rounded once. Spelled out rather than left to contraction of `c += a * b`
// (-ffp-contract=fast): GCC 12 compiled the 1-row, half-vector tile as a multiply and an add,
// which breaks the one-FMA-chain promise (the tests compare with a scalar std::fma loop).
inline __m128 fmadd(__m128 a, __m128 b, __m128 c) { return _mm_fmadd_ps(a, b, c); }
inline __m128d fmadd(__m128d a, __m128d b, __m128d c) { return _mm_fmadd_pd(a, b, c); }
inline __m256 fmadd(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
inline __m256d fmadd(__m256d a, __m256d b, __m256d c) { return _mm256_fmadd_pd(a, b, c); }
#ifdef __AVX512F__
inline __m512 fmadd(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
inline __m512d fmadd(__m512d a, __m512d b, __m512d c) { return _mm512_fmadd_pd(a, b, c); }
#endif

template <class V>
inline V load(const real* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}
template <class V>
inline void store(real* p, V v) { __builtin_memcpy(p, &v, sizeof v); }

// C[0:R, 0:W] = op(A)[0:R, :] B[:, 0:W], W = NV vectors (+ half a vector if H): R x (NV + H)
// accumulators in registers; per k, the loads of B's row k and R broadcasts of op(A)[r][k],
// which is A[r lda + k] (A[k lda + r] if TA). Every element of C is one chain of fused
// multiply-adds in k order, whatever the tile (so results do not depend on the tiling, the
// vector width or the thread count).
template <bool TA, int NV, bool H, int R>
inline void tile(int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  Vec acc[R][NV > 0 ? NV : 1];
  Half acch[R];
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < NV; v++) acc[r][v] = Vec{};  // (not `= {}`: GCC would memset a stack copy)
    acch[r] = Half{};
  }
  for (int k = 0; k < K; k++) {
    const real* Bk = B + (size_t)k * ldb;
    Vec b[NV > 0 ? NV : 1];
    for (int v = 0; v < NV; v++) {
      b[v] = load<Vec>(Bk + v * kLanes);
      // Keep b[v] in a register: otherwise GCC folds the load into each of the R FMAs, and the
      // R x NV loads per k, not the FMAs, bound the 512-bit tile (measured 0.8x the 256-bit one).
      asm("" : "+v"(b[v]));
    }
    Half bh = H ? load<Half>(Bk + NV * kLanes) : Half{};
    if (H) asm("" : "+v"(bh));
    for (int r = 0; r < R; r++) {
      const real a = TA ? A[(size_t)k * lda + r] : A[(size_t)r * lda + k];
      for (int v = 0; v < NV; v++) acc[r][v] = fmadd(a - Vec{}, b[v], acc[r][v]);  // a - Vec{}: a broadcast
      if (H) acch[r] = fmadd(a - Half{}, bh, acch[r]);
    }
  }
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < NV; v++) store(C + (size_t)r * ldc + v * kLanes, acc[r][v]);
    if (H) store(C + (size_t)r * ldc + NV * kLanes, acch[r]);
  }
}

// The last rows < R of a column strip, as one tile of exactly that many rows.
template <bool TA, int NV, bool H, int R>
inline void tail_tile(int rows, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  if constexpr (R > 1)
    if (rows < R) return tail_tile<TA, NV, H, R - 1>(rows, K, A, lda, B, ldb, C, ldc);
  tile<TA, NV, H, R>(K, A, lda, B, ldb, C, ldc);
}

// op(A)'s row i: row i of A, or column i when TA.
template <bool TA>
inline const real* a_row(const real* A, int lda, int i) {
  return TA ? A + i : A + (size_t)i * lda;
}

// Rows [0, R) of one strip NV (+ H half) vectors wide, in tiles of RT rows.
template <bool TA, int NV, bool H, int RT>
void strip(int R, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  for (int r = 0; r < R; r += RT)
    tail_tile<TA, NV, H, RT>(std::min(RT, R - r), K, a_row<TA>(A, lda, r), lda, B, ldb, C + (size_t)r * ldc, ldc);
}

// The last strip, W = N mod (kStripVecs vectors) columns (a multiple of half a vector): as
// narrow as W, with as many rows per tile as kMaxAcc accumulators allow (at most kBlockRows), so
// that narrow strips still have 10+ independent chains to hide the FMA latency.
template <bool TA, int NV = 0, bool H = false>
void last_strip(int W, int R, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  constexpr int w = NV + H, RT = std::min(kBlockRows, kMaxAcc / (w ? w : 1));
  if (W == NV * kLanes + H * kLanes / 2) {
    if constexpr (w > 0) strip<TA, NV, H, RT>(R, K, A, lda, B, ldb, C, ldc);
  } else if constexpr (NV < kStripVecs) {
    if constexpr (!H) return last_strip<TA, NV, true>(W, R, K, A, lda, B, ldb, C, ldc);
    else return last_strip<TA, NV + 1, false>(W, R, K, A, lda, B, ldb, C, ldc);
  }
}

// Rows [0, R) of C, R <= kBlockRows, all N columns: full strips of kStripVecs vectors, then the
// remainder strip. Rows outer, strips inner: measured 1.4x faster in the cell than the other order.
template <bool TA>
void row_block(int R, int N, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  constexpr int SW = kStripVecs * kLanes;
  const int Nfull = N / SW * SW;
  for (int r = 0; r < R; r += kStripRows)
    for (int j = 0; j < Nfull; j += SW)
      tail_tile<TA, kStripVecs, false, kStripRows>(std::min(kStripRows, R - r), K, a_row<TA>(A, lda, r), lda, B + j, ldb,
                                                   C + (size_t)r * ldc + j, ldc);
  if (Nfull < N) last_strip<TA>(N - Nfull, R, K, A, lda, B + Nfull, ldb, C + Nfull, ldc);
}

}  // namespace

void gemm_small(bool transA, int M, int N, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc) {
  if (N % 8 != 0) {
    gemm(transA, false, M, N, K, real(1), A, lda, B, ldb, real(0), C, ldc);
    return;
  }
  for (int i = 0; i < M; i += kBlockRows) {
    const int R = std::min(kBlockRows, M - i);
    real* Ci = C + (size_t)i * ldc;
    transA ? row_block<true>(R, N, K, a_row<true>(A, lda, i), lda, B, ldb, Ci, ldc)
           : row_block<false>(R, N, K, a_row<false>(A, lda, i), lda, B, ldb, Ci, ldc);
  }
}

}  // namespace l2l
