// blas.h: the only door to OpenBLAS. C = alpha * op(A) op(B) + beta * C, row-major.
//
// op(X) is X or X^T. Shapes: op(A) is (M,K), op(B) is (K,N), C is (M,N). lda/ldb/ldc are the
// row lengths of A, B and C as stored. Overloaded for float and double so `real` picks one.
// gemm_naive is the triple loop kept as the reference the tests compare against.
//
// Threads: OpenBLAS runs on ONE thread unless set_blas_threads says otherwise (the first gemm
// sets it), so that no result depends on how OpenBLAS splits a product; the parallelism of the
// engine is its own (parallel.h). The bench raises it to measure the 2-thread sgemm yardstick.
#pragma once
#include "real.h"

namespace l2l {

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);
void gemm(bool transA, bool transB, int M, int N, int K, double alpha, const double* A, int lda,
          const double* B, int ldb, double beta, double* C, int ldc);
void set_blas_threads(int n);

// C = op(A) B (beta = 0; op(A) is A, or A^T when transA) for the small products of the LSTM cell
// and of conv's dx: a short inner dimension K, or few rows M, and N a multiple of 8 (e.g. 4H = 80,
// or 24 and 40). A register-blocked kernel of our own (tiles of up to 6 rows x 16 columns or 12
// rows x 8 columns of C, in float 12 vector registers; GCC vector types: 8 floats or 4 doubles
// each, so the double build, for tests, spills),
// which skips OpenBLAS's packing and its separate pass that zeroes C. Each element of C is one
// chain of FMAs in k order. Other N go to gemm().
// Measured on the LSTM's forward shapes (float, 1 thread, N = 80, M = 64..1024): 1.4-1.5x OpenBLAS
// at K = 23 and 1.2-1.4x at K = 41 (59-69 vs 40-54 GFLOP/s; a 4-row tile was slower than
// OpenBLAS at K = 41: 8 accumulators do not hide the FMA latency). The backward's shapes are in
// the bench (`build/bench --only kernel`).
void gemm_small(bool transA, int M, int N, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc);

void gemm_naive(bool transA, bool transB, int M, int N, int K, real alpha, const real* A, int lda,
                const real* B, int ldb, real beta, real* C, int ldc);

}  // namespace l2l
