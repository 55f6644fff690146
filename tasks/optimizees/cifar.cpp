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
// The Task, Problem and minibatches are the classifier base's (classifier.h); this file is the
// network and its initialization.
// Is not: a data loader (tasks/data/) or a general CNN builder.
#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "tasks/optimizees/classifier.h"
#include "tasks/data/data_cache.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "tasks/optimizees/optimizees.h"

namespace l2l {

namespace {

constexpr int kChannels = 16, kKernel = 5, kHidden = 32;

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
    for (int l = 0; l < 3; l++) x = conv_bn[l].forward_relu_max_pool(conv[l].forward(x, src), src, pool.k);
    x = reshape(x, {x.shape()[0], kChannels * 4 * 4});
    x = fc_bn.forward_relu(fc1.forward(x, src), src);
    return fc2.forward(x, src);
  }
};

// The network as a ClassifierNet: theta laid out group by group (the kernels, then the rest).
class CifarClassifier : public ClassifierNet {
 public:
  explicit CifarClassifier(int classes) : net_(classes) {}
  std::vector<TensorSpec> specs() override { return net_.specs(); }

  // Tensor by tensor in specs order: 4-d kernels and 2-d weights Glorot uniform, 1-d tensors 0.
  Tensor init(Rng& rng) override { return glorot_weights_zero_biases(specs(), rng); }

  Var logits(Var x, Var theta) override {
    ThetaSlices params(theta, net_.theta_order());
    return net_.logits(x, params);
  }

 private:
  CifarNet net_;
};

// The part's ("train" or "test") images of the chosen labels (all of them when labels is empty), decoded once and
// then read from the cache (tasks/data/data_cache.h).
std::shared_ptr<const Dataset> load_part(const CifarOptions& o, const std::string& part) {
  Dataset d = load_cached(cifar10_files(o.data_dir, part), "cifar10-" + part, [&] { return load_cifar10(o.data_dir, part); });
  return std::make_shared<const Dataset>(o.labels.empty() ? std::move(d) : filter_labels(d, o.labels));
}

class CifarTask : public ClassifierTask {
 public:
  CifarTask(const CifarOptions& o, ClassifierData data)
      : ClassifierTask(std::make_shared<CifarClassifier>(o.labels.empty() ? 10 : (int)o.labels.size()), std::move(data)),
        labels_(o.labels) {}
  std::string name() const override { return "cifar"; }
  std::string describe() const override {
    std::ostringstream s;
    s << "cifar: CNN 3x(conv5x5x16-bn-relu-pool2)-fc32-bn-relu-fc" << (labels_.empty() ? 10 : labels_.size()) << ", labels ";
    if (labels_.empty()) s << "all 10";
    for (size_t i = 0; i < labels_.size(); i++) s << (i ? "," : "") << labels_[i];
    s << ", " << describe_data();
    return s.str();
  }

 private:
  std::vector<int> labels_;
};

}  // namespace

std::unique_ptr<Task> make_cifar_task(const CifarOptions& o) {
  if (o.batch <= 0) throw std::invalid_argument("[cifar] batch must be >= 1, got " + std::to_string(o.batch));
  if (o.labels.size() == 1) throw std::invalid_argument("[cifar] a label subset needs at least 2 labels");
  ClassifierData d;
  d.test = o.test_data ? o.test_data : load_part(o, "test");
  d.train = o.train_data ? o.train_data : load_part(o, "train");
  check_images(*d.train, 3, 32, 32, "[cifar]", "train");
  check_images(*d.test, 3, 32, 32, "[cifar]", "test");
  d.image = {3, 32, 32};
  d.batch = o.batch;
  d.chunk = 500;
  return std::make_unique<CifarTask>(o, std::move(d));
}

}  // namespace l2l
