// own_model: a learned optimizer on models you define, beside Adam with a tuned learning rate.
// Two toy models (apps/own_model.h): a sigmoid MLP 16-20-10 on 10 Gaussian clusters and a small
// conv net on 8x8 images of bars; each is trained for --steps steps by the learned optimizer
// of --phi and by Adam (its rate tuned on another seed), and both loss curves are printed.
//
//   build/own_model [--phi zoo/mnist-default/phi.ckpt] [--steps 100] [--out runs/own_model]
// Writes OUT/curves.csv (step, then each model's two curves) and nothing else.
// Is not: the paper's evaluation (l2l eval: many test problems, four tuned baselines).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "apps/flags.h"
#include "apps/own_model.h"
#include "nn/files.h"
#include "tasks/learned_optimizer.h"

using namespace l2l;

namespace {

struct Comparison {
  std::string model;
  double adam_lr = 0;
  std::vector<double> learned, adam;
};

// One model: Adam tuned on seed 1, then both optimizers on seed 2 from the same initial weights.
Comparison compare(const std::string& name, const std::function<std::unique_ptr<ToyModel>()>& make,
                   const ToyData& data, LearnedOptimizer& learned, int steps) {
  Comparison c;
  c.model = name;
  c.adam_lr = tune_adam(make, data, steps, 128, 1);
  Adam adam(c.adam_lr);
  c.learned = train_curve(make, data, learned, steps, 128, 2);
  c.adam = train_curve(make, data, adam, steps, 128, 2);
  return c;
}

void print_curves(const Comparison& c, int steps) {
  std::printf("\n%s: minibatch loss (Adam lr %.3g, tuned on another seed)\n  step   learned      adam\n", c.model.c_str(), c.adam_lr);
  for (int t = 0; t <= steps; t += std::max(1, steps / 10)) {
    auto at = [t](const std::vector<double>& v) { return t < (int)v.size() ? v[t] : NAN; };
    std::printf("  %4d  %8.4f  %8.4f\n", t, at(c.learned), at(c.adam));
  }
}

std::string curves_csv(const std::vector<Comparison>& cs, int steps) {
  std::string csv = "step";
  for (const Comparison& c : cs) csv += "," + c.model + "_learned," + c.model + "_adam";
  csv += "\n";
  for (int t = 0; t <= steps; t++) {
    csv += std::to_string(t);
    for (const Comparison& c : cs)
      for (const std::vector<double>* v : {&c.learned, &c.adam}) csv += "," + (t < (int)v->size() ? std::to_string((*v)[t]) : "nan");
    csv += "\n";
  }
  return csv;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f("usage: own_model [flags]\nTrains two small models of its own (an MLP, a conv net) with a learned optimizer and with\n"
          "tuned Adam, and prints both loss curves. Writes OUT/curves.csv.");
  f.add("phi", "zoo/mnist-default/phi.ckpt", "the learned optimizer (a phi.ckpt of l2l train)");
  f.add("steps", "100", "steps per run (the zoo's optimizer was meta-trained for 100)");
  f.add("out", "runs/own_model", "output directory");
  try {
    if (!f.parse(argc, argv, 1)) return 0;
    setup_fast_runtime();
    const int steps = (int)f.integer("steps");
    if (steps < 1 || steps > 100000) throw std::invalid_argument("--steps must be in 1..100000, got " + f.str("steps"));
    std::unique_ptr<LearnedOptimizer> learned = load_learned_optimizer(f.str("phi"));
    Rng data_rng(7);
    const ToyData points = clusters(2048, 16, 10, 1.0, data_rng), images = bars(2048, 8, data_rng);
    std::vector<Comparison> cs;
    cs.push_back(compare("mlp", [] { Rng r(11); return std::make_unique<MlpModel>(std::vector<int>{16, 20, 10}, r); }, points, *learned, steps));
    cs.push_back(compare("conv", [] { Rng r(12); return std::make_unique<ConvModel>(8, 4, 3, r); }, images, *learned, steps));
    for (const Comparison& c : cs) print_curves(c, steps);
    std::filesystem::create_directories(f.str("out"));
    write_file_atomic(f.str("out") + "/curves.csv", curves_csv(cs, steps));
    std::printf("\nwrote %s/curves.csv\n", f.str("out").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "own_model: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
