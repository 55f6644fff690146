# shellcheck shell=bash
# zoo_lib.sh: the zoo's learned optimizers trained at scale (their settings and budgets), and the
# files that record how each was made. Sourced by train-zoo.sh (which trains them), experiments.sh
# (which evaluates them) and the zoo's tests; it defines data and functions only.
#
ZOO_DIR=${ZOO_DIR:-zoo}  # where they live (tests point it elsewhere)

# One row per optimizer: name | budget in epochs | what it is for | l2l train flags. The flags
# are those of the optimizer make experiments trains within the hour for the same figure, with
# more problems per epoch (validation costs less per meta-iteration) and more epochs. CIFAR's
# average the meta-gradients of 4 problems per update (--meta-batch 4): in a measured sweep at
# equal compute (800 problem-windows each, the same 10 validation problems; docs/zoo.md), its
# validation score fell after every epoch (2.13, 1.56, 1.53, 1.47), while one problem per update
# wandered (1.44, 1.48, 1.42, 1.47 at meta-lr 3e-3; 1.83, 1.43, 1.44, 1.67 at 1e-3). Budgets of
# meta-batched rows are in updates of 4 problems each: CIFAR's 5,000 updates are 20,000
# problem-windows, Neural Art's 1,920 are 7,680 (one pass over the paper's 1,800 images is 7,200).
ZOO_TABLE=(
  "quadratic-scale|120|quadratics, Figure 4 left|--task quadratic --problems-per-epoch 50 --meta-lr 0.003 --val-problems 10"
  "mnist-scale|80|MNIST, Figures 4-6|--task mnist --problems-per-epoch 50 --meta-lr 0.003 --out-scale 0.1 --val-problems 10"
  "cifar10-scale|100|CIFAR-10, Figure 7 (lstm)|--task cifar --cifar-batch 128 --steps 100 --problems-per-epoch 40 --meta-batch 4 --meta-lr 0.003 --val-problems 10"
  "cifar-sub-scale|100|CIFAR-5 of labels 5-9, Figure 7 (lstm-sub)|--task cifar --cifar-labels 5,6,7,8,9 --cifar-batch 128 --steps 100 --problems-per-epoch 40 --meta-batch 4 --meta-lr 0.003 --val-problems 10"
  "art-scale|60|Neural Art 64x64, Figures 8-9|--task art --art-size 64 --art-style vangogh_starry_night --steps 128 --unroll 32 --out-scale 0.1 --meta-lr 0.003 --meta-batch 4 --problems-per-epoch 32 --val-problems 10"
  "beyond-mnist-scale|88|MNIST, beyond the paper: curriculum, adamnorm, random scaling|--task mnist --curriculum 100,200 --steps 200 --preprocess adamnorm --random-scale 1 --problems-per-epoch 30 --meta-lr 0.003 --out-scale 0.1 --val-problems 10"
)
ZOO_NAMES=""
for row in "${ZOO_TABLE[@]}"; do ZOO_NAMES+="${ZOO_NAMES:+ }${row%%|*}"; done
unset row

# zoo_entry NAME: its row (status 1 when NAME is not in the zoo).
zoo_entry() {
  local row
  for row in "${ZOO_TABLE[@]}"; do [ "${row%%|*}" = "$1" ] && { echo "$row"; return 0; }; done
  return 1
}
# zoo_budget NAME: its budget in epochs (ZOO_BUDGET overrides it, for tests and quick trials).
zoo_budget() { if [ -n "${ZOO_BUDGET:-}" ]; then echo "$ZOO_BUDGET"; else zoo_entry "$1" | cut -d'|' -f2; fi; }
zoo_what() { zoo_entry "$1" | cut -d'|' -f3; }
zoo_flags() { zoo_entry "$1" | cut -d'|' -f4; }
# zoo_command NAME: the command that trains it from scratch to its budget, in one go.
zoo_command() { echo "build/l2l train --threads 1 $(zoo_flags "$1") --epochs $(zoo_budget "$1") --out zoo/$1"; }

# zoo_flag NAME FLAG DEFAULT: the value of one of NAME's flags.
zoo_flag() {
  local -a f
  read -ra f <<<"$(zoo_flags "$1")"
  local i
  for ((i = 0; i + 1 < ${#f[@]}; i++)); do [ "${f[i]}" = "$2" ] && { echo "${f[i + 1]}"; return; }; done
  echo "$3"
}

# zoo_updates_per_epoch NAME: meta-updates per epoch (problems / meta-batch x steps / unroll);
# with a curriculum, the mean over its stages (each an equal share of the epochs).
zoo_updates_per_epoch() {
  local p k s u c h windows=0 stages=0
  p=$(zoo_flag "$1" --problems-per-epoch 20) k=$(zoo_flag "$1" --meta-batch 1)
  s=$(zoo_flag "$1" --steps 100) u=$(zoo_flag "$1" --unroll 20) c=$(zoo_flag "$1" --curriculum "")
  for h in ${c//,/ }; do windows=$((windows + h / u)) stages=$((stages + 1)); done
  [ "$stages" -gt 0 ] || windows=$((s / u)) stages=1
  echo $((p / k * windows / stages))
}

# zoo_epochs_done DIR: epochs trained so far (from train_log.csv; 0 when there is none).
zoo_epochs_done() {
  [ -f "$1/train_log.csv" ] || { echo 0; return; }
  awk -F, 'NR > 1 && $1 >= 0 { n = $1 + 1 } END { print n + 0 }' "$1/train_log.csv"
}

# zoo_complete NAME: whether $ZOO_DIR/NAME has a phi.ckpt and has trained its whole budget.
zoo_complete() {
  [ -f "$ZOO_DIR/$1/phi.ckpt" ] && [ "$(zoo_epochs_done "$ZOO_DIR/$1")" -ge "$(zoo_budget "$1")" ]
}

# zoo_record_chunk DIR START_EPOCH_SECONDS EPOCHS_BEFORE EPOCHS_AFTER EXIT: a row of chunks.csv.
zoo_record_chunk() {
  local f=$1/chunks.csv cpu commit
  [ -f "$f" ] || echo "start_utc,seconds,epochs_before,epochs_after,exit,commit,threads,mpirun,cpu" >"$f"
  cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //; s/,/ /g' || echo unknown)
  # The code's commit; "-dirty" for changes to the code, not to zoo/ (a training rewrites its
  # own committed folder as it goes).
  commit=$(git describe --always 2>/dev/null || echo unknown)
  [ "$commit" = unknown ] || git diff --quiet HEAD -- . ':(exclude)zoo' 2>/dev/null || commit+=-dirty
  printf '%s,%d,%d,%d,%d,%s,%d,%s,%s x%d\n' "$(date -u -d "@$2" +%FT%TZ)" $(($(date +%s) - $2)) "$3" "$4" "$5" \
    "$commit" "$ZOO_THREADS" "${MPIRUN:-none}" "$cpu" "$(nproc)" >>"$f"
}

# zoo_best DIR: "SCORE EPOCH UNTRAINED" from train_log.csv (the epoch phi.ckpt holds).
zoo_best() {
  awk -F, 'NR == 1 { next } $1 == -1 { u = $3; next } best == "" || $3 < best { best = $3; e = $1 }
           END { printf "%s %s %s\n", (best == "" ? "-" : best), (e == "" ? "-" : e), (u == "" ? "-" : u) }' "$1/train_log.csv"
}

# zoo_seconds DIR: the wall time of every chunk in DIR/chunks.csv, summed (0 without one).
zoo_seconds() {
  [ -f "$1/chunks.csv" ] || { echo 0; return; }
  awk -F, 'NR > 1 { s += $2 } END { print s + 0 }' "$1/chunks.csv"
}

# zoo_write_readme NAME: zoo/NAME/README.md from the run's files.
zoo_write_readme() {
  local name=$1 dir=$ZOO_DIR/$1 budget per done best secs chunks sha
  [ -f "$dir/train_log.csv" ] || return 0
  budget=$(zoo_budget "$name") per=$(zoo_updates_per_epoch "$name") done=$(zoo_epochs_done "$dir")
  read -r best best_epoch untrained <<<"$(zoo_best "$dir")"
  secs=$(zoo_seconds "$dir")
  chunks=$(awk 'END { print NR - 1 }' "$dir/chunks.csv")
  sha=$(sha256sum "$dir/phi.ckpt" | cut -d' ' -f1)
  {
    echo "# $ZOO_DIR/$name: a learned optimizer meta-trained at scale ($(zoo_what "$name"))"
    echo
    echo "Written by scripts/train-zoo.sh from the files beside it; \`make train-zoo\` continues it."
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| budget | $budget epochs = $((budget * per)) meta-updates ($per per epoch) |"
    echo "| trained | $done epochs = $((done * per)) meta-updates$([ "$done" -ge "$budget" ] && echo ", complete" || echo ", $((100 * done / budget))%: not finished") |"
    echo "| phi.ckpt | the best validation score, $best at epoch $best_epoch (untrained: $untrained) |"
    echo "| wall time | $((secs / 3600)) h $((secs % 3600 / 60)) min in $chunks chunks (chunks.csv: when, which commit, which CPU) |"
    echo "| sha256 of phi.ckpt | \`$sha\` |"
    echo
    echo "The command that trains it in one go (train-zoo.sh runs it in chunks with --resume; the bits are the same):"
    echo
    echo '```'
    cat "$dir/command.txt"
    echo '```'
    echo
    echo "train_log.csv: per epoch, the train meta-loss and the validation score (mean f over the last 10 steps"
    echo "of the validation problems; epoch -1 is the untrained optimizer). first-epoch/ holds the training state"
    echo "after epoch 0, which \`make test-zoo\` retrains from the command and compares bit for bit."
    echo
    echo "![validation during meta-training](validation.png)"
  } >"$dir/README.md.tmp"
  mv "$dir/README.md.tmp" "$dir/README.md"
  if command -v gnuplot >/dev/null; then
    scripts/plot_train_log.sh "$dir/train_log.csv" "$dir/validation.png" "$name: validation during meta-training" "$per" ||
      echo "zoo_lib.sh: could not draw $dir/validation.png" >&2
  fi
}

# zoo_summary_md: the report's table of the zoo's optimizers that have a phi.ckpt (progress,
# best validation, wall time, the validation curve), or nothing.
zoo_summary_md() {
  local name dir per done budget best best_epoch untrained secs any="" curves=""
  for name in $ZOO_NAMES; do
    dir=$ZOO_DIR/$name
    [ -f "$dir/phi.ckpt" ] && [ -f "$dir/train_log.csv" ] || continue
    if [ -z "$any" ]; then
      echo "| optimizer trained at scale | for | meta-updates (budget) | best validation score (epoch; untrained) | wall time | curve |"
      echo "|---|---|---|---|---|---|"
      any=1
    fi
    per=$(zoo_updates_per_epoch "$name") done=$(zoo_epochs_done "$dir") budget=$(zoo_budget "$name")
    read -r best best_epoch untrained <<<"$(zoo_best "$dir")"
    secs=$(zoo_seconds "$dir")
    printf '| [%s](../%s/README.md) | %s | %d (%d)%s | %.4g (%s; %.4g) | %d h %d min | [validation.png](../%s/validation.png) |\n' \
      "$name" "$dir" "$(zoo_what "$name")" $((done * per)) $((budget * per)) "$([ "$done" -lt "$budget" ] && echo ", not finished")" \
      "$best" "$best_epoch" "$untrained" $((secs / 3600)) $((secs % 3600 / 60)) "$dir"
    curves+="![$name](../$dir/validation.png)"$'\n\n'
  done
  [ -n "$any" ] && printf '\n%s' "$curves"
  return 0
}
