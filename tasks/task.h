// task.h: the paper's "distribution of functions". A Task samples Problems; a Problem is one
// function f(theta) to optimize, with its initial point and (for MNIST/CIFAR) its minibatches.
//
// theta is always ONE flat vector of N coordinates, the concatenation of the optimizee's
// tensors in the order of specs(). The learned optimizer is coordinatewise, so a flat vector
// is all it needs; the Problem itself cuts theta back into tensors (nn's ThetaSlices) to
// compute f. Tensors belong to groups (specs()[k].group): one optimizer net per group, so a
// problem can be shared by several nets (CIFAR: conv parameters vs the rest). Groups are
// contiguous ranges of theta, in increasing group order; the specs are their only source.
//
// To everything above it a Problem is an ORACLE: loss_and_grad(theta) -> {f, grad}, computed
// on the problem's own scratch tape, which is cleared before it returns. Meta-training puts
// only the two numbers on its tape (frozen_loss, autodiff/ops.h), never f's graph.
//
// Is not: an optimizer, a training loop (tasks/meta.h), or data loading (tasks/data.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "nn/module.h"
#include "nn/rng.h"

namespace l2l {

struct LossAndGrad {
  real f = 0;   // f(theta)
  Tensor grad;  // df/dtheta (N)
};

class Problem {
 public:
  virtual ~Problem() = default;
  virtual std::vector<TensorSpec> specs() const = 0;
  virtual Tensor init(Rng& rng) const = 0;  // theta_0, flat (N)
  // f(theta) as a scalar Var recorded on `tape`. `batch_rng` draws the minibatch where the
  // problem has one (MNIST: a fresh minibatch per call); deterministic problems ignore it.
  virtual Var loss(Tape& tape, Var theta, Rng& batch_rng) = 0;
  // Extra evaluation of a final theta (e.g. whole-test-set loss and accuracy): name -> value.
  virtual std::vector<std::pair<std::string, double>> final_metrics(const Tensor& /*theta*/) { return {}; }

  // The oracle: f(theta) and its gradient from one call of loss() (one minibatch draw) on the
  // scratch tape, which is cleared before returning (nothing of f's graph outlives the call).
  LossAndGrad loss_and_grad(const Tensor& theta, Rng& batch_rng);
  // f(theta) alone: the same draw, recorded without a graph.
  real loss_value(const Tensor& theta, Rng& batch_rng);

  size_t dim() const;  // N, the number of coordinates

 private:
  Tape scratch_;  // kept between calls so its node list keeps its capacity
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual std::unique_ptr<Problem> sample(uint64_t seed) const = 0;
  virtual std::string describe() const { return name(); }  // one line with the settings
};

// How many groups (learned-optimizer nets) the Task's problems have: 1 + the largest .group.
int num_groups(const Task& task);

// ---- the tasks ---------------------------------------------------------------------------

// f(theta) = mean over B functions of ||W_b theta_b - y_b||^2, theta_b in R^d (paper 3.1; the
// batch of functions is DeepMind's). `dm_variant`: W, y ~ U[0,1) and theta_0 ~ N(0, 0.01^2)
// as in the authors' code; otherwise W, y ~ N(0,1) (paper: "IID Gaussian") and theta_0 ~ N(0,1).
struct QuadraticOptions {
  int batch = 128, dims = 10;
  bool dm_variant = false;
};
std::unique_ptr<Task> make_quadratic_task(const QuadraticOptions& o);

// f(x) = x^2 with x_0 = 1: the authors' smallest sanity problem.
std::unique_ptr<Task> make_simple_task();

// MNIST classifier (paper 3.2, Figures 4-6): an MLP 784-hidden...-10 with `activation` on the
// hidden layers and softmax cross-entropy, trained on minibatches of `batch` images drawn
// uniformly WITH replacement from `split` ("train" for meta-training and validation, "test"
// for test problems). final_metrics: loss and accuracy on the whole test set (10,000 images)
// whatever the split. dm_init: every weight and bias ~ N(0, 0.01^2) (authors' code);
// otherwise Glorot uniform weights and zero biases. One group (one LSTM).
struct Dataset;  // tasks/data.h
struct MnistOptions {
  std::string data_dir;                // folder with the 4 .gz files, or the data root
  std::vector<int> hidden = {20};      // hidden layer sizes; {} = logistic regression
  std::string activation = "sigmoid";  // sigmoid, relu, tanh
  int batch = 128;
  bool dm_init = true;
  std::string split = "train";         // where minibatches come from: train or test
  // Optional, already loaded (e.g. shared by several tasks): used instead of reading data_dir.
  std::shared_ptr<const Dataset> split_data, test_data;
};
std::unique_ptr<Task> make_mnist_task(const MnistOptions& o);

// CIFAR-10 classifier (paper 3.3, Figure 7), the authors' network: three blocks of conv 5x5
// (16 channels, stride 1, SAME) -> batch norm -> ReLU -> max-pool 2x2, then a fully connected
// layer of 32 units -> batch norm -> ReLU, then a k-way linear layer and softmax
// cross-entropy. Batch norm uses batch statistics and learns an offset, no scale (as the
// authors' Sonnet code). Minibatches of `batch` images drawn WITH replacement from `split`;
// `labels` selects a subset (CIFAR-5, CIFAR-2: k = labels.size(), relabelled 0..k-1 in that
// order), empty = all 10. Two groups: 0 = the three conv kernels, 1 = everything else (conv
// biases, batch-norm offsets, both fully connected layers): two learned nets, as in the
// authors' code. final_metrics: loss and accuracy on the split's test images of those labels.
struct CifarOptions {
  std::string data_dir;           // folder with the 6 .bin.xz files, or the data root
  std::vector<int> labels;        // {} = all 10 classes
  int batch = 128;
  std::string split = "train";    // where minibatches come from: train or test
  std::shared_ptr<const Dataset> split_data, test_data;  // optional, already loaded and filtered
};
std::unique_ptr<Task> make_cifar_task(const CifarOptions& o);

// Neural Art (paper 3.4, Figures 8 and 9): theta is the pixels of one size x size RGB image
// (3 size^2 coordinates, values on the [0,1] scale), and
//   f(theta) = alpha L_content(c, theta) + beta L_style(s, theta) + gamma L_tv(theta)
// (Gatys et al. 2015) through VGG-19's first layers: style relu1_1, relu2_1, relu3_1 (Gram
// matrices / (C H W)), content relu2_2, total variation on the pixels. One problem = one
// random crop c of a content photo; the style painting s is fixed for the Task. The photo sets
// of training, validation and test problems are disjoint (tasks/art.h). One group (one LSTM).
// Weights, crops, theta_0 and the photo lists: tasks/art.cpp's file comment.
struct ArtOptions {
  std::string data_dir;                       // the data root: art/ and weights/ below it
  int size = 64;                              // image side (a multiple of 4)
  std::string style = "vangogh_starry_night"; // a file name in art/style/ without extension
  double alpha = -1, beta = -1, gamma = -1;   // term weights; < 0 = the documented defaults
  double init_noise = -1;                     // std of the noise added to theta_0; < 0 = default
};
std::unique_ptr<Task> make_art_task(const ArtOptions& o);

}  // namespace l2l
