#!/usr/bin/env bash
# plot.sh CSV PNG TITLE [FIRST_STEP] [LAST_STEP]
# Loss per step on a log scale, one line per optimizer, from a curves.csv written by `l2l eval`
# (columns: step, then <name>_mean,<name>_std per optimizer). Needs gnuplot.
set -euo pipefail
csv=$1 png=$2 title=$3 first=${4:-0} last=${5:-}
header=$(head -1 "$csv")
IFS=, read -ra cols <<<"$header"
plots=""
for ((i = 1; i < ${#cols[@]}; i += 2)); do
  name=${cols[$i]%_mean}
  lw=2; [ "$name" = lstm ] && lw=3
  plots+="${plots:+, }'$csv' every ::1 using 1:$((i + 1)) with lines lw $lw title '$name'"
done
gnuplot <<GP
set datafile separator ','
set datafile missing 'null'
set terminal pngcairo size 800,560 font 'Sans,11'
set output '$png'
set title "$title"
set xlabel 'step'
set ylabel 'loss (mean over test problems)'
set logscale y
set grid
set key top right
set xrange [$first:$last]
plot $plots
GP
