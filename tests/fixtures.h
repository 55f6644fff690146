// fixtures.h: the small tasks, nets and data sets that several test suites share.
// Is not: general test utilities (tests/helpers.h).
#pragma once
#include <memory>

#include "helpers.h"
#include "tasks/data/data.h"
#include "tasks/meta_train.h"
#include "tasks/net_config.h"
#include "tasks/optimizees/optimizees.h"

namespace l2l::test {

// Two 3-d quadratics per problem (6 coordinates): meta-training tests in well under a second.
inline QuadraticOptions small_quadratic() {
  QuadraticOptions o;
  o.batch = 2;
  o.dims = 3;
  return o;
}

// One LSTM layer of `hidden` units, no preprocessing, output x 0.5.
inline NetConfig tiny_net(int hidden = 3) {
  NetConfig c;
  c.layers = 1;
  c.hidden = hidden;
  c.out_scale = 0.5;
  return c;
}

// Meta-training in a blink: T = 10 steps in windows of U = 5, 2 problems per epoch, 1 validation
// problem, 1 epoch (tests set what they vary).
inline MetaConfig short_meta_config() {
  MetaConfig mc;
  mc.steps = 10;
  mc.unroll = 5;
  mc.problems_per_epoch = 2;
  mc.val_problems = 1;
  mc.epochs = 1;
  return mc;
}

// n random 3x32x32 images (CIFAR's shape) with labels 0, 1, ..., classes - 1, 0, 1, ...
inline std::shared_ptr<const Dataset> synthetic_images(int n, int classes, uint64_t seed) {
  auto d = std::make_shared<Dataset>();
  d->n = n, d->channels = 3, d->height = 32, d->width = 32;
  Tensor px = randu({n * 3 * 32 * 32}, seed, 0, 1);
  d->pixels.assign(px.data(), px.data() + px.size());
  for (int i = 0; i < n; i++) d->labels.push_back(i % classes);
  return d;
}

}  // namespace l2l::test
