// test_beyond.cpp: the options beyond the paper: global averaging cells (--gac),
// Adam-like input normalization (--preprocess adamnorm), random scaling of the training
// problems (--random-scale) and the horizon curriculum (--curriculum). Each is checked to be off
// by default: the paper's net, problems and meta-training, bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "autodiff/parallel.h"
#include "fixtures.h"
#include "helpers.h"
#include "nn/checkpoint.h"
#include "tasks/evaluate.h"
#include "tasks/learned_optimizer.h"
#include "tasks/meta_train.h"
#include "tasks/run/training.h"
#include "tasks/optimizees/optimizees.h"
#include "tasks/optimizees/scaled_task.h"

using namespace l2l;
using namespace l2l::test;

namespace {

NetConfig gac_net(int gac) {
  NetConfig c;
  c.layers = 2;
  c.hidden = 4;
  c.gac = gac;
  c.out_scale = 0.5;
  return c;
}

// `steps` off-tape steps of `opt` on one flat theta of n coordinates from zero, with gradients
// randn(seed + step) permuted by perm (identity if empty); returns theta after each step.
std::vector<Tensor> run_steps(LearnedOptimizer& opt, int n, int steps, uint64_t seed, const std::vector<int>& perm = {},
                              double grad_scale = 1) {
  Tensor x = Tensor::zeros({n});
  opt.begin({{"x", {n}, 0}});
  std::vector<Tensor> out;
  for (int s = 0; s < steps; s++) {
    Tensor g = randn({n}, seed + s), gp({n});
    for (int i = 0; i < n; i++) gp[i] = (real)(grad_scale * g[perm.empty() ? i : perm[i]]);
    std::vector<Tensor*> ps = {&x};
    opt.step(ps, {gp});
    out.push_back(x);
  }
  return out;
}

}  // namespace

// ---- global averaging cells -------------------------------------------------------------

TEST_CASE("global_average_cols: forward is the column mean over rows, and it passes gradcheck") {
  Tensor h = randn({5, 4}, 1);
  Tape t;
  Tensor y = global_average_cols(t.constant(h), 2).value();
  for (int j = 0; j < 4; j++) {
    double mean = 0;
    for (int m = 0; m < 5; m++) mean += h.at(m, j);
    mean /= 5;
    for (int i = 0; i < 5; i++) CHECK(y.at(i, j) == (j < 2 ? doctest::Approx(mean).epsilon(1e-14) : doctest::Approx(h.at(i, j))));
  }
  for (int cols : {0, 1, 2, 4}) {
    CAPTURE(cols);
    CHECK_GRADS([cols](Tape&, const std::vector<Var>& v) { return global_average_cols(v[0], cols); }, {randn({5, 4}, 2 + cols)});
  }
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return global_average_cols(v[0], 3); }, {randn({1, 3}, 9)});
  CHECK_THROWS_WITH(global_average_cols(t.constant(h), 5), doctest::Contains("0 <= cols <= H"));
}

TEST_CASE("two LSTM steps with averaging cells pass gradcheck in x, W and b") {
  // The composition the optimizer records with --gac: cell, average, next step reads the average.
  const int n = 4, I = 2, H = 3, A = 2;
  auto f = [&](Tape& t, const std::vector<Var>& v) {
    Var h = t.constant(Tensor::zeros({n, H})), c = t.constant(Tensor::zeros({n, H}));
    for (int s = 0; s < 2; s++) {
      LSTMCellOutput o = lstm_cell_fused(v[s], h, c, v[2], v[3]);
      h = global_average_cols(o.h, A);
      c = o.c;
    }
    return h;
  };
  CHECK_GRADS(f, {randn({n, I}, 11), randn({n, I}, 12), randn({I + H, 4 * H}, 13, 0.5), randn({4 * H}, 14, 0.5)});
}

TEST_CASE("with averaging cells, permuting the coordinates permutes the updates, step after step") {
  for (const char* pre : {"none", "logsign", "adamnorm"}) {
    CAPTURE(pre);
    NetConfig c = gac_net(2);
    c.preprocess = pre;
    LearnedOptimizer a({c}, 5), b({c}, 5);
    const int n = 9;
    std::vector<int> perm = {4, 8, 0, 3, 7, 1, 6, 2, 5};
    std::vector<Tensor> xa = run_steps(a, n, 5, 30), xb = run_steps(b, n, 5, 30, perm);
    for (int s = 0; s < 5; s++)
      for (int i = 0; i < n; i++) CHECK(xb[s][i] == doctest::Approx(xa[s][perm[i]]).epsilon(1e-12));
  }
}

TEST_CASE("averaging cells couple the coordinates; without them a coordinate's update ignores the others") {
  // Change one coordinate's gradient: with gac every other coordinate's update moves, with
  // gac = 0 none does (the paper's coordinatewise net). Makes the permutation test above mean something.
  for (int gac : {0, 2}) {
    CAPTURE(gac);
    LearnedOptimizer a({gac_net(gac)}, 5);
    Tensor g = randn({6}, 40), g2 = g;
    g2[0] += 3;
    auto one_step = [&](const Tensor& grad) {
      Tensor x = Tensor::zeros({6});
      a.begin({{"x", {6}, 0}});
      std::vector<Tensor*> ps = {&x};
      a.step(ps, {grad});
      return x;
    };
    Tensor u = one_step(g), u2 = one_step(g2);
    for (int i = 1; i < 6; i++) CHECK((u[i] != u2[i]) == (gac > 0));
  }
}

TEST_CASE("gac 0 is the paper's net bit for bit: the update is equations (1)-(3) from the net's own Params") {
  NetConfig c = gac_net(0);
  c.preprocess = "logsign";
  LearnedOptimizer opt({c}, 7);
  std::vector<Param*> ps = opt.params();  // lstm.0.w, lstm.0.b, lstm.1.w, lstm.1.b, out.w, out.b
  REQUIRE(ps.size() == 6);
  const int n = 5;
  Tape t;
  OptimizerState st = opt.initial_state({{"x", {n}, 0}});
  OptimizerVars v = OptimizerVars::on_tape(st, t);
  std::vector<Var> h = {t.constant(Tensor::zeros({n, 4})), t.constant(Tensor::zeros({n, 4}))}, cc = h;
  for (int s = 0; s < 3; s++) {
    Tensor g = randn({n}, 60 + s);
    Tensor u = opt.update(t, g, v).value();
    Var x = t.constant(preprocess_gradient(g, c));
    for (int l = 0; l < 2; l++) {
      LSTMCellOutput o = lstm_cell_fused(x, h[l], cc[l], t.param(*ps[2 * l]), t.param(*ps[2 * l + 1]));
      h[l] = o.h, cc[l] = o.c, x = o.h;
    }
    Tensor ref = reshape(scale(matmul(x, t.param(*ps[4])) + t.param(*ps[5]), 0.5), {n}).value();
    CHECK(same_bits(u, ref));
  }
}

TEST_CASE("averaging cells: the same bits for any thread count and row blocking of the cell") {
  const int saved_rows = lstm_block_rows(), saved_threads = num_threads();
  NetConfig c = gac_net(3);
  std::vector<std::vector<Tensor>> runs;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    set_lstm_block_rows(4);  // several blocks for 37 coordinates
    LearnedOptimizer opt({c}, 8);
    runs.push_back(run_steps(opt, 37, 4, 70));
  }
  set_num_threads(saved_threads);
  set_lstm_block_rows(saved_rows);
  for (size_t r = 1; r < runs.size(); r++)
    for (int s = 0; s < 4; s++) CHECK(same_bits(runs[r][s], runs[0][s]));
}

// ---- Adam-like input normalization (RNNprop) -------------------------------------------

TEST_CASE("adamnorm inputs follow (5), with the moments carried in the state") {
  NetConfig c;
  c.preprocess = "adamnorm";
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  InputMoments mom;
  Tensor g1({2}, {2.0, -0.5}), g2({2}, {1.0, 0.0});
  Tensor x1 = preprocess_gradient(g1, c, &mom);
  REQUIRE(x1.shape() == Shape{2, 2});
  // Step 1: bias-corrected moments are g and g^2, so mh / sqrt(vh) = sign g and g / sqrt(vh) = sign g.
  CHECK(x1.at(0, 0) == doctest::Approx(1.0));
  CHECK(x1.at(0, 1) == doctest::Approx(1.0));
  CHECK(x1.at(1, 0) == doctest::Approx(-1.0));
  CHECK(mom.t == 1);
  Tensor x2 = preprocess_gradient(g2, c, &mom);
  double m = 0.9 * 0.1 * 2 + 0.1 * 1, v = 0.99 * 0.01 * 4 + 0.01 * 1;
  double mh = m / (1 - 0.81), vh = v / (1 - 0.9801), d = std::sqrt(vh) + 1e-8;
  CHECK(x2.at(0, 0) == doctest::Approx(mh / d).epsilon(1e-12));
  CHECK(x2.at(0, 1) == doctest::Approx(1.0 / d).epsilon(1e-12));
  CHECK(x2.at(1, 1) == 0);
  CHECK_THROWS_WITH(preprocess_gradient(g1, c), doctest::Contains("adamnorm needs"));
}

TEST_CASE("adamnorm: the optimizer's updates do not depend on the scale of the gradients") {
  NetConfig c = gac_net(0);
  c.preprocess = "adamnorm";
  LearnedOptimizer a({c}, 4), b({c}, 4);
  std::vector<Tensor> xa = run_steps(a, 6, 5, 90), xb = run_steps(b, 6, 5, 90, {}, 1000.0);
  for (int s = 0; s < 5; s++)
    for (int i = 0; i < 6; i++) CHECK(xb[s][i] == doctest::Approx(xa[s][i]).epsilon(1e-6));
  // Without it, the same scaling changes the updates (the paper's net sees raw gradients).
  LearnedOptimizer p({gac_net(0)}, 4), q({gac_net(0)}, 4);
  CHECK(run_steps(p, 6, 1, 90)[0][0] != doctest::Approx(run_steps(q, 6, 1, 90, {}, 1000.0)[0][0]).epsilon(1e-3));
}

TEST_CASE("adamnorm and gac: two windows of 3 steps move theta exactly like one window of 6") {
  NetConfig c = gac_net(2);
  c.preprocess = "adamnorm";
  auto task = make_quadratic_task(small_quadratic());
  LearnedOptimizer opt({c}, 9);
  Tape tape;
  Trajectory a = start_trajectory(opt, *task, ProblemId::train(4, 0)), b = start_trajectory(opt, *task, ProblemId::train(4, 0));
  unroll_window(opt, a, 3, true, tape);
  unroll_window(opt, a, 3, true, tape);
  unroll_window(opt, b, 6, true, tape);
  for (size_t i = 0; i < a.theta.size(); i++) CHECK(a.theta[i] == doctest::Approx(b.theta[i]).epsilon(1e-12));
  REQUIRE(a.state.moments.size() == 1);
  CHECK(a.state.moments[0].t == 6);
  CHECK(same_bits(a.state.moments[0].v, b.state.moments[0].v));
}

// ---- the options in checkpoints and flags ----------------------------------------------

TEST_CASE("gac and adamnorm round-trip through checkpoint metadata; older metadata loads with them off") {
  NetConfig a = gac_net(3), b = gac_net(0);
  b.preprocess = "adamnorm";
  b.beta1 = 0.95;
  b.beta2 = 0.95;
  auto back = net_configs_from_meta(net_config_meta({a, b}), "f.ckpt");
  REQUIRE(back.size() == 2);
  CHECK(back[0].gac == 3);
  CHECK(back[1].gac == 0);
  CHECK(back[1].preprocess == "adamnorm");
  CHECK(back[1].beta1 == 0.95);
  CHECK(back[1].beta2 == 0.95);
  auto old = net_config_meta({a});  // as written before gac, adamnorm and the digest existed
  old.erase(std::remove_if(old.begin(), old.end(),
                           [](auto& kv) {
                             return kv.first == "net0.gac" || kv.first.find("adam-beta") != std::string::npos ||
                                    kv.first == "nets.digest";
                           }),
            old.end());
  auto o = net_configs_from_meta(old, "old.ckpt");
  CHECK(o[0].gac == 0);
  CHECK(o[0].beta1 == NetConfig().beta1);
  auto meta = net_config_meta({a});  // gac 3 > hidden 2 must be refused, naming the file
  for (auto& [k, v] : meta)
    if (k == "net0.hidden") v = "2";
  CHECK_THROWS_WITH(net_configs_from_meta(meta, "f.ckpt"), doctest::Contains("f.ckpt: metadata net0.gac must be in 0..hidden"));
}

TEST_CASE("bad gac and adamnorm settings are refused, naming the flag") {
  NetConfig c = gac_net(5);
  CHECK_THROWS_WITH(c.check("flag --"), doctest::Contains("flag --gac must be in 0..hidden (4)"));
  c = gac_net(1);
  c.layers = 0;
  CHECK_THROWS_WITH(c.check("flag --"), doctest::Contains("flag --gac needs LSTM layers"));
  c = gac_net(0);
  c.beta2 = 1;
  CHECK_THROWS_WITH(c.check("flag --"), doctest::Contains("flag --adam-beta2 must be in [0, 1)"));
  c.beta2 = 0.9;
  c.preprocess = "adam";
  CHECK_THROWS_WITH(c.check("flag --"), doctest::Contains("none, logsign or adamnorm"));
}

// ---- random scaling of the training problems (RNNprop) ---------------------------------

TEST_CASE("random scaling: s = 0 leaves the problems bit for bit; a scaled problem's f and grad are c times") {
  const ProblemId train = ProblemId::train(5, 1), val = ProblemId::val(2), test = ProblemId::test(2);
  auto plain = make_quadratic_task(small_quadratic());
  auto off = make_randomly_scaled_task(make_quadratic_task(small_quadratic()), 0);
  auto on = make_randomly_scaled_task(make_quadratic_task(small_quadratic()), 1.0);
  Tensor theta = randn({6}, 3);
  auto eval = [&](const Task& t, const ProblemId& id) {
    Rng r(7);
    return t.sample(id)->loss_and_grad(theta, r);
  };
  for (const ProblemId& s : {train, val, test}) {
    LossAndGrad p = eval(*plain, s), z = eval(*off, s);
    CHECK(p.f == z.f);
    CHECK(same_bits(p.grad, z.grad));
  }
  for (const ProblemId& s : {val, test}) {  // validation and test problems are never scaled
    LossAndGrad p = eval(*plain, s), z = eval(*on, s);
    CHECK(p.f == z.f);
    CHECK(same_bits(p.grad, z.grad));
  }
  double c = random_scale_factor(train, 1.0);
  CHECK(c != 1);
  CHECK(c >= std::exp(-1.0));
  CHECK(c <= std::exp(1.0));
  LossAndGrad p = eval(*plain, train), z = eval(*on, train);
  CHECK(z.f == doctest::Approx(c * p.f).epsilon(1e-13));
  for (size_t i = 0; i < p.grad.size(); i++) CHECK(z.grad[i] == doctest::Approx(c * p.grad[i]).epsilon(1e-13));
  // theta_0 and the minibatch stream are the unscaled problem's.
  Rng r1(2), r2(2);
  CHECK(same_bits(plain->sample(train)->init(r1), on->sample(train)->init(r2)));
  // Different training problems get different scales, spread over (e^-s, e^s).
  double lo = 1e9, hi = 0;
  for (uint64_t i = 0; i < 200; i++) {
    double ci = random_scale_factor(ProblemId::train(i, 1), 2.0);
    lo = std::min(lo, ci), hi = std::max(hi, ci);
  }
  CHECK(lo < std::exp(-1.5));
  CHECK(hi > std::exp(1.5));
  CHECK(hi < std::exp(2.0));
  CHECK_THROWS_WITH(make_randomly_scaled_task(make_quadratic_task(small_quadratic()), -1), doctest::Contains("--random-scale"));
}

// ---- the horizon curriculum (Chen et al. 2020) ------------------------------------------

TEST_CASE("curriculum: each stage an equal share of the epochs; off, every epoch trains on --steps") {
  MetaConfig mc;
  mc.steps = 100;
  mc.epochs = 6;
  CHECK(mc.curriculum.empty());
  for (int e = 0; e < 6; e++) CHECK(training_horizon(mc, e) == 100);
  mc.curriculum = {20, 40, 60};
  std::vector<int> got;
  for (int e = 0; e < 6; e++) got.push_back(training_horizon(mc, e));
  CHECK(got == std::vector<int>{20, 20, 40, 40, 60, 60});
  mc.epochs = 7;  // shares of 3, 2, 2 epochs: floor(e S / epochs)
  got.clear();
  for (int e = 0; e < 7; e++) got.push_back(training_horizon(mc, e));
  CHECK(got == std::vector<int>{20, 20, 20, 40, 40, 60, 60});
  CHECK_NOTHROW(check_config(mc));
  mc.curriculum = {20, 50};
  CHECK_THROWS_WITH(check_config(mc), doctest::Contains("--curriculum: every horizon must be a positive multiple of --unroll (20), got 50"));
  mc.curriculum = {20, 40, 60, 80, 100, 120, 140, 160};
  CHECK_THROWS_WITH(check_config(mc), doctest::Contains("--curriculum has 8 stages but --epochs is 7"));
}

namespace {

// Meta-training written out by hand, the paper's loop: epoch e draws problems_per_epoch fresh
// training problems (counter continues across epochs), each runs horizons[e] / U windows, one
// Adam step on phi after each window. Returns phi after the last step.
NamedTensors phi_by_hand(const NetConfig& net, const Task& task, const MetaConfig& mc, const std::vector<int>& horizons) {
  LearnedOptimizer opt({net}, 8);
  std::vector<Param*> phi = opt.params();
  Adam adam(mc.meta_lr);
  Tape tape;
  uint64_t problem = 0;
  for (int T : horizons)
    for (int p = 0; p < mc.problems_per_epoch; p++) {
      Trajectory tr = start_trajectory(opt, task, ProblemId::train(problem++, mc.seed));
      for (int w = 0; w < T / mc.unroll; w++) {
        for (Param* q : phi) q->zero_grad();
        meta_window(opt, tr, mc.unroll, mc.include_start, tape);
        step_params(adam, phi);
      }
    }
  NamedTensors out;
  for (Param* q : phi) out.push_back({q->name, q->value});
  return out;
}

// A run into a fresh folder; the phi after its last meta-update (train_state.ckpt).
NamedTensors phi_of_meta_train(const NetConfig& net, const Task& task, MetaConfig mc, MetaResult* res) {
  auto dir = std::filesystem::temp_directory_path() / ("l2l_curriculum_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  RunOptions ro;
  ro.out_dir = dir.string();
  ro.quiet = true;
  LearnedOptimizer opt({net}, 8);
  *res = train_run(opt, task, mc, ro);
  NamedTensors saved = tensors_with_prefix(load_checkpoint((dir / "train_state.ckpt").string()), "phi.");
  std::filesystem::remove_all(dir);
  return saved;
}

bool same_phi(const NamedTensors& a, const NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (a[i].first != b[i].first || !same_bits(a[i].second, b[i].second)) return false;
  return true;
}

}  // namespace

TEST_CASE("curriculum: off is the paper's meta-training bit for bit; on, each epoch trains on its stage's horizon") {
  auto task = make_quadratic_task(small_quadratic());
  NetConfig net = gac_net(0);
  MetaConfig mc = short_meta_config();
  mc.epochs = 3;
  mc.meta_lr = 0.01;
  mc.seed = 3;
  MetaResult off, one_stage, on;
  NamedTensors paper = phi_by_hand(net, *task, mc, {10, 10, 10});
  CHECK(same_phi(phi_of_meta_train(net, *task, mc, &off), paper));  // the default: no curriculum
  CHECK(off.meta_updates == 3 * 2 * 2);
  mc.curriculum = {10};  // a one-stage curriculum at --steps is the same run
  CHECK(same_phi(phi_of_meta_train(net, *task, mc, &one_stage), paper));
  CHECK(one_stage.val_history == off.val_history);
  mc.curriculum = {5, 15, 20};  // epochs on horizons 5, 15, 20: 1, 3 and 4 windows per problem
  NamedTensors cur = phi_of_meta_train(net, *task, mc, &on);
  CHECK(same_phi(cur, phi_by_hand(net, *task, mc, {5, 15, 20})));
  CHECK(!same_phi(cur, paper));
  CHECK(on.meta_updates == 2 * (1 + 3 + 4));
  REQUIRE(on.val_history.size() == 3);
  REQUIRE(on.train_history.size() == 3);
  CHECK(on.train_history[0] != off.train_history[0]);  // epoch 0 already on the short horizon
}

namespace {

// A quiet run of 2 epochs on quadratics with a curriculum of horizons 5 and 10 (an epoch each).
struct CurriculumRun {
  std::unique_ptr<Task> task = make_quadratic_task(small_quadratic());
  MetaConfig mc = short_meta_config();
  RunOptions ro;
  CurriculumRun() {
    mc.epochs = 2;
    mc.curriculum = {5, 10};
    ro.quiet = true;
    ro.settings = {{"curriculum", "5,10"}, {"epochs", "2"}};
  }
};

}  // namespace

TEST_CASE("curriculum: --resume with another --epochs is refused (its stages are shares of the epochs); without one, epochs may grow") {
  CurriculumRun run;
  auto& [task, mc, ro] = run;
  TempDir tmp;
  ro.out_dir = tmp.file("stages");
  LearnedOptimizer opt({tiny_net()}, 8);
  train_run(opt, *task, mc, ro);
  ro.resume = true;
  mc.epochs = 4;  // 4 epochs would be stages of 2 + 2, not the 1 + 1 already trained
  ro.settings = {{"curriculum", "5,10"}, {"epochs", "4"}};
  CHECK_THROWS_WITH(train_run(opt, *task, mc, ro),
                    doctest::Contains("was trained with --curriculum 5,10 over --epochs 2: its stages are shares of the "
                                      "epochs, so --epochs 4 would train another schedule"));
  // Without a curriculum the epochs may grow, as before.
  mc.curriculum.clear();
  mc.epochs = 2;
  ro = RunOptions();
  ro.quiet = true;
  ro.out_dir = tmp.file("plain");
  ro.settings = {{"curriculum", ""}, {"epochs", "2"}};
  train_run(opt, *task, mc, ro);
  ro.resume = true;
  mc.epochs = 3;
  ro.settings = {{"curriculum", ""}, {"epochs", "3"}};
  CHECK(train_run(opt, *task, mc, ro).val_history.size() == 3);
}

TEST_CASE("--stop-after: a curriculum run stopped after 1 epoch and resumed is the uninterrupted run, bit for bit") {
  CurriculumRun run;
  auto& [task, mc, ro] = run;
  TempDir tmp;
  LearnedOptimizer whole({tiny_net()}, 8), parts({tiny_net()}, 8);
  ro.out_dir = tmp.file("whole");
  train_run(whole, *task, mc, ro);
  ro.out_dir = tmp.file("parts");
  ro.stop_after = 1;
  bool asked = false, saved = false;
  try {
    train_run(parts, *task, mc, ro);
  } catch (const TrainingInterrupted& e) {
    asked = e.asked, saved = e.saved;
  }
  CHECK(asked);
  CHECK(saved);
  const Checkpoint after_one = load_checkpoint(ro.out_dir + "/train_state.ckpt");
  REQUIRE(after_one.meta_value("epoch") != nullptr);
  CHECK(*after_one.meta_value("epoch") == "0");  // epoch 0 saved, epoch 1 not begun
  ro.resume = true;
  ro.settings = {{"curriculum", "5,10"}, {"epochs", "2"}, {"stop-after", "1"}};  // a setting of the call: not compared
  MetaResult r = train_run(parts, *task, mc, ro);  // the last epoch: no stop asked for, the run ends
  CHECK(r.val_history.size() == 2);
  auto a = whole.params(), b = parts.params();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); i++)
    CHECK(std::memcmp(a[i]->value.data(), b[i]->value.data(), a[i]->value.size() * sizeof(real)) == 0);
}
