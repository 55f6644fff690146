#!/usr/bin/env bash
# test_mpi.sh: data-parallel meta-training under Open MPI, through the real program (build/l2l
# linked with MPI: `make test-mpi` builds it and runs this). Checks: K problems per meta-update
# in one process (no mpirun) == the same K over 2 and over 4 ranks, byte for byte in the training
# state after 3 meta-updates; a run resumed with another rank count == one that kept its rank
# count; a meta-batch that is not a multiple of the rank count is refused; a rank that fails
# (its data missing; a non-finite meta-loss) ends every rank with the message, no hang; only
# `train` runs on several ranks; a build without MPI refuses mpirun. Prints PASS/FAIL per check
# and "test_mpi.sh: N passed, N failed".
#
# Open MPI in containers, as CI runs it: as root mpirun refuses unless both OMPI_ALLOW_RUN_AS_ROOT
# variables are set; more ranks than cores need --oversubscribe; the shared-memory transport's
# single-copy mechanism (CMA) is often not permitted in a container, so it is turned off.
set -uo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
L2L=$PWD/build/l2l
L2L_SERIAL=$PWD/build/l2l-serial
MPIRUN=(timeout 300 mpirun --oversubscribe)
source tests/scripts/lib.sh  # tmp, check, summary
same() { cmp -s "$1" "$2"; }
# The checkpoints hold every flag, --out included: each run trains into "run" in its own folder.
in_dir() { mkdir -p "$tmp/$1" && (cd "$tmp/$1" && "${@:2}") >"$tmp/$1.log" 2>&1; }
# 3 meta-updates: 15 steps / unroll 5, one group of K problems per epoch.
quick=(train --task quadratic --quad-batch 4 --steps 15 --unroll 5 --val-problems 3 --threads 1 --out run)

if ! command -v mpirun >/dev/null || ! ldd "$L2L" | grep libmpi >/dev/null; then  # not grep -q: under pipefail, ldd killed by SIGPIPE would fail the test
  echo "test_mpi.sh: build/l2l is not linked with MPI (run make test-mpi)"
  echo "test_mpi.sh: 0 passed, 1 failed"
  exit 1
fi

in_dir k4-serial "$L2L" "${quick[@]}" --epochs 1 --problems-per-epoch 4 --meta-batch 4
in_dir k4-np2 "${MPIRUN[@]}" -np 2 "$L2L" "${quick[@]}" --epochs 1 --problems-per-epoch 4 --meta-batch 4
in_dir k4-np4 "${MPIRUN[@]}" -np 4 "$L2L" "${quick[@]}" --epochs 1 --problems-per-epoch 4 --meta-batch 4
check "K=4: one process trains" test -s "$tmp/k4-serial/run/train_state.ckpt"
check "K=4: 1 process == 2 ranks, train_state.ckpt byte for byte" same "$tmp/k4-serial/run/train_state.ckpt" "$tmp/k4-np2/run/train_state.ckpt"
check "K=4: 1 process == 4 ranks (oversubscribed), byte for byte" same "$tmp/k4-serial/run/train_state.ckpt" "$tmp/k4-np4/run/train_state.ckpt"
check "  ... and phi.ckpt too" same "$tmp/k4-serial/run/phi.ckpt" "$tmp/k4-np4/run/phi.ckpt"
in_dir k2 "$L2L" "${quick[@]}" --epochs 1 --problems-per-epoch 4 --meta-batch 2
check "  ... K=2 and K=4 give different phi" bash -c "! cmp -s '$tmp/k2/run/train_state.ckpt' '$tmp/k4-serial/run/train_state.ckpt'"
check "only rank 0 prints: one config block under 4 ranks" test "$(grep -c '^# l2l train' "$tmp/k4-np4.log")" -eq 1
check "  ... and it says how the work is split" grep -q "^# MPI: 4 ranks, 1 problem(s) each per meta-update" "$tmp/k4-np4.log"

# Resume across R: 1 epoch on 2 ranks then 1 more on 1 process == 1 epoch on 1 process then 1
# more on 4 ranks == the same two steps on 1 process throughout.
train2=("${quick[@]}" --problems-per-epoch 4 --meta-batch 4)
in_dir r-a "${MPIRUN[@]}" -np 2 "$L2L" "${train2[@]}" --epochs 1
in_dir r-a "$L2L" "${train2[@]}" --epochs 2 --resume true
in_dir r-b "$L2L" "${train2[@]}" --epochs 1
in_dir r-b "${MPIRUN[@]}" -np 4 "$L2L" "${train2[@]}" --epochs 2 --resume true
in_dir r-c "$L2L" "${train2[@]}" --epochs 1
in_dir r-c "$L2L" "${train2[@]}" --epochs 2 --resume true
in_dir r-whole "$L2L" "${train2[@]}" --epochs 2
check "resume: 2 ranks, then 1 process == 1 process throughout" same "$tmp/r-a/run/train_state.ckpt" "$tmp/r-c/run/train_state.ckpt"
check "resume: 1 process, then 4 ranks == 1 process throughout" same "$tmp/r-b/run/train_state.ckpt" "$tmp/r-c/run/train_state.ckpt"
check "  ... and the resumed log == 2 epochs in one go" same "$tmp/r-b/run/train_log.csv" "$tmp/r-whole/run/train_log.csv"
check "  ... which has two epochs" test "$(wc -l <"$tmp/r-whole/run/train_log.csv")" -eq 4

in_dir bad-k "${MPIRUN[@]}" -np 2 "$L2L" "${quick[@]}" --epochs 1 --problems-per-epoch 3 --meta-batch 3
check "--meta-batch 3 on 2 ranks is refused, naming the rank count" grep -q -- "--meta-batch (3) must be a multiple of the number of MPI ranks (2)" "$tmp/bad-k.log"
check "  ... before anything is written" test ! -e "$tmp/bad-k/run/config.txt"

# A rank whose data is missing (its machine lacks the files): every rank stops, rank 0 reports it.
mn=(train --task mnist --steps 10 --unroll 5 --problems-per-epoch 2 --meta-batch 2 --val-problems 1 --threads 1 --epochs 1 --out "$tmp/mn")
timeout 120 mpirun --oversubscribe -np 1 "$L2L" "${mn[@]}" : -np 1 "$L2L" "${mn[@]}" --data "$tmp/no-such-data" >"$tmp/fail.log" 2>&1
rc=$?
check "a failing rank ends the run (no hang: not killed by timeout)" test $rc -ne 0 -a $rc -ne 124
check "  ... with that rank's message" grep -qz "error: rank 1: data folder \"mnist\" not found.*no-such-data" "$tmp/fail.log"
check "  ... printed once" test "$(grep -c 'error: rank 1:' "$tmp/fail.log")" -eq 1
check "  ... and no checkpoint" test ! -e "$tmp/mn/phi.ckpt"

in_dir nan "${MPIRUN[@]}" -np 2 "$L2L" "${quick[@]}" --epochs 3 --problems-per-epoch 2 --meta-batch 2 --meta-lr 1e30
rc=$?
check "a non-finite meta-loss on 2 ranks stops both (no hang)" test $rc -ne 0 -a $rc -ne 124
check "  ... with the divergence message" grep -q "meta-training diverged at epoch 0, problem" "$tmp/nan.log"

in_dir eval-np2 "${MPIRUN[@]}" -np 2 "$L2L" eval --task quadratic --out ev
check "only train runs on several ranks" grep -q "only \`l2l train\` runs on several MPI ranks" "$tmp/eval-np2.log"

if [ -x "$L2L_SERIAL" ]; then
  in_dir serial-np2 "${MPIRUN[@]}" -np 2 "$L2L_SERIAL" "${quick[@]}" --epochs 1 --problems-per-epoch 2 --meta-batch 2
  check "a build without MPI refuses mpirun, saying how to rebuild" grep -q "built without MPI.*make MPI=1" "$tmp/serial-np2.log"
  check "  ... and trains nothing" test ! -e "$tmp/serial-np2/run/phi.ckpt"
else
  check "build/l2l-serial exists (make test-mpi builds it)" false
fi

summary
