#!/usr/bin/env bash
# replot.sh [RES]: draw every figure again from the data already in RES (default results/):
# RES/<figure>/curves.csv -> RES/<figure>/<figure>.png, RES/fig6/sweep.csv -> RES/fig6/fig6.png,
# RES/fig9_<side>[_scale]/compare_<k>.png and images.log -> RES/fig9_<side>[_scale]/figure_<k>.png,
# RES/fig8/train_log.csv -> RES/fig8/meta_training.png (Neural Art's meta-training curve).
# Runs no experiment; use it after changing the plotting scripts. Needs gnuplot.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/plot_lib.sh
source scripts/recipes_art.sh  # best_baseline: the baseline Figure 9 was drawn beside
RES=${1:-results}
[ -d "$RES" ] || { echo "replot.sh: no folder $RES (give the results folder of a make experiments run)" >&2; exit 2; }
for name in $(curve_figures); do
  if [ -f "$RES/$name/curves.csv" ]; then plot_figure "$RES" "$name" && echo "wrote $RES/$name/$name.png"
  else echo "skipped $name: no $RES/$name/curves.csv"; fi
done
if [ -f "$RES/fig8/train_log.csv" ]; then plot_art_training; else echo "skipped fig8's meta-training curve: no $RES/fig8/train_log.csv"; fi
if [ -f "$RES/fig6/sweep.csv" ]; then scripts/plot_sweep.sh "$RES/fig6/sweep.csv" "$RES/fig6/fig6.png" && echo "wrote $RES/fig6/fig6.png"
else echo "skipped fig6: no $RES/fig6/sweep.csv"; fi
for side in left right; do
  d=$RES/fig9_$side
  if [ -f "$d/images.log" ]; then
    # images.log written before art_images named the baseline's rate: Figure 8's best (as run_fig9 chose it)
    b=""
    [ -f "$RES/fig8_$side/curves.csv" ] && b=$(best_baseline "$RES/fig8_$side")
    scripts/plot_images.sh "$d" "$b"
  else echo "skipped fig9_$side: no $d/images.log"; fi
  if [ -f "${d}_scale/images.log" ]; then LSTM_CAPTION="LSTM at scale" scripts/plot_images.sh "${d}_scale"; fi
done
