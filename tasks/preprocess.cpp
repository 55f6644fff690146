// preprocess.cpp: see preprocess.h.
#include "tasks/preprocess.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "autodiff/parallel.h"

namespace l2l {

// fn(i0, i1) over [0, n) in chunks of a fixed size, on the thread pool. Every coordinate is
// computed alone, so the result is the same bits for any thread count.
static void for_chunks(int n, const std::function<void(int, int)>& fn) {
  constexpr int kChunk = 2048;
  parallel_for((n + kChunk - 1) / kChunk, [&](int b) { fn(b * kChunk, std::min(n, (b + 1) * kChunk)); });
}

int preprocess_inputs(const NetConfig& cfg) {
  if (cfg.preprocess == "none") return 1;
  if (cfg.preprocess == "logsign" || cfg.preprocess == "adamnorm") return 2;
  throw std::invalid_argument("unknown preprocessing '" + cfg.preprocess + "' (expected none, logsign or adamnorm)");
}

// (5), RNNprop's inputs: the bias-corrected first moment and the gradient, both divided by
// the root of the bias-corrected second moment. The moments are advanced in place.
static Tensor adam_normalized(const Tensor& grad, const NetConfig& cfg, InputMoments& mom) {
  const int n = (int)grad.size();
  if (mom.m.size() == 0 && mom.v.size() == 0 && mom.t == 0) mom = {Tensor::zeros({n}), Tensor::zeros({n}), 0};
  if ((int)mom.m.size() != n || (int)mom.v.size() != n)
    throw std::invalid_argument("[adamnorm] moments of " + std::to_string(mom.m.size()) + " coordinates for a gradient of " +
                                std::to_string(n));
  mom.t++;
  const double b1 = cfg.beta1, b2 = cfg.beta2, eps = 1e-8;
  const double c1 = 1 - std::pow(b1, mom.t), c2 = 1 - std::pow(b2, mom.t);
  Tensor x({n, 2});
  for_chunks(n, [&](int i0, int i1) {
    for (int i = i0; i < i1; i++) {
      double g = grad[i];
      double m = b1 * mom.m[i] + (1 - b1) * g, v = b2 * mom.v[i] + (1 - b2) * g * g;
      mom.m[i] = (real)m;
      mom.v[i] = (real)v;
      double d = std::sqrt(v / c2) + eps;
      x[2 * i] = (real)(m / c1 / d);
      x[2 * i + 1] = (real)(g / d);
    }
  });
  return x;
}

// Appendix A: (log|g|/p, sign g) if |g| >= e^-p, else (-1, e^p g). Both inputs stay O(1)
// for gradients spanning many orders of magnitude.
Tensor preprocess_gradient(const Tensor& grad, const NetConfig& cfg, InputMoments* mom) {
  int I = preprocess_inputs(cfg);
  int n = (int)grad.size();
  if (cfg.preprocess == "adamnorm") {
    if (!mom) throw std::invalid_argument("[preprocess] adamnorm needs the optimizer's input moments");
    return adam_normalized(grad, cfg, *mom);
  }
  Tensor x({n, I});
  if (I == 1) {
    for (int i = 0; i < n; i++) x[i] = grad[i];
    return x;
  }
  const double p = cfg.p, thresh = std::exp(-p), ep = std::exp(p);
  for_chunks(n, [&](int i0, int i1) {
    for (int i = i0; i < i1; i++) {
      double g = grad[i], a = std::fabs(g);
      if (a >= thresh) {
        x[2 * i] = (real)(std::log(a) / p);
        x[2 * i + 1] = (real)((g > 0) - (g < 0));
      } else {
        x[2 * i] = -1;
        x[2 * i + 1] = (real)(ep * g);
      }
    }
  });
  return x;
}

}  // namespace l2l
