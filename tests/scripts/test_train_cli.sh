#!/usr/bin/env bash
# test_train_cli.sh: a run directory belongs to one run, tried through the real program as a user
# would (build/l2l, float build). Checks: a fresh train into a trained run's folder is refused and
# leaves its checkpoint byte-identical; --overwrite true moves the old run aside; a second writer
# is refused while the first runs, and the first still finishes with a loadable checkpoint; a
# killed writer leaves no lock behind; eval's summary columns. Prints PASS/FAIL per check and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
L2L=build/l2l
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {  # check NAME COMMAND...
  if "${@:2}"; then echo "PASS  $1"; pass=$((pass + 1)); else echo "FAIL  $1"; fail=$((fail + 1)); fi
}
quiet() { "$@" >/dev/null 2>&1; }
# base: a tiny quadratic run; quick: with 2 problems per epoch (a flag may be given only once, so
# the long runs below take base and their own --problems-per-epoch).
base=(train --task quadratic --quad-batch 4 --steps 10 --unroll 5 --val-problems 1 --threads 1)
quick=("${base[@]}" --problems-per-epoch 2)

"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/run" >"$tmp/first.log" 2>&1
sum_before=$(cksum <"$tmp/run/phi.ckpt")
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/run" >"$tmp/again.log" 2>&1
rc=$?
check "a fresh train into a trained run's folder is refused" test $rc -ne 0
check "the refusal names the run and both ways on" grep -q "holds a trained run.*" "$tmp/again.log"
check "  ... --resume true and --overwrite true" grep -q -- "--resume true.*--overwrite true" "$tmp/again.log"
check "the old checkpoint is byte-identical" test "$(cksum <"$tmp/run/phi.ckpt")" = "$sum_before"

"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/run" --overwrite true >"$tmp/over.log" 2>&1
check "--overwrite true trains" test $? -eq 0
check "  ... and keeps the old run in previous-*/" bash -c "ls '$tmp'/run/previous-*/phi.ckpt >/dev/null"

# A slow first writer (many problems) and a second one started while it runs.
"$L2L" "${base[@]}" --epochs 2 --problems-per-epoch 1500 --out "$tmp/busy" >"$tmp/busy1.log" 2>&1 &
first=$!
for _ in $(seq 50); do [ -f "$tmp/busy/.lock" ] && break; sleep 0.1; done
sleep 0.3
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/busy" >"$tmp/busy2.log" 2>&1
rc=$?
check "a second writer is refused while the first runs" test $rc -ne 0
check "  ... with 'in use by pid <first>'" grep -q "in use by pid $first" "$tmp/busy2.log"
wait $first
check "the first writer finishes" test $? -eq 0
check "  ... and its checkpoint loads" quiet "$L2L" eval --task quadratic --quad-batch 4 --optimizers lstm \
  --phi "$tmp/busy/phi.ckpt" --problems 1 --steps 5 --out "$tmp/busy-eval" --threads 1

# A writer killed with SIGKILL leaves no lock: the next run goes on.
"$L2L" "${base[@]}" --epochs 50 --problems-per-epoch 200 --out "$tmp/killed" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 50); do [ -f "$tmp/killed/.lock" ] && break; sleep 0.1; done
kill -9 $victim
wait $victim 2>/dev/null
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/killed" --overwrite true >"$tmp/after-kill.log" 2>&1
check "a killed writer's lock does not block the next run" test $? -eq 0

# eval's summary names each step once, only steps that exist (--steps 1: just "f at step 1"),
# and counts diverged and ended-above-start runs.
"$L2L" eval --task quadratic --quad-batch 4 --optimizers lstm,sgd --phi "$tmp/run/phi.ckpt" --steps 1 --problems 2 \
  --tune-problems 1 --grid -2:-1:1 --out "$tmp/steps1" --threads 1 >/dev/null 2>&1
header=$(head -1 "$tmp/steps1/summary.md" 2>/dev/null)
check "eval --steps 1: the summary has one step column, step 1" test "$(grep -o 'f at step [0-9]*' <<<"$header" | tr '\n' ';')" = "f at step 1;"
check "  ... and the diverged / ended-above-start columns" grep -q "diverged | ended above start" <<<"$header"
check "eval takes no --seed (it would mean nothing there)" bash -c "! '$L2L' eval --seed 3 --out '$tmp/x' >/dev/null 2>&1"

echo "test_train_cli.sh: $pass passed, $fail failed"
[ $fail -eq 0 ]
