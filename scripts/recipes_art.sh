# shellcheck shell=bash
# recipes_art.sh: the Neural Art recipes (paper Figures 8 and 9), sourced by scripts/experiments.sh
# after its helpers (log, eval-free helpers section/para/table/verdict/run_counts/tuning_notes,
# $L2L, $RES, $RUNS, $SCALE, $THREADS). Defines functions and budget variables only.
#
#   run_fig8 / section_fig8   meta-train the LSTM on 64x64 crops with the training style
#                             (starry night), evaluate it and the tuned baselines on the test
#                             crops at 64x64 (left) and with a new style (the scream) at 128x128
#                             (right); log-scale curves
#   run_fig9 / section_fig9   content | styled by the LSTM | style PNGs for both settings, and the
#                             same content styled by the best baseline of Figure 8, side by side
#                             (build/art_images), drawn enlarged with captions and the final loss
#                             terms (scripts/plot_images.sh); again with the LSTM trained at scale
#                             (zoo/art-scale) when it is committed
#
# Budgets. Meta-training ART_EPOCHS x ART_PROBLEMS problems x 4 windows, ART_META_BATCH problems
# per meta-update (in a full run it runs earlier on one thread, beside MNIST's: experiments.sh,
# pretrain), validation on ART_VAL crops after every epoch. Then the two panels of Figure 8 side
# by side, one core each (a full run starts each in the first free lane, before Figure 7): left (ART_TEST test crops at 64x64, the six optimizers, tuning on
# ART_TUNE crops over ART_GRID) and right (ART_TEST_128 crops at 128x128, where a step costs 4x:
# the LSTM and ART_OPTIMIZERS_128, tuned on ART_TUNE_128 crops over ART_GRID_128). Measured wall
# times: docs/experiments.md, Neural Art.
#   paper    1,800 training problems (50 epochs x 36), 20 validation, 100 test, tuning on 20
#   smoke    32x32 and 64x64 images, 32 steps (unroll 16): the pipeline in about a minute
ART_STEPS=128 ART_UNROLL=32 ART_SIZE=64 ART_SIZE_TEST=128 ART_THREADS=${ART_THREADS:-2}
case "${SCALE:-default}" in
  default) ART_EPOCHS=5;  ART_PROBLEMS=16; ART_META_BATCH=4; ART_VAL=10; ART_TEST=20;  ART_TUNE=3;  ART_GRID=-2:1:2
           ART_TEST_128=20;  ART_TUNE_128=2;  ART_GRID_128=-2:1:1; ART_IMAGES=3 ;;
  paper)   ART_EPOCHS=50; ART_PROBLEMS=36; ART_META_BATCH=4; ART_VAL=20; ART_TEST=100; ART_TUNE=20; ART_GRID=-4:1:3
           ART_TEST_128=100; ART_TUNE_128=20; ART_GRID_128=-4:1:3; ART_IMAGES=6 ;;
  smoke)   ART_EPOCHS=1;  ART_PROBLEMS=2;  ART_META_BATCH=2; ART_VAL=1;  ART_TEST=2;   ART_TUNE=1;  ART_GRID=-1:0:1
           ART_TEST_128=1;   ART_TUNE_128=1;  ART_GRID_128=-1:0:1; ART_IMAGES=1
           ART_STEPS=32 ART_UNROLL=16 ART_SIZE=32 ART_SIZE_TEST=64 ;;
esac
# Meta-training settings, from a measured sweep (2026-12-06, 64x64, 4 epochs x 8 problems, 10
# validation crops; validation score after each epoch, the untrained phi first):
#   A  output x0.1, meta-lr 3e-3, meta-batch 1   31.1, 2.27, 2.88, 3.19, 1.97   wanders
#   B  output x1,   meta-lr 3e-3, meta-batch 1   29426, 369, 62.3, 15.6, 7.96   steady, far above
#   C  output x0.1, meta-lr 3e-3, meta-batch 4   31.1, 4.53, 2.69, 2.06, 2.19   falls, then +6%
#   D  output x0.1, meta-lr 1e-3, meta-batch 1   31.1, 3.20, 3.23, 2.97, 2.20   slow
# (tuned Adam's score on test crops: about 1.5.) The paper's x1 (no output scaling) starts four
# orders of magnitude above: pixels are in [0, 1], and an untrained LSTM's steps of about +-1 per
# pixel swamp the image. Meta-batches of 4 crops (C) make the validation score fall for three
# epochs where single crops (A) let it jump up and down by 10-40%, at the same number of problems;
# a lower meta-lr (D) is slower. Clipping the meta-gradient entries on top of C does not help:
#   E  C + clip 0.1                               31.1, 2.23, 2.96, 3.30, 5.52   gets worse
#   F  C + clip 1                                 31.1, 2.27, 2.84, 2.26, 2.50   wanders
# No setting is below 1.97 at this budget.
ART_OUT_SCALE=0.1 ART_META_LR=0.003
ART_TRAIN_STYLE=vangogh_starry_night ART_TEST_STYLE=munch_the_scream
# The baselines of Figure 8: the four of the paper, and L-BFGS (nn/lbfgs.h), the usual optimizer
# for this problem (not tuned: it has no learning rate). At 128x128 the two that are the best
# tuned baselines at 64x64 and were at 128x128 in every earlier run (NAG and Adam; SGD and
# RMSprop never were), without L-BFGS (two oracle calls per step): 20 crops fit the hour.
ART_OPTIMIZERS=lstm,sgd,nag,rmsprop,adam,lbfgs ART_OPTIMIZERS_128=lstm,nag,adam

train_art() {
  if [ -n "${REUSE:-}" ] && [ -f "$RUNS/art/phi.ckpt" ]; then log "reusing $RUNS/art/phi.ckpt (REUSE is set)"; return; fi
  if trained_this_run "$RUNS/art"; then log "$RUNS/art/phi.ckpt: trained earlier in this run"; return; fi
  phase "meta-training on Neural Art ${ART_SIZE}x$ART_SIZE ($ART_EPOCHS epochs x $ART_PROBLEMS problems x $((ART_STEPS / ART_UNROLL)) windows, $ART_META_BATCH per meta-update)"
  THREADS=$ART_THREADS $L2L train --task art --art-size "$ART_SIZE" --art-style "$ART_TRAIN_STYLE" --steps "$ART_STEPS" \
    --unroll "$ART_UNROLL" --out-scale "$ART_OUT_SCALE" --meta-lr "$ART_META_LR" --meta-batch "$ART_META_BATCH" \
    --epochs "$ART_EPOCHS" --problems-per-epoch "$ART_PROBLEMS" --val-problems "$ART_VAL" \
    --overwrite true --out "$RUNS/art" >"$RUNS/art.log" 2>&1 || step_failed "$RUNS/art.log"
}

# Meta-updates per epoch (the x axis of the meta-training curve).
art_iters_per_epoch() { echo $((ART_PROBLEMS / ART_META_BATCH * ART_STEPS / ART_UNROLL)); }

# art_eval NAME SIZE STYLE PROBLEMS TUNE GRID OPTIMIZERS (its plot's title: figure_spec in plot_lib.sh)
art_eval() {
  local name=$1 size=$2 style=$3 problems=$4 tune=$5 grid=$6 optimizers=$7
  phase "evaluating $name (${size}x$size, $style)"
  mkdir -p "$RES/$name"
  local learned
  learned_args learned "$RUNS/art/phi.ckpt" art-scale "${optimizers#lstm,}"  # with zoo/art-scale when committed
  THREADS=$ART_THREADS $L2L eval --task art --art-size "$size" --art-style "$style" "${learned[@]}" \
    --steps "$ART_STEPS" --problems "$problems" --tune-problems "$tune" --grid "$grid" --out "$RES/$name" \
    >"$RES/$name/eval.log" 2>&1 || step_failed "$RES/$name/eval.log"
  plot_figure "$RES" "$name"
}

# plot_art_training: the meta-training curve of Figure 8 from $RES/fig8/train_log.csv (also
# redrawn by replot.sh).
plot_art_training() {
  scripts/plot_train_log.sh "$RES/fig8/train_log.csv" "$RES/fig8/meta_training.png" \
    "Neural Art meta-training: validation score on $ART_VAL crops (${ART_SIZE}x$ART_SIZE)" "$(art_iters_per_epoch)"
}

# fig8_prepare: the meta-training (found trained when this run pretrained it) and its curve.
fig8_prepare() {
  train_art
  mkdir -p "$RES/fig8"
  cp "$RUNS/art/train_log.csv" "$RES/fig8/train_log.csv"
  plot_art_training >"$RUNS/fig8_train_plot.log" 2>&1 || step_failed "$RUNS/fig8_train_plot.log"
}
# fig8_panel left|right: one panel's evaluation, on one core (results do not depend on the
# thread count). A full run starts each in a lane as soon as that lane is free
# (experiments.sh); alone, run_fig8 runs them side by side.
fig8_panel() {
  if [ "$1" = right ]; then
    ART_THREADS=1 art_eval fig8_right "$ART_SIZE_TEST" "$ART_TEST_STYLE" "$ART_TEST_128" "$ART_TUNE_128" "$ART_GRID_128" "$ART_OPTIMIZERS_128"
  else
    ART_THREADS=1 art_eval fig8_left "$ART_SIZE" "$ART_TRAIN_STYLE" "$ART_TEST" "$ART_TUNE" "$ART_GRID" "$ART_OPTIMIZERS"
  fi
}
run_fig8() {
  fig8_prepare
  { fig8_panel right; } &
  local lane=$!
  fig8_panel left
  wait $lane
}
section_fig8() {
  SEC=$RES/fig8/section.md
  section "Figure 8: Neural Art"
  para "Paper: trained on 64x64 content images with one style, the LSTM optimizer beats the tuned baselines on test images at 64x64 with that style (left), and still does on a new style at 128x128 (right), 128 steps each."
  para "Here: f = alpha content(relu2_2) + beta style(relu1_1, relu2_1, relu3_1) + gamma TV through VGG-19's conv1_1..conv3_1 (the only layers in the data), alpha = 4e-5, beta = 5e-4, gamma = 10, theta_0 = the content crop itself. The paper gives neither; they were chosen by measurement so that the result is styled (the painting's palette and strokes, the photo recognizable) in 128 steps: with tuned Adam and L-BFGS on test crops, the style term of the result falls to about 4% of the content photo's own at 64x64 and 5% at 128x128, where the weights used before (alpha = beta = 4e-5, gamma = 20, content + N(0, 0.1^2): every term O(1) at the start) left 34% and images that were the photo smoothed. The measurements: tasks/optimizees/art.cpp; Figure 9 gives the ratio of every image. Training style $ART_TRAIN_STYLE, test style $ART_TEST_STYLE. Crops (random S x S windows of the photo scaled to short side 2 S, random flips) of disjoint photo sets: training $(art_photos train | sed "s/ /, /g"); validation $(art_photos val | sed "s/ /, /g"); test $(art_photos test | sed "s/ /, /g"). The test photos are too few for disjoint crops: the test crops are drawn at random places of those $(art_photos test | wc -w) photos, never from a training or validation photo."
  para "Learned optimizer: the paper's 2x20 LSTM with Appendix A preprocessing, unroll $ART_UNROLL, meta-trained on $((ART_EPOCHS * ART_PROBLEMS)) problems ($ART_EPOCHS epochs x $ART_PROBLEMS, $ART_META_BATCH crops per meta-update: $((ART_EPOCHS * $(art_iters_per_epoch))) meta-updates of meta-lr $ART_META_LR; the paper: 1,800 problems), phi from the epoch with the best validation score on $ART_VAL crops. Output scale x$ART_OUT_SCALE where the paper has none (x1). Chosen by a measured sweep of short runs (4 epochs x 8 problems, 10 validation crops; validation score after each epoch, the untrained phi first): x0.1, meta-lr 3e-3, meta-batch 1: 31.1, 2.27, 2.88, 3.19, 1.97 (wanders); x1 (the paper's), same: 29426, 369, 62.3, 15.6, 7.96 (steady but four orders of magnitude above at the start: pixels are in [0, 1], and an untrained LSTM's steps of about +-1 per pixel swamp the image); x0.1, meta-lr 3e-3, meta-batch 4: 31.1, 4.53, 2.69, 2.06, 2.19 (falls for three epochs, then 6% up: the steadiest, chosen); x0.1, meta-lr 1e-3, meta-batch 1: 31.1, 3.20, 3.23, 2.97, 2.20 (slower); the chosen one with the meta-gradient entries clipped at 0.1: 31.1, 2.23, 2.96, 3.30, 5.52 (gets worse), at 1: 31.1, 2.27, 2.84, 2.26, 2.50 (wanders): no clipping."
  para "Meta-training of this run, validation score (mean f over the last 10 steps of the $ART_VAL validation crops) after each epoch, the untrained phi first: $(awk -F, 'NR > 1 { printf "%s%.3f", (NR > 2 ? ", " : ""), $3 }' "$RES/fig8/train_log.csv") ($(art_iters_per_epoch) meta-updates per epoch; \`fig8/train_log.csv\`)."
  para "![Figure 8, meta-training](fig8/meta_training.png)"
  v=$(verdict "$RES/fig8_left" "8 left: Neural Art ${ART_SIZE}x$ART_SIZE, training style" "LSTM lowest at step $ART_STEPS")
  para "**Left, ${ART_SIZE}x$ART_SIZE, training style**: $v"
  para "$(lbfgs_note "$RES/fig8_left/curves.csv" "$ART_STEPS")"
  para "$(run_counts "$RES/fig8_left") $(tuning_notes "$ART_GRID" "$RES/fig8_left")"
  para "![Figure 8 left](fig8_left/fig8_left.png)"
  table "$RES/fig8_left/summary.md"
  v=$(verdict "$RES/fig8_right" "8 right: Neural Art ${ART_SIZE_TEST}x$ART_SIZE_TEST, new style" "LSTM lowest at step $ART_STEPS")
  para "**Right, ${ART_SIZE_TEST}x$ART_SIZE_TEST, new style**: $v"
  para "Cut to fit the hour (a ${ART_SIZE_TEST}x$ART_SIZE_TEST step costs about 4x a ${ART_SIZE}x$ART_SIZE one): the ${ART_SIZE_TEST}x$ART_SIZE_TEST panel runs $ART_TEST_128 test crops with $(sed 's/^lstm,//; s/,/ and /g; s/nag/NAG/; s/adam/Adam/; s/sgd/SGD/; s/rmsprop/RMSprop/' <<<"$ART_OPTIMIZERS_128") (the tuned baselines best at ${ART_SIZE}x$ART_SIZE and in every earlier ${ART_SIZE_TEST}x$ART_SIZE_TEST run; SGD, RMSprop and L-BFGS left out) tuned on $ART_TUNE_128 crops over the grid $ART_GRID_128."
  local note
  note=$(lbfgs_note "$RES/fig8_right/curves.csv" "$ART_STEPS")
  if [ -n "$note" ]; then para "$note"; fi
  para "$(run_counts "$RES/fig8_right") $(tuning_notes "$ART_GRID_128" "$RES/fig8_right")"
  para "![Figure 8 right](fig8_right/fig8_right.png)"
  table "$RES/fig8_right/summary.md"
}

# The photo lists, from the code that fixes them (tasks/optimizees/art.cpp).
art_photos() {
  awk -v set="$1" '$0 ~ "art_" set "_photos\\(\\) \\{" { on = 1; next } on && /return v;/ { exit }
    on { while (match($0, /"[^"]+"/)) { printf "%s ", substr($0, RSTART + 1, RLENGTH - 2); $0 = substr($0, RSTART + RLENGTH) } }' \
    tasks/optimizees/art.cpp | sed 's/ $//'
}

# best_baseline DIR: "name=lr" of the tuned baseline (not lstm*, not lbfgs, which has no rate) with
# the lowest mean f at the last step of DIR.
best_baseline() {
  local name
  name=$(awk -F, 'NR == 1 { for (i = 2; i <= NF; i += 2) n[i] = substr($i, 1, length($i) - 5); next }
    { last = $0 } END { split(last, v, ","); best = ""; for (i in n) if (n[i] !~ /^lstm/ && n[i] != "lbfgs" && v[i] != "null" && (best == "" || v[i] + 0 < bv)) { best = n[i]; bv = v[i] + 0 } print best }' "$1/curves.csv")
  local lr
  lr=$(grep -o "\"setting\": \"$name lr [0-9.e+-]*" "$1/results.json" | head -1 | awk '{ print $NF }')
  echo "$name=${lr:-1}"
}

# fig9_images SIDE PHI OUT: the Figure 9 strips of one panel's setting (left: the training size and
# style; right: the test size and style) by the learned optimizer PHI beside Figure 8's best tuned
# baseline, into OUT, drawn with captions (LSTM_CAPTION names the optimizer in them).
fig9_images() {
  local side=$1 phi=$2 out=$3 size=$ART_SIZE style=$ART_TRAIN_STYLE b
  [ "$side" = right ] && size=$ART_SIZE_TEST style=$ART_TEST_STYLE
  b=$(best_baseline "$RES/fig8_$side")
  phase "Figure 9 images, ${size}x$size ($style), $phi beside $b"
  mkdir -p "$out"
  build/art_images --task art --art-size "$size" --art-style "$style" --phi "$phi" --baseline "$b" \
    --steps "$ART_STEPS" --problems "$ART_IMAGES" --threads "$ART_THREADS" --out "$out" >"$out/images.log" 2>&1 || step_failed "$out/images.log"
  local plotlog=$RUNS/${out##*/}_plot.log
  scripts/plot_images.sh "$out" >"$plotlog" 2>&1 || step_failed "$plotlog"
}
# run_fig9: the strips of this run's optimizer in fig9_<side>/, and of the one trained at scale
# (zoo/art-scale, when committed) in fig9_<side>_scale/, on the same test crops.
run_fig9() {
  local side
  for side in left right; do
    fig9_images $side "$RUNS/art/phi.ckpt" "$RES/fig9_$side"
    if zoo_committed art-scale; then
      LSTM_CAPTION="LSTM at scale" fig9_images $side "$ZOO_DIR/art-scale/phi.ckpt" "$RES/fig9_${side}_scale"
    else rm -rf "$RES/fig9_${side}_scale"; fi
  done
}
# style_table DIR: a markdown table of DIR/images.log, one row per test crop: the LSTM's and the
# baseline's style term relative to the photo's own (style/photo) and their content terms.
style_table() {
  awk 'BEGIN { print "| test crop | photo | LSTM style/photo | LSTM content term | baseline | baseline style/photo | baseline content term |"
               print "|---|---|---|---|---|---|---|" }
    /^test problem / { k = $3; photo = $4; gsub(/[():]/, "", photo); row = 0; next }
    $2 == "f" { row++; gsub(/[(),]/, "")
      if (row == 2) { lr = $11; lc = $5 }
      if (row == 3) printf "| %s | %s | %.1f%% | %s | %s | %.1f%% | %s |\n", k, photo, 100 * lr, lc, $1, 100 * $11, $5 }' "$1/images.log"
}

# fig9_panel_md DIR WHO: DIR's captioned strips and its table of style shares, the optimizer named WHO.
fig9_panel_md() {
  local strip shown
  for strip in "$1"/compare_*.png; do  # the captioned figure, else the plain strip
    [ -f "$strip" ] || continue
    shown=$1/figure_${strip##*/compare_}
    [ -f "$shown" ] || shown=$strip
    para "![${shown##*/}](${1##*/}/${shown##*/})"
  done
  para "Style term of the result as a share of the content photo's own (style/photo: 100% = as far from the painting as the photo; the goal is at most 25%), and the weighted content term alpha L_content (0 at the photo), $2:"
  SEC_TABLE=$(style_table "$1") && printf '%s\n\n' "$SEC_TABLE" >>"$SEC"
}

section_fig9() {
  SEC=$RES/fig9/section.md
  section "Figure 9: styled images"
  para "Paper: content | image styled by the LSTM optimizer | style, for the training setting (64x64) and the new style at 128x128."
  local side label
  for side in left right; do
    label="${ART_SIZE}x$ART_SIZE, training style ($ART_TRAIN_STYLE)"
    [ $side = right ] && label="${ART_SIZE_TEST}x$ART_SIZE_TEST, new style ($ART_TEST_STYLE)"
    para "**$label**; beside: the same content by the best baseline of Figure 8 ($(best_baseline "$RES/fig8_$side")): content | LSTM | baseline | style, enlarged pixel for pixel (scripts/plot_images.sh), under each styled image its final f, f's three weighted terms and the style term's share of the content photo's own, under the content those of the start (theta_0, the content crop itself). Numbers: \`fig9_$side/images.log\`."
    fig9_panel_md "$RES/fig9_$side" "$label, this run's LSTM"
    if [ -f "$RES/fig9_${side}_scale/images.log" ]; then
      para "**$label, the LSTM trained at scale** ($(scale_budget "$RES/fig8_$side" lstm-scale)), on the same test crops beside the same baseline. Numbers: \`fig9_${side}_scale/images.log\`."
      fig9_panel_md "$RES/fig9_${side}_scale" "$label, the LSTM trained at scale"
    fi
  done
}
