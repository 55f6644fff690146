#!/usr/bin/env bash
# bench-mpi.sh: meta-training speed under Open MPI (make bench-mpi). For each task, K = 2 problems
# per meta-update, three ways: 1 rank x 1 thread, 2 ranks x 1 thread, 1 rank x 2 threads. Prints
# meta-updates per second (median of REPEATS runs) and the share of the meta-updates' wall time
# spent in collectives (the gather of the K meta-gradients and the error agreement: on one
# machine this is mostly the wait for the slower rank, not the copying). Not a test: numbers only.
# Same phi in every configuration (test_mpi.sh checks that), so only the speed differs.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   # root in containers
export OMPI_MCA_btl_vader_single_copy_mechanism=none              # CMA is often barred in containers
export OPENBLAS_NUM_THREADS=1
REPEATS=${REPEATS:-3}
L2L=$PWD/build/l2l
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run LABEL LAUNCH... -- FLAGS...: prints "LABEL  median meta-updates/s  median collective %".
run() {
  local label=$1 rates=() shares=() i
  shift
  for i in $(seq "$REPEATS"); do
    rm -rf "$tmp/run"
    "$@" --out "$tmp/run" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
    line=$(grep '^speed:' "$tmp/log")
    rates+=("$(sed -E 's/.*: ([0-9.]+) meta-updates\/s.*/\1/' <<<"$line")")
    if [[ $line == *"%)"* ]]; then shares+=("$(sed -E 's/.*\(([0-9.]+)%\).*/\1/' <<<"$line")"); else shares+=(0); fi  # one rank: no collectives
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
  printf '%-28s %10s %12s%%\n' "$label" "$(median "${rates[@]}")" "$(median "${shares[@]}")"
}

bench_task() {  # bench_task NAME FLAGS...
  local name=$1
  shift
  echo "== $name: $*"
  printf '%-28s %10s %13s\n' "configuration" "updates/s" "collectives"
  run "1 rank  x 1 thread" "$L2L" train "$@" --threads 1
  run "2 ranks x 1 thread" mpirun --oversubscribe --bind-to none -np 2 "$L2L" train "$@" --threads 1
  run "1 rank  x 2 threads" "$L2L" train "$@" --threads 2
}

echo "# bench-mpi: $(nproc) cores, $(mpirun --version | head -1), median of $REPEATS runs, K = 2"
bench_task "MNIST (paper net, 100 steps, unroll 20)" --task mnist --steps 100 --unroll 20 --problems-per-epoch 4 \
  --meta-batch 2 --epochs 1 --val-problems 1 --out-scale 0.1
bench_task "quadratics (10 dims, 100 steps, unroll 20)" --task quadratic --steps 100 --unroll 20 --problems-per-epoch 8 \
  --meta-batch 2 --epochs 1 --val-problems 1
