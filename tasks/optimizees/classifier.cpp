// classifier.cpp: see classifier.h.
#include "tasks/optimizees/classifier.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "nn/init.h"

namespace l2l {

namespace {

// Images idx[0], idx[1], ... of d as one tensor {idx.size()} + image_shape.
Tensor gather(const Dataset& d, const std::vector<size_t>& idx, const Shape& image_shape) {
  Shape s = {(int)idx.size()};
  s.insert(s.end(), image_shape.begin(), image_shape.end());
  Tensor x(s);
  const size_t n = (size_t)d.image_size();
  for (size_t b = 0; b < idx.size(); b++) {
    const float* src = d.pixels.data() + idx[b] * n;
    std::copy(src, src + n, x.data() + b * n);
  }
  return x;
}

// One problem: the shared network and images; minibatches from `images` (the problem's split).
class ClassifierProblem : public Problem {
 public:
  ClassifierProblem(std::shared_ptr<ClassifierNet> net, const ClassifierData& data, std::shared_ptr<const Dataset> images)
      : net_(std::move(net)), data_(data), images_(std::move(images)), specs_(net_->specs()) {}

  std::vector<TensorSpec> specs() const override { return specs_; }
  Tensor init(Rng& rng) const override { return net_->init(rng); }

  // Mean cross-entropy on a fresh minibatch of data_.batch images.
  Var loss(Tape& tape, Var theta, Rng& batch_rng) override {
    Minibatch m = draw_minibatch(*images_, data_.batch, batch_rng, data_.image);
    return softmax_cross_entropy(net_->logits(tape.constant(std::move(m.x)), theta), m.labels);
  }

  // Loss and accuracy over the whole test set, whatever the problem's split.
  std::vector<std::pair<std::string, double>> final_metrics(const Tensor& theta) override {
    return test_set_metrics(*data_.test, data_.image, data_.chunk,
                            [&](Tape& tape, Var x) { return net_->logits(x, tape.constant(theta)); });
  }

 private:
  std::shared_ptr<ClassifierNet> net_;
  ClassifierData data_;  // shared pointers and sizes: a problem may outlive its Task
  std::shared_ptr<const Dataset> images_;
  std::vector<TensorSpec> specs_;
};

}  // namespace

ClassifierTask::ClassifierTask(std::shared_ptr<ClassifierNet> net, ClassifierData data)
    : data_(std::move(data)), net_(std::move(net)) {
  for (const TensorSpec& s : net_->specs()) groups_ = std::max(groups_, s.group + 1);
}

std::unique_ptr<Problem> ClassifierTask::sample(const ProblemId& id) const {
  return std::make_unique<ClassifierProblem>(net_, data_, id.split == Split::test ? data_.test : data_.train);
}

std::string ClassifierTask::describe_data() const {
  std::ostringstream s;
  s << "batch " << data_.batch << " drawn with replacement from the training images (" << data_.train->n
    << "; test problems: the " << data_.test->n << " test images)";
  return s.str();
}

Minibatch draw_minibatch(const Dataset& d, int batch, Rng& rng, const Shape& image_shape) {
  std::vector<size_t> idx(batch);
  Minibatch m;
  for (int b = 0; b < batch; b++) {
    idx[b] = rng.below((uint64_t)d.n);
    m.labels.push_back(d.labels[idx[b]]);
  }
  m.x = gather(d, idx, image_shape);
  return m;
}

std::vector<std::pair<std::string, double>> test_set_metrics(const Dataset& d, const Shape& image_shape, int chunk,
                                                             const LogitsFn& logits) {
  NoGradGuard no_grad;
  double loss_sum = 0;
  int correct = 0;
  for (int start = 0; start < d.n; start += chunk) {
    int n = std::min(chunk, d.n - start);
    std::vector<size_t> idx(n);
    for (int i = 0; i < n; i++) idx[i] = start + i;
    std::vector<int> labels(d.labels.begin() + start, d.labels.begin() + start + n);
    Tape tape;  // a fresh tape per chunk keeps memory at one chunk's activations
    Var z = logits(tape, tape.constant(gather(d, idx, image_shape)));
    loss_sum += (double)softmax_cross_entropy(z, labels).item() * n;
    const Tensor& Z = z.value();  // (n, classes)
    for (int r = 0; r < n; r++) {
      const real* row = Z.data() + (size_t)r * Z.dim(1);
      correct += (int)(std::max_element(row, row + Z.dim(1)) - row) == labels[r];
    }
  }
  return {{"test_loss", loss_sum / d.n}, {"test_accuracy", (double)correct / d.n}};
}

Tensor glorot_weights_zero_biases(const std::vector<TensorSpec>& specs, Rng& rng) {
  size_t n = 0;
  for (const TensorSpec& t : specs) n += shape_numel(t.shape);
  Tensor theta({(int)n});
  size_t off = 0;
  for (const TensorSpec& t : specs) {
    Tensor v = t.shape.size() >= 2 ? init::glorot_uniform(t.shape, rng) : init::zeros(t.shape);
    std::copy(v.data(), v.data() + v.size(), theta.data() + off);
    off += v.size();
  }
  return theta;
}

void check_images(const Dataset& d, int channels, int height, int width, const std::string& who, const char* what) {
  const int size = channels * height * width;
  if (d.n <= 0 || d.image_size() != size || d.pixels.size() != (size_t)d.n * size || d.labels.size() != (size_t)d.n)
    throw std::invalid_argument(who + " " + what + " data: expected n " + std::to_string(channels) + "x" +
                                std::to_string(height) + "x" + std::to_string(width) + " images with n labels, got n = " +
                                std::to_string(d.n) + ", " + std::to_string(d.channels) + "x" + std::to_string(d.height) +
                                "x" + std::to_string(d.width) + ", " + std::to_string(d.labels.size()) + " labels");
}

}  // namespace l2l
