#!/usr/bin/env bash
# train-zoo.sh: meta-train the zoo's learned optimizers at budgets of the authors' order (hours
# each on 2 cores), in chunks that stop cleanly and resume, so one training can span many days.
#
#   make train-zoo                               every optimizer of the zoo, for at most ZOO_MINUTES
#   ZOO="mnist-scale quadratic-scale" make train-zoo   only those (the names: --help, at the end)
#   ZOO_MINUTES=0 make train-zoo                 no time limit (default 50 minutes per call)
#   ZOO_THREADS=2 ZOO_LANES=1 make train-zoo     one training at a time on two threads (default:
#                                                two lanes side by side, one thread each)
#   MPIRUN="mpirun -np 2" make train-zoo         data-parallel; an optimizer's --meta-batch must be
#                                                a multiple of the ranks; the bits do not change
#   ZOO_DIR=elsewhere make train-zoo             train into another folder (default zoo/)
#   ZOO_BUDGET=E, ZOO_SECONDS=S                  a budget of E epochs and a limit of S seconds
#                                                instead of the zoo's (tests, quick trials)
#
# Each call continues where the last stopped: a training that reached its budget is skipped; one
# cut by the time limit (or Ctrl-C) resumes from its last saved epoch (l2l train --resume), with
# the same bits as an uninterrupted run. Commit zoo/ between calls: its files are small.
#
# Each optimizer is a folder zoo/<name>/: the run directory of l2l train (phi.ckpt, the best
# validated epoch; train_state.ckpt; train_log.csv; config.txt), and
#   command.txt          the exact command (its --epochs is the budget)
#   chunks.csv           one row per chunk: when, seconds, epochs before/after, commit, CPU, threads
#   first-epoch/         train_state.ckpt and train_log.csv after the first epoch: the slow test
#                        tests/scripts/test_zoo_reproduce.sh retrains that epoch from command.txt
#                        and compares the bytes
#   train.log            the output of every chunk
#   README.md            written from the above: budget, progress, wall time, machines, sha256
#
# This script trains; it does not evaluate. make experiments evaluates the committed optimizers
# beside the ones it trains within the hour (ZOO_ONLY=1 make experiments: the committed ones only).
set -euo pipefail
case "${1:-}" in
  -h|--help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
    source "$(dirname "$0")/zoo_lib.sh"
    echo "The zoo (scripts/zoo_lib.sh): name, budget in epochs, what for:"
    for n in $ZOO_NAMES; do printf '  %-20s %4s  %s\n' "$n" "$(zoo_budget "$n")" "$(zoo_what "$n")"; done
    exit 0 ;;
  ?*) echo "train-zoo.sh: no arguments (settings are environment variables); see scripts/train-zoo.sh --help" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
ZOO_MINUTES=${ZOO_MINUTES:-50}
ZOO_LANES=${ZOO_LANES:-2}
ZOO_THREADS=${ZOO_THREADS:-1}
source scripts/zoo_lib.sh

case "$ZOO_MINUTES" in ''|*[!0-9]*) echo "train-zoo.sh: ZOO_MINUTES must be whole minutes (0: no limit), got '$ZOO_MINUTES'" >&2; exit 2 ;; esac
case "$ZOO_LANES" in 1|2) ;; *) echo "train-zoo.sh: ZOO_LANES must be 1 or 2, got '$ZOO_LANES'" >&2; exit 2 ;; esac
case "${ZOO_BUDGET:-1}" in ''|*[!0-9]*|0) echo "train-zoo.sh: ZOO_BUDGET must be a positive number of epochs, got '$ZOO_BUDGET'" >&2; exit 2 ;; esac
ZOO=${ZOO:-$ZOO_NAMES}
for n in $ZOO; do
  zoo_entry "$n" >/dev/null || { echo "train-zoo.sh: unknown optimizer '$n' in ZOO; the zoo's: $ZOO_NAMES" >&2; exit 2; }
done
# The time limit in seconds (ZOO_SECONDS overrides the minutes); a chunk is not started with less than a minute left (or half the limit, when that is shorter).
limit=${ZOO_SECONDS:-$((ZOO_MINUTES * 60))}
case "$limit" in ''|*[!0-9]*) echo "train-zoo.sh: ZOO_SECONDS must be whole seconds, got '$limit'" >&2; exit 2 ;; esac
deadline=0 min_chunk=$((limit / 2 < 60 ? limit / 2 : 60))
[ "$limit" -gt 0 ] && deadline=$(($(date +%s) + limit))
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# run_chunk NAME EPOCHS [STOP_AFTER]: one call of l2l train up to EPOCHS epochs (or STOP_AFTER
# epochs of this call, or the deadline); appends a row to chunks.csv. Returns 0 when it got
# there, 3 when the time ran out, 1 on failure.
run_chunk() {
  local name=$1 target=$2 dir=$ZOO_DIR/$1 left=0 before after t0 rc=0 resume=() stop=()
  [ -n "${3:-}" ] && stop=(--stop-after "$3")
  before=$(zoo_epochs_done "$dir")
  [ -f "$dir/train_state.ckpt" ] && resume=(--resume)
  if [ "$deadline" -gt 0 ]; then
    left=$((deadline - $(date +%s)))
    [ "$left" -ge "$min_chunk" ] || return 3
  fi
  local cmd=(build/l2l train --threads "$ZOO_THREADS" $(zoo_flags "$name") --epochs "$target" "${stop[@]}" --out "$dir" "${resume[@]}")
  log "$name: epochs $before -> $target$([ "$left" -gt 0 ] && echo " (at most $((left / 60)) min)")"
  t0=$(date +%s)
  printf '\n# %s  %s\n' "$(date -u +%FT%TZ)" "${MPIRUN:+$MPIRUN }${cmd[*]}" >>"$dir/train.log"
  # timeout sends SIGINT: l2l train stops after the current meta-update and keeps its last epoch.
  # --foreground keeps l2l in this terminal's process group, so Ctrl-C reaches it too.
  if [ "$left" -gt 0 ]; then
    timeout --foreground -s INT -k 600 "$left" ${MPIRUN:-} "${cmd[@]}" >>"$dir/train.log" 2>&1 || rc=$?
  else
    ${MPIRUN:-} "${cmd[@]}" >>"$dir/train.log" 2>&1 || rc=$?
  fi
  after=$(zoo_epochs_done "$dir")
  zoo_record_chunk "$dir" "$t0" "$before" "$after" "$rc"
  case "$rc" in
    0) return 0 ;;
    124|130) log "$name: stopped at epoch $after of $target (time limit or Ctrl-C); the next call resumes it"; return 3 ;;
    *) echo "train-zoo.sh: l2l train failed for $name (exit $rc); its output is in $dir/train.log:" >&2
       tail -n 5 "$dir/train.log" | sed 's/^/  /' >&2; return 1 ;;
  esac
}

# train_one NAME: the first epoch alone (kept as first-epoch/), then the rest of the budget.
train_one() {
  local name=$1 dir=$ZOO_DIR/$1 epochs
  epochs=$(zoo_budget "$name")
  mkdir -p "$dir"
  zoo_command "$name" >"$dir/command.txt.tmp" && mv "$dir/command.txt.tmp" "$dir/command.txt"
  if [ ! -f "$dir/first-epoch/train_state.ckpt" ]; then
    if [ "$(zoo_epochs_done "$dir")" -gt 0 ]; then
      echo "train-zoo.sh: $dir has trained epochs but no first-epoch/ state; move it away to train it afresh" >&2; return 1
    fi
    # On one thread, as command.txt says (the state records it). A curriculum's stages are shares
    # of --epochs, so its first epoch keeps the whole budget and stops after one epoch instead.
    if zoo_flags "$name" | grep -q -- --curriculum; then
      ZOO_THREADS=1 run_chunk "$name" "$epochs" 1 || return
    else
      ZOO_THREADS=1 run_chunk "$name" 1 || return
    fi
    mkdir -p "$dir/first-epoch"
    cp "$dir/train_state.ckpt" "$dir/train_log.csv" "$dir/first-epoch/"
  fi
  if [ "$(zoo_epochs_done "$dir")" -lt "$epochs" ]; then run_chunk "$name" "$epochs" || return; fi
  log "$name: done ($epochs epochs)"
}

# lane NAMES...: train one after another; stop at the first failure or at the deadline.
lane() {
  local n rc
  for n in "$@"; do
    rc=0; train_one "$n" || rc=$?
    zoo_write_readme "$n"
    [ "$rc" = 0 ] || return "$rc"
  done
}

# main: the lanes side by side, each training its optimizers one after another. (The whole run
# is this one function, called on the script's last line: bash has read all of it before it
# starts, so an edit of this file during a run of hours cannot break the run.)
main() {
  [ -x build/l2l ] || { echo "train-zoo.sh: build/l2l is missing: run make first" >&2; exit 2; }
  read -ra names <<<"$ZOO"
  lanes=(); for i in "${!names[@]}"; do lanes[i % ZOO_LANES]+="${names[i]} "; done
  local until=", no time limit"
  [ "$deadline" -gt 0 ] && until=", until $(date -u -d "@$deadline" +%H:%M:%S) UTC"
  log "training ${names[*]} in $ZOO_DIR/ ($ZOO_LANES lane(s), $ZOO_THREADS thread(s) each$until)"
  pids=()
  for l in "${lanes[@]}"; do
    # shellcheck disable=SC2086
    lane $l & pids+=($!)
  done
  # Ctrl-C reaches every l2l train directly (each stops after its meta-update): wait for them.
  trap 'log "Ctrl-C: each training stops after its current meta-update"' INT
  status=0
  for p in "${pids[@]}"; do
    while :; do
      rc=0; wait "$p" || rc=$?
      kill -0 "$p" 2>/dev/null || break
    done
    case "$rc" in 0) ;; 3) [ "$status" = 0 ] && status=3 ;; *) status=1 ;; esac
  done
  case "$status" in
    0) log "every optimizer reached its budget; commit $ZOO_DIR/" ;;
    3) log "time is up; commit $ZOO_DIR/ and run the same command again to continue"; status=0 ;;
  esac
  exit "$status"
}
main "$@"; exit
