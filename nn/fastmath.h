// fastmath.h: exp, sigmoid and tanh written so that a loop over them vectorizes: 16 floats (8
// doubles) per instruction where AVX-512 is compiled in, 8 floats (4 doubles) with AVX2. Used by
// the fused LSTM cell (nn/lstm.cpp).
//
// Vector width: GCC 12.2's -march=native here (tuned as znver3, prefer-vector-width "none")
// already vectorizes these loops with 512-bit registers; the Makefile's -mprefer-vector-width=512
// pins that for tunings that prefer 256 bits (with GCC 12.2 the objects are the same bytes).
// Measured (float, 504 x 80 elements, 1 core): sigmoid 0.17-0.23 ns per element at 512 bits vs
// 0.35-0.40 with -mno-avx512f; tanh 0.21-0.24 vs 0.40-0.45.
//
// Why not std::exp: it is an opaque libm call (~4 ns per element here), which made the
// nonlinearities of the LSTM cell several times slower than its GEMM.
//
// Why the pragma: by default GCC assumes floating-point comparisons may trap (-ftrapping-math),
// so it will not turn the clamps `x < lo ? lo : x` into vector blends, and the whole loop stays
// scalar ("not vectorized: control flow in loop"; measured 6x slower). Dropping that assumption
// for the functions of this header changes no result: they set no FP exception flags that
// anyone reads. push/pop keeps the option from leaking into files that include this one.
//
// Is not: a general math library (no log, no pow), or accurate beyond what the comments state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")

namespace l2l {

// c[k] = 1 / k!, computed at compile time.
template <class T, int Degree>
struct InvFactorials {
  T c[Degree + 1];
  constexpr InvFactorials() : c() {
    double f = 1;
    for (int k = 0; k <= Degree; k++) c[k] = T(1 / (f *= (k ? k : 1)));
  }
};

// exp(x) by range reduction and a polynomial (Cephes-style): x = n ln2 + r with n an integer
// and |r| <= ln2/2; exp(r) by its Taylor series (degree 7 in float, 13 in double: truncation
// error well below half an ulp); 2^n built in the exponent bits. Inputs are clamped to about
// [-87, 88] (float) or [-708, 709] (double), so the result is a finite normal number; NaN stays
// NaN. Max relative error measured against std::exp: 7.5e-8 in float, 2.2e-16 in double
// (tests/test_nn.cpp checks both).
template <class T>
inline T exp_poly(T x) {
  constexpr bool F = std::is_same<T, float>::value;
  using UInt = typename std::conditional<F, uint32_t, uint64_t>::type;  // wraps, never UB
  constexpr T lo = F ? T(-87) : T(-708), hi = F ? T(88) : T(709);
  constexpr T log2e = T(1.4426950408889634);
  // ln 2 split in two so that n * ln2_hi is exact: r keeps its precision.
  constexpr T ln2_hi = F ? T(0.693359375) : T(0.693147180369123816490);
  constexpr T ln2_lo = F ? T(-2.12194440e-4) : T(1.90821492927058770002e-10);
  // Adding 1.5 * 2^(mantissa bits) rounds to the nearest integer (default rounding mode) and
  // leaves that integer in the low mantissa bits of t; subtracting it back gives n as a float.
  constexpr T round_magic = F ? T(12582912.0) : T(6755399441055744.0);
  constexpr int degree = F ? 7 : 13;
  constexpr InvFactorials<T, degree> taylor{};

  x = x < lo ? lo : x;  // NaN fails both tests and passes through
  x = x > hi ? hi : x;
  T t = x * log2e + round_magic;
  T n = t - round_magic;                // nearest integer to x / ln2
  T r = (x - n * ln2_hi) - n * ln2_lo;  // x - n ln2, |r| <= ln2 / 2
  T p = taylor.c[degree];               // exp(r), Horner
  for (int k = degree - 1; k >= 0; k--) p = p * r + taylor.c[k];
  // n as an integer straight from t's bits (no float-to-int conversion, which would not
  // vectorize for double on AVX2), then 2^n as a biased exponent with a zero mantissa.
  UInt ni = __builtin_bit_cast(UInt, t) - __builtin_bit_cast(UInt, round_magic);  // n mod 2^bits
  UInt bits = (ni + (F ? 127 : 1023)) << (F ? 23 : 52);
  return p * __builtin_bit_cast(T, bits);
}

// t = sigmoid(t) = 1 / (1 + e^-t) over a flat array.
template <class T>
inline void sigmoid_inplace(T* __restrict t, size_t n) {
  for (size_t k = 0; k < n; k++) t[k] = 1 / (1 + exp_poly(-t[k]));
}

// t = tanh(t) = 2 sigmoid(2t) - 1 over a flat array.
template <class T>
inline void tanh_inplace(T* __restrict t, size_t n) {
  for (size_t k = 0; k < n; k++) t[k] = 2 / (1 + exp_poly(-2 * t[k])) - 1;
}

}  // namespace l2l

#pragma GCC pop_options
