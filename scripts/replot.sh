#!/usr/bin/env bash
# replot.sh [RES]: draw every figure again from the data already in RES (default results/):
# RES/<figure>/curves.csv -> RES/<figure>/<figure>.png, RES/fig6/sweep.csv -> RES/fig6/fig6.png.
# Runs no experiment; use it after changing the plotting scripts. Needs gnuplot.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/plot_lib.sh
RES=${1:-results}
[ -d "$RES" ] || { echo "replot.sh: no folder $RES (give the results folder of a make experiments run)" >&2; exit 2; }
for name in $(curve_figures); do
  if [ -f "$RES/$name/curves.csv" ]; then plot_figure "$RES" "$name" && echo "wrote $RES/$name/$name.png"
  else echo "skipped $name: no $RES/$name/curves.csv"; fi
done
if [ -f "$RES/fig6/sweep.csv" ]; then scripts/plot_sweep.sh "$RES/fig6/sweep.csv" "$RES/fig6/fig6.png" && echo "wrote $RES/fig6/fig6.png"
else echo "skipped fig6: no $RES/fig6/sweep.csv"; fi
