// art_images: the image triples of the paper's Figure 9. For each of the first K test problems
// of the Neural Art task (the same fixed seeds as `l2l eval`), runs T steps of the learned
// optimizer (--phi) and of one baseline (--baseline NAME=LR, e.g. the best tuned one from
// l2l eval's results.json), and writes, in --out:
//   triple_<k>.png    content | styled by the LSTM | style
//   compare_<k>.png   content | LSTM | baseline | style
// and prints the baseline with its rate ("# baseline: adam lr 0.01") and each run's final f, its
// three weighted terms and its style term relative to the content photo's own ("style/photo":
// 1 = as far from the style as the photo, 0 = the style's Gram matrices matched; scripts/
// plot_images.sh reads them to caption the comparisons). A --phi meta-trained on another task is
// refused (as l2l eval refuses one).
// Is not: an evaluation (no curves, no tuning: l2l eval does that).
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "apps/tasks.h"
#include "nn/files.h"
#include "tasks/optimizees/art.h"
#include "tasks/data/image.h"

using namespace l2l;

namespace {

// T steps of `opt` from theta_0 of the problem; returns theta_T.
Tensor run_to_end(Optimizer& opt, ProblemInstance& pi, int steps) {
  Tensor theta = pi.theta0;
  opt.begin(pi.problem->specs());
  for (int t = 0; t < steps; t++) {
    LossAndGrad o = pi.problem->loss_and_grad(theta, pi.batch_rng);
    std::vector<Tensor*> ps = {&theta};
    opt.step(ps, {o.grad});
  }
  return theta;
}

// One row of the log: f at theta and its three weighted terms, then the style term relative to
// the content photo's own (photo_style: the style term at theta = the photo; 1 = not styled).
void print_terms(const char* who, Problem& p, const Tensor& theta, Rng& rng, double photo_style) {
  auto m = p.final_metrics(theta);
  std::printf("  %-8s f %.4f  (content %.4f, style %.4f, tv %.4f)  style/photo %.4f\n", who, (double)p.loss_value(theta, rng),
              m[0].second, m[1].second, m[2].second, m[1].second / photo_style);
}

// The style term at theta = the content photo itself: what "not styled at all" scores.
double photo_style_term(Problem& p, const Image& content) {
  Tensor photo({(int)content.pixels.size()});
  for (size_t i = 0; i < photo.size(); i++) photo[i] = content.pixels[i];
  return p.final_metrics(photo)[1].second;
}

int run(int argc, char** argv) {
  Flags f("usage: art_images [flags]\nFigure 9: content | styled | style PNGs of the first test problems of --task art,\n"
          "by the learned optimizer (--phi) and one baseline (--baseline NAME=LR).");
  add_task_flags(f);
  f.add("phi", "", "checkpoint of the learned optimizer (from l2l train --task art)");
  f.add("baseline", "adam=0.01", "the baseline to compare with, NAME=LR (sgd, nag, rmsprop, adam)");
  f.add("problems", "3", "how many test problems (the first ones of l2l eval's)");
  f.add("out", "results/fig9", "output directory");
  add_threads_flag(f);
  if (!f.parse(argc, argv, 1)) return 0;
  apply_threads_flag(f);
  if (f.str("task") != "art") throw std::invalid_argument("art_images needs --task art");
  if (f.str("phi").empty()) throw std::invalid_argument("--phi is needed (a checkpoint from l2l train --task art)");
  std::string b = f.str("baseline");
  size_t eq = b.find('=');
  if (eq == std::string::npos) throw std::invalid_argument("--baseline expects NAME=LR, e.g. adam=0.01, got '" + b + "'");
  std::string bname = b.substr(0, eq);
  double blr = std::strtod(b.c_str() + eq + 1, nullptr);
  std::unique_ptr<Optimizer> base = make_optimizer(bname, blr);
  std::string trained_on;  // as l2l eval does: a phi of another task is a mistake
  std::unique_ptr<LearnedOptimizer> lstm = load_learned_optimizer(f.str("phi"), &trained_on);
  if (!trained_on.empty() && trained_on != "art")
    throw std::invalid_argument(f.str("phi") + " was meta-trained on --task " + trained_on +
                                ", not art (train one with: l2l train --task art)");
  std::unique_ptr<Task> task = make_task(f);
  int T = bounded(f, "steps", 1, 100000), K = bounded(f, "problems", 1, 1000);
  std::string out = f.str("out");
  std::filesystem::create_directories(out);
  std::printf("# task: %s\n", task->describe().c_str());
  std::printf("# baseline: %s lr %g\n", bname.c_str(), blr);
  for (int k = 0; k < K; k++) {
    ProblemInstance pi = problem_instance(*task, ProblemId::test(k));
    ArtProblemImages im = art_problem_images(*pi.problem);
    int S = im.content.height;
    Tensor by_lstm = run_to_end(*lstm, pi, T), by_base = run_to_end(*base, pi, T);
    std::printf("test problem %d (%s):\n", k, im.photo.c_str());
    double photo = photo_style_term(*pi.problem, im.content);
    print_terms("start", *pi.problem, pi.theta0, pi.batch_rng, photo);
    print_terms("lstm", *pi.problem, by_lstm, pi.batch_rng, photo);
    print_terms(bname.c_str(), *pi.problem, by_base, pi.batch_rng, photo);
    std::string n = std::to_string(k);
    write_png(out + "/triple_" + n + ".png", hconcat({im.content, theta_image(by_lstm, S), im.style}));
    write_png(out + "/compare_" + n + ".png",
              hconcat({im.content, theta_image(by_lstm, S), theta_image(by_base, S), im.style}));
  }
  std::printf("wrote %d triples and comparisons to %s\n", K, out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  fail_writes_past_size_limit();  // ulimit -f: a clear "File too large" naming the file, not SIGXFSZ
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "art_images: %s\n", e.what());
    return 1;
  }
}
