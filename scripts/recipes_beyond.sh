# shellcheck shell=bash
# recipes_beyond.sh: "Beyond the paper", one recipe of experiments.sh (sourced by it;
# it defines functions and budget variables only and uses experiments.sh's helpers and variables:
# L2L, RUNS, RES, SCALE, REUSE, log, section, para, table, step_value, run_counts,
# tuning_notes). Opt-in: `ONLY=beyond make experiments`.
#
#   run_beyond      meta-trains on the MNIST 1x20 sigmoid net, all at the same budget in
#                   meta-iterations (BEYOND_ITERS below):
#                     paper     the paper's LSTM (logsign inputs, horizon 100)   -> $RUNS/beyond_paper
#                     improved  every change of BEYOND_CHANGES together          -> $RUNS/beyond_improved
#                     no-NAME   the improved one without change NAME (ablation: all-but-one, one
#                               run per change, which shows what each change adds to the others)
#                   and evaluates them against tuned SGD, NAG, RMSprop and Adam on fresh test
#                   problems: beyond_s200 (the training net, 200 steps), beyond_s1000 (1,000
#                   steps; the baselines keep the rates tuned for 200 steps), beyond_relu (ReLU
#                   net, 100 steps), beyond_l2 (2 hidden layers of 20, 100 steps). In each folder
#                   the main eval (improved as lstm, the paper's as lstm-paper, the baselines; a
#                   plot) and one lstm-only eval per ablation run in ablation_NAME/ (the test
#                   problems come from fixed seeds, so every optimizer sees the same ones).
#   section_beyond  the report's section: the issue's four targets, each met or not with its
#                   numbers, the table of every optimizer on every setting, the plots.
#
# The changes (flags of l2l train, each off by default; sources in README "Beyond the paper"):
#   curriculum  --curriculum 100,200 --steps 200: horizon 100 for the first half of the epochs,
#               200 for the second (Chen et al. 2020), validated on 200 steps. A horizon-200
#               epoch costs twice the meta-iterations, so curriculum runs take 2/3 of the
#               problems per epoch: the same meta-iterations as the others.
#   adamnorm    --preprocess adamnorm: RNNprop's inputs m/sqrt(v), g/sqrt(v) (Lv et al. 2017).
#   scale       --random-scale 1: each training problem's f times exp(U(-1, 1)) (RNNprop).
#
# Budgets (default scale): five trainings of 720 meta-iterations in two lanes (3 | 2), then the
# evaluations in two lanes: 13 min 32 s in all (measured 2026-12-06, beside two low-priority
# trainings; 25 min 52 s idle on the code before the fused window and the AVX-512 kernels).
# Smoke: ~7 min on a loaded machine (measured; not timed idle). Paper: 10,200
# meta-iterations per training (the paper's 10,000+).

# NAME:FLAGS of each change of the improved optimizer.
BEYOND_CHANGES=("curriculum:--curriculum 100,200 --steps 200" "adamnorm:--preprocess adamnorm" "scale:--random-scale 1")
case "${SCALE:-default}" in
  default) BEYOND_EPOCHS=12; BEYOND_PROBLEMS=12; BEYOND_VAL=5; BEYOND_TEST=20; BEYOND_TEST_LONG=8; BEYOND_TUNE=3
           BEYOND_GRID=-3:1:2; BEYOND_LONG=1000 ;;
  paper)   BEYOND_EPOCHS=68; BEYOND_PROBLEMS=30; BEYOND_VAL=10; BEYOND_TEST=100; BEYOND_TEST_LONG=50; BEYOND_TUNE=10
           BEYOND_GRID=-4:1:3; BEYOND_LONG=1000 ;;
  smoke)   BEYOND_EPOCHS=2; BEYOND_PROBLEMS=3; BEYOND_VAL=1; BEYOND_TEST=2; BEYOND_TEST_LONG=1; BEYOND_TUNE=1
           BEYOND_GRID=-2:0:1; BEYOND_LONG=300 ;;
  *) BEYOND_EPOCHS=0 BEYOND_PROBLEMS=0 BEYOND_LONG=0 ;;  # experiments.sh refuses an unknown SCALE
esac
BEYOND_ITERS=$((BEYOND_EPOCHS * BEYOND_PROBLEMS * 5))  # meta-iterations of each training (U = 20, T = 100)
# Panels: TAG:STEPS:EVAL_FLAGS:TITLE
BEYOND_PANELS=("s200:200::MNIST 1x20 sigmoid (the training net), 200 steps"
  "s1000:$BEYOND_LONG::MNIST 1x20 sigmoid, $BEYOND_LONG steps"
  "relu:100:--mnist-act relu:MNIST 1x20 ReLU, 100 steps"
  "l2:100:--mnist-hidden 20,20:MNIST 2x20 sigmoid, 100 steps")

# beyond_flags NAME...: the l2l train flags of the changes NAME... (from BEYOND_CHANGES).
beyond_flags() {
  local c name flags out=""
  for c in "${BEYOND_CHANGES[@]}"; do
    name=${c%%:*} flags=${c#*:}
    [[ " $* " == *" $name "* ]] && out+=" $flags"
  done
  echo "$out"
}
beyond_change_names() { local c; for c in "${BEYOND_CHANGES[@]}"; do printf '%s ' "${c%%:*}"; done; }

# train_beyond RUN FLAGS...: one training at the budget; with --curriculum 100,200, 2/3 of the
# problems per epoch (its second half costs twice), so the same meta-iterations.
train_beyond() {
  local run=$1 problems=$BEYOND_PROBLEMS
  shift
  if [ -n "${REUSE:-}" ] && [ -f "$RUNS/$run/phi.ckpt" ]; then log "reusing $RUNS/$run/phi.ckpt (REUSE is set)"; return; fi
  [[ " $* " == *" --curriculum "* ]] && problems=$((BEYOND_PROBLEMS * 2 / 3))
  phase "beyond: meta-training $run ($BEYOND_EPOCHS epochs x $problems problems, ~$BEYOND_ITERS meta-iterations${*:+; $*})"
  # shellcheck disable=SC2068
  $L2L train --task mnist --epochs "$BEYOND_EPOCHS" --problems-per-epoch "$problems" --meta-lr 0.003 --out-scale 0.1 \
    --val-problems "$BEYOND_VAL" $@ --overwrite true --out "$RUNS/$run" >"$RUNS/$run.log" 2>&1 || step_failed "$RUNS/$run.log"
}

# The ablation runs: no-NAME for each change NAME.
train_beyond_ablation() {
  local skip n keep
  for skip in "$@"; do
    keep=""
    for n in $(beyond_change_names); do [ "$n" = "$skip" ] || keep+=" $n"; done
    # shellcheck disable=SC2046
    train_beyond "beyond_no-$skip" $(beyond_flags "$keep")
  done
}

# best_rates DIR: "sgd=0.1,nag=1,..." from the tuning of DIR/results.json.
best_rates() {
  sed -n '/"tuning"/,/"optimizers"/p' "$1/results.json" | tr -d ' \n' | grep -oE '"[a-z]+":\{"best_lr":[-0-9.e+]+' |
    sed -E 's/"([a-z]+)":\{"best_lr":/\1=/' | paste -sd, -
}

# eval_beyond_main TAG: improved (lstm), paper (lstm-paper) and the tuned baselines; plot.
eval_beyond_main() {
  local p tag steps flags title d extra=()
  for p in "${BEYOND_PANELS[@]}"; do IFS=: read -r tag steps flags title <<<"$p"; [ "$tag" = "$1" ] && break; done
  d=$RES/beyond_$tag
  mkdir -p "$d"
  local problems=$BEYOND_TEST
  if [ "$tag" = s1000 ]; then problems=$BEYOND_TEST_LONG extra=(--lr "$(best_rates "$RES/beyond_s200")"); fi
  local learned=(--phi "$RUNS/beyond_improved/phi.ckpt" --phi-sub "$RUNS/beyond_paper/phi.ckpt") names=lstm,lstm-sub
  if zoo_committed beyond-mnist-scale; then  # the improved LSTM trained at scale, as lstm-scale
    learned+=(--phi-scale "$ZOO_DIR/beyond-mnist-scale/phi.ckpt"); names+=,lstm-scale
  fi
  phase "beyond: evaluating $tag ($steps steps)"
  # shellcheck disable=SC2086
  $L2L eval --task mnist $flags --steps "$steps" --problems "$problems" --tune-problems "$BEYOND_TUNE" --grid "$BEYOND_GRID" \
    "${learned[@]}" --optimizers "$names,sgd,nag,rmsprop,adam" "${extra[@]}" --out "$d" >"$d/eval.log" 2>&1 || step_failed "$d/eval.log"
  # The second learned optimizer is eval's lstm-sub; here it is the paper's LSTM.
  sed -i '1s/lstm-sub_/lstm-paper_/g' "$d/curves.csv"
  sed -i 's/^lstm-sub,/lstm-paper,/' "$d/runs.csv"
  sed -i 's/^| lstm-sub |/| lstm-paper |/; s/^| lstm |/| lstm-improved |/' "$d/summary.md"
  local first=0
  [ "$steps" -gt 100 ] && first=100
  scripts/plot.sh "$d/curves.csv" "$d/beyond_$tag.png" "Beyond the paper: $title" "$first" "$steps"
}

# eval_beyond_ablation: each no-NAME run, lstm only, on every panel.
eval_beyond_ablation() {
  local p tag steps flags title name problems
  for p in "${BEYOND_PANELS[@]}"; do
    IFS=: read -r tag steps flags title <<<"$p"
    problems=$BEYOND_TEST
    [ "$tag" = s1000 ] && problems=$BEYOND_TEST_LONG
    for name in $(beyond_change_names); do
      phase "beyond: evaluating no-$name on $tag"
      mkdir -p "$RES/beyond_$tag/ablation_$name"
      # shellcheck disable=SC2086
      $L2L eval --task mnist $flags --steps "$steps" --problems "$problems" --optimizers lstm --phi "$RUNS/beyond_no-$name/phi.ckpt" \
        --out "$RES/beyond_$tag/ablation_$name" >"$RES/beyond_$tag/ablation_$name/eval.log" 2>&1 || step_failed "$RES/beyond_$tag/ablation_$name/eval.log"
    done
  done
}

# Two lanes, twice: the trainings (paper and two ablation runs | improved and the last ablation
# run), then the evaluations (the ablation runs, ReLU, 2-layer | s200, then s1000 with s200's
# tuned rates).
run_beyond() {
  local names
  read -ra names <<<"$(beyond_change_names)"
  {
    train_beyond beyond_paper
    train_beyond_ablation "${names[@]:0:2}"
  } &
  local lane=$!
  # shellcheck disable=SC2046
  train_beyond beyond_improved $(beyond_flags "${names[*]}")
  train_beyond_ablation "${names[@]:2}"
  wait $lane
  { eval_beyond_ablation && eval_beyond_main relu && eval_beyond_main l2; } &
  lane=$!
  eval_beyond_main s200
  eval_beyond_main s1000
  wait $lane
}

# ---- the report section --------------------------------------------------------------------

# beyond_value TAG OPT STEP: the mean f of OPT at STEP on panel TAG (ablation runs: no-NAME).
beyond_value() {
  local d=$RES/beyond_$1 o=$2
  if [[ $o == no-* ]]; then d=$d/ablation_${o#no-} o=lstm; fi
  [ -f "$d/curves.csv" ] || return 0
  step_value "$d/curves.csv" "$o" "$3" | awk '{ printf($1 == "null" ? "diverged" : "%.4g", $1) }'
}

# beyond_lower_runs TAG OPT: "k of n" runs whose f at the last step is below f at step 100.
beyond_lower_runs() {
  local f=$RES/beyond_$1/runs.csv o=$2
  if [[ $o == no-* ]]; then f=$RES/beyond_$1/ablation_${o#no-}/runs.csv o=lstm; fi
  [ -f "$f" ] || return 0
  # runs.csv has a column f_t for every step: compare f_100 with the last one.
  awk -F, -v o="$o" 'NR == 1 { for (i = 3; i <= NF; i++) if ($i == "f_100") c = i; next }
    $1 == o { n++; if ($NF != "null" && $c != "null" && $NF + 0 < $c + 0) k++ } END { printf "%d of %d", k, n }' "$f"
}

# beyond_below TAG STEP [OPT] [LABEL]: "**met**: ..." if OPT (default lstm, the improved LSTM) is
# below every tuned baseline (sgd, nag, rmsprop, adam; a diverged mean is null) at STEP on panel TAG.
beyond_below() {
  awk -F, -v step="$2" -v opt="${3:-lstm}" -v label="${4:-the improved LSTM}" '
    NR == 1 { for (i = 2; i <= NF; i += 2) name[i] = substr($i, 1, length($i) - 5); next }
    $1 == step { best = ""; for (i = 2; i <= NF; i += 2) { if (name[i] == opt) l = $i
        else if (name[i] ~ /^(sgd|nag|rmsprop|adam)$/ && $i != "null" && (best == "" || $i + 0 < best + 0)) { best = $i; bn = name[i] } }
      met = l != "null" && l + 0 < best + 0
      printf "**%s**: %s %.4g, the best tuned baseline %s %.4g (%s %.1f%%).", met ? "met" : "not met", label, l, bn, best,
        met ? "lower by" : "higher by", met ? 100 * (best - l) / best : 100 * (l - best) / best }' "$RES/beyond_$1/curves.csv"
}

# The table: every optimizer on every panel.
beyond_table() {
  local long o row
  long=$BEYOND_LONG
  echo "| optimizer | f at 200 (1x20 sigmoid) | f at 100 / $long ($long-step runs) | runs lower at $long than at 100 | ReLU f at 100 | 2x20 f at 100 |"
  echo "|---|---|---|---|---|---|"
  for o in lstm lstm-paper $(for n in $(beyond_change_names); do printf 'no-%s ' "$n"; done) sgd nag rmsprop adam; do
    local label=$o
    case $o in lstm) label="improved LSTM (all changes)" ;; lstm-paper) label="paper's LSTM" ;; no-*) label="improved without ${o#no-}" ;; esac
    row="| $label | $(beyond_value s200 "$o" 200) | $(beyond_value s1000 "$o" 100) / $(beyond_value s1000 "$o" "$long")"
    row+=" | $(beyond_lower_runs s1000 "$o") | $(beyond_value relu "$o" 100) | $(beyond_value l2 "$o" 100) |"
    echo "$row"
  done
}

# section_beyond_scale: targets 1-3 for the improved LSTM trained at scale (zoo/beyond-mnist-scale,
# lstm-scale in the panels), judged with paired intervals (verdict: the last 10 steps of each run
# against the best tuned baseline); their rows join the report's verdict table. Nothing when the
# panels did not run it.
section_beyond_scale() {
  grep -q '^lstm-scale,' "$RES/beyond_s200/runs.csv" 2>/dev/null || return 0
  local v1 v2
  v1=$(build/l2l verdict --dir "$RES/beyond_s200" --learned lstm-scale) || return 1
  v2=$(build/l2l verdict --dir "$RES/beyond_relu" --learned lstm-scale) || return 1
  printf '| beyond: 1x20 sigmoid, 200 steps, improved LSTM at scale | lowest at step 200 | - | - | - | %s |\n' \
    "$(verdict_diff_cells "$RES/beyond_s200/verdict_lstm-scale.json")" >>"$VROWS"
  printf '| beyond: ReLU, improved LSTM at scale | lowest at step 100 | - | - | - | %s |\n' \
    "$(verdict_diff_cells "$RES/beyond_relu/verdict_lstm-scale.json")" >>"$VROWS"
  para "**The improved LSTM trained at scale** ($(scale_budget "$RES/beyond_s200" lstm-scale)), paired per test problem: target 1, $v1 Target 2, $v2 Target 3: f at step $BEYOND_LONG below f at step 100 on $(beyond_lower_runs s1000 lstm-scale) runs (mean $(beyond_value s1000 lstm-scale 100) / $(beyond_value s1000 lstm-scale "$BEYOND_LONG"))."
}

section_beyond() {
  SEC=$RES/beyond/section.md
  section "Beyond the paper: past the horizon, ReLU, and which change buys what"
  local improved
  improved=$(beyond_flags "$(beyond_change_names)")
  para "The paper's optimizer, run past its 100-step horizon, falls behind tuned NAG and Adam, and it fails on a ReLU net (Figures 4 right and 5 above). Later work fixed both without changing the idea; here three of those fixes are options of \`l2l train\` (off by default), trained together as the *improved LSTM*:${improved}. curriculum: Chen et al. 2020, horizon 100 for the first half of the epochs and 200 for the second, validated on 200 steps; adamnorm: RNNprop's Adam-like inputs (Lv et al. 2017); scale: RNNprop's random scaling of the training problems by exp(U(-1, 1))."
  para "Meta-training: every optimizer here ~$BEYOND_ITERS meta-iterations on the MNIST 1x20 sigmoid net ($BEYOND_EPOCHS epochs; $BEYOND_PROBLEMS problems per epoch, $((BEYOND_PROBLEMS * 2 / 3)) with the curriculum, whose second half costs twice), far below the paper's 10,000+ (SCALE=paper). The paper's LSTM is retrained at this budget, so it is weaker than Figure 4's ($((MNIST_EPOCHS * MNIST_PROBLEMS * 5)) meta-iterations). Test: $BEYOND_TEST problems ($BEYOND_TEST_LONG for $BEYOND_LONG steps); baselines tuned on $BEYOND_TUNE validation problems over the grid $BEYOND_GRID (lo:hi:points per decade, widened at an edge); at $BEYOND_LONG steps the baselines keep the rates tuned for 200 steps (tuning at $BEYOND_LONG steps would double the recipe)."
  local relu_l relu_a lower
  relu_l=$(step_value "$RES/beyond_relu/curves.csv" lstm 100) relu_a=$(step_value "$RES/beyond_relu/curves.csv" adam 100)
  lower=$(beyond_lower_runs s1000 lstm)
  para "**Target 1** (step 200 of the 1x20 sigmoid net, the improved LSTM below every tuned baseline): $(beyond_below s200 200)"
  para "**Target 2** (ReLU net at step 100, the improved LSTM at or below tuned Adam): $(awk -v l="$relu_l" -v a="$relu_a" 'BEGIN {
    printf "**%s**: improved LSTM %.4g, Adam %.4g.", (l != "" && l != "null" && l + 0 <= a + 0) ? "met" : "not met", l, a }')"
  para "**Target 3** (stable to $BEYOND_LONG steps: f at step $BEYOND_LONG below f at step 100 on every test run): $(awk -v s="$lower" 'BEGIN {
    split(s, w, " "); printf "**%s**: %s runs.", (w[1] == w[3] && w[3] > 0) ? "met" : "not met", s }') Mean f at 100 / $BEYOND_LONG: $(beyond_value s1000 lstm 100) / $(beyond_value s1000 lstm "$BEYOND_LONG") (the paper's LSTM: $(beyond_value s1000 lstm-paper 100) / $(beyond_value s1000 lstm-paper "$BEYOND_LONG"), $(beyond_lower_runs s1000 lstm-paper) runs lower)."
  para "**Target 4** (the paper's figures unchanged with the options off): each option is off by default, and tests/test_beyond.cpp checks it bit for bit: gac 0 is the paper's update from its own parameters, random scale 0 leaves every problem's f and gradient, and meta-training without a curriculum (or with the one-stage curriculum at --steps) gives the same phi as the paper's loop written out by hand."
  section_beyond_scale
  para "2-layer net (no target; the paper's Figure 5 setting), below every tuned baseline at step 100: $(beyond_below l2 100)"
  para "Every optimizer on every setting (mean f over the test runs; 'improved without X': the ablation, one training per change with the other changes kept):"
  beyond_table >>"$SEC"
  printf '\n' >>"$SEC"
  local p tag steps flags title
  for p in "${BEYOND_PANELS[@]}"; do
    IFS=: read -r tag steps flags title <<<"$p"
    para "**$title**, below every tuned baseline at step $steps: improved $(beyond_below "$tag" "$steps") Paper's: $(beyond_below "$tag" "$steps" lstm-paper "the paper's LSTM")"
    para "$(run_counts "$RES/beyond_$tag") $(tuning_notes "$BEYOND_GRID" "$RES/beyond_$tag")"
    para "![Beyond: $title](beyond_$tag/beyond_$tag.png)"
    sed 's/^| lstm-sub |/| lstm-paper |/; s/^| lstm |/| lstm-improved |/' "$RES/beyond_$tag/summary.md" >>"$SEC"
    printf '\n' >>"$SEC"
  done
  para "Meta-training logs: \`$RUNS/beyond_*/train_log.csv\` (epoch, train meta-loss, validation score: mean f over the last 10 steps); phi is the epoch with the lowest validation score. In the tables, lstm-improved is the improved LSTM and lstm-paper the paper's (curves.csv and runs.csv call them lstm and lstm-paper)."
}
