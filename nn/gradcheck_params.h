// gradcheck_params.h: the gradient check of a module's Params, with the engine's own checker.
//
// gradcheck() (autodiff/gradcheck.h) checks the derivatives of a function of its input Vars.
// A module reads its Params from a ParamSource (nn/module.h); here the source hands out the
// checker's inputs, one per Param, so the Params' values are checked exactly like any input:
// central differences, "a second backward doubles", and "a backward adds to what other uses
// of its input left". The Params themselves are never modified.
//   gradcheck_params(mlp.params(), [&](Tape& t, ParamSource& src) { return mlp.forward(t.constant(x), src); });
// The report names each input by its Param ("input 0 = mlp.0.w").
// Is not: a check of inputs that are not Params (use gradcheck()).
#pragma once
#include <functional>

#include "autodiff/gradcheck.h"
#include "nn/module.h"

namespace l2l {

using ParamFn = std::function<Var(Tape& tape, ParamSource& src)>;
GradcheckResult gradcheck_params(const std::vector<Param*>& ps, const ParamFn& f, const GradcheckOptions& opt = {});

}  // namespace l2l
