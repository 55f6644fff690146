#!/usr/bin/env bash
# plot_sweep.sh SWEEP_CSV PNG
# Figure 6: final loss vs hidden units, one panel per number of hidden layers (1, 2, 3), one line
# per optimizer (palette and dashes: plot_lib.sh), from the sweep.csv experiments.sh writes
# (columns layers,units,lstm,sgd,nag,rmsprop,adam; `null` = diverged). Error bars of +-1 standard
# error of the mean come from each architecture's own eval folder next to SWEEP_CSV
# (l<layers>_u<units>/curves.csv at its last step and results.json's problem count); without
# them the bars are left out and the title says so. Both axes are logarithmic, the y range one
# for the three panels (aligned), the key below them (off the data); the training architecture
# (1 layer of 20 units) is marked. Needs gnuplot.
set -euo pipefail
source "$(dirname "$0")/plot_lib.sh"
sweep=$1 png=$2
[ -f "$sweep" ] || { echo "plot_sweep.sh: no such file $sweep (expected results/fig6/sweep.csv)" >&2; exit 2; }
dir=$(dirname "$sweep")
IFS=, read -ra cols <<<"$(head -1 "$sweep")"
names=("${cols[@]:2}")

# data.csv: layers,units, then mean,se per optimizer (se 0 when the eval folder is missing).
data=$(mktemp)
trap 'rm -f "$data"' EXIT
have_se=1
while IFS=, read -r layers units rest; do
  run="$dir/l${layers}_u${units}"
  n=$(problems_of "$run")
  [ -f "$run/curves.csv" ] && [ -n "$n" ] || have_se=0
  awk -F, -v layers="$layers" -v units="$units" -v means="$rest" -v n="${n:-0}" -v names="${names[*]}" '
    NR == 1 { for (i = 2; i <= NF; i += 2) col[substr($i, 1, length($i) - 5)] = i; next }
    { for (i = 1; i <= NF; i++) last[i] = $i }
    END { k = split(means, m, ","); split(names, nm, " "); row = layers "," units
      for (j = 1; j <= k; j++) { c = col[nm[j]]; se = (n > 0 && c && last[c + 1] != "") ? last[c + 1] / sqrt(n) : 0
        row = row "," m[j] "," (m[j] == "null" ? "null" : se) }
      print row }' "$( [ -f "$run/curves.csv" ] && echo "$run/curves.csv" || echo /dev/null)"
done < <(tail -n +2 "$sweep") >"$data"
note="error bars: +-1 standard error over the test problems"
[ "$have_se" = 1 ] || note="no error bars: the per-architecture eval folders are missing"

# One y range for the three panels (band edges, 6% margin), so that they read side by side.
read -r lo hi <<<"$(awk -F, '{ for (i = 3; i < NF; i += 2) if ($i != "null") {
    m = $i + 0; se = $(i + 1) + 0; a = m - se > 0 ? m - se : m; b = m + se
    if (lo == "" || a < lo) lo = a; if (b > hi) hi = b } }
  END { g = exp(0.06 * log(hi / lo)); printf "%.6g %.6g\n", lo / g, hi * g }' "$data")"
panels=""
for L in 1 2 3; do
  plot="" c=3
  for name in "${names[@]}"; do
    plot+="${plot:+, }'$data' using (\$1 == $L ? \$2 : 1/0):$c:$((c + 1)) with yerrorlines $(style "$name") ps 1.2 title '$name'"
    c=$((c + 2))
  done
  # The key of the first panel goes below the three (off the data), in one row.
  panels+="
set title '$L hidden layer$([ "$L" -gt 1 ] && echo s)'
$([ "$L" = 1 ] && echo "set arrow 1 from 20, graph 0 to 20, graph 1 nohead dt 2 lw 1.5 lc rgb '#888888'
set label 2 'trained on 1 x 20' at 20, graph 0.04 right offset -0.5,0 font 'Sans,9' textcolor rgb '#666666'" || echo "unset arrow 1; unset label 2")
$([ "$L" = 1 ] && echo "set key at screen 0.5, screen 0.01 center bottom horizontal maxcols 5 maxrows 1 box samplen 3 spacing 1.1 width 1 font 'Sans,10'" || echo "unset key")
$([ "$L" = 1 ] && echo "set ylabel 'f at step 100 (mean over test problems)'" || echo "set ylabel ''")
plot $plot"
done

gnuplot <<GP
set datafile separator ','
set datafile missing 'null'
set terminal pngcairo size 1000,480 font 'Sans,10'
set output '$png'
set multiplot layout 1,3 title "Figure 6: f at step 100 vs hidden units (sigmoid); trained on 1 x 20 (dashed)${SMOKE_NOTE:+ [$SMOKE_NOTE]}\n($note; the same y axis in the three panels)" noenhanced margins 0.08,0.99,0.23,0.82 spacing 0.04,0
set logscale xy
set xrange [4.2:48]
set xtics ('5' 5, '10' 10, '20' 20, '40' 40)
set grid xtics ytics lc rgb '#dddddd' lw 1 dt 1
set xlabel 'hidden units'
$(log_tics y "$lo" "$hi")
set yrange [$lo:$hi]
set bars 0.5
$panels
unset multiplot
GP
