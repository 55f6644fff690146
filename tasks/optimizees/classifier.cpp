// classifier.cpp: see classifier.h.
#include "tasks/optimizees/classifier.h"

#include <algorithm>

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

}  // namespace

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

}  // namespace l2l
