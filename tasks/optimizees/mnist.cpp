// mnist.cpp: the MNIST optimizee of the paper's Figures 4 (center, right), 5 and 6.
//
// One Problem is one small MLP classifier, theta its flattened weights and biases:
//   h_0 = x                                   x (B,784): a minibatch of images, pixels in [0,1]
//   h_l = act(h_{l-1} W_l + b_l)              W_l (D_{l-1}, D_l), b_l (D_l) row-broadcast
//   logits = h_L W_out + b_out                (B,10), no activation on the output layer
//   f(theta) = mean_b -log softmax(logits_b)[label_b]
// Every call of loss() draws a fresh minibatch (DeepMind's setup), so f is stochastic; what
// varies between Problems of one Task is only theta_0 and the minibatch stream (paper:
// "only theta_0 and the minibatches vary between runs").
//
// The network is nn's MLP (nn/linear.h) reading its W and b from slices of theta
// (ThetaSlices, nn/module.h), so gradients reach the one flat vector. The MLP's own Params
// only lend their names, shapes and order; their values are never used.
// The images are decoded once per Task and shared (shared_ptr<const Dataset>) by every Problem
// it samples; a minibatch is copied into a fresh (B,784) tensor per call.
// Is not: a data loader (tasks/data.h).
#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "nn/init.h"
#include "nn/linear.h"
#include "tasks/task.h"
#include "tasks/optimizees/classifier.h"
#include "tasks/data/data.h"

namespace l2l {

namespace {

constexpr int kPixels = 28 * 28, kClasses = 10;

// Throws unless the options describe a network and data we can build.
void validate(const MnistOptions& o) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("[mnist] " + m); };
  check_activation(o.activation, "[mnist]");
  for (size_t l = 0; l < o.hidden.size(); l++)
    if (o.hidden[l] <= 0)
      bad("hidden layer " + std::to_string(l) + " has size " + std::to_string(o.hidden[l]) + " (must be >= 1)");
  if (o.batch <= 0) bad("batch must be >= 1, got " + std::to_string(o.batch));
  if (o.split != "train" && o.split != "test") bad("split must be 'train' or 'test', got '" + o.split + "'");
}

// The images of a data set as MNIST must have them: 1 x 28 x 28, one label each (the readers
// check that labels are 0..9).
void check_dataset(const Dataset& d, const char* what) {
  if (d.n <= 0 || d.image_size() != kPixels || d.pixels.size() != (size_t)d.n * kPixels || d.labels.size() != (size_t)d.n)
    throw std::invalid_argument(std::string("[mnist] ") + what + " data: expected n 1x28x28 images with n labels, got n = " +
                                std::to_string(d.n) + ", " + std::to_string(d.channels) + "x" + std::to_string(d.height) +
                                "x" + std::to_string(d.width) + ", " + std::to_string(d.labels.size()) + " labels");
}

// Layer widths 784, hidden..., 10.
std::vector<int> widths(const MnistOptions& o) {
  std::vector<int> w = {kPixels};
  w.insert(w.end(), o.hidden.begin(), o.hidden.end());
  w.push_back(kClasses);
  return w;
}

// The network every Problem of a Task shares: 784 -> hidden... -> 10, Params "mlp.<l>.w|b".
std::shared_ptr<MLP> make_network(const MnistOptions& o) {
  Rng unused(0);  // the MLP's own init is never read: theta_0 comes from MnistProblem::init
  return std::make_shared<MLP>(widths(o), o.activation, unused, "mlp");
}

class MnistProblem : public Problem {
 public:
  MnistProblem(const MnistOptions& o, std::shared_ptr<MLP> net, std::shared_ptr<const Dataset> data,
               std::shared_ptr<const Dataset> test)
      : o_(o), net_(std::move(net)), data_(std::move(data)), test_(std::move(test)), specs_(specs_of(net_->params())) {}

  std::vector<TensorSpec> specs() const override { return specs_; }

  // dm_init: the whole flat theta ~ N(0, 0.01^2). Otherwise, tensor by tensor in specs order:
  // W ~ Glorot uniform (fan_in = rows, fan_out = cols), b = 0.
  Tensor init(Rng& rng) const override {
    if (o_.dm_init) return init::normal({(int)dim()}, rng, 0.01);
    Tensor theta({(int)dim()});
    size_t off = 0;
    for (const TensorSpec& s : specs_) {
      Tensor t = s.shape.size() == 2 ? init::glorot_uniform(s.shape, rng) : init::zeros(s.shape);
      for (size_t i = 0; i < t.size(); i++) theta[off + i] = t[i];
      off += t.size();
    }
    return theta;
  }

  // Mean cross-entropy on a fresh minibatch: `batch` image indices drawn uniformly WITH
  // replacement from the split, each by batch_rng.below(n) in order (so the same batch_rng
  // state gives the same minibatch).
  Var loss(Tape& tape, Var theta, Rng& batch_rng) override {
    Minibatch m = draw_minibatch(*data_, o_.batch, batch_rng, {kPixels});
    ThetaSlices params(theta, net_->params());
    return softmax_cross_entropy(net_->forward(tape.constant(std::move(m.x)), params), m.labels);
  }

  // Loss and accuracy over the whole test set, in chunks of 1000 images.
  std::vector<std::pair<std::string, double>> final_metrics(const Tensor& theta) override {
    return test_set_metrics(*test_, {kPixels}, 1000, [&](Tape& tape, Var x) {
      ThetaSlices params(tape.constant(theta), net_->params());
      return net_->forward(x, params);
    });
  }

 private:
  MnistOptions o_;
  std::shared_ptr<MLP> net_;
  std::shared_ptr<const Dataset> data_, test_;
  std::vector<TensorSpec> specs_;
};

class MnistTask : public Task {
 public:
  explicit MnistTask(const MnistOptions& o) : o_(o) {
    validate(o_);
    net_ = make_network(o_);
    test_ = o_.test_data ? o_.test_data : std::make_shared<const Dataset>(load_mnist(o_.data_dir, "test"));
    if (o_.split_data) data_ = o_.split_data;
    else data_ = o_.split == "test" ? test_ : std::make_shared<const Dataset>(load_mnist(o_.data_dir, o_.split));
    check_dataset(*test_, "test");
    check_dataset(*data_, o_.split.c_str());
    o_.split_data = o_.test_data = nullptr;  // the Task owns them through data_ and test_
  }
  std::string name() const override { return "mnist"; }
  std::string describe() const override {
    std::ostringstream s;
    s << "mnist: MLP ";
    std::vector<int> w = widths(o_);
    for (size_t l = 0; l < w.size(); l++) s << (l ? "-" : "") << w[l];
    s << ", " << o_.activation << " hidden, softmax cross-entropy, batch " << o_.batch << " drawn with replacement from "
      << o_.split << " (" << data_->n << " images), init "
      << (o_.dm_init ? "all N(0,0.01^2) (authors' code)" : "Glorot uniform W, zero b");
    return s.str();
  }
  std::unique_ptr<Problem> sample(uint64_t) const override {
    // Problems differ only in theta_0 and minibatches, both drawn from the caller's Rngs.
    return std::make_unique<MnistProblem>(o_, net_, data_, test_);
  }

 private:
  MnistOptions o_;
  std::shared_ptr<MLP> net_;
  std::shared_ptr<const Dataset> data_, test_;
};

}  // namespace

std::unique_ptr<Task> make_mnist_task(const MnistOptions& o) { return std::make_unique<MnistTask>(o); }

}  // namespace l2l
