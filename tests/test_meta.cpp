// test_meta.cpp: the learned optimizer and its meta-training.
//  - the meta-gradient equals finite differences of the meta-loss with every optimizee
//    gradient frozen at its recorded value, and differs from finite differences of the
//    unfrozen meta-loss (so the stop-gradient is really active);
//  - state bookkeeping: coordinates are independent and keep their state across tensors
//    and across windows; preprocessing follows Appendix A;
//  - phi really trains; a briefly trained optimizer solves the simple problem (DeepMind's
//    convergence test) and beats tuned SGD on quadratics ([slow]); --resume is exact, also
//    after a run killed between any two of the files it writes; a phi or training state whose
//    configuration was edited, whose size does not match its tensors or that holds a NaN is
//    refused, naming the file.
#include <algorithm>
#include <cmath>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "fixtures.h"
#include "helpers.h"
#include "nn/checkpoint.h"
#include "nn/files.h"
#include "tasks/evaluate.h"
#include "tasks/fused_window.h"
#include "tasks/meta_train.h"
#include "tasks/run/training.h"
#include "tasks/optimizees/optimizees.h"
#include "tasks/tuning.h"

using namespace l2l;
using namespace l2l::test;

namespace {

// The meta-loss of one window written out independently of unroll_window, off the tape.
// If `frozen` is non-empty, step t uses frozen[t] as the optimizee gradient; otherwise the
// true gradient at theta_t; `record` (if given) receives the gradients used.
double reference_meta_loss(LearnedOptimizer& opt, Problem& prob, const Tensor& theta0, int U,
                           const std::vector<Tensor>& frozen, std::vector<Tensor>* record = nullptr) {
  Tensor theta = theta0;
  opt.begin(prob.specs());
  double L = 0;
  Rng unused(0);
  for (int t = 0; t <= U; t++) {
    Tape tape;
    Var th = tape.leaf(theta, true);
    Var f = prob.loss(tape, th, unused);
    L += f.item();  // w_t = 1, the window's starting point included
    if (t == U) break;
    Tensor g = frozen.empty() ? tape.grad(f, {th})[0] : frozen[t];
    if (record) record->push_back(g);
    std::vector<Tensor*> ps = {&theta};
    opt.step(ps, {g});
  }
  return L;
}

// phi <- phi + s v (v: one tensor per Param)
void shift(const std::vector<Param*>& phi, const std::vector<Tensor>& v, double s) {
  for (size_t i = 0; i < phi.size(); i++)
    for (size_t j = 0; j < v[i].size(); j++) phi[i]->value[j] += (real)(s * v[i][j]);
}

// The window's meta-gradient, from the tape (unroll_window) or from the fused window.
std::vector<Tensor> window_metagrad(LearnedOptimizer& opt, const Task& task, const Tensor& theta0, int U, bool fused,
                                    double* L) {
  auto prob = task.sample(ProblemId::train(11, 0));
  OptimizerState s0 = opt.initial_state(prob->specs());
  Trajectory tr{std::move(prob), theta0, s0, Rng(2)};
  Tape tape;
  for (Param* p : opt.params()) p->zero_grad();
  *L = fused ? unroll_window_fused(opt, tr, U, true) : unroll_window(opt, tr, U, true, tape);
  std::vector<Tensor> g;
  for (Param* p : opt.params()) g.push_back(p->grad);
  return g;
}

}  // namespace

TEST_CASE("meta-gradient = finite differences of the frozen-gradient meta-loss, != the unfrozen one") {
  auto task = make_quadratic_task(small_quadratic());
  auto prob = task->sample(ProblemId::train(11, 0));
  LearnedOptimizer opt({tiny_net()}, 5);
  Rng ir(1);
  Tensor theta0 = prob->init(ir);
  const int U = 4;
  std::vector<Param*> phi = opt.params();

  // The engine's meta-gradient from one window, on the tape and fused (the same up to rounding).
  double L_engine, L_fused;
  std::vector<Tensor> metagrad = window_metagrad(opt, *task, theta0, U, false, &L_engine);
  std::vector<Tensor> fused = window_metagrad(opt, *task, theta0, U, true, &L_fused);
  CHECK(L_fused == doctest::Approx(L_engine).epsilon(1e-12));

  // The same window recomputed independently, recording the optimizee gradients.
  std::vector<Tensor> grads;
  double L_ref = reference_meta_loss(opt, *prob, theta0, U, {}, &grads);
  CHECK(L_engine == doctest::Approx(L_ref).epsilon(1e-12));
  REQUIRE(grads.size() == (size_t)U);

  double worst_frozen = 0, worst_unfrozen_gap = INFINITY;
  for (int d = 0; d < 4; d++) {
    std::vector<Tensor> v;
    double dot = 0, dot_fused = 0;
    for (size_t i = 0; i < phi.size(); i++) {
      v.push_back(randn(phi[i]->value.shape(), 100 + 10 * d + i));
      for (size_t j = 0; j < v[i].size(); j++) dot += v[i][j] * metagrad[i][j], dot_fused += v[i][j] * fused[i][j];
    }
    const double eps = 1e-6;
    shift(phi, v, eps);
    double fp = reference_meta_loss(opt, *prob, theta0, U, grads), up = reference_meta_loss(opt, *prob, theta0, U, {});
    shift(phi, v, -2 * eps);
    double fm = reference_meta_loss(opt, *prob, theta0, U, grads), um = reference_meta_loss(opt, *prob, theta0, U, {});
    shift(phi, v, eps);
    double frozen_fd = (fp - fm) / (2 * eps), unfrozen_fd = (up - um) / (2 * eps);
    CAPTURE(dot);
    CAPTURE(frozen_fd);
    CAPTURE(unfrozen_fd);
    double scale = std::max(1.0, std::fabs(dot));
    CHECK(std::fabs(frozen_fd - dot) < 1e-6 * scale);
    CHECK(std::fabs(frozen_fd - dot_fused) < 1e-6 * scale);
    worst_frozen = std::max(worst_frozen, std::fabs(frozen_fd - dot) / scale);
    worst_unfrozen_gap = std::min(worst_unfrozen_gap, std::fabs(unfrozen_fd - dot) / scale);
  }
  // With second-order terms the derivative is visibly different (here by ~1e-2 or more).
  MESSAGE("relative error vs frozen FD: " << worst_frozen << "; smallest relative gap to unfrozen FD: " << worst_unfrozen_gap);
  CHECK(worst_unfrozen_gap > 1e-3);
}

TEST_CASE("logsign preprocessing follows Appendix A") {
  NetConfig c;
  c.preprocess = "logsign";
  c.p = 10;
  Tensor g({4}, {1.0, -std::exp(-3.0), std::exp(-12.0), 0.0});
  Tensor x = preprocess_gradient(g, c);
  REQUIRE(x.shape() == Shape{4, 2});
  CHECK(x.at(0, 0) == doctest::Approx(0.0));        // log 1 / 10
  CHECK(x.at(0, 1) == 1);
  CHECK(x.at(1, 0) == doctest::Approx(-0.3));       // log e^-3 / 10
  CHECK(x.at(1, 1) == -1);
  CHECK(x.at(2, 0) == -1);                           // below e^-10: (-1, e^p g)
  CHECK(x.at(2, 1) == doctest::Approx(std::exp(-2.0)));
  CHECK(x.at(3, 0) == -1);
  CHECK(x.at(3, 1) == 0);
  c.preprocess = "bogus";
  CHECK_THROWS_WITH(preprocess_gradient(g, c), doctest::Contains("unknown preprocessing 'bogus'"));
}

TEST_CASE("coordinates are independent: permuting theta permutes the updates, step after step") {
  NetConfig c = tiny_net();
  c.preprocess = "logsign";
  LearnedOptimizer a({c}, 3), b({c}, 3);
  const int n = 7;
  std::vector<int> perm = {3, 0, 6, 1, 5, 2, 4};
  Tensor xa = Tensor::zeros({n}), xb = Tensor::zeros({n});
  a.begin({{"x", {n}, 0}});
  b.begin({{"x", {n}, 0}});
  for (int step = 0; step < 4; step++) {
    Tensor g = randn({n}, 50 + step), gp({n});
    for (int i = 0; i < n; i++) gp[i] = g[perm[i]];
    std::vector<Tensor*> pa = {&xa}, pb = {&xb};
    a.step(pa, {g});
    b.step(pb, {gp});
    for (int i = 0; i < n; i++) CHECK(xb[i] == doctest::Approx(xa[perm[i]]).epsilon(1e-12));
  }
}

TEST_CASE("state stays with its coordinates across several parameter tensors") {
  LearnedOptimizer flat({tiny_net()}, 3), split({tiny_net()}, 3);
  Tensor x = Tensor::zeros({5}), p1 = Tensor::zeros({2}), p2 = Tensor::zeros({3});
  flat.begin({{"x", {5}, 0}});
  split.begin({{"p1", {2}, 0}, {"p2", {3}, 0}});
  for (int step = 0; step < 4; step++) {
    Tensor g = randn({5}, 70 + step);
    Tensor g1({2}, {g[0], g[1]}), g2({3}, {g[2], g[3], g[4]});
    std::vector<Tensor*> pf = {&x}, ps = {&p1, &p2};
    flat.step(pf, {g});
    split.step(ps, {g1, g2});
    CHECK(p1[1] == doctest::Approx(x[1]).epsilon(1e-12));
    CHECK(p2[0] == doctest::Approx(x[2]).epsilon(1e-12));
    CHECK(p2[2] == doctest::Approx(x[4]).epsilon(1e-12));
  }
}

TEST_CASE("two windows of 3 steps move theta exactly like one window of 6") {
  auto task = make_quadratic_task(small_quadratic());
  LearnedOptimizer opt({tiny_net()}, 9);
  Tape tape;
  Trajectory a = start_trajectory(opt, *task, ProblemId::train(4, 0)), b = start_trajectory(opt, *task, ProblemId::train(4, 0));
  unroll_window(opt, a, 3, true, tape);
  unroll_window(opt, a, 3, true, tape);
  unroll_window(opt, b, 6, true, tape);
  for (size_t i = 0; i < a.theta.size(); i++) CHECK(a.theta[i] == doctest::Approx(b.theta[i]).epsilon(1e-12));
  const Tensor &ca = a.state.nets[0].c[0], &cb = b.state.nets[0].c[0];
  for (size_t i = 0; i < ca.size(); i++) CHECK(ca[i] == doctest::Approx(cb[i]).epsilon(1e-12));
}

TEST_CASE("groups: each net sees only its own coordinates") {
  NetConfig c = tiny_net();
  LearnedOptimizer two({c, c}, 3), one({c}, 3);
  // Net 0 of `two` is built first from the same seed, so it equals `one`'s only net; net 1 is
  // another net. Whatever group 1's gradient holds, group 0's updates stay those of `one`.
  two.begin({{"w", {2, 2}, 0}, {"b", {2}, 1}});
  one.begin({{"w", {4}, 0}});
  Tensor x = Tensor::zeros({6}), y = Tensor::zeros({4});
  for (int step = 0; step < 3; step++) {
    Tensor g = randn({6}, 1 + step), g4({4}, {g[0], g[1], g[2], g[3]});
    g[4] = 1e3 * (step + 1), g[5] = -7;  // group 1 only: must not reach net 0
    std::vector<Tensor*> px = {&x}, py = {&y};
    two.step(px, {g});
    one.step(py, {g4});
    for (int i = 0; i < 4; i++) CHECK(x[i] == y[i]);
  }
  CHECK_THROWS_WITH(two.begin({{"w", {6}, 0}}), doctest::Contains("1 parameter groups but the learned optimizer has 2 nets"));
  CHECK_THROWS_WITH(two.begin({{"w", {4}, 1}, {"b", {2}, 0}}), doctest::Contains("groups must be 0, 1, 2"));
  LearnedOptimizer fresh({c}, 3);
  std::vector<Tensor*> px = {&x};
  CHECK_THROWS_WITH(fresh.step(px, {x}), doctest::Contains("call begin(specs)"));
}

TEST_CASE("meta-training changes phi and lowers the meta-loss") {
  auto task = make_quadratic_task(small_quadratic());
  NetConfig c = tiny_net();
  c.layers = 2;
  c.hidden = 8;
  LearnedOptimizer opt({c}, 2);
  std::vector<Tensor> before;
  for (Param* p : opt.params()) before.push_back(p->value);
  MetaConfig mc;
  mc.steps = 20;
  mc.unroll = 5;
  mc.epochs = 6;
  mc.problems_per_epoch = 10;
  mc.meta_lr = 0.01;
  mc.val_problems = 5;
  MetaResult r = meta_train(opt, *task, mc);
  REQUIRE(r.train_history.size() == 6);
  MESSAGE("train meta-loss by epoch: " << r.train_history[0] << " ... " << r.train_history[5]);
  CHECK(r.train_history[5] < 0.7 * r.train_history[0]);
  REQUIRE(r.best_epoch >= 0);  // training beat the untrained phi (epoch -1)
  CHECK(r.best_val < r.untrained_val);
  CHECK(r.val_history[r.best_epoch] == r.best_val);
  size_t changed = 0;
  auto ps = opt.params();
  for (size_t i = 0; i < ps.size(); i++)
    for (size_t j = 0; j < ps[i]->value.size(); j++) changed += ps[i]->value[j] != before[i][j];
  CHECK(changed == opt.param_count());  // every entry of phi moved (the LSTM weights are registered)
}

TEST_CASE("the simple problem x^2: a linear learned optimizer drives the cost below 1e-5") {
  // DeepMind's convergence test: zero LSTM layers, zero-initialized, trained on f(x) = x^2.
  auto task = make_simple_task();
  NetConfig c;
  c.layers = 0;
  LearnedOptimizer opt({c}, 1);
  MetaConfig mc;
  mc.steps = 100;
  mc.unroll = 20;
  mc.epochs = 10;
  mc.problems_per_epoch = 50;  // 2,500 meta-iterations (DeepMind: 500 epochs x 5)
  mc.meta_lr = 0.01;
  mc.val_problems = 1;
  meta_train(opt, *task, mc);
  RunResult r = run_optimizer(opt, *task, ProblemId::test(0), 100);
  MESSAGE("x^2 after 100 learned steps: " << r.loss.back());
  CHECK(r.loss.back() < 1e-5);
}

// ro with its settings (the flags a run saves in its checkpoints) set to `settings`.
RunOptions with_settings(RunOptions ro, const Settings& settings) {
  ro.settings = settings;
  return ro;
}

TEST_CASE("resume: N epochs in one go == N/2 epochs, then --resume for the rest, bit for bit") {
  auto task = make_quadratic_task(small_quadratic());
  auto dir = std::filesystem::temp_directory_path() / ("l2l_resume_" + std::to_string(::getpid()));
  MetaConfig mc;
  RunOptions ro;
  ro.quiet = true;
  mc.steps = 10;
  mc.unroll = 5;
  mc.problems_per_epoch = 3;
  mc.val_problems = 2;
  mc.meta_lr = 0.01;
  LearnedOptimizer whole({tiny_net()}, 8), half({tiny_net()}, 8);
  mc.epochs = 4;
  ro.out_dir = (dir / "a").string();
  train_run(whole, *task, mc, ro);
  ro.out_dir = (dir / "b").string();
  mc.epochs = 2;
  train_run(half, *task, mc, with_settings(ro, {{"meta-lr", "0.01"}}));
  LearnedOptimizer resumed({tiny_net()}, 999);  // a different init: everything must come from the checkpoint
  mc.epochs = 4;
  ro.resume = true;
  // Other settings than the first run's are refused, naming the flag.
  CHECK_THROWS_WITH(train_run(resumed, *task, mc, with_settings(ro, {{"meta-lr", "0.5"}})), doctest::Contains("--meta-lr was"));
  MetaResult rr = train_run(resumed, *task, mc, ro);
  CHECK(rr.val_history.size() == 4);  // the histories span all epochs, not only the resumed ones
  auto a = whole.params(), b = resumed.params();
  for (size_t i = 0; i < a.size(); i++)
    for (size_t j = 0; j < a[i]->value.size(); j++) CHECK(a[i]->value[j] == b[i]->value[j]);
  // Also the saved training states agree on the last epoch's phi.
  Checkpoint ca = load_checkpoint((dir / "a" / "train_state.ckpt").string());
  Checkpoint cb = load_checkpoint((dir / "b" / "train_state.ckpt").string());
  REQUIRE(ca.tensors.size() == cb.tensors.size());
  for (size_t i = 0; i < ca.tensors.size(); i++)
    for (size_t j = 0; j < ca.tensors[i].second.size(); j++) CHECK(ca.tensors[i].second[j] == cb.tensors[i].second[j]);
  std::filesystem::remove_all(dir);
}

namespace {

struct Killed {};  // thrown from RunOptions::after_write: the run stops there, as if killed

std::string file_bytes(const std::string& path) {
  Bytes b = read_regular_file(path, 1 << 24, "");
  return std::string(b.begin(), b.end());
}

}  // namespace

TEST_CASE("resume: a run killed after any file it writes resumes to the files of an uninterrupted run, byte for byte") {
  auto task = make_quadratic_task(small_quadratic());
  TempDir tmp;
  MetaConfig mc = short_meta_config();
  mc.meta_lr = 0.01;
  mc.epochs = 3;
  RunOptions ro;
  ro.quiet = true;
  ro.config_text = "# l2l train\nepochs = 3\n";
  ro.settings = {{"meta-lr", "0.01"}, {"epochs", "3"}};
  ro.out_dir = tmp.file("whole");
  std::vector<std::string> order;
  ro.after_write = [&](const std::string& file) { order.push_back(file); };
  LearnedOptimizer whole({tiny_net()}, 8);
  train_run(whole, *task, mc, ro);
  REQUIRE(order.size() == 10);  // config.txt once, then 3 files per epoch
  CHECK(order[3] == "train_state.ckpt");  // each epoch's commit point is its last write
  CHECK(order.back() == "train_state.ckpt");
  for (int k = 0; k < (int)order.size(); k++) {  // killed right after the k-th write
    CAPTURE(k);
    RunOptions r = ro;
    r.out_dir = tmp.file("killed" + std::to_string(k));
    int writes = 0;
    r.after_write = [&](const std::string&) {
      if (writes++ == k) throw Killed();
    };
    LearnedOptimizer killed({tiny_net()}, 8), resumed({tiny_net()}, 8);
    CHECK_THROWS_AS(train_run(killed, *task, mc, r), Killed);
    r.after_write = nullptr;
    r.resume = true;
    if (k + 1 == (int)order.size())  // killed after its last write: the run was complete
      CHECK_THROWS_WITH(train_run(resumed, *task, mc, r), doctest::Contains("adds none"));
    else
      CHECK_NOTHROW(train_run(resumed, *task, mc, r));
    for (const char* f : {"train_state.ckpt", "phi.ckpt", "train_log.csv", "config.txt"})
      CHECK_MESSAGE(file_bytes(r.out_dir + "/" + f) == file_bytes(ro.out_dir + "/" + f), f);
    // Killed before its first train_state.ckpt, the run started afresh, its files moved aside.
    bool aside = false;
    for (const auto& e : std::filesystem::directory_iterator(r.out_dir))
      aside |= e.path().filename().string().rfind("previous-", 0) == 0;
    CHECK(aside == (k < 3));
  }
  // A directory with none of a run's files holds nothing to resume.
  RunOptions none = ro;
  none.out_dir = tmp.file("empty");
  none.resume = true;
  std::filesystem::create_directories(none.out_dir);
  LearnedOptimizer fresh({tiny_net()}, 8);
  CHECK_THROWS_WITH(train_run(fresh, *task, mc, none), doctest::Contains("--resume: no training state at"));
}

TEST_CASE("resume: a training state with a NaN score or histories of the wrong length is refused, naming the file") {
  auto task = make_quadratic_task(small_quadratic());
  TempDir tmp;
  MetaConfig mc = short_meta_config();
  mc.epochs = 2;
  RunOptions ro;
  ro.quiet = true;
  ro.out_dir = tmp.file("run");
  LearnedOptimizer opt({tiny_net()}, 8);
  train_run(opt, *task, mc, ro);
  const std::string path = ro.out_dir + "/train_state.ckpt";
  const Checkpoint saved = load_checkpoint(path);
  // The saved state, with one metadata value replaced, resumed for a third epoch.
  auto resume_edited = [&](const std::string& key, const std::string& value) {
    Checkpoint edited = saved;
    bool found = false;
    for (auto& [k, v] : edited.meta)
      if (k == key) v = value, found = true;
    REQUIRE(found);
    save_checkpoint(path, edited);
    RunOptions r = ro;
    r.resume = true;
    MetaConfig more = mc;
    more.epochs = 3;
    LearnedOptimizer resumed({tiny_net()}, 8);
    std::string msg;
    try {
      train_run(resumed, *task, more, r);
    } catch (const std::exception& e) {
      msg = e.what();
    }
    CHECK_MESSAGE(msg.find(path) != std::string::npos, msg);
    return msg;
  };
  CHECK(resume_edited("best_val", "nan").find("best_val") != std::string::npos);
  CHECK(resume_edited("untrained_val", "nan").find("untrained_val") != std::string::npos);
  std::string vals = *saved.meta_value("val_history");
  CHECK(resume_edited("val_history", vals + ",nan").find("val_history") != std::string::npos);
  CHECK(resume_edited("val_history", vals.substr(0, vals.find(','))).find("its histories hold 2 and 1 epochs") !=
        std::string::npos);
  CHECK(resume_edited("train_history", *saved.meta_value("train_history") + ",0.5").find("its histories hold 3 and 2") !=
        std::string::npos);
  save_checkpoint(path, saved);  // the state as it was resumes
  ro.resume = true;
  mc.epochs = 3;
  CHECK(train_run(opt, *task, mc, ro).val_history.size() == 3);
}

// Edits a copy of `saved`, writes it to `path` and returns what `load` throws ("" if nothing).
template <class Edit, class Load>
static std::string error_after_edit(const Checkpoint& saved, const std::string& path, Edit edit, Load load) {
  Checkpoint c = saved;
  edit(c);
  save_checkpoint(path, c);
  try {
    load();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Sets metadata `key` to `value` (an empty value deletes the key).
static std::function<void(Checkpoint&)> set_meta(const std::string& key, const std::string& value) {
  return [=](Checkpoint& c) {
    for (size_t i = 0; i < c.meta.size(); i++)
      if (c.meta[i].first == key) {
        if (value.empty()) c.meta.erase(c.meta.begin() + (long)i);
        else c.meta[i].second = value;
        return;
      }
    FAIL("no metadata " << key);
  };
}

// phi.ckpt describes its nets in metadata. gac 1 -> 3 changes no tensor shape, so the digest
// saved with the configuration catches it (and a deleted key, which reads back as the default);
// a shape-changing edit is refused before the optimizer is built; a NaN in phi at load time.
TEST_CASE("phi: an edited or deleted configuration value, a size its tensors do not have, or a NaN is refused, naming the file") {
  auto task = make_quadratic_task(small_quadratic());
  TempDir tmp;
  RunOptions ro;
  ro.quiet = true;
  ro.out_dir = tmp.file("run");
  NetConfig net = tiny_net();
  net.gac = 1;
  LearnedOptimizer opt({net}, 8);
  train_run(opt, *task, short_meta_config(), ro);
  const std::string phi = ro.out_dir + "/phi.ckpt";
  const Checkpoint saved = load_checkpoint(phi);
  CHECK(load_learned_optimizer(phi)->net(0).config().gac == 1);
  auto refused = [&](const std::function<void(Checkpoint&)>& edit) {
    std::string msg = error_after_edit(saved, phi, edit, [&] { load_learned_optimizer(phi); });
    CHECK_MESSAGE(msg.find(phi) != std::string::npos, msg);
    return msg;
  };
  std::string msg = refused(set_meta("net0.gac", "3"));
  CHECK_MESSAGE(msg.find("does not match the digest l2l saved with it (nets.digest)") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("3 global averaging cells per layer") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("Fix: use the file as l2l wrote it") != std::string::npos, msg);
  msg = refused(set_meta("net0.gac", ""));  // deleted: would read back as gac 0
  CHECK_MESSAGE(msg.find("does not match the digest") != std::string::npos, msg);
  msg = refused([](Checkpoint& c) {  // digest gone too: the tensors still tell the size
    set_meta("nets.digest", "")(c);
    set_meta("net0.hidden", "5")(c);
  });
  CHECK_MESSAGE(msg.find("its metadata describes net0 as 1x5 LSTM") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("but its tensors net0.* hold") != std::string::npos, msg);
  msg = refused([](Checkpoint& c) { c.tensors[1].second[0] = NAN; });
  CHECK_MESSAGE(msg.find("tensor '" + saved.tensors[1].first + "' holds nan at index 0, expected finite numbers") !=
                    std::string::npos, msg);
  save_checkpoint(phi, saved);
  CHECK(load_learned_optimizer(phi)->net(0).config().gac == 1);
}

// --resume takes the optimizer from the flags: a state whose "gac" setting was deleted (so the
// settings no longer differ) still describes its nets, which must be the flags' nets; Adam's
// state and phi must be finite (a NaN used to surface as "meta-training diverged").
TEST_CASE("resume: another optimizer than the file's, or a NaN in Adam's state or phi, is refused, naming the file") {
  auto task = make_quadratic_task(small_quadratic());
  TempDir tmp;
  RunOptions ro;
  ro.quiet = true;
  ro.out_dir = tmp.file("run");
  ro.settings = {{"gac", "1"}};
  NetConfig net = tiny_net();
  net.gac = 1;
  LearnedOptimizer opt({net}, 8);
  train_run(opt, *task, short_meta_config(), ro);
  const std::string path = ro.out_dir + "/train_state.ckpt";
  const Checkpoint saved = load_checkpoint(path);
  MetaConfig more = short_meta_config();
  more.epochs = 2;
  auto resume_with = [&](int gac) {
    RunOptions r = ro;
    r.resume = true;
    r.settings = {{"gac", std::to_string(gac)}};
    NetConfig n = net;
    n.gac = gac;
    LearnedOptimizer resumed({n}, 8);
    train_run(resumed, *task, more, r);
  };
  std::string msg = error_after_edit(saved, path, set_meta("gac", ""), [&] { resume_with(2); });
  CHECK_MESSAGE(msg.find("--resume: " + path + " was trained with another optimizer:\n  net0 was 1x3 LSTM") !=
                    std::string::npos, msg);
  CHECK_MESSAGE(msg.find("1 global averaging cells per layer, now") != std::string::npos, msg);
  for (const char* prefix : {"adam.", "phi.", "best."}) {
    size_t t = 0;
    while (saved.tensors[t].first.rfind(prefix, 0) != 0 || saved.tensors[t].second.size() == 0) t++;
    msg = error_after_edit(saved, path, [&](Checkpoint& c) { c.tensors[t].second[0] = NAN; }, [&] { resume_with(1); });
    CHECK_MESSAGE(msg.find("checkpoint " + path + ": tensor '" + saved.tensors[t].first + "' holds nan") !=
                      std::string::npos, msg);
  }
  save_checkpoint(path, saved);
  CHECK_NOTHROW(resume_with(1));
}

TEST_CASE("a non-finite meta-loss stops training with a clear message and keeps the checkpoint") {
  auto task = make_quadratic_task(small_quadratic());
  auto dir = std::filesystem::temp_directory_path() / ("l2l_nan_" + std::to_string(::getpid()));
  LearnedOptimizer opt({tiny_net()}, 8);
  MetaConfig mc = short_meta_config();
  RunOptions ro;
  ro.quiet = true;
  ro.out_dir = dir.string();
  train_run(opt, *task, mc, ro);
  auto before = std::filesystem::file_size(dir / "phi.ckpt");
  Checkpoint good = load_checkpoint((dir / "phi.ckpt").string());
  opt.params()[0]->value[0] = NAN;  // poison phi: the next meta-loss is NaN
  mc.epochs = 2;
  ro.resume = false;
  CHECK_THROWS_WITH(train_run(opt, *task, mc, ro), doctest::Contains("meta-training diverged"));
  CHECK_THROWS_WITH(train_run(opt, *task, mc, ro), doctest::Contains("The files already in"));
  Checkpoint still = load_checkpoint((dir / "phi.ckpt").string());
  CHECK(std::filesystem::file_size(dir / "phi.ckpt") == before);
  CHECK(still.tensors[0].second[1] == good.tensors[0].second[1]);
  std::filesystem::remove_all(dir);
}

TEST_CASE("[slow] a briefly meta-trained LSTM beats tuned SGD at step 100 on fresh quadratics" * doctest::skip()) {
  QuadraticOptions qo;
  qo.batch = 32;  // the paper's Gaussian W, y; 32 functions per problem to keep it quick
  auto task = make_quadratic_task(qo);
  LearnedOptimizer opt({NetConfig{}}, 1);  // the paper's 2 x 20 LSTM, no preprocessing
  MetaConfig mc;
  mc.epochs = 20;
  mc.problems_per_epoch = 20;  // 2,000 meta-iterations
  mc.meta_lr = 3e-3;
  mc.val_problems = 5;
  meta_train(opt, *task, mc);
  LrGrid grid;
  grid.lo = -3, grid.hi = 1, grid.per_decade = 4;
  LrSearch t = tune_lr("sgd", *task, 10, 100, grid);
  auto sgd = make_optimizer("sgd", t.best_lr);
  // Compared problem by problem (a tuned SGD can still diverge on an unlucky test problem, which
  // would make any mean comparison trivial): the median of f at step 100, and how often the
  // LSTM is lower.
  Curves l = evaluate(opt, *task, Split::test, 21, 100, false), s = evaluate(*sgd, *task, Split::test, 21, 100, false);
  std::vector<double> lf, sf;
  int lstm_lower = 0;
  for (int i = 0; i < 21; i++) {
    lf.push_back(l.runs[i].back());
    sf.push_back(s.runs[i].back());
    lstm_lower += lf.back() < sf.back();
  }
  std::sort(lf.begin(), lf.end());
  std::sort(sf.begin(), sf.end());
  MESSAGE("step 100 over 21 test problems: median lstm " << lf[10] << ", median sgd (lr " << t.best_lr << ") " << sf[10]
                                                           << "; lstm lower on " << lstm_lower << " problems");
  CHECK(lf[10] < sf[10]);
  CHECK(lstm_lower >= 15);
}

TEST_CASE("honest reporting: the untrained phi is epoch -1, and it is kept when no epoch beats it") {
  auto task = make_quadratic_task(small_quadratic());
  LearnedOptimizer opt({tiny_net()}, 8);
  std::vector<Tensor> before;
  for (Param* p : opt.params()) before.push_back(p->value);
  MetaConfig mc = short_meta_config();
  mc.val_problems = 2;
  mc.epochs = 2;
  mc.meta_lr = 1e-9;  // phi barely moves: no epoch can be clearly better, and some are worse
  mc.clip = 1e-12;
  MetaResult r = meta_train(opt, *task, mc);
  CHECK(r.untrained_val > 0);
  if (r.best_epoch < 0) {  // then phi is exactly the untrained phi
    auto ps = opt.params();
    for (size_t i = 0; i < ps.size(); i++)
      for (size_t j = 0; j < ps[i]->value.size(); j++) CHECK(ps[i]->value[j] == before[i][j]);
    CHECK(r.best_val == r.untrained_val);
  } else {
    CHECK(r.best_val < r.untrained_val);
  }
  // A hopeless meta learning rate: whatever the epochs score, the best is never worse than
  // the untrained phi, and the result says which epoch it is (or -1).
  LearnedOptimizer wild({tiny_net()}, 8);
  mc.meta_lr = 10;
  mc.clip = 0;
  try {
    MetaResult w = meta_train(wild, *task, mc);
    CHECK(w.best_val <= w.untrained_val);
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("Start a new run") != std::string::npos);
  }
}

TEST_CASE("run directory: config.txt comes with the first checkpoint; resume refuses epochs already done") {
  auto task = make_quadratic_task(small_quadratic());
  auto dir = std::filesystem::temp_directory_path() / ("l2l_cfg_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  MetaConfig mc = short_meta_config();
  RunOptions ro;
  ro.quiet = true;
  ro.out_dir = dir.string();
  ro.config_text = "# l2l train\nepochs = 1\n";
  // A run that fails before its first checkpoint leaves no config.txt claiming a run.
  LearnedOptimizer bad({tiny_net()}, 8);
  bad.params()[0]->value[0] = NAN;
  CHECK_THROWS_WITH(train_run(bad, *task, mc, ro), doctest::Contains("No checkpoint had been written"));
  CHECK_FALSE(std::filesystem::exists(dir / "config.txt"));
  LearnedOptimizer good({tiny_net()}, 8);
  train_run(good, *task, mc, ro);
  CHECK(std::filesystem::exists(dir / "config.txt"));
  CHECK(std::filesystem::exists(dir / "train_log.csv"));
  ro.resume = true;
  CHECK_THROWS_WITH(train_run(good, *task, mc, ro), doctest::Contains("has already trained 1 epochs"));
  // phi.ckpt describes its nets: the optimizer comes back without any flag.
  std::string on, epoch;
  auto loaded = load_learned_optimizer((dir / "phi.ckpt").string(), &on, &epoch);
  CHECK(loaded->configs().size() == 1);
  CHECK(loaded->net(0).config().hidden == tiny_net().hidden);
  CHECK(loaded->net(0).config().out_scale == tiny_net().out_scale);
  std::filesystem::remove_all(dir);
}

TEST_CASE("net configurations: validated with the source named; checkpoint metadata round-trips and is range-checked") {
  NetConfig c = tiny_net();
  c.p = INFINITY;
  CHECK_THROWS_WITH(c.check("flag --"), doctest::Contains("flag --p must be finite"));
  c = tiny_net();
  c.out_scale = INFINITY;
  CHECK_THROWS_WITH(c.check("flag --"), doctest::Contains("flag --out-scale must be finite"));
  c = tiny_net();
  c.hidden = 2000000000;
  CHECK_THROWS_WITH(c.check("f.ckpt: metadata net0."), doctest::Contains("f.ckpt: metadata net0.hidden must be in 1..1024"));
  NetConfig a = tiny_net(), b = tiny_net();
  b.preprocess = "logsign";
  b.p = 5;
  auto meta = net_config_meta({a, b});
  auto back = net_configs_from_meta(meta, "f.ckpt");
  REQUIRE(back.size() == 2);
  CHECK(back[1].preprocess == "logsign");
  CHECK(back[1].p == 5);
  CHECK(back[0].out_scale == a.out_scale);
  for (auto& [k, v] : meta)
    if (k == "net1.layers") v = "100000000";
  CHECK_THROWS_WITH(net_configs_from_meta(meta, "f.ckpt"), doctest::Contains("f.ckpt: metadata 'net1.layers' is '100000000', expected an integer in [0, 8]"));
  meta.erase(meta.begin());
  CHECK_THROWS_WITH(net_configs_from_meta(meta, "f.ckpt"), doctest::Contains("f.ckpt: has no metadata 'nets'"));
}

TEST_CASE("meta-batch K: one meta-update is Adam on the mean of K problems' window meta-gradients, summed in problem order") {
  auto task = make_quadratic_task(small_quadratic());
  auto dir = std::filesystem::temp_directory_path() / ("l2l_metabatch_" + std::to_string(::getpid()));
  const int K = 3;
  MetaConfig mc;
  RunOptions ro;
  ro.quiet = true;
  mc.steps = 5;
  mc.unroll = 5;  // one window per problem: one meta-update per group of K
  mc.problems_per_epoch = K;
  mc.meta_batch = K;
  mc.val_problems = 1;
  mc.meta_lr = 0.01;
  mc.epochs = 1;
  mc.seed = 7;
  ro.out_dir = dir.string();
  LearnedOptimizer trained({tiny_net()}, 8), by_hand({tiny_net()}, 8);  // the same initial phi
  train_run(trained, *task, mc, ro);
  // By hand: the K problems' meta-gradients, averaged in double in problem order, one Adam step.
  std::vector<Param*> phi = by_hand.params();
  std::vector<std::vector<double>> sum(phi.size());
  for (size_t i = 0; i < phi.size(); i++) sum[i].assign(phi[i]->grad.size(), 0);
  Tape tape;
  for (int k = 0; k < K; k++) {
    Trajectory tr = start_trajectory(by_hand, *task, ProblemId::train(k, mc.seed));
    for (Param* q : phi) q->zero_grad();
    meta_window(by_hand, tr, mc.unroll, mc.include_start, tape);
    for (size_t i = 0; i < phi.size(); i++)
      for (size_t j = 0; j < sum[i].size(); j++) sum[i][j] = k == 0 ? (double)phi[i]->grad[j] : sum[i][j] + phi[i]->grad[j];
  }
  for (size_t i = 0; i < phi.size(); i++)
    for (size_t j = 0; j < sum[i].size(); j++) phi[i]->grad[j] = (real)(sum[i][j] / K);
  Adam adam(mc.meta_lr);
  step_params(adam, phi);
  // train_state.ckpt holds the phi after the last meta-update (phi.ckpt the best validated one).
  NamedTensors saved = tensors_with_prefix(load_checkpoint((dir / "train_state.ckpt").string()), "phi.");
  REQUIRE(saved.size() == phi.size());
  LearnedOptimizer untrained({tiny_net()}, 8);
  size_t moved = 0;
  for (size_t i = 0; i < phi.size(); i++)
    for (size_t j = 0; j < phi[i]->value.size(); j++) {
      CHECK(saved[i].second[j] == phi[i]->value[j]);
      moved += phi[i]->value[j] != untrained.params()[i]->value[j];
    }
  CHECK(moved > 0);  // the step did something: the comparison is not of two untouched phis
  std::filesystem::remove_all(dir);
}

TEST_CASE("meta-batch K: problems per epoch must be a multiple of K; K = 1 is the default") {
  MetaConfig mc;
  CHECK(mc.meta_batch == 1);
  mc.problems_per_epoch = 5;
  mc.meta_batch = 2;
  CHECK_THROWS_WITH(check_config(mc), doctest::Contains("--problems-per-epoch (5) must be a multiple of --meta-batch (2)"));
  mc.meta_batch = 0;
  CHECK_THROWS(check_config(mc));
  mc.meta_batch = 5;
  CHECK_NOTHROW(check_config(mc));
}

TEST_CASE("checkpoints from before the read-out was nn's Linear (net0.out.W) still load and resume") {
  auto task = make_quadratic_task(small_quadratic());
  TempDir dir;
  MetaConfig mc = short_meta_config();
  mc.epochs = 1;
  RunOptions ro;
  ro.quiet = true;
  ro.out_dir = dir.dir.string();
  LearnedOptimizer opt({tiny_net()}, 8);
  train_run(opt, *task, mc, ro);
  for (const char* f : {"phi.ckpt", "train_state.ckpt"}) {  // written as an older l2l named them
    Checkpoint ck = load_checkpoint(dir.file(f));
    int renamed = 0;
    for (auto& [name, t] : ck.tensors)
      if (name.size() > 6 && name.compare(name.size() - 6, 6, ".out.w") == 0) name.back() = 'W', renamed++;
    CHECK(renamed == (std::string(f) == "phi.ckpt" ? 1 : 2));  // phi.ckpt: the best phi; train_state: phi. and best.
    save_checkpoint(dir.file(f), ck);
  }
  auto loaded = load_learned_optimizer(dir.file("phi.ckpt"));  // the best phi, which opt holds after training
  for (size_t i = 0; i < opt.params().size(); i++) CHECK(same_bits(loaded->params()[i]->value, opt.params()[i]->value));
  LearnedOptimizer resumed({tiny_net()}, 999);
  mc.epochs = 2;
  ro.resume = true;
  CHECK_NOTHROW(train_run(resumed, *task, mc, ro));
}
