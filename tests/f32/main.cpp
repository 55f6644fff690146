// tests/f32/main.cpp — the doctest runner of build/tests-f32: the float32 build's kernels.
//
// The main suite (build/tests) is compiled with -DL2L_DOUBLE so that gradient checks by
// finite differences mean something; this second binary is compiled WITHOUT it, linked with
// the same float32 library objects as the programs (build/f32/), and checks those kernels
// against double references (tests/f32/test_kernels_f32.cpp). `make test` runs both.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "doctest/doctest.h"
