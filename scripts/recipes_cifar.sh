# shellcheck shell=bash
# recipes_cifar.sh: Figure 7 of the paper, the CIFAR-10 CNN, as one recipe of experiments.sh
# (sourced by it; it defines functions only and uses experiments.sh's helpers and variables:
# L2L, RUNS, RES, GRID, REUSE, log, eval_fig, section, para, table, verdict, run_counts,
# tuning_notes).
#
#   run_fig7      trains two learned optimizers and evaluates three panels:
#                   lstm      meta-trained on CIFAR-10 (all labels)         -> $RUNS/cifar10
#                   lstm-sub  meta-trained on CIFAR-5 of labels 5-9 only    -> $RUNS/cifar_sub
#                 fig7_cifar10 (labels 0-9), fig7_cifar5 (labels 0-4), fig7_cifar2 (labels 0,1):
#                 CIFAR-5 and CIFAR-2 run lstm (not retrained) and lstm-sub beside the baselines.
#   section_fig7  the report's section, from the three panels' data.
#
# The held-out labels: CIFAR-5 tests on 0-4 and CIFAR-2 on 0,1, so one LSTM-sub meta-trained on
# labels 5-9 has never seen a test label of either panel (it serves both; a second one trained on
# 2-9 for CIFAR-2 alone would cost another training run for the same question).
#
# Budgets (per scale, CIFAR_* set by set_cifar_scale): a CIFAR step is ~100x an MNIST step, so
# the default scale trains for far fewer meta-iterations than the paper, and tunes on a coarse
# grid (one point per decade, widened at an edge) on few validation problems.

CIFAR_NAMES=(airplane automobile bird cat deer dog frog horse ship truck)
CIFAR_SUB_LABELS=5,6,7,8,9
FIG7_PANELS=("cifar10::CIFAR-10: all 10 labels" "cifar5:0,1,2,3,4:CIFAR-5: labels 0-4" "cifar2:0,1:CIFAR-2: labels 0,1")

set_cifar_scale() {
  case "$1" in
    default) CIFAR_EPOCHS=12; CIFAR_PROBLEMS=4; CIFAR_VAL=10; CIFAR_TEST=20; CIFAR_TUNE=3; CIFAR_GRID=-3:0:2 ;;
    paper)   CIFAR_EPOCHS=100; CIFAR_PROBLEMS=20; CIFAR_VAL=10; CIFAR_TEST=100; CIFAR_TUNE=10; CIFAR_GRID=-4:1:3 ;;
    smoke)   CIFAR_EPOCHS=1; CIFAR_PROBLEMS=1; CIFAR_VAL=1; CIFAR_TEST=1; CIFAR_TUNE=1; CIFAR_GRID=-2:-1:1 ;;
  esac
  CIFAR_STEPS=100 CIFAR_BATCH=128
  if [ "$1" = smoke ]; then CIFAR_STEPS=20 CIFAR_BATCH=32; fi
  return 0
}

# label_names 0,1,2 -> "airplane, automobile, bird"
label_names() {
  local out="" l
  for l in ${1//,/ }; do out+="${out:+, }${CIFAR_NAMES[$l]}"; done
  echo "$out"
}

# train_cifar NAME [LABELS]: meta-train one learned optimizer pair (kernels net, rest net).
train_cifar() {
  local name=$1 labels=${2:-}
  if [ -n "${REUSE:-}" ] && [ -f "$RUNS/$name/phi.ckpt" ]; then log "reusing $RUNS/$name/phi.ckpt (REUSE is set)"; return; fi
  if trained_this_run "$RUNS/$name"; then log "$RUNS/$name/phi.ckpt: trained earlier in this run"; return; fi
  phase "meta-training on CIFAR ($name, labels ${labels:-all}; $CIFAR_EPOCHS epochs x $CIFAR_PROBLEMS problems x $((CIFAR_STEPS / 20)) windows)"
  $L2L train --task cifar --cifar-labels "$labels" --cifar-batch "$CIFAR_BATCH" --steps "$CIFAR_STEPS" --epochs "$CIFAR_EPOCHS" \
    --problems-per-epoch "$CIFAR_PROBLEMS" --val-problems "$CIFAR_VAL" --meta-lr 0.003 --overwrite true \
    --out "$RUNS/$name" >"$RUNS/$name.log" 2>&1 || step_failed "$RUNS/$name.log"
}

# eval_fig7 PANEL LABELS: one panel; the subsets also run lstm-sub. The optimizers trained at
# scale (zoo/cifar10-scale, zoo/cifar-sub-scale) run beside them when committed.
eval_fig7() {
  local panel=$1 labels=$2 learned=(--phi "$RUNS/cifar10/phi.ckpt") names=lstm
  if [ -n "$labels" ]; then learned+=(--phi-sub "$RUNS/cifar_sub/phi.ckpt"); names+=,lstm-sub; fi
  if zoo_committed cifar10-scale; then learned+=(--phi-scale "$ZOO_DIR/cifar10-scale/phi.ckpt"); names+=,lstm-scale; fi
  if [ -n "$labels" ] && zoo_committed cifar-sub-scale; then
    learned+=(--phi-sub-scale "$ZOO_DIR/cifar-sub-scale/phi.ckpt"); names+=,lstm-sub-scale
  fi
  GRID=$CIFAR_GRID eval_fig "fig7_$panel" "$CIFAR_STEPS" "$CIFAR_TEST" "$CIFAR_TUNE" --task cifar \
    --cifar-labels "$labels" --cifar-batch "$CIFAR_BATCH" "${learned[@]}" --optimizers "$names,sgd,nag,rmsprop,adam"
}

# Two lanes: the two trainings side by side, then the CIFAR-10 and CIFAR-5 panels side by side
# (one thread each), then CIFAR-2's alone on both cores (the three panels cost about the same: in
# two lanes, one lane idled for a whole panel; results do not depend on the thread count).
run_fig7() {
  { train_cifar cifar10; } &
  local lane=$!
  train_cifar cifar_sub "$CIFAR_SUB_LABELS"
  wait $lane
  { eval_fig7 cifar10 ""; } &
  lane=$!
  eval_fig7 cifar5 0,1,2,3,4
  wait $lane
  THREADS=2 eval_fig7 cifar2 0,1
}

# accuracies DIR: "lstm 0.41, sgd 0.38, ...": the mean whole-test-set accuracy of each optimizer's
# final theta, from the "optimizers" list of DIR/results.json (l2l eval writes a key per line).
accuracies() {
  sed -n '/^  "optimizers": \[/,$p' "$1/results.json" | grep -oE '"(name|test_accuracy)": ("[a-z-]*"|[-0-9.e+]*)' |
    awk -F': ' '{ gsub(/"/, "") } $1 == "name" { n = $2 } $1 == "test_accuracy" { printf "%s%s %.3f", k++ ? ", " : "", n, $2 }'
}

section_fig7() {
  SEC=$RES/fig7/section.md
  section "Figure 7: CIFAR-10, CIFAR-5 and CIFAR-2"
  para "Paper: on the CIFAR-10 CNN (three 5x5 conv layers with batch norm, ReLU and max-pooling, then a 32-unit layer; two LSTMs, one for the conv kernels and one for the other parameters) the LSTM optimizer is below the tuned baselines over 100 steps; on CIFAR-5 and CIFAR-2 both the CIFAR-10 LSTM (not retrained) and LSTM-sub (trained only on held-out labels) beat the baselines, LSTM-sub being a little better early on."
  para "Meta-training here: $CIFAR_EPOCHS epochs x $CIFAR_PROBLEMS problems x $((CIFAR_STEPS / 20)) windows of 20 steps = $((CIFAR_EPOCHS * CIFAR_PROBLEMS * CIFAR_STEPS / 20)) meta-iterations per optimizer (the paper's budget is far larger: see SCALE=paper), $CIFAR_VAL validation problems; lstm on all 10 labels, lstm-sub on labels 5-9 ($(label_names $CIFAR_SUB_LABELS)). Test: $CIFAR_TEST problems from the 10,000 test images; baselines tuned on $CIFAR_TUNE validation problems over the grid $CIFAR_GRID (lo:hi:points per decade, widened at an edge)."
  local p tag labels label d
  for p in "${FIG7_PANELS[@]}"; do
    IFS=: read -r tag labels label <<<"$p"
    d=$RES/fig7_$tag
    [ -f "$d/curves.csv" ] || continue
    para "**$label** ($([ -n "$labels" ] && label_names "$labels" || echo "all classes"))"
    v=$(verdict "$d" "7: $label" "LSTM lowest at step $CIFAR_STEPS" "" lstm)
    para "LSTM: $v"
    if grep -q '^lstm-sub,' "$d/runs.csv"; then
      v=$(verdict "$d" "7: $label" "LSTM-sub lowest at step $CIFAR_STEPS" "" lstm-sub)
      para "LSTM-sub: $v"
    fi
    para "Accuracy of the final theta on the whole test split its minibatches came from (the paper's protocol; mean over the test runs): $(accuracies "$d")."
    para "$(run_counts "$d") $(tuning_notes "$CIFAR_GRID" "$d")"
    para "![Figure 7 $label](fig7_$tag/fig7_$tag.png)"
    table "$d/summary.md"
  done
}
