// tape.h: the reverse-mode engine. A Tape is a list of nodes in creation order; a Var is a
// handle (tape, index) to one node. Ops (ops.h) compute a value, append a node that remembers
// its parents and a backward function, and return its Var.
//
// Because a node is appended after all of its parents, creation order is a topological order:
// backward() is one reverse loop over the list (no recursion, no sort), and gradients are
// always accumulated (+=), so a value used twice receives both contributions.
//
// Gradient stopping, which the paper needs (the optimizee gradient enters the learned
// optimizer as a constant, dgrad/dphi = 0):
//   detach(x)      a new leaf with x's value and no parents: nothing flows back through it.
//   NoGradGuard    RAII: while alive, ops record values only (no parents, no backward).
//   grad(y, wrt)   dy/dwrt returned as plain tensors; touches no accumulated .grad anywhere,
//                  and sweeps only nodes recorded after the earliest wrt.
//
// Is not: higher-order autodiff (backward functions use plain tensor math, not ops), lazy
// evaluation, or thread-safe (one tape per thread).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor.h"

namespace l2l {

class Tape;

// A trainable tensor that outlives tapes: modules own Params, and each forward pass binds them
// to the current tape with tape.param(p). Backward accumulates straight into p.grad.
struct Param {
  std::string name;
  Tensor value, grad;
  Param() = default;
  Param(std::string n, Tensor v) : name(std::move(n)), value(std::move(v)), grad(Tensor::zeros(value.shape())) {}
  void zero_grad() { grad.fill(0); }
};

// Handle to a node. Cheap to copy; invalid once its tape is cleared (checked on use).
struct Var {
  Tape* tape = nullptr;
  int id = -1;
  unsigned gen = 0;  // tape generation at creation, to catch use after clear()

  const Tensor& value() const;
  const Shape& shape() const { return value().shape(); }
  size_t size() const { return value().size(); }
  real item() const { return value().item(); }
  // dL/dthis accumulated by tape.backward() calls: zeros if nothing reached this node. For a
  // leaf made by tape.param(p) it is p.grad, which accumulates across tapes.
  Tensor grad() const;
};

// What a backward function sees: its own value y and incoming gradient dy, its parents'
// values x[i], and the buffers dx[i] to ADD its contribution to (nullptr: not needed).
struct BackwardCtx {
  const Tensor& y;
  const Tensor& dy;
  std::vector<const Tensor*> x;
  std::vector<Tensor*> dx;
};
using BackwardFn = std::function<void(BackwardCtx&)>;

struct Node {
  const char* op = "leaf";     // for error messages and to_dot
  Tensor value;
  std::vector<int> parents;    // indices of earlier nodes
  bool requires_grad = false;  // some leaf that wants a gradient lies upstream
  BackwardFn backward;         // empty for leaves and for nodes recorded without grad
  Param* param = nullptr;      // set for leaves made by Tape::param
};

class Tape {
 public:
  Tape() = default;
  // Not copyable or movable: Vars and recorded backward functions hold this tape's address.
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  // Leaves.
  Var leaf(Tensor value, bool requires_grad = false, const char* op = "leaf");
  Var constant(Tensor value) { return leaf(std::move(value), false, "const"); }
  Var param(Param& p);  // leaf holding a copy of p.value; its gradient accumulates into p.grad

  // Append an op's result. requires_grad is on when grad mode is on and a parent requires it;
  // otherwise `fn` is dropped (and under NoGradGuard the parents too).
  Var record(const char* op, Tensor value, const std::vector<Var>& parents, BackwardFn fn);

  // Reverse sweep from y (seed dy = 1; y must hold one value) or from y with a given seed.
  // Adds into the .grad of every node that requires grad, and into bound Params' grad.
  void backward(Var y);
  void backward(Var y, const Tensor& seed);

  // dy/dwrt[i] for scalar y, as fresh tensors (zeros where y does not depend on wrt[i]).
  // Leaves every accumulated gradient (nodes and Params) untouched.
  std::vector<Tensor> grad(Var y, const std::vector<Var>& wrt);

  void zero_grad();   // forget node gradients (Params keep theirs: see Param::zero_grad)
  void clear();       // drop all nodes; every Var of this tape becomes invalid
  int size() const { return (int)nodes_.size(); }
  const Node& node(int id) const { return nodes_.at(id); }
  int last_sweep_visits() const { return visits_; }  // backward fns run by the last sweep
  // Counts reverse sweeps (backward and grad) of this tape: lets two nodes of one op that hand
  // work to each other during a sweep tell this sweep from an earlier one (nn/lstm.cpp). It
  // names the latest sweep: no sweep may start inside a backward function of another.
  unsigned long sweep_count() const { return sweeps_; }
  std::string to_dot() const;                         // Graphviz source of the whole tape

  const Tensor& value(const Var& v) const;
  Tensor grad_of(const Var& v) const;

 private:
  friend struct Var;
  void check(const Var& v, const char* what) const;
  // One reverse sweep seeded with dL/d(top) that runs the backward functions of nodes
  // lo+1..top and returns the adjoints of nodes lo..top (slot i - lo; empty where nothing arrived).
  std::vector<Tensor> sweep(int top, int lo, const Tensor& seed);

  std::vector<Node> nodes_;
  std::vector<Tensor> grads_;  // parallel to nodes_, empty until written
  unsigned gen_ = 1;
  int visits_ = 0;
  unsigned long sweeps_ = 0;
};

// Stop-gradient: a new leaf on x's tape with a copy of x's value.
Var detach(const Var& x);

bool grad_enabled();
class NoGradGuard {  // RAII: disables recording in this thread, restores the old mode on exit
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace l2l
