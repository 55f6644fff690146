# shellcheck shell=bash
# plot_lib.sh: shared by plot.sh and plot_sweep.sh (source it; it defines functions only).
#
#   style NAME      gnuplot line style of optimizer NAME: an Okabe-Ito color (safe for the common
#                   color-vision deficiencies) AND its own dash pattern and point type, so the
#                   curves stay apart printed in grey; the LSTM is black, solid and thicker.
#   log_tics AXIS LO HI   a `set AXISTICS (...)` command for a log axis from LO to HI: labels at
#                   1,2,5 per decade (1,2,3,5 or 1,1.5,2,3,5,7 or 1..9 on narrower ranges) so there are always a
#                   few labelled ticks, unlabelled minor ticks at every 1..9 x 10^k in between.
#   problems_of DIR the number of test problems of an `l2l eval` run (config "problems" in
#                   DIR/results.json), or nothing if there is no such file.

style() {
  case "$1" in
    lstm)    echo "lc rgb '#000000' dt 1 lw 3.5 pt 7" ;;
    lstm-sub|lstm-paper) echo "lc rgb '#777777' dt 1 lw 3 pt 6" ;;  # lstm-paper: recipes_beyond.sh
    lstm-scale) echo "lc rgb '#000000' dt (8,3) lw 3.5 pt 4" ;;     # trained at scale (zoo/)
    lstm-sub-scale) echo "lc rgb '#777777' dt (8,3) lw 3 pt 8" ;;
    sgd)     echo "lc rgb '#0072B2' dt (10,5) lw 2 pt 5" ;;
    nag)     echo "lc rgb '#009E73' dt (3,4) lw 2.5 pt 9" ;;
    rmsprop) echo "lc rgb '#D55E00' dt (12,4,3,4) lw 2 pt 11" ;;
    adam)    echo "lc rgb '#CC79A7' dt (6,3,2,3,2,3) lw 2 pt 13" ;;
    lbfgs)   echo "lc rgb '#E69F00' dt (1,3) lw 3 pt 15" ;;
    *)       echo "lc rgb '#56B4E9' dt (2,2) lw 2 pt 3" ;;
  esac
}

log_tics() {
  awk -v axis="$1" -v lo="$2" -v hi="$3" 'BEGIN {
    span = log(hi / lo) / log(10)
    if (span > 6) set = "1"; else if (span > 4) set = "1 3"; else if (span > 2.5) set = "1 2 5"; else if (span > 1.2) set = "1 2 3 5"
    else if (span > 0.8) set = "1 1.5 2 3 5 7"; else set = "1 2 3 4 5 6 7 8 9"
    split(set, m); for (k in m) labelled[m[k]] = 1
    # Tick positions: every mantissa 1..9 of each decade (and the halves on ranges of about a
    # decade or less, so that a curve between 1 and 2 has a labelled tick beside it).
    nm = split(span <= 1.2 ? "1 1.5 2 2.5 3 3.5 4 4.5 5 6 7 8 9" : "1 2 3 4 5 6 7 8 9", mant)
    if (span <= 0.8) for (k = 1; k <= nm; k++) labelled[mant[k]] = 1
    out = ""; nl = 0
    for (d = int(log(lo) / log(10)) - 1; d <= int(log(hi) / log(10)) + 1; d++)
      for (k = 1; k <= nm; k++) {
        j = mant[k]; v = j * 10 ^ d
        if (v < lo || v > hi) continue
        if (j in labelled) { tic = sprintf("\"%g\" %.12g 0", v, v); nl++ } else tic = sprintf("\"\" %.12g 1", v)
        out = out (out == "" ? "" : ", ") tic
      }
    if (nl >= 2) { printf "set %stics (%s)\n", axis, out; exit }
    # Too narrow for two labelled mantissas: 3 to 6 evenly spaced labels instead (listed, as a
    # tic increment on a log axis would be a factor).
    step = 10 ^ int(log(hi - lo) / log(10) - 1); while ((hi - lo) / step > 6) step *= 2
    out = ""
    for (v = (int(lo / step) + 1) * step; v <= hi; v += step) out = out (out == "" ? "" : ", ") sprintf("\"%g\" %.12g 0", v, v)
    printf "set %stics (%s)\n", axis, out
  }'
}

problems_of() {
  [ -f "$1/results.json" ] || return 0
  grep -o '"problems": "[0-9]*"' "$1/results.json" | head -1 | grep -o '[0-9][0-9]*' || true
}

# The curve figures of `make experiments`: figure_spec NAME prints "TITLE|FIRST_STEP|LAST_STEP|DIFF"
# (DIFF "diff": a second panel of the paired difference, where the curves overlap; plot.sh).
# One table for experiments.sh (plots after each eval) and replot.sh (plots committed data again).
figure_spec() {
  case "$1" in
    fig4_left)   echo "Figure 4 (left): 10-d quadratics|0|100|" ;;
    fig4_center) echo "Figure 4 (center): MNIST, 1x20 sigmoid|0|100|" ;;
    fig4_right)  echo "Figure 4 (right): MNIST, steps 100-200 (trained for 100)|100|200|diff" ;;
    fig5_h40)    echo "Figure 5: MNIST, 40 hidden units|0|100|" ;;
    fig5_l2)     echo "Figure 5: MNIST, 2 hidden layers|0|100|" ;;
    fig5_relu)   echo "Figure 5: MNIST, ReLU activations|0|100|" ;;
    fig7_cifar10) echo "Figure 7: CIFAR-10|0|${CIFAR_STEPS:-100}|diff" ;;
    fig7_cifar5) echo "Figure 7: CIFAR-5 (labels 0-4)|0|${CIFAR_STEPS:-100}|diff" ;;
    fig7_cifar2) echo "Figure 7: CIFAR-2 (labels 0,1)|0|${CIFAR_STEPS:-100}|diff" ;;
    fig8_left)   echo "Figure 8 (left): Neural Art, training style, ${ART_SIZE:-64}x${ART_SIZE:-64}|0|${ART_STEPS:-128}|diff" ;;
    fig8_right)  echo "Figure 8 (right): Neural Art, new style, ${ART_SIZE_TEST:-128}x${ART_SIZE_TEST:-128}|0|${ART_STEPS:-128}|diff" ;;
    *) echo "figure_spec: unknown figure '$1'" >&2; return 2 ;;
  esac
}
curve_figures() { echo fig4_left fig4_center fig4_right fig5_h40 fig5_l2 fig5_relu fig7_cifar10 fig7_cifar5 fig7_cifar2 fig8_left fig8_right; }

# plot_figure RES NAME: RES/NAME/NAME.png from RES/NAME/curves.csv (and, for the figures with a
# difference panel, the paired_lstm.csv that `l2l verdict` writes from runs.csv: made again here,
# so that it never comes from older data).
plot_figure() {
  local spec title first last diff
  spec=$(figure_spec "$2") || return 2
  IFS='|' read -r title first last diff <<<"$spec"
  if [ -n "$diff" ] && [ -f "$1/$2/runs.csv" ]; then
    build/l2l verdict --dir "$1/$2" >/dev/null || return 1
  fi
  "$(dirname "${BASH_SOURCE[0]}")/plot.sh" "$1/$2/curves.csv" "$1/$2/$2.png" "$title" "$first" "$last" "" "$diff"
}
