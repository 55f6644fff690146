// module.h: the base of every layer that owns trainable parameters, and where a forward pass
// reads those parameters from.
//
// Is: a list of named Params (micrograd's Module, in C++), plus ParamSource, the one
// indirection that lets the same layer serve two masters:
//   BoundParams   p's own value, bound with tape.param(p): backward accumulates into p.grad.
//                 How nn users and the learned optimizer's LSTM train their weights.
//   ThetaSlices   p's slice of ONE flat vector theta (a Var): backward flows into theta.
//                 How an optimizee (tasks/) is written: the learned optimizer sees theta as a
//                 flat vector of coordinates, and the module only lends its shapes and names.
// A module owns its Params for its whole life; a BoundParams forward binds them to the
// current tape, so the Vars for parameters live only as long as that tape while p.value and
// p.grad persist.
// Is not: an optimizer (nn/optim.h updates p.value from p.grad, off the tape), a container of
// submodule trees, or a serializer (nn/checkpoint.h reads params() by name).
//
// Names are dotted paths: "lstm.0.w", "lstm.1.b", "out.w". They must be unique in a model.
// Copying a module copies its parameters; do not copy or move a module while a tape still
// holds Vars bound to its Params (the tape keeps Param pointers).
#pragma once
#include <string>
#include <unordered_map>
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

// One tensor of a flat parameter vector: its name, shape, and the group (the learned
// optimizer runs one net per group; see tasks/learned_optimizer.h).
struct TensorSpec {
  std::string name;
  Shape shape;
  int group = 0;
};
// The specs of a module's Params, in params() order, all in `group`.
std::vector<TensorSpec> specs_of(const std::vector<Param*>& ps, int group = 0);

// What a forward pass reads a Param as.
class ParamSource {
 public:
  virtual ~ParamSource() = default;
  virtual Var get(Param& p) = 0;
};

class BoundParams : public ParamSource {
 public:
  explicit BoundParams(Tape& tape) : tape_(tape) {}
  Var get(Param& p) override { return tape_.param(p); }

 private:
  Tape& tape_;
};

// theta (N) cut into the Params `order` by slice + reshape, in that order (their sizes must add
// up to N). get(p) of a Param not in `order` throws std::logic_error naming it.
class ThetaSlices : public ParamSource {
 public:
  ThetaSlices(Var theta, const std::vector<Param*>& order);
  Var get(Param& p) override;

 private:
  std::unordered_map<const Param*, Var> slices_;
};

}  // namespace l2l
