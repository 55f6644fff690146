// fused_window.cpp: the learned optimizer's window and evaluation step without a tape. The
// method and its equation (W1) are in fused_window.h; the cell's arithmetic on a block of rows
// is nn/lstm_rows.h.
#include "tasks/fused_window.h"

#include <algorithm>
#include <stdexcept>

#include "autodiff/parallel.h"
#include "nn/lstm_rows.h"

namespace l2l {

bool fused_window_supported(LearnedOptimizer& opt) {
  for (int k = 0; k < opt.num_nets(); k++) {
    const NetConfig& c = opt.net(k).config();
    if (c.layers < 1 || c.gac > 0 || !c.fused) return false;
  }
  return true;
}

namespace {

// One net's phi in the forms the row kernels read, and where each Param's gradient sits in a
// block's accumulator (double): per layer [dW; db] ((K_l + 1) x 4H), then the read-out's w (H)
// and b (1).
struct NetWeights {
  int L, I, H;
  real out_scale;
  std::vector<Tensor> Wb2;   // per layer: [W; b] with doubled g columns (K_l + 1, 4H)
  std::vector<PaddedWT> WT;  // per layer: W^T, padded (4H, Kp_l)
  const real* w_out;         // read-out weights (H)
  real b_out;
  std::vector<size_t> acc_at;  // per layer: offset of its [dW; db] in the accumulator
  size_t out_at, acc_size;     // offset of the read-out's (dw, db); the accumulator's length

  explicit NetWeights(CoordNet& net);
  int in(int l) const { return l == 0 ? I : H; }  // layer l's input width
};

NetWeights::NetWeights(CoordNet& net) {
  LSTM& lstm = net.lstm();
  L = lstm.layers(), I = lstm.input, H = lstm.hidden, out_scale = (real)net.config().out_scale;
  size_t at = 0;
  for (int l = 0; l < L; l++) {
    const int K = in(l) + H;
    Wb2.push_back(doubled_gate_weights(lstm.W[l].value.data(), lstm.b[l].value.data(), K, H));
    WT.emplace_back(lstm.W[l].value.data(), K, 4 * H);
    acc_at.push_back(at);
    at += (size_t)(K + 1) * 4 * H;
  }
  w_out = net.readout().W.value.data();
  b_out = net.readout().b.value[0];
  out_at = at;
  acc_size = at + H + 1;
}

// (3) for one coordinate: u = out_scale (h . w + b), the sum in j order.
inline real readout(const NetWeights& w, const real* h) {
  real s = 0;
  for (int j = 0; j < w.H; j++) s += h[j] * w.w_out[j];
  return w.out_scale * (s + w.b_out);
}

bool g_store_gates = true;

// The calling thread's scratch for one block's gates [i f g o] (rows, 4H), tanh(c'), h' and c'
// (rows, H): where a step writes what is not kept.
struct Gates {
  std::vector<real> act, tc, h2, c2;
  static Gates& mine(int rows, int H) {
    thread_local Gates g;
    g.act.resize((size_t)rows * 4 * H), g.tc.resize((size_t)rows * H), g.h2.resize(g.tc.size()), g.c2.resize(g.tc.size());
    return g;
  }
};

// One net's forward over a window, kept for its backward: row-major arrays of n rows per step
// (and layer). The buffers keep their capacity from window to window (no page faults).
struct NetTrace {
  int n = 0, U = 0, L = 0, I = 0, H = 0;
  std::vector<real> x;     // (U, n, I): the inputs x_t
  std::vector<real> g;     // (U, n): g_t+1, the gradient after step t (W1)
  std::vector<real> h, c;  // (L, U + 1, n, H): the state entering step t (t = U: leaving the window)
  bool stored = true;      // act and tc kept (else the backward recomputes them)
  std::vector<real> act;   // (L, U, n, 4H): the gates [i f g o] of step t (if stored)
  std::vector<real> tc;    // (L, U, n, H): tanh(c') of step t (if stored)

  real* X(int t) { return x.data() + (size_t)t * n * I; }
  const real* X(int t) const { return x.data() + (size_t)t * n * I; }
  size_t state_at(int l, int t) const { return ((size_t)l * (U + 1) + t) * n * H; }
  size_t step_at(int l, int t) const { return ((size_t)l * U + t) * n; }

  // Sized for `rows` coordinates and U steps, with the window's initial state at t = 0.
  void start(const NetWeights& w, int rows, int steps, const LSTMState& s) {
    n = rows, U = steps, L = w.L, I = w.I, H = w.H, stored = g_store_gates;
    x.resize((size_t)U * n * I), g.resize((size_t)U * n);
    h.resize((size_t)L * (U + 1) * n * H), c.resize(h.size());
    act.resize(stored ? (size_t)L * U * n * 4 * H : 0), tc.resize(stored ? (size_t)L * U * n * H : 0);
    for (int l = 0; l < L; l++) {
      std::copy_n(s.h[l].data(), (size_t)n * H, h.data() + state_at(l, 0));
      std::copy_n(s.c[l].data(), (size_t)n * H, c.data() + state_at(l, 0));
    }
  }
  // The state leaving the window, into s (the truncation: it goes on as plain values).
  void finish(LSTMState& s) const {
    for (int l = 0; l < L; l++) {
      std::copy_n(h.data() + state_at(l, U), (size_t)n * H, s.h[l].data());
      std::copy_n(c.data() + state_at(l, U), (size_t)n * H, s.c[l].data());
    }
  }
};

// ---- forward ----------------------------------------------------------------------------

// Step t of every layer and the read-out for rows [n0, n0 + rows): theta[n] += u_t[n].
void forward_block(const NetWeights& w, NetTrace& tr, int t, int n0, int rows, real* theta) {
  const int H = w.H, G = 4 * H;
  Gates& scratch = Gates::mine(rows, H);
  for (int l = 0; l < w.L; l++) {
    const size_t in = tr.state_at(l, t) + (size_t)n0 * H, out = tr.state_at(l, t + 1) + (size_t)n0 * H;
    const real* x = l == 0 ? tr.X(t) + (size_t)n0 * w.I : tr.h.data() + tr.state_at(l - 1, t + 1) + (size_t)n0 * H;
    ForwardRows p{x,
                  tr.h.data() + in,
                  tr.c.data() + in,
                  tr.stored ? tr.act.data() + (tr.step_at(l, t) + n0) * G : scratch.act.data(),
                  tr.h.data() + out,
                  tr.c.data() + out,
                  tr.stored ? tr.tc.data() + (tr.step_at(l, t) + n0) * H : scratch.tc.data()};
    cell_forward_rows(p, w.Wb2[l].data(), rows, w.in(l), H);
  }
  const real* top = tr.h.data() + tr.state_at(w.L - 1, t + 1) + (size_t)n0 * H;
  for (int n = 0; n < rows; n++) theta[n0 + n] += readout(w, top + (size_t)n * H);
}

// Step t of one net over its n coordinates: x_t (n, I) in, theta (the net's range) advanced.
void forward_net(const NetWeights& w, NetTrace& tr, int t, const Tensor& x, real* theta) {
  std::copy_n(x.data(), x.size(), tr.X(t));
  const RowBlocks blocks(tr.n, lstm_block_rows());
  parallel_for(blocks.count, [&](int b) { forward_block(w, tr, t, blocks.first(b), blocks.size(b), theta); });
}

// ---- backward ---------------------------------------------------------------------------

// One block's running backward, per layer (L, rows, H): dh and dc reaching the outputs of the
// step being undone, and those of the step before it, being built. `a` is (W1) (rows).
struct BlockGrads {
  std::vector<real> dh, dc, dh_prev, dc_prev, a, part;
  void start(int L, int rows, int H, size_t part_size) {
    for (auto* v : {&dh, &dc, &dh_prev, &dc_prev}) v->assign((size_t)L * rows * H, real(0));
    a.assign(rows, real(0));
    part.resize(part_size);
  }
};

// (W1) and the read-out's backward at step t: a += g_t+1; du = a; dh^top += out_scale du w;
// the read-out's dw += out_scale du h^top and db += out_scale du, into acc (double).
void readout_backward(const NetWeights& w, const NetTrace& tr, int t, int n0, int rows, BlockGrads& s, double* acc) {
  const int H = w.H;
  const real* g = tr.g.data() + (size_t)t * tr.n + n0;
  const real* top = tr.h.data() + tr.state_at(w.L - 1, t + 1) + (size_t)n0 * H;
  real* dh = s.dh.data() + (size_t)(w.L - 1) * rows * H;
  for (int n = 0; n < rows; n++) {
    s.a[n] += g[n];
    const real dout = w.out_scale * s.a[n];
    for (int j = 0; j < H; j++) {
      dh[(size_t)n * H + j] += dout * w.w_out[j];
      acc[j] += (double)dout * top[(size_t)n * H + j];
    }
    acc[H] += dout;
  }
}

// (8)-(11) of layer l at step t for the block: dx goes into layer l-1's dh (the same step),
// dh and dc into the step before (none before step 0), [dW; db] into acc (double).
void layer_backward(const NetWeights& w, const NetTrace& tr, int l, int t, int n0, int rows, BlockGrads& s, double* acc) {
  const int H = w.H, G = 4 * H, K1 = w.in(l) + H + 1;
  const size_t mine = (size_t)l * rows * H, st = tr.state_at(l, t) + (size_t)n0 * H;
  real *dhp = s.dh_prev.data() + mine, *dcp = s.dc_prev.data() + mine;
  std::fill_n(dhp, (size_t)rows * H, real(0));
  std::fill_n(dcp, (size_t)rows * H, real(0));
  const real* x = l == 0 ? tr.X(t) + (size_t)n0 * w.I : tr.h.data() + tr.state_at(l - 1, t + 1) + (size_t)n0 * H;
  const real *act, *tc;
  if (tr.stored) {
    act = tr.act.data() + (tr.step_at(l, t) + n0) * G, tc = tr.tc.data() + (tr.step_at(l, t) + n0) * H;
  } else {  // the forward again, the same bits: (1)-(7) on the same inputs
    Gates& r = Gates::mine(rows, H);
    cell_forward_rows({x, tr.h.data() + st, tr.c.data() + st, r.act.data(), r.h2.data(), r.c2.data(), r.tc.data()},
                      w.Wb2[l].data(), rows, w.in(l), H);
    act = r.act.data(), tc = r.tc.data();
  }
  real* dc = s.dc.data() + mine;
  BackwardRows p{x,
                 tr.h.data() + st,
                 tr.c.data() + st,
                 act,
                 tc,
                 s.dh.data() + mine,
                 dc,
                 dc,  // (8)'s dct in place of dc'
                 l > 0 ? s.dh.data() + mine - (size_t)rows * H : nullptr,
                 t > 0 ? dhp : nullptr,
                 t > 0 ? dcp : nullptr,
                 s.part.data()};
  cell_backward_rows(p, w.WT[l], rows, w.in(l), H);
  for (size_t k = 0; k < (size_t)K1 * G; k++) acc[k] += s.part[k];
}

// The whole window's backward for rows [n0, n0 + rows): steps U-1 .. 0, at each the read-out,
// then layers L-1 .. 0. acc (w.acc_size doubles, zero) gets the block's share of dL/dphi.
void backward_block(const NetWeights& w, const NetTrace& tr, int n0, int rows, double* acc) {
  thread_local BlockGrads s;
  size_t part = 0;
  for (int l = 0; l < w.L; l++) part = std::max(part, (size_t)(w.in(l) + w.H + 1) * 4 * w.H);
  s.start(w.L, rows, w.H, part);
  for (int t = tr.U - 1; t >= 0; t--) {
    readout_backward(w, tr, t, n0, rows, s, acc + w.out_at);
    for (int l = w.L - 1; l >= 0; l--) layer_backward(w, tr, l, t, n0, rows, s, acc + w.acc_at[l]);
    std::swap(s.dh, s.dh_prev);
    std::swap(s.dc, s.dc_prev);
  }
}

// phi.grad += the blocks' sums, added in block order in double.
void add_to_phi(CoordNet& net, const NetWeights& w, const double* acc, int blocks) {
  std::vector<double> sum(w.acc_size, 0.0);
  for (int b = 0; b < blocks; b++)
    for (size_t k = 0; k < w.acc_size; k++) sum[k] += acc[(size_t)b * w.acc_size + k];
  LSTM& lstm = net.lstm();
  for (int l = 0; l < w.L; l++) {
    const size_t KG = lstm.W[l].grad.size(), G = lstm.b[l].grad.size();
    for (size_t k = 0; k < KG; k++) lstm.W[l].grad[k] += (real)sum[w.acc_at[l] + k];
    for (size_t j = 0; j < G; j++) lstm.b[l].grad[j] += (real)sum[w.acc_at[l] + KG + j];
  }
  for (int j = 0; j < w.H; j++) net.readout().W.grad[j] += (real)sum[w.out_at + j];
  net.readout().b.grad[0] += (real)sum[w.out_at + w.H];
}

void backward_net(CoordNet& net, const NetWeights& w, const NetTrace& tr) {
  const RowBlocks blocks(tr.n, lstm_block_rows());
  thread_local std::vector<double> acc;  // (blocks, acc_size)
  acc.assign((size_t)blocks.count * w.acc_size, 0.0);
  double* acc0 = acc.data();  // (the workers must not name the thread_local: theirs is another)
  parallel_for(blocks.count, [&](int b) {
    backward_block(w, tr, blocks.first(b), blocks.size(b), acc0 + (size_t)b * w.acc_size);
  });
  add_to_phi(net, w, acc0, blocks.count);
}

// Net k's slice of the flat gradient, preprocessed (1): its input x_t (n, I).
Tensor net_input(LearnedOptimizer& opt, int k, const GroupRange& r, const Tensor& grad, InputMoments& mom) {
  Tensor gk({(int)r.size});
  std::copy_n(grad.data() + r.offset, r.size, gk.data());
  return preprocess_gradient(gk, opt.net(k).config(), &mom);
}

void check_state(LearnedOptimizer& opt, const OptimizerState& st, size_t N, const char* who) {
  const size_t covered = st.groups.empty() ? 0 : st.groups.back().offset + st.groups.back().size;
  if (!fused_window_supported(opt))
    throw std::logic_error(std::string("[") + who + "] needs LSTM nets of fused cells without averaging cells");
  if ((int)st.groups.size() != opt.num_nets() || (int)st.nets.size() != opt.num_nets() || covered != N)
    throw std::invalid_argument(std::string("[") + who + "] the state covers " + std::to_string(covered) +
                                " coordinates in " + std::to_string(st.groups.size()) + " groups; theta has " +
                                std::to_string(N) + " and the optimizer " + std::to_string(opt.num_nets()) + " nets");
}

}  // namespace

void set_window_store_gates(bool store) { g_store_gates = store; }

// ---- the window -------------------------------------------------------------------------

double unroll_window_fused(LearnedOptimizer& opt, Trajectory& tr, int U, bool include_start) {
  if (U < 1) throw std::invalid_argument("[unroll_window_fused] U must be >= 1, got " + std::to_string(U));
  check_state(opt, tr.state, tr.theta.size(), "unroll_window_fused");
  const int K = opt.num_nets();
  std::vector<NetWeights> w;
  for (int k = 0; k < K; k++) w.emplace_back(opt.net(k));
  thread_local std::vector<NetTrace> traces;
  traces.resize(K);
  tr.state.moments.resize(K);
  for (int k = 0; k < K; k++) traces[k].start(w[k], (int)tr.state.groups[k].size, U, tr.state.nets[k]);
  real L = 0;
  for (int t = 0; t <= U; t++) {
    LossAndGrad o = tr.problem->loss_and_grad(tr.theta, tr.batch_rng);
    if (t > 0 || include_start) L += o.f;
    for (int k = 0; k < K; k++) {
      const GroupRange& r = tr.state.groups[k];
      if (t > 0) std::copy_n(o.grad.data() + r.offset, r.size, traces[k].g.data() + (size_t)(t - 1) * r.size);
      if (t < U) forward_net(w[k], traces[k], t, net_input(opt, k, r, o.grad, tr.state.moments[k]), tr.theta.data() + r.offset);
    }
  }
  for (int k = 0; k < K; k++) {
    backward_net(opt.net(k), w[k], traces[k]);
    traces[k].finish(tr.state.nets[k]);
  }
  return L;
}

// ---- the evaluation step ------------------------------------------------------------------

// Every layer and the read-out for rows [n0, n0 + rows) of one net, the state s advanced in
// place through the calling thread's scratch; u[n] = the update of row n.
static void update_block(const NetWeights& w, const real* x, LSTMState& s, int n0, int rows, real* u) {
  const int H = w.H;
  Gates& g = Gates::mine(rows, H);
  const real* in = x + (size_t)n0 * w.I;
  for (int l = 0; l < w.L; l++) {
    real *h = s.h[l].data() + (size_t)n0 * H, *c = s.c[l].data() + (size_t)n0 * H;
    cell_forward_rows({in, h, c, g.act.data(), g.h2.data(), g.c2.data(), g.tc.data()}, w.Wb2[l].data(), rows, w.in(l), H);
    std::copy(g.h2.begin(), g.h2.end(), h);
    std::copy(g.c2.begin(), g.c2.end(), c);
    in = h;
  }
  for (int n = 0; n < rows; n++) u[n0 + n] = readout(w, in + (size_t)n * H);
}

Tensor fused_update(LearnedOptimizer& opt, OptimizerState& st, const Tensor& grad) {
  check_state(opt, st, grad.size(), "fused_update");
  Tensor u({(int)grad.size()});
  st.moments.resize(opt.num_nets());
  for (int k = 0; k < opt.num_nets(); k++) {
    const NetWeights w(opt.net(k));
    const GroupRange& r = st.groups[k];
    const Tensor x = net_input(opt, k, r, grad, st.moments[k]);
    const RowBlocks blocks((int)r.size, lstm_block_rows());
    parallel_for(blocks.count, [&](int b) {
      update_block(w, x.data(), st.nets[k], blocks.first(b), blocks.size(b), u.data() + r.offset);
    });
  }
  return u;
}

}  // namespace l2l
