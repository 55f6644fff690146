#!/usr/bin/python3
"""bench_ref.py: a PyTorch peer of build/bench's MNIST rows (`make bench-ref`).

Optional and outside every test, CI job and experiment. It re-implements, in PyTorch (float32),
exactly what these rows of apps/bench.cpp time, and prints its ms and GFLOP/s at 1 and 2 torch
threads; given build/bench's output of the same run (--l2l FILE) it prints the l2l/PyTorch table.

  sgemm 1024^3             the yardstick: one 1024^3 float product (torch.mm)
  mnist optimizee part     21 loss + gradient evaluations of the MNIST MLP at batch 128
  mnist meta-iteration     one window of U = 20 optimizee steps with the learned optimizer,
                           meta-backward, and the Adam step on phi
  mnist eval               100 optimizee steps with the learned optimizer (no meta-gradient)

What is the same as l2l (tasks/optimizees/mnist.cpp, tasks/learned_optimizer.cpp, tasks/meta_train.cpp, nn/lstm.h):
  optimizee   theta (15910) = [W1 (784,20), b1 (20), W2 (20,10), b2 (10)], theta_0 ~ N(0, 0.01^2);
              f = mean_b CE(sigmoid(x W1 + b1) W2 + b2), a fresh batch of 128 drawn with
              replacement for every evaluation; (f, grad) come from a scratch graph (detached).
  optimizer   coordinatewise: the 15910 coordinates are the batch axis of a 2-layer LSTM, 20 units,
              input the Appendix A preprocessing (log|g|/p, sign g) if |g| >= e^-p else (-1, e^p g),
              p = 10; per layer z = [x, h] W + b (one GEMM, gate order i f g o), c' = f c + i g,
              h' = o tanh c'; update = 0.1 (h_top W_out + b_out). Init: W truncated normal
              (|v| <= 2 std, std 1/sqrt(I+H)), b = 0 except the forget block = 1, W_out ~ U(+-1/sqrt 20).
  window      theta_{t+1} = theta_t + update_t for t < 20; meta-loss sum_{t=0..20} f_t; the gradients
              enter as constants (second-order-free), so f_t's backward is dtheta_t += grad_t (l2l's
              frozen_loss): torch.autograd.backward(theta_t, grad_t). Every window starts from theta_0
              and zero LSTM state, as bench's rows do. Then Adam (lr 1e-3, 0.9, 0.999, eps 1e-8) on phi.
  eval        as run_optimizer: 100 x (loss_and_grad, LSTM step without a graph), a final loss.
Threads: column t is torch.set_num_threads(t) (OpenMP: torch's elementwise ops and its own kernels);
Debian's torch does its products in OpenBLAS (libblas.so.3 -> openblas-pthread), whose threads
torch does not set: as in build/bench, OpenBLAS runs at t threads in the sgemm row and at 1 in the
MNIST rows (--blas-threads same: at t there too; OpenBLAS's pthreads and torch's OpenMP threads
then contend, slower on this machine when we tried it). The cell is written out (one addmm per
layer step, as l2l's): torch.lstm_cell (two products, two biases) was slower here (one layer's
forward at N = 15910: 14.9 vs 12.6 ms, 1 thread).
FLOPs: the formulas of apps/bench.cpp (lstm_flops = 2 N (I+H) 4H per layer step, backward 2x;
MLP products 2 B (784 20 + 20 10) forward, backward 2x); bench counts none for eval, this
script counts its LSTM forwards and MLP evaluations with the same formulas, for both columns.

Is not: a check of l2l's numbers (the random streams differ: l2l's Rng is not torch's), nor a
tuned PyTorch program (it is the straightforward one: torch ops, autograd, torch.optim.Adam).
Run with Debian's /usr/bin/python3 (python3-torch), from the repository root.
"""
import argparse
import ctypes
import gzip
import math
import os
import statistics
import struct
import sys
import time

U, B, N_IN, N_HID, N_OUT, H, P, OUT_SCALE = 20, 128, 784, 20, 10, 20, 10.0, 0.1
DIM = N_IN * N_HID + N_HID + N_HID * N_OUT + N_OUT  # 15910 coordinates


# ---- FLOP counts (apps/bench.cpp's formulas) ------------------------------------------------

def lstm_flops(n, i, h):  # the gate GEMM of one layer step: 2 N (I+H) 4H
    return 2.0 * n * (i + h) * 4.0 * h


LSTM_STEP = lstm_flops(DIM, 2, H) + lstm_flops(DIM, H, H)       # forward of the 2x20 stack
MLP_FWD = 2.0 * B * (N_IN * N_HID + N_HID * N_OUT)              # forward products of the MLP
FLOPS = {
    "sgemm": 2.0 * 1024 ** 3,
    "mnist optimizee part": 21 * 3 * MLP_FWD,                   # kMnistWindowFlops
    "mnist meta-iteration": 3.0 * U * LSTM_STEP + 21 * 3 * MLP_FWD,  # lstm_window_flops + kMnistWindowFlops
    "mnist eval": 100 * LSTM_STEP + 100 * 3 * MLP_FWD + MLP_FWD,  # not counted by bench (its "-")
}
# build/bench's row names, matched by prefix.
L2L_ROWS = {"sgemm": "sgemm 1024^3", "mnist optimizee part": "mnist optimizee part",
            "mnist meta-iteration": "mnist meta-iteration", "mnist eval": "mnist eval"}


# ---- data ----------------------------------------------------------------------------------

def read_idx_images(path):
    """(n, 784) float32 in [0, 1] from an IDX images .gz file (magic 2051, 28x28)."""
    with gzip.open(path, "rb") as f:
        head = f.read(16)
        if len(head) < 16:
            sys.exit(f"bench_ref.py: {path}: shorter than an IDX header (16 bytes); expected MNIST's train-images-idx3-ubyte.gz")
        magic, n, rows, cols = struct.unpack(">iiii", head)
        if magic != 2051 or rows != 28 or cols != 28:
            sys.exit(f"bench_ref.py: {path}: expected IDX images (magic 2051, 28x28), got magic {magic}, {rows}x{cols}")
        raw = f.read(n * 784)
    if len(raw) != n * 784:
        sys.exit(f"bench_ref.py: {path}: header says {n} images but holds {len(raw)} pixel bytes (a truncated file?)")
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(n, 784).float().div_(255.0)


def read_idx_labels(path, n):
    with gzip.open(path, "rb") as f:
        magic, m = struct.unpack(">ii", f.read(8))
        raw = f.read(m)
    if magic != 2049 or m != n or len(raw) != n:
        sys.exit(f"bench_ref.py: {path}: expected IDX labels (magic 2049) for {n} images, got magic {magic}, {m} labels")
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).long()


def data_candidates(flag):
    """Where to look, as build/bench does (tasks/data/data.cpp find_data_dir): --data, else $L2L_DATA,
    else ./data and ../shared/data; each may be the data root (holding mnist/) or MNIST's folder."""
    env = os.environ.get("L2L_DATA", "")
    roots = [flag] if flag else [env] if env else ["./data", "../shared/data"]
    return [d for r in roots for d in (os.path.join(r, "mnist"), r)]


def load_data(args):
    """MNIST's training split, or random tensors of its shape (--random-data)."""
    if args.random_data:
        g = torch.Generator().manual_seed(0)
        return torch.rand(60000, 784, generator=g), torch.randint(0, 10, (60000,), generator=g), "random tensors of MNIST's shape"
    tried = data_candidates(args.data)
    for d in tried:
        img = os.path.join(d, "train-images-idx3-ubyte.gz")
        if os.path.isfile(img):
            x = read_idx_images(img)
            return x, read_idx_labels(os.path.join(d, "train-labels-idx1-ubyte.gz"), x.shape[0]), "MNIST train from " + d
    sys.exit(f"bench_ref.py: no train-images-idx3-ubyte.gz in {', '.join(tried)} (working dir {os.getcwd()}). "
             "Fix: pass --data DIR (MNIST's folder or the data root), set L2L_DATA, or use --random-data")


# ---- the optimizee: the 784-20-10 sigmoid MLP on a flat theta ------------------------------

class Mnist:
    def __init__(self, images, labels, seed):
        self.images, self.labels = images, labels
        self.gen = torch.Generator().manual_seed(seed)

    def init(self):  # dm_init: theta ~ N(0, 0.01^2)
        return torch.randn(DIM, generator=self.gen) * 0.01

    def loss(self, theta):
        """Mean cross-entropy on a fresh batch of 128 drawn with replacement."""
        idx = torch.randint(0, self.images.shape[0], (B,), generator=self.gen)
        x, y = self.images.index_select(0, idx), self.labels.index_select(0, idx)
        a, b = N_IN * N_HID, N_IN * N_HID + N_HID
        c = b + N_HID * N_OUT
        w1, b1 = theta[:a].view(N_IN, N_HID), theta[a:b]
        w2, b2 = theta[b:c].view(N_HID, N_OUT), theta[c:]
        return F.cross_entropy(torch.addmm(b2, torch.sigmoid(torch.addmm(b1, x, w1)), w2), y)

    def loss_and_grad(self, theta):
        """(f, grad f) on the optimizee's own graph: both leave it as constants."""
        with torch.enable_grad():
            th = theta.detach().requires_grad_()
            f = self.loss(th)
            (g,) = torch.autograd.grad(f, th)
        return f.detach(), g


# ---- the learned optimizer: coordinatewise 2x20 LSTM ---------------------------------------

def truncated_normal(shape, std, gen):
    v = torch.randn(shape, generator=gen)
    while True:  # redraw |v| > 2, as nn/init.h
        bad = v.abs() > 2
        if not bad.any():
            return v * std
        v[bad] = torch.randn(int(bad.sum()), generator=gen)


class CoordLSTM:
    def __init__(self, seed):
        gen = torch.Generator().manual_seed(seed)
        self.W, self.b = [], []
        for i in (2, H):
            self.W.append(truncated_normal((i + H, 4 * H), 1 / math.sqrt(i + H), gen))
            b = torch.zeros(4 * H)
            b[H:2 * H] = 1.0  # forget gate
            self.b.append(b)
        a = 1 / math.sqrt(H)
        self.out_w = torch.rand(H, 1, generator=gen) * (2 * a) - a
        self.out_b = torch.zeros(1)
        self.params = self.W + self.b + [self.out_w, self.out_b]
        for p in self.params:
            p.requires_grad_()

    @staticmethod
    def zero_state(n):
        return [[torch.zeros(n, H) for _ in range(2)] for _ in range(2)]  # [layer][h, c]

    @staticmethod
    def preprocess(g):
        """Appendix A: (log|g|/p, sign g) if |g| >= e^-p, else (-1, e^p g). (n,) -> (n, 2)."""
        a = g.abs()
        big = a >= math.exp(-P)
        x0 = torch.where(big, torch.log(a) / P, torch.full_like(g, -1.0))
        x1 = torch.where(big, torch.sign(g), g * math.exp(P))
        return torch.stack([x0, x1], 1)

    def update(self, g, state):
        """The update of every coordinate (n,); state [layer][h, c] is replaced by the new one."""
        x = self.preprocess(g)
        for l in range(2):
            h, c = state[l]
            z = torch.addmm(self.b[l], torch.cat([x, h], 1), self.W[l])  # (n, 4H), gates i f g o
            i, f, gg, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
            state[l] = [h, c]
            x = h
        return (torch.addmm(self.out_b, x, self.out_w) * OUT_SCALE).view(-1)


def self_check():
    """The written-out cell against PyTorch's own torch.lstm_cell (its gate order is also i f g o)
    with the same weights, and the preprocessing at a few gradients; prints the differences."""
    gen = torch.Generator().manual_seed(7)
    net, n = CoordLSTM(seed=2), 1000
    g = torch.randn(n, generator=gen) * torch.logspace(-8, 1, n)
    state = [[torch.randn(n, H, generator=gen) for _ in range(2)] for _ in range(2)]
    ref, x = [list(s) for s in state], net.preprocess(g)
    with torch.no_grad():
        u = net.update(g, state)
        for l in range(2):
            I = x.shape[1]
            W = net.W[l]
            h, c = torch.lstm_cell(x, tuple(ref[l]), W[:I].t(), W[I:].t(), net.b[l], torch.zeros(4 * H))
            x = h
            print(f"layer {l}: max |h - torch.lstm_cell h| {float((state[l][0] - h).abs().max()):.2e}, "
                  f"c {float((state[l][1] - c).abs().max()):.2e}")
        u_ref = (x @ net.out_w + net.out_b).view(-1) * OUT_SCALE
        print(f"update: max |u - u_ref| {float((u - u_ref).abs().max()):.2e}")
    for v in (0.5, -3e-3, 1e-5, -2e-7, 0.0):
        print(f"preprocess({v:g}) = {net.preprocess(torch.tensor([v])).tolist()[0]}")


# ---- the timed calls -----------------------------------------------------------------------

class Rows:
    def __init__(self, images, labels):
        self.prob = Mnist(images, labels, seed=3)
        self.theta0 = self.prob.init()
        self.net = CoordLSTM(seed=1)
        self.adam = torch.optim.Adam(self.net.params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        self.A, self.Bm = torch.full((1024, 1024), 0.5), torch.full((1024, 1024), 0.25)
        self.last_meta_loss = self.last_eval_loss = float("nan")

    def sgemm(self):
        torch.mm(self.A, self.Bm)

    def optimizee_part(self):
        for _ in range(U + 1):
            self.prob.loss_and_grad(self.theta0)

    def meta_iteration(self):
        for p in self.net.params:
            p.grad = None
        theta, state = self.theta0, self.net.zero_state(DIM)
        L, thetas, grads = 0.0, [], []
        for t in range(U + 1):
            f, g = self.prob.loss_and_grad(theta)
            L += f
            if t > 0:  # theta_0 is a constant: f_0 adds to L only
                thetas.append(theta)
                grads.append(g)
            if t < U:
                theta = theta + self.net.update(g, state)
        torch.autograd.backward(thetas, grads)  # frozen_loss: dtheta_t += grad_t
        self.adam.step()
        self.last_meta_loss = float(L)

    def eval(self, steps=100):
        with torch.no_grad():
            theta, state = self.prob.init(), self.net.zero_state(DIM)
            for _ in range(steps):
                _, g = self.prob.loss_and_grad(theta)
                theta = theta + self.net.update(g, state)
            self.last_eval_loss = float(self.prob.loss(theta))


def median_ms(fn, reps):
    fn()  # warm-up
    t = []
    for _ in range(reps):
        a = time.perf_counter()
        fn()
        t.append((time.perf_counter() - a) * 1e3)
    return statistics.median(t)


def openblas():
    """Debian's torch does its products in OpenBLAS (libblas.so.3), whose thread count
    torch.set_num_threads does not set: set_threads sets both, or torch's alone if not found."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_set_num_threads
        return lib
    except (OSError, AttributeError):
        return None


def set_threads(th, blas, blas_th):
    torch.set_num_threads(th)
    if blas:
        blas.openblas_set_num_threads(blas_th)


def time_torch(rows, threads, reps, blas, blas_same):
    """{row: {threads: median ms}}. As in build/bench, sgemm runs OpenBLAS at t threads and the
    MNIST rows keep it at 1 (torch's own ops at t), unless blas_same: OpenBLAS at t there too."""
    calls = [("sgemm", rows.sgemm, 5), ("mnist optimizee part", rows.optimizee_part, 9),
             ("mnist meta-iteration", rows.meta_iteration, reps), ("mnist eval", rows.eval, 3)]
    ms = {name: {} for name, _, _ in calls}
    for th in threads:
        for name, fn, r in calls:
            set_threads(th, blas, th if name == "sgemm" or blas_same else 1)
            ms[name][th] = median_ms(fn, r)
    return ms


# ---- build/bench's table, and the comparison ------------------------------------------------

def parse_l2l(path):
    """{row: {1: ms, 2: ms}} from build/bench's table (the first number of each thread column; of
    several rows with the same start, e.g. "mnist meta-iteration" and its variants, the first)."""
    ms = {}
    with open(path) as f:
        for line in f:
            cols = line.split("|")
            if len(cols) < 4:
                continue
            for key, prefix in L2L_ROWS.items():
                if cols[0].strip().startswith(prefix) and key not in ms:  # the first such row (the variants follow it)
                    try:
                        ms[key] = {1: float(cols[1].split()[0]), 2: float(cols[2].split()[0])}
                    except (IndexError, ValueError):
                        sys.exit(f"bench_ref.py: {path}: cannot read the ms of row '{cols[0].strip()}' "
                                 "(has build/bench's table format changed?)")
    missing = [k for k in L2L_ROWS if k not in ms]
    if missing:
        sys.exit(f"bench_ref.py: {path}: build/bench printed no row for {', '.join(missing)} "
                 "(run it with --only mnist and the MNIST data in reach)")
    return ms


def gflops(name, ms):
    return FLOPS[name] / (ms * 1e6)


def print_torch(ms, threads):
    print(f"{'PyTorch ' + torch.__version__ + ' row':<28} | " + " | ".join(f"{th}t ms  GFLOP/s" for th in threads))
    for name, by_th in ms.items():
        print(f"{name:<28} | " + " | ".join(f"{by_th[th]:9.3f} {gflops(name, by_th[th]):6.1f}" for th in threads))


def print_comparison(l2l, pt):
    print("\nl2l (build/bench) vs PyTorch, same run; ratio = l2l ms / PyTorch ms (< 1: l2l faster); "
          "GFLOP/s of both from the same FLOP count")
    print(f"{'row':<22} | {'l2l ms 1t':>9} {'2t':>8} | {'torch ms 1t':>11} {'2t':>8} | {'ratio 1t':>8} {'2t':>5} | "
          f"{'l2l GF/s 1t':>11} {'2t':>5} | {'torch GF/s 1t':>13} {'2t':>5}")
    for name in FLOPS:
        a, b = l2l[name], pt[name]
        print(f"{name:<22} | {a[1]:9.2f} {a[2]:8.2f} | {b[1]:11.2f} {b[2]:8.2f} | {a[1] / b[1]:8.2f} {a[2] / b[2]:5.2f} | "
              f"{gflops(name, a[1]):11.1f} {gflops(name, a[2]):5.1f} | {gflops(name, b[1]):13.1f} {gflops(name, b[2]):5.1f}")
    print("FLOPs per call: " + ", ".join(f"{k} {v / 1e9:.3f} G" for k, v in FLOPS.items()) +
          " (eval: not counted by build/bench; the same formulas, 100 LSTM forwards + 100 loss_and_grad + 1 loss)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] + " See the comment at the top of this file.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", metavar="DIR", help="MNIST's folder or the data root holding mnist/ "
                    "(default as build/bench: $L2L_DATA, else ./data or ../shared/data)")
    ap.add_argument("--random-data", action="store_true", help="random tensors of MNIST's shape instead of the files")
    ap.add_argument("--l2l", metavar="FILE", help="build/bench's output of this run: print the l2l/PyTorch table")
    ap.add_argument("--reps", type=int, default=7, help="repetitions of the meta-iteration row (median; default 7, as bench)")
    ap.add_argument("--blas-threads", choices=["1", "same"], default="1",
                    help="OpenBLAS threads inside the MNIST rows: 1 (default, as l2l) or the column's torch threads")
    ap.add_argument("--check", action="store_true",
                    help="compare the written-out LSTM cell with torch.lstm_cell, print the preprocessing, exit")
    ap.add_argument("--threads", default="1,2", help="torch thread counts to time (default 1,2)")
    args = ap.parse_args()
    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error(f"--threads: expected a comma-separated list of integers, got '{args.threads}'")
    if args.reps < 1 or not threads or min(threads) < 1:
        ap.error("--reps and every --threads value must be >= 1")
    if args.l2l and threads != [1, 2]:
        ap.error("--l2l compares with build/bench's 1 and 2 threads: leave --threads at 1,2")

    global torch, F
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        sys.exit(f"bench_ref.py: PyTorch is not installed for {sys.executable}. Install Debian's package "
                 "(as root: apt-get install -y python3-torch) and run with /usr/bin/python3, or use `make bench-ref`.")
    if args.check:
        return self_check()
    l2l = parse_l2l(args.l2l) if args.l2l else None
    torch.set_num_interop_threads(1)
    images, labels, source = load_data(args)
    rows = Rows(images, labels)
    blas = openblas()
    load0 = os.getloadavg()[0]
    ms = time_torch(rows, threads, args.reps, blas, args.blas_threads == "same")
    blas_note = ("OpenBLAS threads NOT set (libopenblas.so.0 not found)" if not blas else
                 "OpenBLAS at t threads" if args.blas_threads == "same" else "OpenBLAS at t for sgemm, 1 in the MNIST rows")
    print(f"\nPyTorch {torch.__version__}, float32, per column t: torch.set_num_threads(t), {blas_note}; "
          f"data: {source}; medians after one warm-up (meta-iteration {args.reps} reps); "
          f"load average (1 min) {load0:.2f} before, {os.getloadavg()[0]:.2f} after: on 2 cores, a load above ~1 "
          "from other jobs makes the 2-thread columns (l2l's and torch's) wait for the scheduler")
    print_torch(ms, threads)
    print(f"  sanity: last meta-iteration's meta-loss (sum of 21 f) {rows.last_meta_loss:.4f} "
          f"(21 ln 10 = {21 * math.log(10):.4f} at theta_0 ~ 0), eval's final loss {rows.last_eval_loss:.4f}")
    if l2l:
        print_comparison(l2l, ms)


if __name__ == "__main__":
    main()
