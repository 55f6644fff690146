#!/usr/bin/env bash
# plot_train_log.sh TRAIN_LOG PNG TITLE ITERS_PER_EPOCH
# The meta-training curve: the validation score (mean f over the last 10 steps on the fixed
# validation problems; `l2l train`'s train_log.csv, columns epoch,train_meta_loss,val_score)
# against meta-iterations, ITERS_PER_EPOCH per epoch, so a reader sees whether the training had
# levelled off. Log y axis; the epoch kept as phi (the lowest score) is marked. The untrained
# phi's score (epoch -1, often 10-1000x the trained ones) is in the title, not on the axis.
# Needs gnuplot.
# Is not: a plot of the training meta-loss (a sum over a window's steps, on other problems).
set -euo pipefail
source "$(dirname "$0")/plot_lib.sh"
log=${1:?usage: plot_train_log.sh TRAIN_LOG PNG TITLE ITERS_PER_EPOCH} png=${2:?PNG} title=${3:?TITLE} per=${4:?ITERS_PER_EPOCH}
[ -f "$log" ] || { echo "plot_train_log.sh: no such file $log (l2l train writes OUT/train_log.csv)" >&2; exit 2; }
[[ $per =~ ^[1-9][0-9]*$ ]] || { echo "plot_train_log.sh: ITERS_PER_EPOCH must be a positive integer, got '$per'" >&2; exit 2; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# meta-iterations, score of every trained epoch; then the range and the best point
untrained=$(awk -F, 'NR > 1 && $1 == -1 && $3 != "" { printf "%.4g", $3 }' "$log")
awk -F, -v per="$per" 'NR > 1 && $1 >= 0 && $3 != "" { print ($1 + 1) * per, $3 }' "$log" >"$data"
[ -s "$data" ] || { echo "plot_train_log.sh: $log has no validation scores of a trained epoch" >&2; exit 2; }
read -r lo hi bx by <<<"$(awk 'NR == 1 || $2 < lo { lo = $2; bx = $1 } NR == 1 || $2 > hi { hi = $2 } END { print lo / 1.15, hi * 1.15, bx, lo }' "$data")"
# With one point (only the first epoch), the x range starts at 0: gnuplot has none to pick.
gnuplot <<GP
set terminal pngcairo size 720,420 font 'Sans,11' noenhanced
set output '$png'
set title "$title${untrained:+ (untrained: $untrained)}"
set xlabel 'meta-iterations (updates of phi)'
set ylabel 'validation score (mean f, last 10 steps)'
set logscale y
set yrange [$lo:$hi]
$([ "$(wc -l <"$data")" = 1 ] && echo "set xrange [0:$((2 * bx))]")
$(log_tics y "$lo" "$hi")
set grid ytics xtics
set key top right
plot '$data' using 1:2 with linespoints $(style lstm) title 'LSTM, after each epoch', \
     '+' using ($bx):($by) every ::0::0 with points pt 6 ps 2.5 lc rgb '#D55E00' lw 2 title 'kept as phi (lowest)'
GP
echo "wrote $png: $(wc -l <"$data") validation scores after training${untrained:+ (untrained $untrained)}, lowest $by at $bx meta-iterations"
