// tape.cpp: recording and the reverse sweep. See tape.h for the contract.
#include "tape.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace l2l {

static thread_local bool g_grad_enabled = true;
bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

void Tape::check(const Var& v, const char* what) const {
  if (v.tape != this || v.gen != gen_ || v.id < 0 || v.id >= (int)nodes_.size())
    throw std::logic_error(std::string("[") + what +
                           "] Var does not belong to this tape, or the tape was cleared since it was made");
}

const Tensor& Var::value() const {
  if (!tape) throw std::logic_error("[value] uninitialized Var");
  return tape->value(*this);
}
Tensor Var::grad() const {
  if (!tape) throw std::logic_error("[grad] uninitialized Var");
  return tape->grad_of(*this);
}

const Tensor& Tape::value(const Var& v) const {
  check(v, "value");
  return nodes_[v.id].value;
}

Tensor Tape::grad_of(const Var& v) const {
  check(v, "grad");
  const Node& n = nodes_[v.id];
  if (n.param) return n.param->grad;
  const Tensor& g = grads_[v.id];
  return g.empty() ? Tensor::zeros(n.value.shape()) : g;
}

Var Tape::leaf(Tensor value, bool requires_grad, const char* op) {
  Node n;
  n.op = op;
  n.value = std::move(value);
  n.requires_grad = requires_grad && g_grad_enabled;
  nodes_.push_back(std::move(n));
  grads_.emplace_back();
  return Var{this, (int)nodes_.size() - 1, gen_};
}

Var Tape::param(Param& p) {
  Var v = leaf(p.value, true, "param");
  nodes_[v.id].param = &p;
  return v;
}

Var Tape::record(const char* op, Tensor value, const std::vector<Var>& parents, BackwardFn fn) {
  Node n;
  n.op = op;
  n.value = std::move(value);
  if (g_grad_enabled) {
    for (const Var& p : parents) {
      check(p, op);
      n.parents.push_back(p.id);
      n.requires_grad = n.requires_grad || nodes_[p.id].requires_grad;
    }
    if (n.requires_grad) n.backward = std::move(fn);
  }
  nodes_.push_back(std::move(n));
  grads_.emplace_back();
  return Var{this, (int)nodes_.size() - 1, gen_};
}

// The whole of reverse mode. Adjoints of this sweep live in `adj`, one slot per node in
// [lo, top]. Nodes are visited from `top` down to lo + 1; each node that has received a
// gradient hands it to its backward function, which adds into its parents' slots. A parent
// always has a smaller index, so its adjoint is complete before it is visited. Parents below
// `lo` are skipped: they were created before every node we differentiate with respect to.
std::vector<Tensor> Tape::sweep(int top, int lo, const Tensor& seed) {
  std::vector<Tensor> adj(top - lo + 1);
  auto slot = [&](int i) -> Tensor& { return adj[i - lo]; };
  slot(top) = seed;
  visits_ = 0;
  sweeps_++;
  std::vector<const Tensor*> x;  // the parents' values and gradient buffers of one node,
  std::vector<Tensor*> dx;       // lent to its BackwardCtx and taken back (no allocation per node)
  for (int i = top; i > lo; i--) {
    Node& n = nodes_[i];
    if (!n.backward || slot(i).empty()) continue;
    x.clear();
    dx.clear();
    for (int p : n.parents) {
      x.push_back(&nodes_[p].value);
      Tensor* d = nullptr;
      if (nodes_[p].requires_grad && p >= lo) {
        if (slot(p).empty()) slot(p) = Tensor::zeros(nodes_[p].value.shape());
        d = &slot(p);
      }
      dx.push_back(d);
    }
    BackwardCtx c{n.value, slot(i), std::move(x), std::move(dx)};
    n.backward(c);
    x = std::move(c.x);
    dx = std::move(c.dx);
    visits_++;
  }
  return adj;
}

void Tape::backward(Var y) {
  check(y, "backward");
  if (value(y).size() != 1)
    throw std::invalid_argument("[backward] needs a one-element output, got shape " +
                                shape_str(value(y).shape()) + "; pass a seed tensor instead");
  backward(y, Tensor::full(value(y).shape(), 1));
}

// One sweep into fresh adjoints, then added to what the nodes (and bound Params) hold: so
// calling backward twice doubles every gradient, and a second sweep never re-propagates
// the first one's intermediate adjoints.
void Tape::backward(Var y, const Tensor& seed) {
  check(y, "backward");
  if (seed.shape() != value(y).shape())
    throw std::invalid_argument("[backward] seed " + shape_str(seed.shape()) + " vs output " +
                                shape_str(value(y).shape()));
  std::vector<Tensor> adj = sweep(y.id, 0, seed);
  for (int i = 0; i <= y.id; i++) {
    Tensor& a = adj[i];
    if (a.empty()) continue;
    Tensor& g = nodes_[i].param ? nodes_[i].param->grad : grads_[i];
    if (g.shape() != a.shape()) {
      g = std::move(a);
    } else {
      real* gp = g.data();
      const real* ap = a.data();
      for (size_t k = 0, n = g.size(); k < n; k++) gp[k] += ap[k];
    }
  }
}

std::vector<Tensor> Tape::grad(Var y, const std::vector<Var>& wrt) {
  check(y, "grad");
  if (value(y).size() != 1)
    throw std::invalid_argument("[grad] needs a one-element output, got shape " + shape_str(value(y).shape()));
  int lo = y.id;
  for (const Var& w : wrt) {
    check(w, "grad");
    lo = std::min(lo, w.id);
  }
  // Sweep only [lo, y]: nothing created before the earliest wrt can depend on it.
  std::vector<Tensor> adj = sweep(y.id, lo, Tensor::full(value(y).shape(), 1));
  std::vector<Tensor> out;
  for (const Var& w : wrt) {
    bool reached = w.id <= y.id && !adj[w.id - lo].empty();  // y cannot depend on later nodes
    out.push_back(reached ? adj[w.id - lo] : Tensor::zeros(nodes_[w.id].value.shape()));
  }
  return out;
}

void Tape::zero_grad() {
  for (Tensor& g : grads_) g = Tensor();
}

void Tape::clear() {
  nodes_.clear();
  grads_.clear();
  gen_++;
}

Var detach(const Var& x) { return x.tape->leaf(x.value(), false, "detach"); }

std::string Tape::to_dot() const {
  std::ostringstream o;
  o << "digraph tape {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  for (size_t i = 0; i < nodes_.size(); i++) {
    const Node& n = nodes_[i];
    bool leafish = n.parents.empty();
    std::string name = n.param ? n.param->name : n.op;
    o << "  n" << i << " [shape=" << (leafish ? "box" : "ellipse") << ", label=\"#" << i << " " << name
      << "\\n" << shape_str(n.value.shape());
    if (n.value.size() == 1) o << " = " << n.value[0];
    const Tensor& g = n.param ? n.param->grad : grads_[i];
    if (g.size() == 1) o << "\\ngrad " << g[0];
    o << "\"" << (n.requires_grad ? "" : ", style=dashed") << "];\n";
    for (int p : n.parents) o << "  n" << p << " -> n" << i << ";\n";
  }
  o << "}\n";
  return o.str();
}

}  // namespace l2l
