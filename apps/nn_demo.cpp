// nn_demo: "nn in 20 lines" of docs/method.md. Fits a 2-16-1 tanh MLP to y = sin(x1) cos(x2) with
// Adam, then checkpoints it into --out (nothing is written elsewhere); prints the loss as it goes.
//
//   build/nn_demo [--steps N] [--out DIR]
// Is not: a test (tests/test_nn.cpp checks the layers) or part of the paper's pipeline.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "nn/checkpoint.h"
#include "nn/linear.h"
#include "nn/optim.h"

using namespace l2l;

int main(int argc, char** argv) {
  int steps = 500;
  std::string out = "runs/nn_demo";
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: nn_demo [--steps N] [--out DIR]\nFits a small MLP with Adam and prints the loss (default 500 steps);\n"
                  "saves it as DIR/nn_demo.ckpt (DIR defaults to runs/nn_demo and is created).\n");
      return 0;
    } else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
      steps = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::fprintf(stderr, "nn_demo: bad argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  setup_fast_runtime();
  // --- the 20 lines ---------------------------------------------------------------------
  Rng rng(42);                                          // every run is seeded
  Tensor X = randu({256, 2}, rng, -2, 2), Y({256, 1});  // a synthetic regression problem
  for (int n = 0; n < 256; n++) Y[n] = std::sin(X.at(n, 0)) * std::cos(X.at(n, 1));
  MLP net({2, 16, 1}, "tanh", rng);                     // Params: mlp.0.w, mlp.0.b, mlp.1.w, ...
  Adam adam(0.01);                                      // Torch7 defaults but the learning rate
  for (int step = 0; step <= steps; step++) {
    Tape tape;                                          // a fresh tape per step
    Var err = net.forward(tape, tape.constant(X)) - tape.constant(Y);
    Var loss = mean(square(err));
    net.zero_grad();
    tape.backward(loss);                                // fills p.grad of every Param
    step_params(adam, net.params());                    // the update runs off the tape
    if (step % std::max(1, steps / 5) == 0) std::printf("step %4d  loss %.5f\n", step, loss.item());
  }
  std::filesystem::create_directories(out);
  save_params(out + "/nn_demo.ckpt", net.params());    // atomic: write, then rename
  std::printf("%zu parameters saved to %s/nn_demo.ckpt\n", net.param_count(), out.c_str());
  return 0;
}
