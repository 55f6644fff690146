// module.h: the base of every layer that owns trainable parameters.
//
// Is: a list of named Params (micrograd's Module, in C++). A module owns its Params for its
// whole life; each forward pass binds them to the current tape with tape.param(p), so the
// Vars for parameters live only as long as that tape (which is cleared between meta-training
// windows) while p.value and p.grad persist. Backward accumulates into p.grad.
// Is not: an optimizer (nn/optim.h updates p.value from p.grad, off the tape), a container of
// submodule trees, or a serializer (nn/checkpoint.h reads params() by name).
//
// Names are dotted paths: "lstm.0.w", "lstm.1.b", "out.w". They must be unique in a model.
// Copying a module copies its parameters; do not copy or move a module while a tape still
// holds Vars bound to its Params (the tape keeps Param pointers).
#pragma once
#include <string>
#include <vector>

#include "autodiff/tape.h"

namespace l2l {

class Module {
 public:
  virtual ~Module() = default;

  // Every trainable tensor of this module, in a fixed order (the order of construction).
  virtual std::vector<Param*> params() = 0;

  // Total number of trainable scalars (the sum of the params' sizes).
  size_t param_count() {
    size_t n = 0;
    for (Param* p : params()) n += p->value.size();
    return n;
  }

  // Set every p.grad to zero (gradients accumulate across backward calls until this).
  void zero_grad() {
    for (Param* p : params()) p->zero_grad();
  }
};

}  // namespace l2l
