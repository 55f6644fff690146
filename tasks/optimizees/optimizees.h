// optimizees.h: the paper's optimizees, as Tasks (tasks/task.h): the quadratics (3.1), the
// MNIST classifiers (3.2), the CIFAR-10 network (3.3) and Neural Art (3.4), each built from
// its options. The programs choose among them by name (apps/tasks.h).
// Is not: the Task interface (tasks/task.h) or the learned optimizer.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace l2l {

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
// uniformly WITH replacement: from the training images for training and validation problems,
// from the test images for test problems (classifier.h). final_metrics: loss and accuracy on
// the whole test set (10,000 images) whatever the problem. dm_init: every weight and bias ~ N(0, 0.01^2) (authors' code);
// otherwise Glorot uniform weights and zero biases. One group (one LSTM).
struct Dataset;  // tasks/data/data.h
struct MnistOptions {
  std::string data_dir;                // folder with the 4 .gz files, or the data root
  std::vector<int> hidden = {20};      // hidden layer sizes; {} = logistic regression
  std::string activation = "sigmoid";  // sigmoid, relu, tanh
  int batch = 128;
  bool dm_init = true;
  // Optional, already loaded (e.g. shared by several tasks): used instead of reading data_dir.
  std::shared_ptr<const Dataset> train_data, test_data;
};
std::unique_ptr<Task> make_mnist_task(const MnistOptions& o);

// CIFAR-10 classifier (paper 3.3, Figure 7), the authors' network: three blocks of conv 5x5
// (16 channels, stride 1, SAME) -> batch norm -> ReLU -> max-pool 2x2, then a fully connected
// layer of 32 units -> batch norm -> ReLU, then a k-way linear layer and softmax
// cross-entropy. Batch norm uses batch statistics and learns an offset, no scale (as the
// authors' Sonnet code). Minibatches of `batch` images drawn WITH replacement, as MNIST's;
// `labels` selects a subset (CIFAR-5, CIFAR-2: k = labels.size(), relabelled 0..k-1 in that
// order), empty = all 10. Two groups: 0 = the three conv kernels, 1 = everything else (conv
// biases, batch-norm offsets, both fully connected layers): two learned nets, as in the
// authors' code. final_metrics: loss and accuracy on the test images of those labels.
struct CifarOptions {
  std::string data_dir;           // folder with the 6 .bin.xz files, or the data root
  std::vector<int> labels;        // {} = all 10 classes
  int batch = 128;
  std::shared_ptr<const Dataset> train_data, test_data;  // optional, already loaded and filtered
};
std::unique_ptr<Task> make_cifar_task(const CifarOptions& o);

// Neural Art (paper 3.4, Figures 8 and 9): theta is the pixels of one size x size RGB image
// (3 size^2 coordinates, values on the [0,1] scale), and
//   f(theta) = alpha L_content(c, theta) + beta L_style(s, theta) + gamma L_tv(theta)
// (Gatys et al. 2015) through VGG-19's first layers: style relu1_1, relu2_1, relu3_1 (Gram
// matrices / (C H W)), content relu2_2, total variation on the pixels. One problem = one
// random crop c of a content photo; the style painting s is fixed for the Task. The photo sets
// of training, validation and test problems are disjoint (tasks/optimizees/art.h). One group
// (one LSTM). Weights, crops, theta_0 and the photo lists: tasks/optimizees/art.cpp's file comment.
struct ArtOptions {
  std::string data_dir;                       // the data root: art/ and weights/ below it
  int size = 64;                              // image side (a multiple of 4)
  std::string style = "vangogh_starry_night"; // a file name in art/style/ without extension
  double alpha = -1, beta = -1, gamma = -1;   // term weights; < 0 = the documented defaults
  double init_noise = -1;                     // std of the noise added to theta_0; < 0 = default
  bool start_from_noise = false;              // theta_0 = 0.5 (mid grey) + noise, not the content + noise
};
std::unique_ptr<Task> make_art_task(const ArtOptions& o);

}  // namespace l2l
