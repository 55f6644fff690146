// classifier.h: what the two image-classifier optimizees (MNIST, CIFAR-10) share: the Task and
// Problem around a network, minibatches drawn with replacement, and the whole-test-set score.
//
// A ClassifierTask has a network (ClassifierNet) and two sets of images. Training and
// validation problems draw their minibatches from the training images, test problems from the
// test images (the paper trains the optimizee on minibatches and reports that training loss).
// Problems differ only in theta_0 and in their minibatches, both drawn from the streams of
// their ProblemId (task.h); the function itself is the same for every problem.
// Is not: a network (tasks/optimizees/mnist.cpp and cifar.cpp build theirs from nn's modules)
// or a data loader (tasks/data/).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/ops.h"
#include "nn/rng.h"
#include "tasks/data/data.h"
#include "tasks/task.h"

namespace l2l {

// A classifier whose tensors are read from theta: nn modules whose Params lend their names,
// shapes and order (ThetaSlices, nn/module.h); their own values are never read.
class ClassifierNet {
 public:
  virtual ~ClassifierNet() = default;
  virtual std::vector<TensorSpec> specs() = 0;  // theta's layout, groups included
  virtual Tensor init(Rng& rng) = 0;            // theta_0 (N)
  virtual Var logits(Var x, Var theta) = 0;     // x (B, image...) -> (B, classes)
};

// The images a classifier task trains and tests on, and how it reads them.
struct ClassifierData {
  std::shared_ptr<const Dataset> train, test;
  Shape image;           // one image as the net reads it: {784} or {3, 32, 32}
  int batch = 128;       // images per minibatch, drawn with replacement
  int chunk = 1000;      // images per forward pass of the whole-test-set score
};

class ClassifierTask : public Task {
 public:
  ClassifierTask(std::shared_ptr<ClassifierNet> net, ClassifierData data);
  std::unique_ptr<Problem> sample(const ProblemId& id) const override;
  int groups() const override { return groups_; }

 protected:
  // "batch 128 drawn with replacement from the training images (60000; test problems: the
  // 10000 test images)": the part of describe() the two tasks share.
  std::string describe_data() const;
  ClassifierData data_;

 private:
  std::shared_ptr<ClassifierNet> net_;
  int groups_ = 1;
};

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

// theta_0 laid out by `specs`: tensors of two or more dimensions (weights, kernels) Glorot
// uniform (nn/init.h), one-dimensional ones (biases, batch-norm offsets) zero; drawn tensor by
// tensor in spec order.
Tensor glorot_weights_zero_biases(const std::vector<TensorSpec>& specs, Rng& rng);

// Throws std::invalid_argument naming `who` and `what` ("train" or "test") unless d holds n >= 1
// images of `image` shape (channels x height x width) with n labels.
void check_images(const Dataset& d, int channels, int height, int width, const std::string& who, const char* what);

}  // namespace l2l
