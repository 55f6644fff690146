#!/usr/bin/env bash
# test_zoo_reproduce.sh: the committed optimizers trained at scale come from the committed code.
# For every zoo/<name>/ with a first-epoch/ state (scripts/train-zoo.sh keeps it), retrain that
# first epoch from the folder's command.txt (--epochs 1; with a curriculum --stop-after 1) and compare its
# train_state.ckpt bit for bit (build/same_state: phi, the meta-optimizer's Adam state, the best
# phi, the histories and the flags both know) and its train_log.csv byte for byte. Resuming is
# exact (tests/test_meta.cpp), so an identical first epoch and the committed chunks tie the final
# phi.ckpt to this code. Slow: one epoch costs from
# seconds (quadratics) to minutes (CIFAR); `make test-zoo` (also part of `make test-slow`).
#   ZOO="mnist-scale" tests/scripts/test_zoo_reproduce.sh   only those folders
#   ZOO_JOBS=1 tests/scripts/test_zoo_reproduce.sh          one retraining at a time (default 2,
#                                                            one per core)
# Is not: a check of the whole training (hours); of the optimizers' quality (make experiments).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
source tests/scripts/lib.sh
[ -x build/l2l ] && [ -x build/same_state ] || { echo "test_zoo_reproduce.sh: build/l2l or build/same_state is missing: run make test-zoo" >&2; exit 2; }

# The checkpoint records every flag, --out too, so the epoch is retrained into zoo/<name> inside
# a temp folder (the same relative path), with the data the repository would use.
repo=$PWD
ZOO_JOBS=${ZOO_JOBS:-2}
if [ -z "${L2L_DATA:-}" ]; then
  for d in data ../shared/data; do [ -d "$d" ] && { L2L_DATA=$(cd "$d" && pwd); break; }; done
  export L2L_DATA
fi

# first_epoch_command COMMAND_TXT: the command with --epochs 1, build/l2l from this repository;
# with a --curriculum (whose stages are shares of --epochs), --epochs kept and --stop-after 1
# instead, as scripts/train-zoo.sh trains it.
first_epoch_command() {
  local -a words
  read -ra words <"$1"
  local i out=() curriculum=0
  [[ " ${words[*]} " == *" --curriculum "* ]] && curriculum=1
  for ((i = 0; i < ${#words[@]}; i++)); do
    case "${words[i]}" in
      build/l2l) out+=("$repo/build/l2l") ;;
      --epochs) if [ "$curriculum" = 1 ]; then out+=(--epochs "${words[i + 1]}" --stop-after 1); else out+=(--epochs 1); fi
        i=$((i + 1)) ;;
      *) out+=("${words[i]}") ;;
    esac
  done
  printf '%s\n' "${out[@]}"
}

names=${ZOO:-$(for d in zoo/*/first-epoch; do [ -d "$d" ] && basename "$(dirname "$d")"; done)}
[ -n "$names" ] || { echo "test_zoo_reproduce.sh: no zoo/<name>/first-epoch/ to check (make train-zoo makes them)" >&2; exit 2; }
case "$ZOO_JOBS" in 1|2) ;; *) echo "test_zoo_reproduce.sh: ZOO_JOBS must be 1 or 2, got '$ZOO_JOBS'" >&2; exit 2 ;; esac

# retrain NAME: the first epoch of zoo/NAME into $tmp/NAME, in the background; writes
# $tmp/NAME.log (its output) and, when it ends, $tmp/NAME.end ("EXIT SECONDS"). Returns 1 when the
# folder cannot be retrained (the failed check is counted here).
retrain() {
  local name=$1 dir=zoo/$1 cmd
  [ -f "$dir/command.txt" ] && [ -f "$dir/first-epoch/train_state.ckpt" ] ||
    { check "$name: command.txt and first-epoch/train_state.ckpt are committed" false; return 1; }
  mapfile -t cmd < <(first_epoch_command "$dir/command.txt")
  [ "${cmd[0]}" = "$repo/build/l2l" ] && [ "${cmd[1]}" = train ] && grep -q -- "--out $dir\$" "$dir/command.txt" ||
    { check "$name: command.txt runs build/l2l train into $dir" false; return 1; }
  echo "retraining the first epoch of $name: ${cmd[*]}"
  mkdir -p "$tmp/$name"
  ( t0=$(date +%s)
    (cd "$tmp/$name" && "${cmd[@]}") >"$tmp/$name.log" 2>&1
    echo "$? $(($(date +%s) - t0))" >"$tmp/$name.end" ) &
}

# The retrainings run ZOO_JOBS at a time (each is one process on one thread, as committed); the
# comparisons follow, in the folders' order.
started=()
for name in $names; do
  while [ "$(jobs -rp | wc -l)" -ge "$ZOO_JOBS" ]; do wait -n || true; done
  retrain "$name" && started+=("$name")
done
wait
for name in "${started[@]}"; do
  dir=zoo/$name
  rc=1 seconds=0
  [ -f "$tmp/$name.end" ] && read -r rc seconds <"$tmp/$name.end"
  [ "$rc" = 0 ] || { tail -n 5 "$tmp/$name.log"; check "$name: the first epoch trains" false; continue; }
  # The same training, bit for bit: every tensor and the shared metadata (the checkpoint also
  # records every flag of l2l, so a flag added since adds a key; build/same_state lists those).
  check "$name: the first epoch's train_state.ckpt holds the committed training, bit for bit ($seconds s)" \
    build/same_state "$tmp/$name/$dir/train_state.ckpt" "$dir/first-epoch/train_state.ckpt"
  check "$name: ... and so is its train_log.csv" cmp "$tmp/$name/$dir/train_log.csv" "$dir/first-epoch/train_log.csv"
done
summary
