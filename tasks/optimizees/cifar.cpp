// cifar.cpp: the CIFAR-10 optimizee of the paper's Figure 7 (and its CIFAR-5 / CIFAR-2 subsets).
//
//   x (B,3,32,32), pixels / 255
//   3 x [ conv 5x5, 16 ch, SAME  ->  batch norm (offset only)  ->  ReLU  ->  max-pool 2x2 ]
//                                    (B,16,32,32) -> (B,16,16,16) -> (B,16,8,8) -> (B,16,4,4)
//   flatten (B,256) -> linear 32 -> batch norm (offset only) -> ReLU -> linear k
//   f(theta) = mean_b -log softmax(logits_b)[label_b]
//
// The layers are nn's Conv2d, BatchNorm and Linear (nn/conv.h, nn/linear.h) reading their
// tensors from slices of theta (ThetaSlices). theta is laid out group by group: first the three
// conv kernels (group 0, ~14k coordinates), then every other tensor in network order (group 1,
// ~8.7k): one learned net per group, as in the authors' code.
//
// Init (documented choice; the authors' code uses Sonnet's defaults, which we do not copy):
// conv kernels and linear weights Glorot uniform, biases and batch-norm offsets zero.
// Batch norm always uses the statistics of the batch at hand (the optimizee is only trained,
// and the paper reports training loss); final_metrics evaluates the test images in chunks of
// 500, each normalized by its own statistics.
// Is not: a data loader (tasks/data.h) or a general CNN builder.
#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "tasks/optimizees/classifier.h"
#include "tasks/data/data.h"
#include "tasks/data/data_cache.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "tasks/task.h"

namespace l2l {

namespace {

constexpr int kChannels = 16, kKernel = 5, kHidden = 32, kImage = 3 * 32 * 32;

// The network's modules; they lend their Params' names, shapes and order (their values are
// never read: theta holds them).
struct CifarNet {
  std::vector<Conv2d> conv;
  std::vector<BatchNorm> conv_bn;
  Linear fc1, fc2;
  BatchNorm fc_bn;
  MaxPool2d pool{2};

  explicit CifarNet(int classes) {
    Rng unused(0);
    for (int l = 0; l < 3; l++) {
      std::string n = "conv" + std::to_string(l);
      conv.emplace_back(l == 0 ? 3 : kChannels, kChannels, kKernel, unused, 1, -1, n);
      conv_bn.emplace_back(kChannels, n + ".bn", real(1e-5), false);
    }
    fc1 = Linear(kChannels * 4 * 4, kHidden, unused, "fc1");
    fc_bn = BatchNorm(kHidden, "fc1.bn", real(1e-5), false);
    fc2 = Linear(kHidden, classes, unused, "fc2");
  }

  // Group 0: the conv kernels. Group 1: the rest, in network order.
  std::vector<Param*> kernels() { return {&conv[0].W, &conv[1].W, &conv[2].W}; }
  std::vector<Param*> others() {
    std::vector<Param*> ps;
    for (int l = 0; l < 3; l++) ps.push_back(&conv[l].b), ps.push_back(&conv_bn[l].beta);
    for (Param* p : fc1.params()) ps.push_back(p);
    ps.push_back(&fc_bn.beta);
    for (Param* p : fc2.params()) ps.push_back(p);
    return ps;
  }
  std::vector<Param*> theta_order() {
    std::vector<Param*> ps = kernels(), rest = others();
    ps.insert(ps.end(), rest.begin(), rest.end());
    return ps;
  }
  std::vector<TensorSpec> specs() {
    std::vector<TensorSpec> s = specs_of(kernels(), 0), rest = specs_of(others(), 1);
    s.insert(s.end(), rest.begin(), rest.end());
    return s;
  }

  // x (B,3,32,32) -> logits (B,k)
  Var logits(Var x, ParamSource& src) {
    Tape& tape = *x.tape;
    for (int l = 0; l < 3; l++) x = pool.forward(tape, relu(conv_bn[l].forward(conv[l].forward(x, src), src)));
    x = reshape(x, {x.shape()[0], kChannels * 4 * 4});
    x = relu(fc_bn.forward(fc1.forward(x, src), src));
    return fc2.forward(x, src);
  }
};

void check_dataset(const Dataset& d, const char* what) {
  if (d.n <= 0 || d.image_size() != kImage || d.pixels.size() != (size_t)d.n * kImage || d.labels.size() != (size_t)d.n)
    throw std::invalid_argument(std::string("[cifar] ") + what + " data: expected n 3x32x32 images with n labels, got n = " +
                                std::to_string(d.n) + ", " + std::to_string(d.channels) + "x" + std::to_string(d.height) +
                                "x" + std::to_string(d.width));
}

class CifarProblem : public Problem {
 public:
  CifarProblem(const CifarOptions& o, std::shared_ptr<CifarNet> net, std::shared_ptr<const Dataset> data,
               std::shared_ptr<const Dataset> test)
      : o_(o), net_(std::move(net)), data_(std::move(data)), test_(std::move(test)), specs_(net_->specs()) {}

  std::vector<TensorSpec> specs() const override { return specs_; }

  // Tensor by tensor in specs order: 4-d kernels and 2-d weights Glorot uniform, 1-d tensors 0.
  Tensor init(Rng& rng) const override {
    Tensor theta({(int)dim()});
    size_t off = 0;
    for (const TensorSpec& s : specs_) {
      Tensor t = s.shape.size() >= 2 ? init::glorot_uniform(s.shape, rng) : init::zeros(s.shape);
      std::copy(t.data(), t.data() + t.size(), theta.data() + off);
      off += t.size();
    }
    return theta;
  }

  Var loss(Tape& tape, Var theta, Rng& batch_rng) override {
    Minibatch m = draw_minibatch(*data_, o_.batch, batch_rng, {3, 32, 32});
    ThetaSlices params(theta, net_->theta_order());
    return softmax_cross_entropy(net_->logits(tape.constant(std::move(m.x)), params), m.labels);
  }

  std::vector<std::pair<std::string, double>> final_metrics(const Tensor& theta) override {
    return test_set_metrics(*test_, {3, 32, 32}, 500, [&](Tape& tape, Var x) {
      ThetaSlices params(tape.constant(theta), net_->theta_order());
      return net_->logits(x, params);
    });
  }

 private:
  CifarOptions o_;
  std::shared_ptr<CifarNet> net_;
  std::shared_ptr<const Dataset> data_, test_;
  std::vector<TensorSpec> specs_;
};

// The split's images of the chosen labels (all of them when labels is empty), decoded once and
// then read from the cache (tasks/data_cache.h).
std::shared_ptr<const Dataset> load_split(const CifarOptions& o, const std::string& split) {
  Dataset d = load_cached(cifar10_files(o.data_dir, split), "cifar10-" + split, [&] { return load_cifar10(o.data_dir, split); });
  return std::make_shared<const Dataset>(o.labels.empty() ? std::move(d) : filter_labels(d, o.labels));
}

class CifarTask : public Task {
 public:
  explicit CifarTask(const CifarOptions& o) : o_(o) {
    if (o_.batch <= 0) throw std::invalid_argument("[cifar] batch must be >= 1, got " + std::to_string(o_.batch));
    if (o_.split != "train" && o_.split != "test") throw std::invalid_argument("[cifar] split must be train or test, got '" + o_.split + "'");
    if (o_.labels.size() == 1) throw std::invalid_argument("[cifar] a label subset needs at least 2 labels");
    net_ = std::make_shared<CifarNet>(o_.labels.empty() ? 10 : (int)o_.labels.size());
    test_ = o_.test_data ? o_.test_data : load_split(o_, "test");
    data_ = o_.split_data ? o_.split_data : o_.split == "test" ? test_ : load_split(o_, o_.split);
    check_dataset(*test_, "test");
    check_dataset(*data_, o_.split.c_str());
    o_.split_data = o_.test_data = nullptr;
  }
  std::string name() const override { return "cifar"; }
  std::string describe() const override {
    std::ostringstream s;
    s << "cifar: CNN 3x(conv5x5x16-bn-relu-pool2)-fc32-bn-relu-fc" << (o_.labels.empty() ? 10 : o_.labels.size())
      << ", labels ";
    if (o_.labels.empty()) s << "all 10";
    for (size_t i = 0; i < o_.labels.size(); i++) s << (i ? "," : "") << o_.labels[i];
    s << ", batch " << o_.batch << " drawn with replacement from " << o_.split << " (" << data_->n << " images)";
    return s.str();
  }
  std::unique_ptr<Problem> sample(uint64_t) const override {
    return std::make_unique<CifarProblem>(o_, net_, data_, test_);
  }

 private:
  CifarOptions o_;
  std::shared_ptr<CifarNet> net_;
  std::shared_ptr<const Dataset> data_, test_;
};

}  // namespace

std::unique_ptr<Task> make_cifar_task(const CifarOptions& o) { return std::make_unique<CifarTask>(o); }

}  // namespace l2l
