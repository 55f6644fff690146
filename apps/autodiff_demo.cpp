// autodiff_demo: the README's "autodiff in 15 lines". Builds a small expression on a tape,
// prints values and gradients, and writes the tape as Graphviz (autodiff_demo.dot, and
// autodiff_demo.png when `dot` is installed).
//
//   build/autodiff_demo [--out DIR]
// Is not: a test (tests/test_tape.cpp checks the engine) or part of the paper's pipeline.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "autodiff/ops.h"

using namespace l2l;

int main(int argc, char** argv) {
  std::string out = "runs/autodiff_demo";
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: autodiff_demo [--out DIR]\n"
                  "Builds the README example, prints values and gradients, and writes\n"
                  "DIR/autodiff_demo.dot (and .png if Graphviz `dot` is installed), nothing else.\nDIR defaults to runs/autodiff_demo and is created.\n");
      return 0;
    } else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::fprintf(stderr, "autodiff_demo: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  // --- the 15 lines ---------------------------------------------------------------------
  Tape tape;
  Var a = tape.leaf(Tensor({1}, {-4.0}), true);   // leaves that want a gradient
  Var b = tape.leaf(Tensor({1}, {2.0}), true);
  Var c = a + b;
  Var d = a * b + pow(b, 3);
  c = c + c + 1.0;
  c = c + 1.0 + c + (-a);
  d = d + d * 2.0 + relu(b + a);
  d = d + 3.0 * d + relu(b - a);
  Var e = c - d;
  Var f = square(e);
  Var g = f / 2.0;
  g = g + 10.0 / f;
  tape.backward(g);                                // one reverse loop over the tape
  std::printf("g = %.4f\n", g.item());             // the forward result
  std::printf("dg/da = %.4f\n", a.grad()[0]);      // the gradients
  std::printf("dg/db = %.4f\n", b.grad()[0]);
  // --- a tensor example: y = sum(tanh(x W)) over a (2,3) x (3,2) product ---------------
  Var x = tape.leaf(Tensor({2, 3}, {1, 2, 3, 4, 5, 6}), true);
  Var W = tape.leaf(Tensor({3, 2}, {0.1, -0.2, 0.3, 0.0, -0.1, 0.2}), true);
  Var y = sum(tanh(matmul(x, W)));
  tape.backward(y);
  std::printf("y = %.4f\ndy/dW = %s\n", y.item(), W.grad().str().c_str());
  std::printf("tape: %d nodes\n", tape.size());

  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  std::string dot = out + "/autodiff_demo.dot";
  std::ofstream os(dot);
  os << tape.to_dot();
  os.close();
  if (!os) {
    std::fprintf(stderr, "autodiff_demo: cannot write %s (is --out a writable directory?)\n", dot.c_str());
    return 1;
  }
  std::printf("wrote %s\n", dot.c_str());
  std::string cmd = "command -v dot >/dev/null 2>&1 && dot -Tpng '" + dot + "' -o '" + out + "/autodiff_demo.png'";
  if (std::system(cmd.c_str()) == 0) std::printf("wrote %s/autodiff_demo.png\n", out.c_str());
  else std::printf("(Graphviz `dot` not found: install graphviz to render the .png)\n");
  return 0;
}
