// preprocess.h: what the learned optimizer's net reads of a gradient, equation (1) of
// tasks/learned_optimizer.h: the raw gradient (none), the paper's Appendix A log and sign
// (logsign), or RNNprop's Adam-like normalization (adamnorm, equation (5) there).
// Forward only: the input is a constant of the meta-gradient, like the gradient itself.
// Is not: the net (tasks/learned_optimizer.h).
#pragma once
#include "autodiff/tensor.h"
#include "tasks/net_config.h"

namespace l2l {

// adamnorm's running moments of one net's coordinates (5); empty for the other modes.
struct InputMoments {
  Tensor m, v;  // (n) each
  int t = 0;    // steps taken
};

// Preprocessing of a flat gradient (n) into the net's input (n, I). Forward only: the input is
// a constant of the meta-gradient. adamnorm needs `mom` (advanced in place, zero-sized ones are
// started at zero); the other modes ignore it.
Tensor preprocess_gradient(const Tensor& grad, const NetConfig& cfg, InputMoments* mom = nullptr);
int preprocess_inputs(const NetConfig& cfg);  // I: 1 or 2

}  // namespace l2l
