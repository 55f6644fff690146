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
// or 24 and 40). A register-blocked kernel of our own, which skips OpenBLAS's packing and its
// separate pass that zeroes C. Each element of C is one chain of FMAs in k order (explicit FMA
// intrinsics), so it equals a scalar std::fma loop bit for bit whatever the tile or vector width.
// Other N go to gemm().
//   AVX-512 (compiled with __AVX512F__, e.g. -march=native here): vectors of 16 floats (8 doubles)
//   in 32 registers; strips of 80 columns as tiles of 4 rows x 5 vectors, the rest of N as one
//   narrower strip (16-column vectors, plus half a vector for N % 16 == 8) of up to 24 accumulators.
//   Otherwise (AVX2): vectors of 8 floats in 16 registers, tiles of 6 rows x 16 columns, then
//   12 rows x 8 columns. `make test-avx2` builds and tests that path.
// Measured on the cell's shapes (float, 1 core, thread CPU time, 504-row blocks): AVX-512 180-215
// GFLOP/s where N = 80 (forward, K = 23 / 41; dW, transA with K = 504), 130-155 for dz W^T
// (N = 24 / 40, K = 80); the AVX2 path 90-110 on all six (OpenBLAS ~50 wall-clock in the bench).
void gemm_small(bool transA, int M, int N, int K, const real* A, int lda, const real* B, int ldb, real* C, int ldc);

void gemm_naive(bool transA, bool transB, int M, int N, int K, real alpha, const real* A, int lda,
                const real* B, int ldb, real beta, real* C, int ldc);

}  // namespace l2l
