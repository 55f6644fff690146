// real.h: the one scalar type of the engine.
//
// Everything runs in float32 for speed (the learned optimizer works on ~16k coordinates
// x 80 gate values per step). The test suite is compiled with -DL2L_DOUBLE so that
// gradient checks by central differences are meaningful (float32 finite differences lose
// about half of their digits). A compile-time switch (Adept's `Real` typedef) rather than
// templates keeps every op a plain function a reader can step through.
#pragma once

namespace l2l {
#ifdef L2L_DOUBLE
using real = double;
#else
using real = float;
#endif
}  // namespace l2l
