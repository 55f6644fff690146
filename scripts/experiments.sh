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
#   ZOO_ONLY=1 make experiments    no meta-training: the optimizers trained at scale and committed
#                                  in zoo/ (make train-zoo) alone -> results-zoo/, runs-zoo/
#   NO_ZOO=1 make experiments      leave out the zoo's optimizers, which a run otherwise evaluates
#                                  beside the ones it trains (as lstm-scale)
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
source scripts/verdict_lib.sh
source scripts/recipes_mnist.sh
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
source scripts/zoo_lib.sh
# The optimizers trained at scale (committed in zoo/ by `make train-zoo`) run beside the ones
# this run trains, on the same test problems with the same tuned baselines: lstm-scale (and
# lstm-sub-scale in Figure 7), once trained to their budget (an unfinished one is only listed,
# with its progress, in the report's table of the zoo). NO_ZOO=1 leaves them out.
# learned_args VAR PHI ZOO [OTHERS]: sets the array VAR to eval's flags for the learned optimizer
# PHI, zoo/ZOO's when it is committed, and OTHERS (default: the four tuned baselines).
learned_args() {
  local -n out=$1
  local others=${4:-sgd,nag,rmsprop,adam}
  out=(--phi "$2" --optimizers "lstm,$others")
  if zoo_committed "$3"; then out=(--phi "$2" --phi-scale "$ZOO_DIR/$3/phi.ckpt" --optimizers "lstm,lstm-scale,$others"); fi
}
zoo_committed() { [ -z "${NO_ZOO:-}" ] && zoo_complete "$1"; }
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
if [ -n "${ZOO_ONLY:-}" ]; then
  [ "$SCALE" = default ] || { echo "experiments.sh: ZOO_ONLY evaluates the committed optimizers at the default scale; unset SCALE" >&2; exit 2; }
  suffix=-zoo
fi
RES=${RES:-results$suffix}
RUNS=${RUNS:-runs$suffix}
RES=${RES%/} RUNS=${RUNS%/}
same() { [ "$(realpath -m "$1")" = "$(realpath -m "$2")" ]; }
if [ -n "$suffix" ] && { same "$RES" results || same "$RUNS" runs; }; then
  echo "experiments.sh: results/ and runs/ hold the committed default-scale results; SCALE=$SCALE${ZOO_ONLY:+ ZOO_ONLY=1} writes to" >&2
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

# ZOO_ONLY=1: no meta-training; the optimizers committed in zoo/ (trained at scale by make
# train-zoo) take the LSTM's place in their figures, copied into the runs folder, which REUSE then
# finds. A figure whose optimizer is not committed yet is left out, and the run says so.
ZOO_RUNS="quadratic:quadratic-scale mnist:mnist-scale cifar10:cifar10-scale cifar_sub:cifar-sub-scale art:art-scale"
zoo_needs() {
  case "$1" in
    fig4_left) echo quadratic-scale ;; fig4_center|fig4_right|fig5|fig6) echo mnist-scale ;;
    fig7) echo cifar10-scale cifar-sub-scale ;; fig8|fig9) echo art-scale ;; *) echo "(no zoo optimizer)" ;;
  esac
}
if [ -n "${ZOO_ONLY:-}" ]; then
  REUSE=1 NO_ZOO=1 kept=""
  for r in $ONLY; do
    missing=""
    for z in $(zoo_needs "$r"); do zoo_complete "$z" || missing+=" $z"; done
    if [ -z "$missing" ]; then kept+="${kept:+ }$r"; else echo "experiments.sh: ZOO_ONLY: $r left out: not trained to its budget in $ZOO_DIR/:$missing" >&2; fi
  done
  [ -n "$kept" ] || { echo "experiments.sh: ZOO_ONLY: none of the recipes has its optimizer in zoo/ (make train-zoo trains them)" >&2; exit 2; }
  ONLY=$kept
fi

where="SCALE=$SCALE: results in $RES/, trained optimizers in $RUNS/, recipes: $ONLY${REUSE:+ (REUSE: no training)}${ZOO_ONLY:+ (ZOO_ONLY: the optimizers of zoo/)}${REPORT_ONLY:+ (REPORT_ONLY: report text only)}"
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
if [ -n "${ZOO_ONLY:-}" ] && [ -z "${REPORT_ONLY:-}" ]; then
  for pair in $ZOO_RUNS; do
    run=${pair%%:*} z=${pair#*:}
    zoo_complete "$z" || continue
    mkdir -p "$RUNS/$run"
    cp "$ZOO_DIR/$z/phi.ckpt" "$ZOO_DIR/$z/train_log.csv" "$RUNS/$run/"
  done
fi
start=$(date +%s)
# Checkpoints newer than this file were trained by this run (trained_this_run, recipes_*.sh).
[ -n "${REPORT_ONLY:-}" ] || touch "$RUNS/.run-start"
trained_this_run() { [ "$1/phi.ckpt" -nt "$RUNS/.run-start" ]; }
log() { printf '[%4ds] %s\n' $(($(date +%s) - start)) "$*"; }
# Progress of the phases (each training and evaluation): "[k/N, ETA ~M min]". N and the ETA come
# from the last complete run of the same scale and recipes ($PHASES: when each phase started, and
# the wall time): the ETA is that run's time left after its k-th phase, scaled by how fast this
# run reached it. A first run prints "[k/?]" (its ETA, if any, from history.txt). A full run keeps
# its phases in phases.txt, any other set of recipes in phases-<recipes>.txt, so that a partial
# run does not erase the full run's. Lanes are subshells, so the phases started so far are
# counted in a file.
PHASES_NOW=$RES/.phases-now
RUN_KEY="scale=$SCALE recipes=${ONLY// /,} reuse=${REUSE:-0}${ZOO_ONLY:+ zoo-only}"
PHASES=$RES/phases.txt
if [ "$ONLY" != "$DEFAULT_RECIPES" ] || [ -n "${REUSE:-}${ZOO_ONLY:-}" ]; then
  PHASES=$RES/phases-${ONLY// /+}${REUSE:+-reuse}${ZOO_ONLY:+-zoo}.txt
fi
PREV_TOTAL="" PREV_STARTS=()
if [ -z "${REPORT_ONLY:-}" ] && [ -f "$PHASES" ] && [ "$(head -1 "$PHASES")" = "# $RUN_KEY" ]; then
  PREV_TOTAL=$(sed -n 2p "$PHASES" | awk '{ print $2 }')
  mapfile -t PREV_STARTS < <(tail -n +3 "$PHASES" | awk '{ print $1 }')
fi
# Without phases.txt (a first run here): the wall time of the last run of the same scale and
# recipes in history.txt gives an ETA (that total minus the time so far), and N stays "?".
if [ -z "$PREV_TOTAL" ] && [ -z "${REPORT_ONLY:-}" ] && [ -f "$RES/history.txt" ]; then
  HIST_TOTAL=$(awk -v key="SCALE=$SCALE  recipes: $ONLY  wall time " 'index($0, key) && !/REUSE|REPORT_ONLY|ZOO_ONLY/ {
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

# section TITLE: starts $SEC (a smoke run says so in every title) and its verdict rows, $VROWS.
section() {
  mkdir -p "$(dirname "$SEC")"
  printf '\n## %s%s\n\n' "$1" "${SMOKE_NOTE:+ ($SMOKE_NOTE)}" >"$SEC"
  VROWS=$(dirname "$SEC")/verdicts.md
  : >"$VROWS"
}
para() { printf '%s\n\n' "$*" >>"$SEC"; }
table() { cat "$1" >>"$SEC"; printf '\n' >>"$SEC"; }

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
  # With MNIST and Figure 8, each lane then starts one of Figure 8's panels when it is free (lane
  # A, done first, the longer 128x128 one), before Figure 7 takes both cores.
  pre="" early8=""
  if mnist_wanted && { want fig7 || want fig8; }; then pre=1; fi
  if [ -n "$pre" ] && want fig8; then early8=1; fi
  lane_a_work() {
    run_if fig4_left
    if [ -n "$pre" ]; then pretrain; fi
    if [ -n "$early8" ]; then fig8_prepare; fig8_panel right; fi
  }
  lane_a_work &
  lane_a=$!
  if mnist_wanted; then MNIST_THREADS=${MNIST_THREADS:-${pre:+1}} train_mnist; fi
  if [ -n "$pre" ]; then
    run_if fig4_center; run_if fig4_right; run_if fig5; run_if fig6
    if [ -n "$early8" ]; then fig8_panel left; fi
    wait $lane_a
  else
    wait $lane_a
    { run_if fig4_center; run_if fig4_right; run_if fig5; } &
    lane_b=$!
    run_if fig6
    wait $lane_b
  fi
  run_if fig7  # its own two lanes (recipes_cifar.sh)
  if [ -n "$early8" ]; then section_fig8; else run_if fig8; fi  # Neural Art (recipes_art.sh)
  run_if fig9  # draws with Figure 8's tuned baseline
  run_if beyond  # beyond the paper (recipes_beyond.sh): opt-in, ONLY=beyond
fi

# verdict_table: the report's opening table, the rows every section wrote ($VROWS), in figure order.
verdict_table() {
  echo "## The paper's claims, judged"
  echo
  echo "Each claim is judged on paired runs: every optimizer ran the same test problems (function, theta_0 and minibatches), and each problem's score is its mean f over the last 10 steps. The difference learned minus the best tuned baseline (the one with the lowest mean score) is averaged over the test problems with a 95% Student t-interval. **agrees**: the interval is on the paper's side of zero; **disagrees**: on the other side; **tie**: it contains zero, so this run cannot tell the two apart, whatever the order of the means. Scores are capped at the divergence threshold (1000 f_0). The last two columns judge the optimizer trained at scale (committed in zoo/ by \`make train-zoo\`; its budget is in the section), on the same test problems against the same tuned baselines; - where none is committed yet. How to rerun and read them: the sections below."
  echo
  echo "| Figure | the paper's claim | here: mean score | learned - best baseline [95% interval] (% of baseline) | verdict | trained at scale (zoo/): learned - best baseline | verdict |"
  echo "|---|---|---|---|---|---|---|"
  for r in $RECIPES; do [ -f "$RES/$r/verdicts.md" ] && cat "$RES/$r/verdicts.md"; done
  return 0
}

total=$(($(date +%s) - start))
mode=${REUSE:+ (REUSE: no training)}
[ -n "${ZOO_ONLY:-}" ] && mode=" (ZOO_ONLY: the optimizers trained at scale in zoo/, no training)"
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
  if [ -n "${ZOO_ONLY:-}" ]; then
    echo "ZOO_ONLY: nothing was meta-trained. The learned optimizer of every figure (LSTM, LSTM-sub) is the one committed in zoo/, trained at scale by \`make train-zoo\` (its budget, wall time and log: zoo/<name>/README.md); the meta-training budgets the sections state are a default run's and do not apply here."
  fi
  echo "The configurations are in each folder's config.txt and results.json."
  echo
  echo "Runs of this script that wrote into $RES/ ($RES/history.txt):"
  echo
  sed 's/^/    /' "$RES/history.txt"
  echo
  zoo=$(zoo_summary_md)
  if [ -n "$zoo" ]; then
    echo "Optimizers trained at scale (\`make train-zoo\`, committed in zoo/; [docs/zoo.md](../docs/zoo.md)), evaluated beside this run's as lstm-scale (and lstm-sub-scale), the phi with the best validation score of the epochs trained so far:"
    echo
    echo "$zoo"
  fi
  echo "Baselines: SGD, NAG, RMSprop and Adam with Torch7 defaults except the learning rate, tuned per problem on validation problems over a log grid (lo:hi:points per decade; Figures 4-6: $GRID, Figure 7: $CIFAR_GRID, Figure 8: $ART_GRID), widened a decade at a time while the best rate sits at an edge, fresh state for every run."
  for r in $RECIPES; do [ -f "$RES/$r/section.md" ] && cat "$RES/$r/section.md"; done
} >"$RES/REPORT.md.tmp"
mv "$RES/REPORT.md.tmp" "$RES/REPORT.md"
if [ -z "${REPORT_ONLY:-}" ]; then  # this run's phases: the next run's [k/N] and ETA
  { echo "# $RUN_KEY"; echo "total $total"; sort -n "$PHASES_NOW" | sed -E 's/^([0-9]+) [0-9]+ /\1 /'; } >"$PHASES.tmp"
  mv "$PHASES.tmp" "$PHASES"
  rm -f "$PHASES_NOW"
fi
log "wrote $RES/REPORT.md"
log "done, $where"
