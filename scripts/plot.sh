#!/usr/bin/env bash
# plot.sh CSV PNG TITLE [FIRST_STEP] [LAST_STEP] [PROBLEMS] [diff]
# Loss per step from a curves.csv written by `l2l eval` (columns: step, then <name>_mean,<name>_std
# per optimizer; a mean of `null` means that optimizer diverged there). One line per optimizer
# (palette and dashes: plot_lib.sh) with a shaded band of +-1 standard error of the mean,
# std / sqrt(PROBLEMS). PROBLEMS defaults to config "problems" of the results.json next to CSV;
# without it the plot has no bands and says so.
#
# The y axis is logarithmic and zoomed to the data of the plotted steps, as in the paper: from
# the lowest band edge to the highest, with a 4% margin. A curve that explodes would flatten all
# others, so the top is capped at 3x the highest mean of the first plotted step; a curve that goes
# above the cap is named in the key with the step where it leaves the plot. The key goes in the
# corner with the fewest points. Needs gnuplot.
#
# Long runs (more than 300 plotted steps) are smoothed for reading: each point is the mean of the
# W = span/100 steps up to it (means and deviations alike), and the title states W.
#
# With "diff" (7th argument) and the paired_lstm.csv and verdict_lstm.json of `l2l verdict` beside
# CSV, a second panel below shows the verdict: the LSTM minus the best tuned baseline, per step and
# test problem, its mean with the 95% paired t-interval shaded, and the zero line: where the band
# is below zero the LSTM is lower, where it straddles zero the two are tied.
set -euo pipefail
source "$(dirname "$0")/plot_lib.sh"
csv=$1 png=$2 title=$3${SMOKE_NOTE:+ [$SMOKE_NOTE]} first=${4:-0} last=${5:-}
[ -f "$csv" ] || { echo "plot.sh: no such file $csv (expected a curves.csv written by l2l eval)" >&2; exit 2; }
[ -n "$last" ] || last=$(tail -1 "$csv" | cut -d, -f1)
n=${6:-$(problems_of "$(dirname "$csv")")}
paired="$(dirname "$csv")/paired_lstm.csv" vjson="$(dirname "$csv")/verdict_lstm.json"
smooth=$(((last - first) / 100)); [ $((last - first)) -gt 300 ] || smooth=1
if [ "$smooth" -gt 1 ]; then  # the trailing moving mean of every column; null (diverged) stays null
  smoothed=$(mktemp)
  trap 'rm -f "$smoothed"' EXIT
  awk -F, -v OFS=, -v w="$smooth" 'NR == 1 { print; next }
    { r = NR % w; for (i = 2; i <= NF; i++) v[r, i] = $i; n = NR - 1 < w ? NR - 1 : w
      out = $1; for (i = 2; i <= NF; i++) { s = 0; bad = 0
          for (j = 0; j < n; j++) { x = v[(NR - j) % w, i]; if (x == "null") bad = 1; else s += x }
          out = out OFS (bad ? "null" : s / n) }
      print out }' "$csv" >"$smoothed"
  csv=$smoothed
fi
diff=""
[ "${7:-}" = diff ] && [ -f "$paired" ] && [ -f "$vjson" ] && [ "${n:-0}" -ge 2 ] && diff=1  # one problem: no interval

# Range over the plotted steps: lo hi, then one line "name leave_step" per optimizer (-1 = stays in).
stats=$(awk -F, -v first="$first" -v last="$last" -v n="${n:-0}" '
  NR == 1 { for (i = 2; i <= NF; i += 2) name[i] = substr($i, 1, length($i) - 5); next }
  $1 < first || $1 > last { next }
  { nr++; step[nr] = $1; for (i = 2; i in name; i += 2) { mean[nr, i] = $i; sd[nr, i] = $(i + 1) } }
  $1 == first { for (i = 2; i in name; i += 2) if ($i != "null" && $i + 0 > top) top = $i + 0 }
  END { cap = 3 * top
    for (r = 1; r <= nr; r++) for (i = 2; i in name; i += 2) {
      if (mean[r, i] == "null") continue
      m = mean[r, i] + 0; se = n > 0 ? sd[r, i] / sqrt(n) : 0
      low = m - se > 0 ? m - se : m
      if (lo == "" || low < lo) lo = low
      if (m > cap) { if (!(i in leave)) leave[i] = step[r]; continue }
      up = m + se < cap ? m + se : cap
      if (up > hi) hi = up }
    margin = exp(0.04 * log(hi / lo)); lo /= margin; hi *= margin
    # The key goes in the corner (40% of the width x 38% of the height) with the fewest points.
    split("top right,bottom right,top left,bottom left", corner, ",")
    for (r = 1; r <= nr; r++) for (i = 2; i in name; i += 2) {
      if (mean[r, i] == "null") continue
      fx = last > first ? (step[r] - first) / (last - first) : 0; fy = log(mean[r, i] / lo) / log(hi / lo)
      if (fy > 1) continue  # off the top: not in any corner
      if (fx >= 0.6 && fy >= 0.62) hits[1]++; if (fx >= 0.6 && fy <= 0.38) hits[2]++
      if (fx <= 0.4 && fy >= 0.62) hits[3]++; if (fx <= 0.4 && fy <= 0.38) hits[4]++ }
    best = 1; for (c = 2; c <= 4; c++) if (hits[c] + 0 < hits[best] + 0) best = c
    printf "%.6g %.6g %s\n", lo, hi, corner[best]
    for (i = 2; i in name; i += 2) printf "%s %s\n", name[i], i in leave ? leave[i] : -1 }' "$csv")
read -r ylo yhi keypos <<<"$(head -1 <<<"$stats")"

plots="" bands=""
IFS=, read -ra cols <<<"$(head -1 "$csv")"
for ((i = 1; i < ${#cols[@]}; i += 2)); do
  name=${cols[$i]%_mean} m=$((i + 1)) s=$((i + 2))
  leave=$(awk -v nm="$name" 'NR > 1 && $1 == nm { print $2 }' <<<"$stats")
  label=$name
  [ "$leave" != -1 ] && label="$name (off the top at step $leave)"
  st=$(style "$name")
  lc=${st%% dt*}
  pi=$(((last - first) / 10)); [ "$pi" -ge 1 ] || pi=1
  if [ -n "$n" ]; then
    bands+="${bands:+, }'$csv' every ::1 using 1:(max(\$$m - \$$s / sq, lo)):(min(\$$m + \$$s / sq, hi)) with filledcurves $lc fs transparent solid 0.18 noborder notitle"
  fi
  plots+="${plots:+, }'$csv' every ::1 using 1:$m with linespoints $st pi $pi ps 1.1 title '$label'"
done
band_note="shaded: +-1 standard error over $n problems"
[ "$smooth" -gt 1 ] && band_note+="; curves: mean of the last $smooth steps at each point"
[ -n "$n" ] || band_note="no bands: number of problems unknown"

# The difference panel (see the top): its y range over the plotted steps, with 8% margins.
diff_panel=""
if [ -n "$diff" ]; then
  base=$(grep -o '"baseline": "[a-z-]*"' "$vjson" | cut -d'"' -f4)
  read -r dlo dhi <<<"$(awk -F, -v first="$first" -v last="$last" 'NR > 1 && $1 >= first && $1 <= last && $3 != "null" {
      if (lo == "" || $3 < lo) lo = $3; if (hi == "" || $4 > hi) hi = $4 }
    END { if (lo > 0) lo = 0; if (hi < 0) hi = 0; m = 0.08 * (hi - lo); if (m == 0) m = 1; printf "%.6g %.6g\n", lo - m, hi + m }' "$paired")"
  diff_panel="
set origin 0, 0
set size 1, 0.34
unset logscale y
unset title
set ytics auto
set mytics default
set ylabel 'LSTM - $base'
set yrange [$dlo:$dhi]
set key top right box opaque samplen 3 font 'Sans,9'
plot '$paired' every ::1 using 1:3:4 with filledcurves lc rgb '#000000' fs transparent solid 0.18 noborder title '95% interval (paired t)', \\
     '' every ::1 using 1:2 with lines lc rgb '#000000' lw 2.5 title 'mean difference, paired per test problem', \\
     0 with lines lc rgb '#888888' dt 2 lw 1.5 notitle"
fi

gnuplot <<GP
set datafile separator ','
set datafile missing 'null'
set terminal pngcairo size 800,$([ -n "$diff" ] && echo 820 || echo 560) font 'Sans,11'
set output '$png'
${diff:+set multiplot}
${diff:+set origin 0, 0.34}
${diff:+set size 1, 0.66}
set title "$title\n($band_note)" noenhanced
set xlabel 'step'
set ylabel 'loss (mean over test problems)'
set logscale y
$(log_tics y "$ylo" "$yhi")
set mytics default
set grid xtics ytics lc rgb '#dddddd' lw 1 dt 1
set key $keypos box opaque spacing 1.2 samplen 4 width 1
set xrange [$first:$last]
set yrange [$ylo:$yhi]
lo = $ylo; hi = $yhi; sq = sqrt(${n:-1})
max(a, b) = a > b ? a : b
min(a, b) = a < b ? a : b
plot ${bands:+$bands, }$plots
$diff_panel
${diff:+unset multiplot}
GP
