// ops_frozen.cpp: frozen_loss, the op that puts an optimizee on the meta tape as two numbers.
//
// Meta-training needs, for each optimizee step t, f_t = f(theta_t) in the meta-loss and
// d f_t / d theta_t in the meta-gradient. The optimizee's own tape already produced both (the
// oracle, tasks/task.h: Problem::loss_and_grad). Recording f's whole graph a second time on the
// meta tape would only recompute grad_t in backward, and keep U steps of activations alive.
// This op records one node instead:
//
//   forward:   y = f                         (1)      a constant number
//   backward:  dtheta += dy * grad           (N)      the gradient the oracle returned
//
// Exact under the paper's assumption that grad_t is a constant of phi (d grad_t / d phi = 0):
// the total derivative of f(theta_t(phi)) is grad_t^T d theta_t / d phi, and the chain
// theta_t = theta_{t-1} + m(...; phi) is on the tape. tests/test_meta.cpp pins it against
// finite differences of the frozen-gradient meta-loss.
#include <stdexcept>

#include "ops.h"

namespace l2l {

Var frozen_loss(Var theta, real f, Tensor grad) {
  if (theta.size() != grad.size())
    throw std::invalid_argument("[frozen_loss] theta " + shape_str(theta.shape()) + " and grad " + shape_str(grad.shape()) +
                                " differ in size");
  return theta.tape->record("frozen_loss", Tensor::scalar(f), {theta}, [g = std::move(grad)](BackwardCtx& c) {
    if (!c.dx[0]) return;
    const real dy = c.dy[0];
    real* dx = c.dx[0]->data();
    const real* gp = g.data();
    for (size_t i = 0, n = g.size(); i < n; i++) dx[i] += dy * gp[i];
  });
}

}  // namespace l2l
