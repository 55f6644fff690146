#!/usr/bin/env bash
# experiments.sh: regenerate every figure of the paper that l2l reproduces, from scratch.
#
#   make experiments               default scale: ~1 h on 2 cores (Figures 4-9; 60 min 37 s measured) -> results/, runs/
#   SCALE=paper make experiments   the paper's budgets (many hours)   -> results-paper/, runs-paper/
#   SCALE=smoke make experiments   a few minutes, to check the pipeline (numbers mean nothing)
#                                                                     -> results-smoke/, runs-smoke/
#   ONLY="fig4_left fig5" make experiments   a subset of the recipes (the report keeps the other
#                                            figures' sections from earlier runs); an unknown
#                                            name is refused before anything runs
#   REUSE=1 make experiments       evaluate the optimizers already trained in the runs folder
#   DRY_RUN=1 make experiments     print the scale, folders and recipes this would use, and stop
#   REPORT_ONLY=1 make experiments write the REPORT.md sections again from the data already in the
#                                  results folder (after a change to the report text); runs nothing
#
# The committed results/ hold the default scale: only SCALE=default writes there. Any other scale
# writes to its own results-<scale>/ and runs-<scale>/ (git-ignored), so a smoke run never
# replaces the committed report. RES= and RUNS= choose other folders (results/ and runs/ stay
# reserved for SCALE=default).
#
# Each recipe trains what it needs into the runs folder (reused by later recipes in the same run),
# writes its data (CSV, JSON, a summary table) and a PNG plot into <results>/<figure>/, and a
# section of <results>/REPORT.md that sets the result beside the paper's claim.
set -euo pipefail
# bash reads a script as it runs it, so an edit of this file during a run (an hour) would break
# the run's later lines: run from a private copy, unlinked at once (bash keeps it open).
if [ -z "${L2L_EXPERIMENTS_REPO:-}" ]; then
  L2L_EXPERIMENTS_REPO=$(cd "$(dirname "$0")/.." && pwd)
  export L2L_EXPERIMENTS_REPO
  copy=$(mktemp "${TMPDIR:-/tmp}/l2l-experiments.XXXXXX")
  cp "$0" "$copy"
  exec bash "$copy" "$@"
fi
case "$0" in */l2l-experiments.*) rm -f "$0" ;; esac
cd "$L2L_EXPERIMENTS_REPO"
unset L2L_EXPERIMENTS_REPO  # the programs and sub-scripts this runs do not inherit it
# step_failed LOG: a program of this run failed: name the log that holds its output, show its
# error (the programs print "error:" and a fix to stderr) or else how the log ends, and fail (set
# -e then stops the run; a program in the other lane finishes or fails too).
step_failed() {
  local why
  if grep -q "error:" "$1"; then why=$(grep -m 1 -A 2 "error:" "$1"); else why=$(tail -n 5 "$1"); fi
  printf 'experiments.sh: a step failed; its output is in %s:\n%s\n' "$1" "$(sed 's/^/  /' <<<"$why")" >&2  # one write
  return 1
}
source scripts/plot_lib.sh
source scripts/report_lib.sh
source scripts/recipes_cifar.sh
SCALE=${SCALE:-default}
source scripts/recipes_art.sh  # reads SCALE
source scripts/recipes_beyond.sh  # reads SCALE
# Every recipe, and those a plain `make experiments` runs (all of the paper's figures; beyond the
# paper is opt-in: ONLY=beyond).
RECIPES="fig4_left fig4_center fig4_right fig5 fig6 fig7 fig8 fig9 beyond"
DEFAULT_RECIPES="fig4_left fig4_center fig4_right fig5 fig6 fig7 fig8 fig9"
# Two lanes run side by side on the two cores, so each program gets one thread (THREADS=2 for a
# single recipe on an idle machine). Results do not depend on it (the LSTM's blocks are fixed).
THREADS=${THREADS:-1}
# Training may run data-parallel: MPIRUN="mpirun -np 2" META_BATCH=2 (K a multiple of the ranks,
# the problems per epoch a multiple of K; README "Running on many cores/machines (MPI)").
# Evaluation always runs in one process.
l2l_run() {
  if [ "$1" = train ]; then
    ${MPIRUN:-} build/l2l train --threads "$THREADS" ${META_BATCH:+--meta-batch "$META_BATCH"} "${@:2}"
  else
    build/l2l "$1" --threads "$THREADS" "${@:2}"
  fi
}
L2L=l2l_run
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}  # l2l keeps OpenBLAS at one thread anyway

case "$SCALE" in
  default)
    QUAD_EPOCHS=60; QUAD_PROBLEMS=20    # 6,000 meta-iterations, beside the MNIST training lane
    MNIST_EPOCHS=64; MNIST_PROBLEMS=20  # 6,400 meta-iterations (4,600 before the fused window and the AVX-512 kernels)
    # Enough test problems for a paired interval to decide (REPORT.md's verdict table): 100 for
    # Figures 4-5, 20 per architecture for Figure 6; 10 validation problems for early stopping.
    TEST_PROBLEMS=100; MNIST_TEST=100; TUNE=20; MNIST_TUNE=5; GRID=-4:1:3; SWEEP_TUNE=3; SWEEP_TEST=20; MNIST_VAL=10 ;;
  paper)
    QUAD_EPOCHS=100; QUAD_PROBLEMS=100
    MNIST_EPOCHS=100; MNIST_PROBLEMS=50
    TEST_PROBLEMS=1000; MNIST_TEST=200; TUNE=50; MNIST_TUNE=20; GRID=-4:1:6; SWEEP_TUNE=10; SWEEP_TEST=50; MNIST_VAL=20 ;;
  smoke)  # a few minutes: checks the pipeline, not the paper's claims
    QUAD_EPOCHS=2; QUAD_PROBLEMS=3
    MNIST_EPOCHS=2; MNIST_PROBLEMS=2
    TEST_PROBLEMS=5; MNIST_TEST=3; TUNE=2; MNIST_TUNE=1; GRID=-2:0:1; SWEEP_TUNE=1; SWEEP_TEST=2; MNIST_VAL=2 ;;
  *) echo "experiments.sh: SCALE must be default, paper or smoke, got '$SCALE'" >&2; exit 2 ;;
esac
set_cifar_scale "$SCALE"
# A smoke run's numbers mean nothing: every report title and figure title says so.
SMOKE_NOTE=""
[ "$SCALE" = smoke ] && SMOKE_NOTE="SMOKE SCALE: checks the pipeline, the numbers mean nothing"
export SMOKE_NOTE  # read by plot.sh and plot_sweep.sh

# Folders: results/ and runs/ belong to the default scale (the committed report).
suffix=""; [ "$SCALE" = default ] || suffix="-$SCALE"
RES=${RES:-results$suffix}
RUNS=${RUNS:-runs$suffix}
RES=${RES%/} RUNS=${RUNS%/}
same() { [ "$(realpath -m "$1")" = "$(realpath -m "$2")" ]; }
if [ "$SCALE" != default ] && { same "$RES" results || same "$RUNS" runs; }; then
  echo "experiments.sh: results/ and runs/ hold the committed default-scale results; SCALE=$SCALE writes to" >&2
  echo "  results$suffix/ and runs$suffix/ (leave RES and RUNS unset, or give other folders)" >&2
  exit 2
fi

# Recipes: every name in ONLY must be one of RECIPES (a typo must not run nothing and say done).
ONLY=${ONLY:-$DEFAULT_RECIPES}
for r in $ONLY; do
  if [[ " $RECIPES " != *" $r "* ]]; then
    echo "experiments.sh: unknown recipe '$r' in ONLY; valid names: $RECIPES" >&2
    exit 2
  fi
done
read -ra only_list <<<"$ONLY"
ONLY="${only_list[*]}"  # one space between names

where="SCALE=$SCALE: results in $RES/, trained optimizers in $RUNS/, recipes: $ONLY${REUSE:+ (REUSE: no training)}${REPORT_ONLY:+ (REPORT_ONLY: report text only)}"
if [ -n "${DRY_RUN:-}" ]; then
  echo "dry run: $where"
  echo "scale=$SCALE"
  echo "results=$RES/"
  echo "runs=$RUNS/"
  echo "recipes=$ONLY"
  echo "budgets: quadratic $QUAD_EPOCHS epochs x $QUAD_PROBLEMS problems, MNIST $MNIST_EPOCHS x $MNIST_PROBLEMS;" \
    "test problems $TEST_PROBLEMS (MNIST $MNIST_TEST, sweep $SWEEP_TEST), tuning problems $TUNE (MNIST $MNIST_TUNE," \
    "sweep $SWEEP_TUNE), grid $GRID; CIFAR $CIFAR_EPOCHS x $CIFAR_PROBLEMS, test $CIFAR_TEST, tuning $CIFAR_TUNE, grid $CIFAR_GRID;" \
    "Neural Art $ART_EPOCHS x $ART_PROBLEMS at ${ART_SIZE}x$ART_SIZE, test $ART_TEST (${ART_SIZE_TEST}x$ART_SIZE_TEST: $ART_TEST_128)," \
    "tuning $ART_TUNE ($ART_TUNE_128), grid $ART_GRID ($ART_GRID_128), $ART_STEPS steps"
  exit 0
fi
mkdir -p "$RES"
[ -n "${REPORT_ONLY:-}" ] || mkdir -p "$RUNS"
start=$(date +%s)
# Checkpoints newer than this file were trained by this run (trained_this_run, recipes_*.sh).
[ -n "${REPORT_ONLY:-}" ] || touch "$RUNS/.run-start"
trained_this_run() { [ "$1/phi.ckpt" -nt "$RUNS/.run-start" ]; }
log() { printf '[%4ds] %s\n' $(($(date +%s) - start)) "$*"; }
# Progress of the phases (each training and evaluation): "[k/N, ETA ~M min]". N and the ETA come
# from the last complete run of the same scale and recipes ($RES/phases.txt: when each phase
# started, and the wall time): the ETA is that run's time left after its k-th phase, scaled by
# how fast this run reached it. A first run prints "[k/?]" (its ETA, if any, from history.txt).
# Lanes are subshells, so the phases started so far are counted in a file.
PHASES_NOW=$RES/.phases-now
RUN_KEY="scale=$SCALE recipes=${ONLY// /,} reuse=${REUSE:-0}"
PREV_TOTAL="" PREV_STARTS=()
if [ -z "${REPORT_ONLY:-}" ] && [ -f "$RES/phases.txt" ] && [ "$(head -1 "$RES/phases.txt")" = "# $RUN_KEY" ]; then
  PREV_TOTAL=$(sed -n 2p "$RES/phases.txt" | awk '{ print $2 }')
  mapfile -t PREV_STARTS < <(tail -n +3 "$RES/phases.txt" | awk '{ print $1 }')
fi
# Without phases.txt (a first run here): the wall time of the last run of the same scale and
# recipes in history.txt gives an ETA (that total minus the time so far), and N stays "?".
if [ -z "$PREV_TOTAL" ] && [ -z "${REPORT_ONLY:-}" ] && [ -f "$RES/history.txt" ]; then
  HIST_TOTAL=$(awk -v key="SCALE=$SCALE  recipes: $ONLY  wall time " 'index($0, key) && !/REUSE|REPORT_ONLY/ {
      split(substr($0, index($0, key) + length(key)), w, " "); t = 60 * w[1] + w[3] } END { if (t) print t }' "$RES/history.txt")
fi
[ -n "${REPORT_ONLY:-}" ] || : >"$PHASES_NOW"
phase() {
  local now k eta="" then
  now=$(($(date +%s) - start))
  # One line per phase, appended in one write; k is this line's place (lanes append side by side).
  local me=$BASHPID  # this lane's process (inside $(...) BASHPID is another)
  printf '%d %d %s\n' "$now" "$me" "$*" >>"$PHASES_NOW"
  k=$(grep -n "^$now $me " "$PHASES_NOW" | tail -1 | cut -d: -f1)
  if [ -n "$PREV_TOTAL" ] && [ "$k" -le "${#PREV_STARTS[@]}" ]; then
    then=${PREV_STARTS[$((k - 1))]}
    eta=$((PREV_TOTAL - then))
    [ "$then" -ge 60 ] && eta=$((eta * now / then))
    eta=", ETA ~$(((eta + 59) / 60)) min"
  elif [ -n "${HIST_TOTAL:-}" ]; then
    eta=$((HIST_TOTAL - now)); [ "$eta" -ge 60 ] || eta=60
    eta=", ETA ~$(((eta + 59) / 60)) min"
  fi
  log "[$k/$([ -n "$PREV_TOTAL" ] && echo "${#PREV_STARTS[@]}" || echo "?")$eta] $*"
}
want() { [[ " $ONLY " == *" $1 "* ]]; }
log "$where"

# step_value CSV NAME STEP: mean loss of optimizer NAME at STEP in a curves.csv
step_value() {
  awk -F, -v name="$2_mean" -v step="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
    $1 == step { print $c }' "$1"
}

# verdict DIR ROW CLAIM [fails] [LEARNED]: the paired verdict of `l2l verdict` on DIR/runs.csv
# (tasks/verdict.h): LEARNED (default lstm) minus the best tuned baseline (SGD, NAG, RMSprop or
# Adam; L-BFGS, not in the paper, is reported apart by lbfgs_note), per test problem, on the mean
# f over the last 10 steps, with a 95% t-interval: agrees, disagrees or tie. With "fails" the
# paper's claim is that the learned optimizer is worse (Figure 5, ReLU). Prints the report's
# sentence and adds "| ROW | CLAIM | numbers | difference [interval] | verdict |" to the
# section's verdict rows ($VROWS), which open REPORT.md as one table.
verdict() {
  local dir=$1 row=$2 claim=$3 sense=lower learned=${5:-lstm}
  [ "${4:-}" = fails ] && sense=higher
  build/l2l verdict --dir "$dir" --learned "$learned" --claim "$sense" || return 1
  verdict_row "$dir/verdict_$learned.json" "$row" "$claim" >>"$VROWS"
}
# verdict_row JSON ROW CLAIM: one row of the verdict table from a verdict_<learned>.json.
verdict_row() {
  tr -d '\n' <"$1" | grep -oE '"[a-z_]+": ("[^"]*"|[-0-9.e+]+|-?inf|null)' |
    awk -F'": ' -v row="$2" -v claim="$3" '{ k = substr($1, 2); v = $2; gsub(/"/, "", v); f[k] = v }
      END { n["lstm"] = "LSTM"; n["lstm-sub"] = "LSTM-sub"; n["sgd"] = "SGD"; n["nag"] = "NAG"; n["rmsprop"] = "RMSprop"; n["adam"] = "Adam"
        if (f["problems"] < 2) d = sprintf("%+.3g (one problem: no interval)", f["diff_mean"])
        else d = sprintf("%+.3g [%+.3g, %+.3g] (%+.0f%%), n = %d", f["diff_mean"], f["diff_lo"], f["diff_hi"],
          100 * f["diff_mean"] / f["baseline_mean"], f["problems"])
        printf "| %s | %s | %s %.4g vs %s %.4g | %s | **%s** |\n", row, claim,
          n[f["learned"]], f["learned_mean"], n[f["baseline"]], f["baseline_mean"], d, f["word"] }'
}

# lbfgs_note CSV STEP: L-BFGS (not in the paper; no learning rate, one step = one iteration) at
# STEP against the LSTM and the best tuned baseline there; nothing if CSV has no lbfgs column.
lbfgs_note() {
  awk -F, -v step="$2" 'NR == 1 { for (i = 2; i <= NF; i += 2) name[i] = substr($i, 1, length($i) - 5); next }
    $1 == step { best = ""; for (i = 2; i <= NF; i += 2) { if (name[i] == "lbfgs") q = $i; else if (name[i] == "lstm") l = $i
        else if (name[i] !~ /^lstm/ && $i != "null" && (best == "" || $i + 0 < best + 0)) { best = $i; bn = name[i] } }
      if (q == "") exit
      printf "L-BFGS (not in the paper; m = 10, Armijo backtracking line search, no learning rate to tune; one step = one iteration, whose function evaluations the table states): %.4g at step %d, against %sthe best tuned baseline, %s (%.4g).", q, step, l == "" ? "" : sprintf("the LSTM (%.4g) and ", l), bn, best }' "$1"
}

# section TITLE: starts $SEC (a smoke run says so in every title) and its verdict rows, $VROWS.
section() {
  mkdir -p "$(dirname "$SEC")"
  printf '\n## %s%s\n\n' "$1" "${SMOKE_NOTE:+ ($SMOKE_NOTE)}" >"$SEC"
  VROWS=$(dirname "$SEC")/verdicts.md
  : >"$VROWS"
}
para() { printf '%s\n\n' "$*" >>"$SEC"; }
table() { cat "$1" >>"$SEC"; printf '\n' >>"$SEC"; }

train_quadratic() {
  if [ -n "${REUSE:-}" ] && [ -f "$RUNS/quadratic/phi.ckpt" ]; then log "reusing $RUNS/quadratic/phi.ckpt (REUSE is set)"; return; fi
  phase "meta-training on quadratics ($QUAD_EPOCHS epochs x $QUAD_PROBLEMS problems x 5 windows)"
  $L2L train --task quadratic --epochs "$QUAD_EPOCHS" --problems-per-epoch "$QUAD_PROBLEMS" --meta-lr 0.003 \
    --overwrite true --out "$RUNS/quadratic" >"$RUNS/quadratic.log" 2>&1 || step_failed "$RUNS/quadratic.log"
}

train_mnist() {
  if [ -n "${REUSE:-}" ] && [ -f "$RUNS/mnist/phi.ckpt" ]; then log "reusing $RUNS/mnist/phi.ckpt (REUSE is set)"; return; fi
  phase "meta-training on MNIST ($MNIST_EPOCHS epochs x $MNIST_PROBLEMS problems x 5 windows)"
  # Two threads when the quadratic lane beside it is all there is (it is short); one when the
  # other lane also trains CIFAR and Neural Art (MNIST_THREADS=1, set by the caller: pretrain).
  ${MPIRUN:-} build/l2l train --threads "${MNIST_THREADS:-2}" ${META_BATCH:+--meta-batch "$META_BATCH"} --task mnist --epochs "$MNIST_EPOCHS" --problems-per-epoch "$MNIST_PROBLEMS" --meta-lr 0.003 \
    --out-scale 0.1 --val-problems "$MNIST_VAL" --overwrite true --out "$RUNS/mnist" >"$RUNS/mnist.log" 2>&1 || step_failed "$RUNS/mnist.log"
}

# eval_fig NAME STEPS PROBLEMS TUNE_PROBLEMS EVAL_FLAGS...: evaluate and plot one panel (its title
# and plotted steps: figure_spec in plot_lib.sh)
eval_fig() {
  local name=$1 steps=$2 problems=$3 tune=$4
  shift 4
  phase "evaluating $name"
  mkdir -p "$RES/$name"
  $L2L eval "$@" --steps "$steps" --problems "$problems" --tune-problems "$tune" --grid "$GRID" --out "$RES/$name" \
    >"$RES/$name/eval.log" 2>&1 || step_failed "$RES/$name/eval.log"
  plot_figure "$RES" "$name"
}

# Each recipe is run_<name> (train, evaluate, plot) then section_<name> (its REPORT.md section,
# from the data alone: REPORT_ONLY=1 calls only these).
run_fig4_left() {
  train_quadratic
  eval_fig fig4_left 100 "$TEST_PROBLEMS" "$TUNE" --task quadratic --phi "$RUNS/quadratic/phi.ckpt" \
    --optimizers lstm,sgd,nag,rmsprop,adam,lbfgs
  run_fig4_scale
}
# The scale of Figure 4 (left), measured: the tuned baselines on 10x TEST_PROBLEMS single functions
# (--quad-batch 1) of the paper's quadratics (W, y, theta_0 Gaussian) and of the authors' code's
# (W, y uniform on [0,1), theta_0 ~ N(0, 0.01^2)), so that each run is one function and the mean
# over functions can be set beside the median. (Not the LSTM: it was trained on batches of 128
# functions, whose mean divides each gradient by 128; one function gives it 128x larger inputs.)
run_fig4_scale() {
  local v extra
  for v in paper dm; do
    extra=()
    [ $v = dm ] && extra=(--quad-dm true)
    phase "fig4_left: the scale of single functions ($v variant)"
    mkdir -p "$RES/fig4_left/scale_$v"
    $L2L eval --task quadratic "${extra[@]}" --quad-batch 1 --optimizers sgd,nag,rmsprop,adam --problems $((10 * TEST_PROBLEMS)) \
      --tune-problems "$TUNE" --grid "$GRID" --out "$RES/fig4_left/scale_$v" >"$RES/fig4_left/scale_$v/eval.log" 2>&1 ||
      step_failed "$RES/fig4_left/scale_$v/eval.log"
  done
}
# scale_stats DIR: "adam mean 0.334, median 0.027; ..." of f at step 100 over DIR/runs.csv's runs;
# the mean leaves out the diverged runs (f not finite or above 1000 f_0) and says how many.
scale_stats() {
  awk -F, 'NR == 1 { for (i = 3; i <= NF; i++) if ($i == "f_100") c = i; next }
    { d = $c == "null" || $c + 0 > 1000 * $3; print $1, (d ? "inf" : $c), d }' "$1/runs.csv" | sort -k1,1 -s -k2,2g |
    awk '{ v[$1, ++n[$1]] = $2; if ($3) bad[$1]++; else s[$1] += $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
      END { for (i = 1; i <= k; i++) { o = order[i]; m = n[o]
          if (m % 2) med = v[o, (m + 1) / 2]; else med = (v[o, m / 2] + v[o, m / 2 + 1]) / 2
          printf "%s%s mean %.3g, median %.3g", (i > 1 ? "; " : ""), o, s[o] / (m - bad[o]), med
          if (bad[o]) printf " (%d of %d diverged, left out of the mean)", bad[o], m } }'
}
section_fig4_left() {
  SEC=$RES/fig4_left/section.md
  section "Figure 4 (left): quadratic functions"
  para "Paper: on 10-d quadratics the LSTM optimizer is below every tuned baseline over the 100 steps (at step 100 about 0.04 vs 0.05-0.06 for Adam/RMSprop, 0.08 NAG, 0.2 SGD, read off the log plot)."
  v=$(verdict "$RES/fig4_left" "4 left: 10-d quadratics" "LSTM lowest at step 100")
  para "Here: $v"
  para "$(lbfgs_note "$RES/fig4_left/curves.csv" 100)"
  para "$(run_counts "$RES/fig4_left") $(tuning_notes "$GRID" "$RES/fig4_left")"
  if [ -f "$RES/fig4_left/scale_dm/runs.csv" ] && [ -f "$RES/fig4_left/scale_paper/runs.csv" ]; then
    para "**Why the numbers here are several times the paper's** (measured: the tuned baselines on $(problems_of "$RES/fig4_left/scale_paper") single functions of each kind, f at step 100). The paper's text draws W, y and theta_0 from a Gaussian; the authors' code draws W and y uniformly on [0, 1) and theta_0 from N(0, 0.01^2). Uniform (authors' code): $(scale_stats "$RES/fig4_left/scale_dm"). Gaussian (the paper's text, used here): $(scale_stats "$RES/fig4_left/scale_paper"). So the uniform functions put the baselines on the scale of the paper's plot (SGD about 0.2, NAG 0.08, Adam and RMSprop 0.05-0.06 at step 100), while on Gaussian ones a few ill-conditioned W dominate the mean, several times the median: the 6x gap is the kind of function, not the optimizers. (One function per run here; the figure's problems average 128 functions each, so their spread is smaller. The LSTM is not run on single functions: trained on the mean of 128, it would get gradients 128x larger than it knows.) The comparison between optimizers, on the same functions, is unaffected."
  fi
  para "![Figure 4 left](fig4_left/fig4_left.png)"
  table "$RES/fig4_left/summary.md"
  para ""
  para "Meta-training log (epoch, train meta-loss, validation score: mean f over the last 10 steps): \`$RUNS/quadratic/train_log.csv\`; phi is the epoch with the lowest validation score."
}

run_fig4_center() { eval_fig fig4_center 100 "$MNIST_TEST" "$MNIST_TUNE" --task mnist --phi "$RUNS/mnist/phi.ckpt"; }
section_fig4_center() {
  SEC=$RES/fig4_center/section.md
  section "Figure 4 (center): MNIST"
  para "Paper: on the MNIST MLP (784-20-10, sigmoid) the LSTM optimizer is below SGD, RMSprop, Adam and NAG, each with its learning rate tuned (at step 100 about 0.2 vs about 0.3)."
  v=$(verdict "$RES/fig4_center" "4 center: MNIST" "LSTM lowest at step 100")
  para "Here: $v"
  para "$(run_counts "$RES/fig4_center") $(tuning_notes "$GRID" "$RES/fig4_center")"
  para "![Figure 4 center](fig4_center/fig4_center.png)"
  table "$RES/fig4_center/summary.md"
}

run_fig4_right() { eval_fig fig4_right 200 "$MNIST_TEST" "$MNIST_TUNE" --task mnist --phi "$RUNS/mnist/phi.ckpt"; }
section_fig4_right() {
  SEC=$RES/fig4_right/section.md
  section "Figure 4 (right): MNIST, 200 steps"
  para "Paper: run for 200 steps although trained for 100, the LSTM optimizer keeps improving and stays below the baselines."
  v=$(verdict "$RES/fig4_right" "4 right: MNIST, 200 steps" "LSTM still lowest at step 200")
  para "Here: $v"
  para "$(run_counts "$RES/fig4_right") $(tuning_notes "$GRID" "$RES/fig4_right")"
  para "![Figure 4 right](fig4_right/fig4_right.png)"
  table "$RES/fig4_right/summary.md"
}

FIG5_VARIANTS=("h40:40:sigmoid:40 hidden units" "l2:20,20:sigmoid:2 hidden layers" "relu:20:relu:ReLU activations")
run_fig5() {
  for v in "${FIG5_VARIANTS[@]}"; do
    IFS=: read -r tag hid act label <<<"$v"
    eval_fig "fig5_$tag" 100 "$MNIST_TEST" "$MNIST_TUNE" --task mnist --mnist-hidden "$hid" --mnist-act "$act" --phi "$RUNS/mnist/phi.ckpt"
  done
}
section_fig5() {
  SEC=$RES/fig5/section.md
  section "Figure 5: generalization to other architectures"
  para "Paper: the optimizer trained on 1x20 sigmoid still beats the baselines on 40 hidden units and on 2 hidden layers; it **fails** on ReLU."
  for v in "${FIG5_VARIANTS[@]}"; do
    IFS=: read -r tag hid act label <<<"$v"
    expect="" claim="LSTM lowest at step 100"
    [ "$act" = relu ] && expect=fails claim="LSTM fails: above the best baseline"
    v=$(verdict "$RES/fig5_$tag" "5: MNIST, $label" "$claim" $expect)
    para "**$label** ($hid, $act): $v"
    para "$(run_counts "$RES/fig5_$tag") $(tuning_notes "$GRID" "$RES/fig5_$tag")"
    para "![Figure 5 $label](fig5_$tag/fig5_$tag.png)"
    table "$RES/fig5_$tag/summary.md"
  done
}

run_fig6() {
  mkdir -p "$RES/fig6"
  echo "layers,units,lstm,sgd,nag,rmsprop,adam" >"$RES/fig6/sweep.csv"
  for layers in 1 2 3; do
    for units in 5 10 20 40; do
      hid=$(printf "$units%.0s," $(seq 1 $layers)); hid=${hid%,}
      d="$RES/fig6/l${layers}_u${units}"
      phase "fig6: $layers x $units"
      mkdir -p "$d"
      $L2L eval --task mnist --mnist-hidden "$hid" --phi "$RUNS/mnist/phi.ckpt" --steps 100 --problems "$SWEEP_TEST" \
        --tune-problems "$SWEEP_TUNE" --grid "$GRID" --final-metrics false --out "$d" >"$d/eval.log" 2>&1 || step_failed "$d/eval.log"
      row="$layers,$units"
      for o in lstm sgd nag rmsprop adam; do row+=",$(step_value "$d/curves.csv" $o 100)"; done
      echo "$row" >>"$RES/fig6/sweep.csv"
    done
  done
  scripts/plot_sweep.sh "$RES/fig6/sweep.csv" "$RES/fig6/fig6.png"
}
# fig6_nets: "layers units" of every Figure 6 net with an eval folder.
fig6_nets() {
  local layers units
  for layers in 1 2 3; do
    for units in 5 10 20 40; do [ -f "$RES/fig6/l${layers}_u${units}/runs.csv" ] && echo "$layers $units"; done
  done
  return 0
}
section_fig6() {
  SEC=$RES/fig6/section.md
  section "Figure 6: sweep over the MNIST architecture"
  para "Paper: across hidden layers x hidden units (sigmoid) the LSTM optimizer's final loss is mostly below the tuned baselines; the training architecture (1 layer, 20 units) is marked."
  para "![Figure 6](fig6/fig6.png)"
  # One paired verdict per net, then the count; the figure's word is the majority of the nets.
  local layers units d words a t n
  printf '| layers | units | LSTM vs the best tuned baseline | LSTM - baseline [95%% interval] | verdict |\n|---|---|---|---|---|\n' >>"$SEC"
  while read -r layers units; do
    d=$RES/fig6/l${layers}_u${units}
    build/l2l verdict --dir "$d" >/dev/null || return 1
    verdict_row "$d/verdict_lstm.json" "$layers | $units" x | sed 's/ | x | / | /' >>"$SEC"
  done < <(fig6_nets)
  printf '\n' >>"$SEC"
  words=$(cat "$RES"/fig6/l*_u*/verdict_lstm.json | grep -o '"word": "[a-z]*"' | cut -d'"' -f4)
  n=$(grep -c . <<<"$words"); a=$(grep -cx agrees <<<"$words" || true); t=$(grep -cx tie <<<"$words" || true)
  para "Here, paired per test problem on the mean f over the last 10 steps ($SWEEP_TEST test problems per net, 95% t-intervals): agrees on $a of $n nets, tie on $t, disagrees on $((n - a - t)). The figure's verdict is the majority: agrees if more than half of the nets agree, disagrees if more than half disagree, else mixed."
  para "All 12 architectures together: $(run_counts "$RES"/fig6/l*_u*) $(tuning_notes "$GRID" "$RES"/fig6/l*_u*)"
  local word=mixed
  [ $((2 * a)) -gt "$n" ] && word=agrees
  [ $((2 * (n - a - t))) -gt "$n" ] && word=disagrees
  printf '| 6: %d MNIST nets (layers x units) | LSTM lowest on most nets | agrees on %d, tie on %d, disagrees on %d | one interval per net (its section) | **%s** |\n' \
    "$n" "$a" "$t" $((n - a - t)) "$word" >>"$VROWS"
}

# Called as plain commands (not on the left of && or ||), so that set -e holds inside the
# recipes: a failing step stops the run instead of being ignored.
run_if() {
  if want "$1"; then
    "run_$1"
    "section_$1"
  fi
}
# The CIFAR and Neural Art meta-trainings, one after the other on one thread (beside MNIST's).
pretrain() {
  if want fig7; then
    train_cifar cifar10
    train_cifar cifar_sub "$CIFAR_SUB_LABELS"
  fi
  if want fig8; then ART_THREADS=1 train_art; fi
}
mnist_wanted() { want fig4_center || want fig4_right || want fig5 || want fig6; }

# The data a recipe's section is written from (REPORT_ONLY checks it is there): the verdicts
# need each eval folder's runs.csv.
recipe_data() {
  case "$1" in
    fig5) echo "$RES/fig5_h40/runs.csv $RES/fig5_l2/runs.csv $RES/fig5_relu/runs.csv" ;;
    fig6) echo "$RES/fig6/sweep.csv $RES/fig6/l1_u20/runs.csv" ;;
    fig7) echo "$RES/fig7_cifar10/runs.csv $RES/fig7_cifar5/runs.csv $RES/fig7_cifar2/runs.csv" ;;
    fig8) echo "$RES/fig8_left/runs.csv $RES/fig8_right/runs.csv" ;;
    fig9) echo "$RES/fig9_left/images.log $RES/fig9_right/images.log" ;;
    beyond) echo "$RES/beyond_s200/curves.csv $RES/beyond_s1000/curves.csv $RES/beyond_relu/curves.csv $RES/beyond_l2/curves.csv" ;;
    *) echo "$RES/$1/runs.csv" ;;
  esac
}

if [ -n "${REPORT_ONLY:-}" ]; then
  # Sections again from the data already in $RES (after a change to this script's text), no runs.
  for r in $ONLY; do
    for f in $(recipe_data "$r"); do
      [ -f "$f" ] || { echo "experiments.sh: REPORT_ONLY: no $f to write the $r section from (run the recipe first)" >&2; exit 2; }
    done
  done
  for r in $ONLY; do "section_$r"; done
else
  # Two lanes on the two cores. Lane A: the quadratics, then (pretrain) the CIFAR and Neural Art
  # meta-trainings, which their recipes later find trained in this run. Lane B: MNIST
  # meta-training, then every MNIST evaluation. Without CIFAR and Neural Art, MNIST trains on both
  # cores and its evaluations run in two lanes.
  pre=""
  if mnist_wanted && { want fig7 || want fig8; }; then pre=1; fi
  { run_if fig4_left; if [ -n "$pre" ]; then pretrain; fi; } &
  lane_a=$!
  if mnist_wanted; then MNIST_THREADS=${MNIST_THREADS:-${pre:+1}} train_mnist; fi
  if [ -n "$pre" ]; then
    run_if fig4_center; run_if fig4_right; run_if fig5; run_if fig6
    wait $lane_a
  else
    wait $lane_a
    { run_if fig4_center; run_if fig4_right; run_if fig5; } &
    lane_b=$!
    run_if fig6
    wait $lane_b
  fi
  run_if fig7  # its own two lanes (recipes_cifar.sh)
  run_if fig8  # Neural Art, one lane (recipes_art.sh); fig9 draws with fig8's tuned baseline
  run_if fig9
  run_if beyond  # beyond the paper (recipes_beyond.sh): opt-in, ONLY=beyond
fi

# verdict_table: the report's opening table, the rows every section wrote ($VROWS), in figure order.
verdict_table() {
  echo "## The paper's claims, judged"
  echo
  echo "Each claim is judged on paired runs: every optimizer ran the same test problems (function, theta_0 and minibatches), and each problem's score is its mean f over the last 10 steps. The difference learned minus the best tuned baseline (the one with the lowest mean score) is averaged over the test problems with a 95% Student t-interval. **agrees**: the interval is on the paper's side of zero; **disagrees**: on the other side; **tie**: it contains zero, so this run cannot tell the two apart, whatever the order of the means. Scores are capped at the divergence threshold (1000 f_0). How to rerun and read them: the sections below."
  echo
  echo "| Figure | the paper's claim | here: mean score | learned - best baseline [95% interval] (% of baseline) | verdict |"
  echo "|---|---|---|---|---|"
  for r in $RECIPES; do [ -f "$RES/$r/verdicts.md" ] && cat "$RES/$r/verdicts.md"; done
  return 0
}

total=$(($(date +%s) - start))
mode=${REUSE:+ (REUSE: no training)}
[ -n "${REPORT_ONLY:-}" ] && mode=" (REPORT_ONLY: report text rewritten from the data, nothing run)"
printf '%s  SCALE=%s  recipes: %s%s  wall time %d min %d s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$SCALE" "$ONLY" \
  "$mode" $((total / 60)) $((total % 60)) >>"$RES/history.txt"
{
  echo "# l2l: reproduction report${SMOKE_NOTE:+ ($SMOKE_NOTE)}"
  echo
  verdict_table
  echo
  echo "## How these numbers were made"
  echo
  if [ -n "${REPORT_ONLY:-}" ]; then
    echo "Text rewritten by \`REPORT_ONLY=1 make experiments\` (SCALE=$SCALE) on $(date -u '+%Y-%m-%d %H:%M UTC') from the data already in $RES/ (sections: $ONLY); the numbers and figures come from the runs listed below."
  else
    echo "Generated by \`make experiments\` (SCALE=$SCALE) on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, in $((total / 60)) min $((total % 60)) s."
    echo "Recipes run now: $ONLY${REUSE:+ (trained optimizers reused from $RUNS/)}. Sections of other figures come from earlier runs of this script."
  fi
  echo "The configurations are in each folder's config.txt and results.json."
  echo
  echo "Runs of this script that wrote into $RES/ ($RES/history.txt):"
  echo
  sed 's/^/    /' "$RES/history.txt"
  echo
  echo "Baselines: SGD, NAG, RMSprop and Adam with Torch7 defaults except the learning rate, tuned per problem on validation problems over a log grid (lo:hi:points per decade; Figures 4-6: $GRID, Figure 7: $CIFAR_GRID, Figure 8: $ART_GRID), widened a decade at a time while the best rate sits at an edge, fresh state for every run."
  for r in $RECIPES; do [ -f "$RES/$r/section.md" ] && cat "$RES/$r/section.md"; done
} >"$RES/REPORT.md.tmp"
mv "$RES/REPORT.md.tmp" "$RES/REPORT.md"
if [ -z "${REPORT_ONLY:-}" ]; then  # this run's phases: the next run's [k/N] and ETA
  { echo "# $RUN_KEY"; echo "total $total"; sort -n "$PHASES_NOW" | sed -E 's/^([0-9]+) [0-9]+ /\1 /'; } >"$RES/phases.txt.tmp"
  mv "$RES/phases.txt.tmp" "$RES/phases.txt"
  rm -f "$PHASES_NOW"
fi
log "wrote $RES/REPORT.md"
log "done, $where"
