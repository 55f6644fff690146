#!/usr/bin/env bash
# test_flags.sh: the command line of the programs, tried through the real ones (build/l2l, float
# build) as a user would. Checks: true/false flags given bare (--resume alone means true) or with
# a value; "did you mean" for a mistyped flag, task or command; a flag given twice, a comma list
# with an empty item, a baseline named twice in --lr, a negative --seed and an --art-style that
# is a path are refused, naming the flag. Prints PASS/FAIL per check and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
L2L=build/l2l
source tests/scripts/lib.sh  # tmp, check, summary
# refuses PATTERN COMMAND...: COMMAND exits non-zero and its output matches PATTERN (grep -E).
refuses() {
  local out rc
  out=$("${@:2}" 2>&1)
  rc=$?
  [ $rc -ne 0 ] && grep -qE -- "$1" <<<"$out"
}
# says PATTERN COMMAND...: COMMAND's output matches PATTERN, whatever its exit code.
says() { "${@:2}" 2>&1 | grep -qE -- "$1"; }
quiet() { "$@" >/dev/null 2>&1; }
quick=(train --task quadratic --quad-batch 4 --steps 10 --unroll 5 --problems-per-epoch 2 --val-problems 1 --threads 1)
evalq=(eval --task quadratic --quad-batch 4 --steps 2 --problems 1 --optimizers sgd --lr sgd=0.1 --threads 1)

# 1. true/false flags.
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/run" >/dev/null 2>&1
check "train (1 epoch) for the resume checks" test -f "$tmp/run/train_state.ckpt"
check "--resume alone before another flag means true" quiet "$L2L" "${quick[@]}" --epochs 2 --resume --out "$tmp/run"
check "--resume alone as the last argument means true" quiet "$L2L" "${quick[@]}" --epochs 3 --out "$tmp/run" --resume
check "--resume true still works" quiet "$L2L" "${quick[@]}" --epochs 4 --out "$tmp/run" --resume true
check "--resume=false still means false (a fresh train is refused)" \
  refuses "holds a trained run" "$L2L" "${quick[@]}" --epochs 1 --out "$tmp/run" --resume=false
check "--resume false still means false" refuses "holds a trained run" "$L2L" "${quick[@]}" --epochs 1 --out "$tmp/run" --resume false
check "--overwrite alone means true" quiet "$L2L" "${quick[@]}" --epochs 1 --overwrite --out "$tmp/run"
check "--resume maybe is refused, naming the flag" refuses "--resume expects true or false" "$L2L" "${quick[@]}" --resume maybe --out "$tmp/x"
check "a value flag at the end still needs its value" refuses "--out needs a value" "$L2L" "${quick[@]}" --out
check "--help says how true/false flags are given" says "--name alone means true" "$L2L" train --help

# 2. did you mean.
check "--tsk: did you mean --task" refuses "unknown flag --tsk.*did you mean --task\?" "$L2L" "${evalq[@]}" --tsk quadratic --out "$tmp/e"
check "--tsk=quadratic: did you mean --task" refuses "did you mean --task\?" "$L2L" "${evalq[@]}" --tsk=quadratic --out "$tmp/e"
check "--task quadratc: did you mean quadratic" refuses "unknown --task 'quadratc'.*did you mean quadratic\?" \
  "$L2L" eval --task quadratc --steps 2 --problems 1 --optimizers sgd --lr sgd=0.1 --out "$tmp/e"
check "l2l trian: did you mean train" refuses "unknown command 'trian'.*did you mean train\?" "$L2L" trian
check "a far-off flag gets no suggestion" bash -c "! '$L2L' eval --zzzzzzzz 1 2>&1 | grep -q 'did you mean'"
check "  ... and is still refused" refuses "unknown flag --zzzzzzzz" "$L2L" eval --zzzzzzzz 1

# 2b. what the screen shows: the configuration only with --verbose, no MPI words in a serial run.
"$L2L" "${quick[@]}" --epochs 1 --out "$tmp/v1" >"$tmp/v1.out" 2>"$tmp/v1.err"
check "train without --verbose prints no setting lines" bash -c "! grep -q '^task = quadratic' '$tmp/v1.out'"
check "  ... but says where they are" grep -q "every setting is saved in $tmp/v1/config.txt" "$tmp/v1.out"
check "  ... and saves them there" grep -q '^task = quadratic' "$tmp/v1/config.txt"
check "a refused train does not claim to have saved its settings" \
  bash -c "! '$L2L' ${quick[*]} --epochs 1 --stop-after -1 --out '$tmp/v0' 2>/dev/null | grep -q 'every setting is saved'"
check "  ... nor a refused eval" \
  bash -c "! '$L2L' eval --task quadratic --steps 2 --problems 1 --optimizers lstm --phi '$tmp/none.ckpt' --out '$tmp/v0e' 2>/dev/null | grep -q 'every setting is saved'"
check "train --verbose prints them" bash -c "'$L2L' ${quick[*]} --epochs 1 --verbose --out '$tmp/v2' 2>/dev/null | grep -q '^task = quadratic'"
check "eval without --verbose prints no setting lines" bash -c "! '$L2L' ${evalq[*]} --out '$tmp/v3' 2>/dev/null | grep -q '^task = quadratic'"
check "  ... and saves them in config.txt" grep -q '^task = quadratic' "$tmp/v3/config.txt"
check "a serial train says nothing of ranks, MPI or collectives" bash -c "! grep -qiE 'rank|mpi|collective' '$tmp/v1.out' '$tmp/v1.err'"
check "  ... and still reports its speed" grep -qE '^speed: [0-9]+ meta-updates in [0-9.]+ s: [0-9.]+ meta-updates/s$' "$tmp/v1.err"
check "--verbose is not a setting a resume must repeat" quiet "$L2L" "${quick[@]}" --epochs 2 --verbose --resume --out "$tmp/v1"
# (grep reads the whole help: with -q it would stop early and l2l would die of SIGPIPE)
train_help_says() { "$L2L" train --help | grep -E -- "$1" >/dev/null; }
check "train --help explains the progress line's meta-loss" train_help_says "progress line 'meta-loss' +the last meta-update's loss"
check "  ... the epoch line's train meta-loss" train_help_says "epoch line 'train meta-loss' +the mean of those"
check "  ... and the validation score" train_help_says "'validation mean f' +phi's score"

# 3. strict parsing: each flag once; no empty item in a comma list; each --lr baseline once; seeds >= 0;
# --art-style a name.
check "a flag given twice is refused, naming it" refuses "--steps is given twice" "$L2L" "${evalq[@]}" --steps 3 --out "$tmp/e"
check "  ... also as --name=value" refuses "--steps is given twice" "$L2L" "${evalq[@]}" --steps=3 --out "$tmp/e"
check "--curriculum , is refused" refuses "--curriculum.*empty item" "$L2L" "${quick[@]}" --curriculum , --out "$tmp/c1"
check "--curriculum 10,,20 is refused" refuses "--curriculum.*empty item" "$L2L" "${quick[@]}" --curriculum 10,,20 --out "$tmp/c2"
check "--curriculum 10,20, is refused" refuses "--curriculum.*empty item" "$L2L" "${quick[@]}" --curriculum 10,20, --out "$tmp/c3"
check "--curriculum '' is still an empty list (off)" quiet "$L2L" "${quick[@]}" --epochs 1 --curriculum "" --out "$tmp/c4"
check "--mnist-hidden 20,,20 is refused (before the data is looked for)" refuses "--mnist-hidden.*empty item" \
  "$L2L" eval --task mnist --data "$tmp/no-data" --mnist-hidden 20,,20 --steps 1 --problems 1 --optimizers sgd --lr sgd=0.1 --out "$tmp/m" --threads 1
check "--optimizers sgd,,adam is refused" refuses "--optimizers.*empty item" \
  "$L2L" eval --task quadratic --quad-batch 4 --steps 1 --problems 1 --optimizers sgd,,adam --lr sgd=0.1,adam=0.1 --out "$tmp/o"
check "--lr sgd=1,sgd=2 is refused" refuses "--lr names 'sgd' twice" \
  "$L2L" eval --task quadratic --quad-batch 4 --steps 1 --problems 1 --optimizers sgd --lr sgd=1,sgd=2 --out "$tmp/l"
# The learned optimizers of eval, each named by its checkpoint flag: one listed without its
# checkpoint, or a checkpoint whose optimizer is not listed, is refused before any work.
evalz=(eval --task quadratic --quad-batch 4 --steps 2 --problems 1 --lr sgd=0.1 --threads 1 --out "$tmp/z")
check "lstm-scale without --phi-scale is refused" refuses "includes lstm-scale but no --phi-scale" \
  "$L2L" "${evalz[@]}" --optimizers sgd,lstm-scale
check "--phi-sub-scale without lstm-sub-scale in --optimizers is refused" refuses "--phi-sub-scale is given but --optimizers does not include lstm-sub-scale" \
  "$L2L" "${evalq[@]}" --phi-sub-scale x.ckpt --out "$tmp/z"
check "--optimizers lists the learned ones it knows" refuses "expected sgd, nag, rmsprop, adam, lstm, lstm-sub, lstm-scale, lstm-sub-scale, lbfgs" \
  "$L2L" "${evalz[@]}" --optimizers lstm-big
check "--seed -1 is refused" refuses "--seed must be in 0\.\." "$L2L" "${quick[@]}" --seed -1 --out "$tmp/s"
check "--seed 0 is accepted" quiet "$L2L" "${quick[@]}" --epochs 1 --seed 0 --out "$tmp/s0"
# --art-style is a file name in DATA/art/style/: a path is refused before anything is loaded.
mkdir -p "$tmp/data/art/style" "$tmp/data/art/content"
touch "$tmp/data/art/style/alpha_style.jpg" "$tmp/data/art/style/beta_style.png" "$tmp/data/art/content/photo.png"
art=(eval --task art --data "$tmp/data" --art-size 4 --steps 1 --problems 1 --optimizers sgd --lr sgd=0.1 --out "$tmp/a" --threads 1)
for style in ../content/photo ./alpha_style .hidden sub/alpha_style /etc/passwd; do
  check "--art-style $style is refused, listing the styles" refuses "--art-style.*alpha_style beta_style" "$L2L" "${art[@]}" --art-style "$style"
done
check "an unknown --art-style lists the styles too" refuses "--art-style.*alpha_style beta_style" "$L2L" "${art[@]}" --art-style gamma
check "--art-start noise is refused, naming content and grey" refuses "--art-start expects content or grey" "$L2L" "${art[@]}" --art-start noise
check "--art-init-noise -0.5 is refused" refuses "--art-init-noise expects a std in 0\.\.10" "$L2L" "${art[@]}" --art-init-noise -0.5
check "--art-init-noise nan is refused" refuses "--art-init-noise" "$L2L" "${art[@]}" --art-init-noise nan

summary
