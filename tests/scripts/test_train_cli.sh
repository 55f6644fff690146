#!/usr/bin/env bash
# test_train_cli.sh: a run directory belongs to one run, tried through the real program as a user
# would (build/l2l, float build). Checks: a fresh train into a trained run's folder is refused and
# leaves its checkpoint byte-identical; --overwrite true moves the old run aside; a second writer
# is refused while the first runs, and the first still finishes with a loadable checkpoint; a
# killed writer leaves no lock behind; a .lock that is a symbolic link is refused by train and
# eval and its target left alone; art_images refuses a phi of another task (build/art_images);
# train removes the temp files killed writes left; a resume past ulimit -f says which file did
# not fit; eval's summary columns; Ctrl-C (SIGINT) during train exits 130 saying what was saved
# and the command that resumes, which works; the demos write only into their --out folder.
# Prints PASS/FAIL per check and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
L2L=build/l2l
source tests/scripts/lib.sh  # tmp, check, summary
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

# art_images, like eval, refuses a phi meta-trained on another task (before any image is made).
build/art_images --task art --phi "$tmp/run/phi.ckpt" --steps 1 --problems 1 --out "$tmp/art" --threads 1 >"$tmp/art.log" 2>&1
check "art_images refuses a phi trained on --task quadratic" test $? -ne 0
check "  ... saying so" grep -q "phi.ckpt was meta-trained on --task quadratic, not art" "$tmp/art.log"
check "  ... and writes no image" test ! -e "$tmp/art/triple_0.png"

# Temp files a killed write left behind (NAME.tmp.XXXXXX of the run's own files) are removed when
# a train starts, fresh or --resume; a link of that name and other files stay.
mkdir -p "$tmp/stale"
for f in phi.ckpt train_state.ckpt train_log.csv config.txt; do printf 'partial' >"$tmp/stale/$f.tmp.Ab12Cd"; done
printf 'mine' >"$tmp/stale/notes.txt.tmp.Ab12Cd"
ln -s "$tmp/victim.txt" "$tmp/stale/phi.ckpt.tmp.L1nk00"
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/stale" >"$tmp/stale.log" 2>&1
check "a fresh train removes the stale temp files of its files" \
  bash -c "cd '$tmp/stale' && ! ls phi.ckpt.tmp.Ab12Cd train_state.ckpt.tmp.Ab12Cd train_log.csv.tmp.Ab12Cd config.txt.tmp.Ab12Cd 2>/dev/null | grep -q ."
check "  ... and says so" grep -q "removed $tmp/stale/phi.ckpt.tmp.Ab12Cd" "$tmp/stale.log"
check "  ... and leaves other files and links alone" test -f "$tmp/stale/notes.txt.tmp.Ab12Cd" -a -L "$tmp/stale/phi.ckpt.tmp.L1nk00"
printf 'partial' >"$tmp/stale/phi.ckpt.tmp.Xy98Zw"
"$L2L" "${quick[@]}" --epochs 2 --out "$tmp/stale" --resume true >"$tmp/stale2.log" 2>&1
check "--resume removes them too" test $? -eq 0 -a ! -e "$tmp/stale/phi.ckpt.tmp.Xy98Zw"

# A file-size limit (ulimit -f) below the checkpoints' size: the resume stops with a message that
# names the file (EFBIG), where SIGXFSZ used to kill it silently, and the last epoch's files stay
# as they were. Its output goes through a pipe, which the limit does not cut.
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/fsize" >/dev/null 2>&1
sum_before=$(cksum <"$tmp/fsize/train_state.ckpt")
(ulimit -f 1 && exec "$L2L" "${quick[@]}" --epochs 2 --out "$tmp/fsize" --resume true) 2>&1 | cat >"$tmp/fsize.log"
rc=${PIPESTATUS[0]}
check "a resume past ulimit -f exits with an error, not killed by SIGXFSZ (rc $rc)" test "$rc" -eq 1
check "  ... naming the file and the cause" grep -q "cannot save checkpoint $tmp/fsize/phi.ckpt: .*File too large" "$tmp/fsize.log"
check "  ... and the last epoch's state is byte-identical" test "$(cksum <"$tmp/fsize/train_state.ckpt")" = "$sum_before"

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

# A .lock that is a symbolic link is refused by train and eval, naming it, and its target keeps
# its bytes (the pid is never written through the link).
printf 'DATA\n' >"$tmp/victim.txt"
mkdir -p "$tmp/linked"
ln -s "$tmp/victim.txt" "$tmp/linked/.lock"
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/linked" >"$tmp/linked.log" 2>&1
check "train refuses a .lock that is a symbolic link" test $? -ne 0
check "  ... naming it and saying to remove it" grep -q "$tmp/linked/.lock is a symbolic link.*remove it" "$tmp/linked.log"
check "  ... and its target keeps its bytes" test "$(cat "$tmp/victim.txt")" = DATA
"$L2L" eval --task quadratic --quad-batch 4 --optimizers sgd --steps 1 --problems 1 --tune-problems 1 --grid -2:-1:1 \
  --out "$tmp/linked" --threads 1 >"$tmp/linked-eval.log" 2>&1
check "eval refuses it too" test $? -ne 0
check "  ... naming it" grep -q "$tmp/linked/.lock is a symbolic link" "$tmp/linked-eval.log"
check "  ... and its target keeps its bytes" test "$(cat "$tmp/victim.txt")" = DATA

# eval's summary names each step once, only steps that exist (--steps 1: just "f at step 1"),
# and counts diverged and ended-above-start runs.
"$L2L" eval --task quadratic --quad-batch 4 --optimizers lstm,sgd --phi "$tmp/run/phi.ckpt" --steps 1 --problems 2 \
  --tune-problems 1 --grid -2:-1:1 --out "$tmp/steps1" --threads 1 >/dev/null 2>&1
header=$(head -1 "$tmp/steps1/summary.md" 2>/dev/null)
check "eval --steps 1: the summary has one step column, step 1" test "$(grep -o 'f at step [0-9]*' <<<"$header" | tr '\n' ';')" = "f at step 1;"
check "  ... and the diverged / ended-above-start columns" grep -q "diverged | ended above start" <<<"$header"
check "eval takes no --seed (it would mean nothing there)" bash -c "! '$L2L' eval --seed 3 --out '$tmp/x' >/dev/null 2>&1"

# Ctrl-C during train: exit 130, what was saved, the exact command that resumes (and it does).
# (A background job of a script starts with SIGINT ignored; l2l installs its own handler while
# training, after the untrained phi's validation line.)
interrupt_when() {  # interrupt_when PATTERN LOG PID: SIGINT to PID once LOG matches PATTERN; returns PID's status
  for _ in $(seq 1200); do grep -q "$1" "$2" 2>/dev/null && break; sleep 0.1; done
  kill -INT "$3"
  wait "$3"
}
"$L2L" "${base[@]}" --epochs 2 --problems-per-epoch 8000 --out "$tmp/int" >"$tmp/int.log" 2>&1 &
interrupt_when "^epoch 0:" "$tmp/int.log" $!
check "Ctrl-C after an epoch: exit status 130" test $? -eq 130
check "  ... says which checkpoint is intact" grep -q "stopped by Ctrl-C. The checkpoint of epoch [0-9] in '$tmp/int' is intact" "$tmp/int.log"
resume=$(grep -A1 "^Continue it with:" "$tmp/int.log" | tail -1)
check "  ... prints the command that resumes" test "$resume" = "  $L2L ${base[*]} --epochs 2 --problems-per-epoch 8000 --out $tmp/int --resume"
check "  ... the checkpoint loads" quiet "$L2L" eval --task quadratic --quad-batch 4 --optimizers lstm --phi "$tmp/int/phi.ckpt" \
  --problems 1 --steps 5 --out "$tmp/int-eval" --threads 1
check "  ... and the printed command resumes the run to its end" bash -c "$resume >'$tmp/resumed.log' 2>&1 && grep -q 'resuming from' '$tmp/resumed.log' && grep -q '^epoch 1:' '$tmp/resumed.log'"
"$L2L" "${base[@]}" --epochs 2 --problems-per-epoch 8000 --out "$tmp/int0" >"$tmp/int0.log" 2>&1 &
interrupt_when "^epoch -1" "$tmp/int0.log" $!
check "Ctrl-C before the first epoch is saved: exit status 130" test $? -eq 130
check "  ... says there is nothing to resume" grep -q "nothing to resume: run the same command again" "$tmp/int0.log"
check "  ... and prints no --resume command" bash -c "! grep -q 'Continue it with' '$tmp/int0.log'"

# The demos write only into their --out folder (by default runs/<name> of the working directory).
mkdir -p "$tmp/cwd"
root=$PWD
(cd "$tmp/cwd" && "$root/build/nn_demo" --steps 5 --out "$tmp/nnd" >/dev/null 2>&1 &&
  "$root/build/autodiff_demo" --out "$tmp/add" >/dev/null 2>&1)
check "nn_demo and autodiff_demo with --out write nothing into the working directory" test -z "$(ls -A "$tmp/cwd")"
check "  ... nn_demo.ckpt is in nn_demo's --out" test -f "$tmp/nnd/nn_demo.ckpt"
check "  ... autodiff_demo.dot is in autodiff_demo's --out" test -f "$tmp/add/autodiff_demo.dot"
(cd "$tmp/cwd" && "$root/build/nn_demo" --steps 5 >/dev/null 2>&1)
check "nn_demo's default --out is runs/nn_demo" test "$(cd "$tmp/cwd" && find . -type f)" = "./runs/nn_demo/nn_demo.ckpt"

summary
