#!/usr/bin/env bash
# plot_train_log.sh TRAIN_LOG PNG TITLE UPDATES_PER_EPOCH
# A meta-training curve from the train_log.csv of `l2l train` (columns epoch, train meta-loss,
# validation score; epoch -1 is the untrained optimizer): the validation score against
# meta-updates (epoch + 1 times UPDATES_PER_EPOCH), log y, the best epoch marked (the one
# phi.ckpt keeps), so a reader sees whether the training had levelled off. The untrained score
# (often 10-1000x the trained ones) is in the title, not on the axis.
# Is not: the train meta-loss (its scale differs per task and it is noisy; it stays in the CSV).
# Needs gnuplot.
set -euo pipefail
log=$1 png=$2 title=$3 per=$4
[ -f "$log" ] || { echo "plot_train_log.sh: no such file $log (expected a train_log.csv of l2l train)" >&2; exit 2; }
case "$per" in ''|*[!0-9]*|0) echo "plot_train_log.sh: UPDATES_PER_EPOCH must be a positive whole number, got '$per'" >&2; exit 2 ;; esac
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# meta-updates, score; then the best row last in a second block.
untrained=$(awk -F, '$1 == -1 { print $3 }' "$log")
awk -F, -v per="$per" 'NR > 1 && $1 >= 0 && $3 != "" { x = ($1 + 1) * per; print x, $3
    if (best == "" || $3 + 0 < best + 0) { best = $3; bx = x } }
  END { if (best != "") printf "\n\n%s %s\n", bx, best }' "$log" >"$data"
[ -s "$data" ] || { echo "plot_train_log.sh: $log has no validation scores yet" >&2; exit 2; }
gnuplot <<GP
set terminal pngcairo size 800,480 font 'Sans,11'
set output '$png'
set title "$title${untrained:+ (untrained: $(printf '%.4g' "$untrained"))}"
set xlabel 'meta-updates'
set ylabel 'validation score (mean f, last 10 steps)'
set logscale y
set grid ytics mytics lc rgb '#dddddd'
set key top right
plot '$data' index 0 using 1:2 with linespoints lc rgb '#000000' lw 2 pt 7 ps 0.6 title 'after each epoch', \
     '$data' index 1 using 1:2 with points lc rgb '#D55E00' pt 9 ps 2 title 'kept (phi.ckpt)'
GP
