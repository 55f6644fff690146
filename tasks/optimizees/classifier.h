// classifier.h: what the two image-classifier optimizees (MNIST, CIFAR-10) share: drawing a
// minibatch and scoring a final theta on the whole test set.
// Is not: a network (each optimizee file builds its own from nn's modules) or a data loader.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/ops.h"
#include "tasks/data/data.h"
#include "nn/rng.h"

namespace l2l {

// `batch` images drawn uniformly WITH replacement, each by rng.below(n) in order (the same rng
// state gives the same minibatch), as one tensor of shape {batch} + image_shape, and their labels.
struct Minibatch {
  Tensor x;
  std::vector<int> labels;
};
Minibatch draw_minibatch(const Dataset& d, int batch, Rng& rng, const Shape& image_shape);

// Loss and accuracy of a classifier over every image of d, in chunks (recording no graph):
// {"test_loss", mean cross-entropy}, {"test_accuracy", fraction of argmax == label}.
// logits(tape, x) maps a chunk x (n, image...) to (n, classes).
using LogitsFn = std::function<Var(Tape& tape, Var x)>;
std::vector<std::pair<std::string, double>> test_set_metrics(const Dataset& d, const Shape& image_shape, int chunk,
                                                             const LogitsFn& logits);

}  // namespace l2l
