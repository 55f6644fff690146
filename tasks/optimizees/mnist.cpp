// mnist.cpp: the MNIST optimizee of the paper's Figures 4 (center, right), 5 and 6.
//
// One Problem is one small MLP classifier, theta its flattened weights and biases:
//   h_0 = x                                   x (B,784): a minibatch of images, pixels in [0,1]
//   h_l = act(h_{l-1} W_l + b_l)              W_l (D_{l-1}, D_l), b_l (D_l) row-broadcast
//   logits = h_L W_out + b_out                (B,10), no activation on the output layer
//   f(theta) = mean_b -log softmax(logits_b)[label_b]
// Every call of loss() draws a fresh minibatch (DeepMind's setup), so f is stochastic; what
// varies between Problems of one Task is only theta_0 and the minibatch stream (paper:
// "only theta_0 and the minibatches vary between runs"). The Task, Problem and minibatches are
// the classifier base's (classifier.h); this file is the network and its initialization.
//
// The network is nn's MLP (nn/linear.h) reading its W and b from slices of theta
// (ThetaSlices, nn/module.h), so gradients reach the one flat vector: the MLP's Params lend
// their names, shapes and order. The images are decoded once per Task and shared by every
// Problem it samples.
// Is not: a data loader (tasks/data/data.h).
#include <sstream>
#include <stdexcept>

#include "nn/init.h"
#include "nn/linear.h"
#include "tasks/optimizees/classifier.h"
#include "tasks/optimizees/optimizees.h"

namespace l2l {

namespace {

constexpr int kPixels = 28 * 28, kClasses = 10;

// Throws unless the options describe a network we can build.
void check_options(const MnistOptions& o) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("[mnist] " + m); };
  check_activation(o.activation, "[mnist]");
  for (size_t l = 0; l < o.hidden.size(); l++)
    if (o.hidden[l] <= 0)
      bad("hidden layer " + std::to_string(l) + " has size " + std::to_string(o.hidden[l]) + " (must be >= 1)");
  if (o.batch <= 0) bad("batch must be >= 1, got " + std::to_string(o.batch));
}

// Layer widths 784, hidden..., 10.
std::vector<int> widths(const MnistOptions& o) {
  std::vector<int> w = {kPixels};
  w.insert(w.end(), o.hidden.begin(), o.hidden.end());
  w.push_back(kClasses);
  return w;
}

// 784 -> hidden... -> 10, Params "mlp.<l>.w|b" (their values are never read: theta holds them).
class MnistNet : public ClassifierNet {
 public:
  explicit MnistNet(const MnistOptions& o) : dm_init_(o.dm_init), mlp_(widths(o), o.activation, unused_, "mlp") {}

  std::vector<TensorSpec> specs() override { return specs_of(mlp_.params()); }

  // dm_init: the whole flat theta ~ N(0, 0.01^2). Otherwise, tensor by tensor in specs order:
  // W ~ Glorot uniform (fan_in = rows, fan_out = cols), b = 0.
  Tensor init(Rng& rng) override {
    if (!dm_init_) return glorot_weights_zero_biases(specs(), rng);
    size_t n = 0;
    for (const TensorSpec& t : specs()) n += shape_numel(t.shape);
    return init::normal({(int)n}, rng, 0.01);
  }

  Var logits(Var x, Var theta) override {
    ThetaSlices params(theta, mlp_.params());
    return mlp_.forward(x, params);
  }

 private:
  bool dm_init_;
  Rng unused_{0};  // the MLP's own init is never read: theta_0 comes from init()
  MLP mlp_;
};

class MnistTask : public ClassifierTask {
 public:
  MnistTask(const MnistOptions& o, ClassifierData data) : ClassifierTask(std::make_shared<MnistNet>(o), std::move(data)), o_(o) {}
  std::string name() const override { return "mnist"; }
  std::string describe() const override {
    std::ostringstream s;
    s << "mnist: MLP ";
    std::vector<int> w = widths(o_);
    for (size_t l = 0; l < w.size(); l++) s << (l ? "-" : "") << w[l];
    s << ", " << o_.activation << " hidden, softmax cross-entropy, " << describe_data() << ", init "
      << (o_.dm_init ? "all N(0,0.01^2) (authors' code)" : "Glorot uniform W, zero b");
    return s.str();
  }

 private:
  MnistOptions o_;
};

}  // namespace

std::unique_ptr<Task> make_mnist_task(const MnistOptions& o) {
  check_options(o);
  ClassifierData d;
  d.test = o.test_data ? o.test_data : std::make_shared<const Dataset>(load_mnist(o.data_dir, "test"));
  d.train = o.train_data ? o.train_data : std::make_shared<const Dataset>(load_mnist(o.data_dir, "train"));
  check_images(*d.train, 1, 28, 28, "[mnist]", "train");
  check_images(*d.test, 1, 28, 28, "[mnist]", "test");
  d.image = {kPixels};
  d.batch = o.batch;
  d.chunk = 1000;
  MnistOptions kept = o;
  kept.train_data = kept.test_data = nullptr;  // the Task holds them through its ClassifierData
  return std::make_unique<MnistTask>(kept, std::move(d));
}

}  // namespace l2l
