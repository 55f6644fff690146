#!/usr/bin/env bash
# test_train_zoo.sh: scripts/train-zoo.sh in a temp zoo folder, on the quadratics' optimizer
# (an epoch takes seconds) with small budgets: the first chunk keeps first-epoch/, a time limit
# stops a chunk with its saved epochs, the next call resumes it, each chunk is a row of
# chunks.csv, the README says how far it got; bad settings are refused before anything runs.
# Part of `make test` (~30 s).
# Is not: the bits of a resumed run against an uninterrupted one (tests/test_meta.cpp) or the
# committed zoo (test_zoo_reproduce.sh).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
source tests/scripts/lib.sh
[ -x build/l2l ] || { echo "test_train_zoo.sh: build/l2l is missing: run make first" >&2; exit 2; }
has() { grep -qF -- "$2" <<<"$1"; }
zoo() { out=$(env ZOO_DIR="$tmp/zoo" ZOO=quadratic-scale "$@" scripts/train-zoo.sh 2>&1); rc=$?; }
dir=$tmp/zoo/quadratic-scale
row() { sed -n "$(($1 + 1))p" "$dir/chunks.csv" | cut -d, -f"$2"; }  # row N's field F

out=$(scripts/train-zoo.sh --help)
check "--help shows the usage and lists the zoo" eval 'has "$out" "make train-zoo" && has "$out" "mnist-scale"'
zoo ZOO=nonesuch
check "an unknown optimizer is refused, listing the zoo's" eval '[ $rc = 2 ] && has "$out" "unknown optimizer '"'"'nonesuch'"'"'" && has "$out" "mnist-scale"'
zoo ZOO_MINUTES=soon
check "ZOO_MINUTES must be whole minutes" eval '[ $rc = 2 ] && has "$out" "ZOO_MINUTES must be whole minutes"'
zoo ZOO_LANES=3
check "ZOO_LANES must be 1 or 2" eval '[ $rc = 2 ] && has "$out" "ZOO_LANES must be 1 or 2"'
check "  ... and nothing was written" eval '[ ! -e "$tmp/zoo" ]'

zoo ZOO_BUDGET=2 ZOO_MINUTES=0
check "a first call trains to the budget (exit 0, says so)" eval '[ $rc = 0 ] && has "$out" "every optimizer reached its budget"'
check "  ... keeps the first epoch's state in first-epoch/" eval '[ -f "$dir/first-epoch/train_state.ckpt" ] && [ -f "$dir/first-epoch/train_log.csv" ]'
check "  ... records the first epoch as a chunk (epochs 0 -> 1, exit 0), then the rest (1 -> 2)" \
  eval '[ "$(row 1 3),$(row 1 4),$(row 1 5) $(row 2 3),$(row 2 4),$(row 2 5)" = "0,1,0 1,2,0" ]'
check "  ... writes command.txt (the one-go command) and a README that says it is complete" \
  eval 'grep -q -- "--epochs 2 --out zoo/quadratic-scale$" "$dir/command.txt" && grep -q "2 epochs = 500 meta-updates, complete" "$dir/README.md"'
zoo ZOO_BUDGET=1000 ZOO_SECONDS=6
check "a larger budget continues it; the time limit stops the chunk (exit 0, says how to go on)" \
  eval '[ $rc = 0 ] && has "$out" "run the same command again to continue"'
check "  ... the chunk starts at the saved epoch, is cut by timeout (124) and keeps what it saved" \
  eval '[ "$(row 3 3),$(row 3 5)" = 2,124 ] && [ "$(row 3 4)" -ge 2 ] && grep -q "not finished" "$dir/README.md"'
after=$(row 3 4)
zoo ZOO_BUDGET=1000 ZOO_SECONDS=6
check "the next call resumes where the last stopped (--resume; its chunk starts at the saved epoch)" \
  eval '[ $rc = 0 ] && [ "$(row 4 3)" = "$after" ] && [ "$(grep -c -- "^# .* --resume$" "$dir/train.log")" = 3 ]'
zoo ZOO_BUDGET=soon
check "ZOO_BUDGET must be a number of epochs" eval '[ $rc = 2 ] && has "$out" "ZOO_BUDGET must be a positive number"'

# build/same_state, which test_zoo_reproduce.sh trusts: a state is the same as its copy, and not
# the same as the state of later epochs (exit 1, naming the tensors).
if [ -x build/same_state ]; then
  check "same_state: a training state is the same as itself" build/same_state "$dir/first-epoch/train_state.ckpt" "$dir/first-epoch/train_state.ckpt"
  out=$(build/same_state "$dir/first-epoch/train_state.ckpt" "$dir/train_state.ckpt"); rc=$?
  check "same_state: ... and not as a later epoch's (exit 1, the tensors named)" eval '[ $rc = 1 ] && has "$out" "tensor phi." && has "$out" "DIFFERENT"'
fi
# A curriculum's stages are shares of --epochs: its first epoch is trained with the whole budget
# and --stop-after 1. A copy of the scripts with one more row in the zoo's table (a quadratic
# curriculum of 2 epochs) shows it: first-epoch/ is what the reproduction test's command makes,
# and the chunks end where one uninterrupted run ends.
mkdir -p "$tmp/copy/scripts" "$tmp/copy/build"
cp scripts/train-zoo.sh scripts/zoo_lib.sh "$tmp/copy/scripts/"
ln -s "$PWD/build/l2l" "$tmp/copy/build/l2l"
cur="--task quadratic --curriculum 20,40 --steps 40 --problems-per-epoch 4 --val-problems 2"
sed -i "s/^ZOO_TABLE=(\$/&\n  \"quad-curriculum|2|test|$cur\"/" "$tmp/copy/scripts/zoo_lib.sh"
out=$(cd "$tmp/copy" && ZOO=quad-curriculum ZOO_MINUTES=0 scripts/train-zoo.sh 2>&1); rc=$?
cdir=$tmp/copy/zoo/quad-curriculum
check "a curriculum's first epoch: --epochs 2 --stop-after 1, then the rest (exit 0)" \
  eval '[ $rc = 0 ] && grep -q -- "--epochs 2 --stop-after 1 --out" "$cdir/train.log" && [ -f "$cdir/first-epoch/train_state.ckpt" ]'
(cd "$tmp/copy" && build/l2l train --threads 1 $cur --epochs 2 --stop-after 1 --out again >/dev/null 2>&1 &&
  build/l2l train --threads 1 $cur --epochs 2 --out whole >/dev/null 2>&1)
if [ -x build/same_state ]; then
  check "  ... its first-epoch/ state is the reproduction test's first epoch, bit for bit" \
    build/same_state "$tmp/copy/again/train_state.ckpt" "$cdir/first-epoch/train_state.ckpt"
  check "  ... and its last state is one uninterrupted run's, bit for bit" \
    build/same_state "$tmp/copy/whole/train_state.ckpt" "$cdir/train_state.ckpt"
fi

rm -rf "$dir/first-epoch"
zoo ZOO_BUDGET=1000 ZOO_SECONDS=6
check "trained epochs without first-epoch/ are refused (the reproduction test needs it)" \
  eval '[ $rc = 1 ] && has "$out" "has trained epochs but no first-epoch/"'
summary
