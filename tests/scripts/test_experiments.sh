#!/usr/bin/env bash
# test_experiments.sh: the choices scripts/experiments.sh makes before it runs anything (scale ->
# folders, ONLY checked against the recipe names), through DRY_RUN=1 and with folders in a temp
# dir, so it trains and evaluates nothing; and the functions the report and plots use
# (report_lib.sh on small hand-written results.json files, plot_lib.sh's ticks, plot.sh on a tiny
# CSV and plot_images.sh on a hand-made image strip when gnuplot is installed). Run from the repository root; part of `make test` (~1 s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# check NAME CONDITION...: runs the condition, prints PASS/FAIL with NAME.
check() {
  local name=$1
  shift
  if "$@"; then echo "PASS  $name"; pass=$((pass + 1)); else echo "FAIL  $name"; fail=$((fail + 1)); fi
}
has() { grep -qF -- "$2" <<<"$1"; }  # has TEXT NEEDLE

# run_exp VAR=VALUE...: experiments.sh with those variables; sets out (stdout+stderr) and rc.
run_exp() { out=$(env -u SCALE -u ONLY -u RES -u RUNS -u REUSE -u DRY_RUN -u ZOO_ONLY -u ZOO_DIR -u NO_ZOO "$@" scripts/experiments.sh 2>&1); rc=$?; }

tmpd=$(mktemp -d)
run_exp TMPDIR="$tmpd" DRY_RUN=1
check "leaves no private copy of itself behind in TMPDIR" \
  eval '[ $rc = 0 ] && [ -z "$(ls -A "$tmpd")" ]'
rmdir "$tmpd"
run_exp DRY_RUN=1
check "default scale -> results/ and runs/" eval '[ $rc = 0 ] && has "$out" "results=results/" && has "$out" "runs=runs/"'
check "default scale runs every recipe" has "$out" "recipes=fig4_left fig4_center fig4_right fig5 fig6 fig7 fig8 fig9"

run_exp DRY_RUN=1 SCALE=smoke
check "smoke scale -> results-smoke/ and runs-smoke/" eval '[ $rc = 0 ] && has "$out" "results=results-smoke/" && has "$out" "runs=runs-smoke/"'

run_exp DRY_RUN=1 SCALE=paper
check "paper scale -> results-paper/ and runs-paper/" eval '[ $rc = 0 ] && has "$out" "results=results-paper/" && has "$out" "runs=runs-paper/"'

# ZOO_ONLY: the recipes whose optimizers trained at scale are committed, into results-zoo/.
# (a complete mnist-scale: its 80 epochs in train_log.csv; an unfinished cifar10-scale: 3 of 100)
mkdir -p "$tmp/zoo/mnist-scale" "$tmp/zoo/cifar10-scale" "$tmp/zoo/cifar-sub-scale"
for z in mnist-scale:79 cifar10-scale:2 cifar-sub-scale:99; do
  : >"$tmp/zoo/${z%:*}/phi.ckpt"; printf 'epoch,train_meta_loss,val_score\n%s,1,1\n' "${z#*:}" >"$tmp/zoo/${z%:*}/train_log.csv"
done
run_exp DRY_RUN=1 ZOO_ONLY=1 ZOO_DIR="$tmp/zoo"
check "ZOO_ONLY -> results-zoo/, the MNIST recipes only (complete), the others named as left out (missing or unfinished)" \
  eval '[ $rc = 0 ] && has "$out" "results=results-zoo/" && has "$out" "recipes=fig4_center fig4_right fig5 fig6" &&
    has "$out" "ZOO_ONLY: fig7 left out: not trained to its budget in $tmp/zoo/: cifar10-scale"'
run_exp DRY_RUN=1 ZOO_ONLY=1 ZOO_DIR="$tmp/zoo" ONLY=fig7
check "ZOO_ONLY with no committed optimizer for the recipes is refused, naming make train-zoo" \
  eval '[ $rc = 2 ] && has "$out" "make train-zoo"'
run_exp DRY_RUN=1 ZOO_ONLY=1 RES=results
check "ZOO_ONLY into results/ is refused" eval '[ $rc = 2 ] && has "$out" "results-zoo/"'

run_exp DRY_RUN=1 SCALE=smoke RES=./results/
check "smoke into results/ is refused" eval '[ $rc != 0 ] && has "$out" "results-smoke/"'
run_exp DRY_RUN=1 SCALE=smoke RUNS=runs
check "smoke into runs/ is refused" eval '[ $rc != 0 ]'

run_exp DRY_RUN=1 SCALE=huge
check "unknown SCALE refused with the valid ones" eval '[ $rc != 0 ] && has "$out" "default, paper or smoke"'

run_exp DRY_RUN=1 ONLY="fig4_left  fig5"
check "ONLY subset accepted" eval '[ $rc = 0 ] && has "$out" "recipes=fig4_left fig5"'

run_exp DRY_RUN=1 ONLY="fig4_left fig10"
check "ONLY=fig10 refused, names the typo and the valid names" \
  eval '[ $rc != 0 ] && has "$out" "unknown recipe '"'fig10'"'" && has "$out" "valid names: fig4_left fig4_center fig4_right fig5 fig6 fig7 fig8 fig9"'

# Without DRY_RUN too: nothing may be created or rewritten.
before=$(cat results/REPORT.md results/history.txt 2>/dev/null | cksum)
run_exp ONLY=fig10 RES="$tmp/res" RUNS="$tmp/runs"
check "ONLY=fig10 (no dry run) exits non-zero and creates no folder" eval '[ $rc != 0 ] && [ ! -e "$tmp/res" ] && [ ! -e "$tmp/runs" ]'
check "ONLY=fig10 leaves results/REPORT.md and history.txt as they were" \
  eval '[ "$before" = "$(cat results/REPORT.md results/history.txt 2>/dev/null | cksum)" ]'

# REPORT_ONLY: the sections again from a copy of the committed data; nothing else runs.
cp -r results "$tmp/copy"
# (the recipes whose data the copy holds: a recipe without data is refused, tested below)
have=""
for r in fig4_left fig4_center fig4_right fig5 fig6 fig7 fig8 fig9; do
  case $r in fig5) f=fig5_h40/runs.csv ;; fig6) f=fig6/l1_u20/runs.csv ;; fig7) f=fig7_cifar2/runs.csv ;;
    fig8) f=fig8_right/runs.csv ;; fig9) f=fig9_right/images.log ;; *) f=$r/runs.csv ;; esac
  [ -f "results/$f" ] && have+="${have:+ }$r"
done
run_exp REPORT_ONLY=1 ONLY="$have" RES="$tmp/copy" RUNS="$tmp/copy-runs"
check "REPORT_ONLY rewrites the report of a results copy from its data" \
  eval '[ $rc = 0 ] && [ "$(grep -c "^## Figure" "$tmp/copy/REPORT.md")" = "$(wc -w <<<"$have")" ] && grep -q "REPORT_ONLY" "$tmp/copy/history.txt" && [ ! -e "$tmp/copy-runs/mnist" ]'
check "REPORT_ONLY on a copy leaves results/ as it was" \
  eval '[ "$before" = "$(cat results/REPORT.md results/history.txt 2>/dev/null | cksum)" ]'
mkdir -p "$tmp/empty"
run_exp REPORT_ONLY=1 ONLY=fig6 RES="$tmp/empty" RUNS="$tmp/empty-runs"
check "REPORT_ONLY without the data refuses and writes no report" eval '[ $rc != 0 ] && has "$out" "sweep.csv" && [ ! -e "$tmp/empty/REPORT.md" ]'

# ---- report_lib.sh on hand-written results.json files ----------------------------------------
source scripts/report_lib.sh
mkdir -p "$tmp/new" "$tmp/old" "$tmp/one" "$tmp/inside"
cat >"$tmp/new/results.json" <<'EOF'
{
  "config": {"task": "quadratic", "problems": "100", "grid": "-4:1:3"},
  "tuning": {"sgd": {"best_lr": 10, "tried": [[0.0001,5],[1,2],[10,1]]},
    "adam": {"best_lr": 0.1, "tried": [[0.00001,3],[0.1,1],[1,2]]}},
  "optimizers": [
    {"name": "lstm", "setting": "x", "diverged_runs": 0, "ended_above_start_runs": 3, "mean": [1,2]},
    {"name": "sgd", "setting": "y", "diverged_runs": 2, "ended_above_start_runs": 0, "mean": [1,2]},
    {"name": "adam", "setting": "z", "diverged_runs": 0, "ended_above_start_runs": 5, "mean": [1,2]}
  ]
}
EOF
sed 's/, "ended_above_start_runs": [0-9]*//; s/"diverged_runs": [0-9]*, //' "$tmp/new/results.json" >"$tmp/old/results.json"
s=$(run_counts "$tmp/new")
check "run_counts: diverged and ended-above-start counted apart" \
  eval 'has "$s" "diverged (non-finite or exploding loss): sgd 2 of 100." && has "$s" "ended above their starting loss (not diverged): lstm 3 of 100, adam 5 of 100."'
s=$(run_counts "$tmp/new" "$tmp/new")
check "run_counts: summed over several folders" has "$s" "sgd 4 of 200"
s=$(run_counts "$tmp/old")
check "run_counts: says nothing when the fields are absent" eval '[ -z "$s" ]'
sed 's/, "ended_above_start_runs": [0-9]*//' "$tmp/new/results.json" >"$tmp/one/results.json"
s=$(run_counts "$tmp/one")
check "run_counts: an older results.json (one count) is not called 'diverged' alone" \
  has "$s" "diverged or ended above their start (this results.json counts the two together): sgd 2 of 100."
s=$(tuning_notes -4:1:3 "$tmp/new")
check "tuning_notes: a best rate at the top of the grid is flagged" has "$s" "sgd best rate 10 is the highest tried (0.0001..10)"
check "tuning_notes: an interior best is not flagged" eval '! has "$s" "adam best"'
check "tuning_notes: a widened grid is reported" has "$s" "widened past 10^-4..10^1"
sed 's/"best_lr": 10,/"best_lr": 1,/; s/\[0.00001,3\]/[0.001,3]/' "$tmp/new/results.json" >"$tmp/inside/results.json"
s=$(tuning_notes -4:1:3 "$tmp/inside")
check "tuning_notes: all interior says so" has "$s" "Every tuned learning rate is inside the grid"
s=$(tuning_notes -4:1:3 "$tmp/new" "$tmp/inside")
check "tuning_notes: several folders, one entry per optimizer naming the folders" has "$s" "sgd at the highest rate tried in 1 of 2 folders (new)"
s=$(tuning_notes -9:9:3 "$tmp/new")
check "tuning_notes: reads the grid from results.json's config" has "$s" "widened past 10^-4..10^1"

# ---- plot_lib.sh ticks and plot.sh -----------------------------------------------------------
source scripts/plot_lib.sh
labels() { log_tics y "$1" "$2" | grep -o '"[0-9.e+-]*" [0-9.e+-]* 0' | wc -l; }
for r in "0.17 0.45" "0.25 0.28" "0.3 330" "1.7 2.35" "0.001 1000" "5 40"; do
  n=$(labels $r)
  check "log_tics $r: at least 3 labelled ticks (got $n)" eval '[ "$n" -ge 3 ] && [ "$n" -le 16 ]'
done
if command -v gnuplot >/dev/null; then
  printf 'step,lstm_mean,lstm_std,sgd_mean,sgd_std\n0,2,0.1,2,0.1\n1,1,0.1,5,1\n2,0.5,0.1,1e20,1e20\n3,0.4,0.1,null,null\n' >"$tmp/curves.csv"
  scripts/plot.sh "$tmp/curves.csv" "$tmp/c.png" "test" 0 3 10 >"$tmp/plot.log" 2>&1
  check "plot.sh draws a PNG from a CSV with an exploding and a null curve" eval '[ -s "$tmp/c.png" ] && [ ! -s "$tmp/plot.log" ]'

  # plot_images.sh on a hand-made compare strip: four 64x64 checkerboard panels 2 pixels apart.
  mkdir -p "$tmp/art"
  awk 'BEGIN { split("255 0 0,0 0 255,0 160 0,255 255 255,255 200 0,0 0 0,128 0 128,0 200 200", c, ",")
    for (y = 0; y < 64; y++) for (x = 0; x < 262; x++) { i = int(x / 66)
      print x + 0.5, y + 0.5, (x % 66 >= 64 ? "255 255 255" : c[2 * i + 1 + (x + y) % 2]) } }' >"$tmp/strip.dat"
  gnuplot 2>/dev/null <<EOF2
set terminal pngcairo size 262,64; set output '$tmp/art/compare_0.png'; unset border; unset tics; unset key
set lmargin at screen 0; set rmargin at screen 1; set tmargin at screen 1; set bmargin at screen 0
set xrange [0:262]; set yrange [0:64]; plot '$tmp/strip.dat' with rgbimage
EOF2
  cat >"$tmp/art/images.log" <<'EOF2'
# task: art: 64x64 image (12288 coordinates), style some_style, f = 4e-05 content(relu2_2) + 4e-05 style(relu1_1) + 20 tv, theta_0 = content + N(0,0.1^2); photos: 1 train
# baseline: adam lr 0.1
test problem 0 (some_photo.png):
  start    f 2.7908  (content 0.9406, style 0.9054, tv 0.9447)
  lstm     f 0.6854  (content 0.2278, style 0.3318, tv 0.1258)  style/photo 0.0490
  adam     f 0.6515  (content 0.2322, style 0.2996, tv 0.1197)  style/photo 0.0312
EOF2
  s=$(scripts/plot_images.sh "$tmp/art" 2>&1)
  check "plot_images.sh: captions content (photo) | LSTM | baseline, lr | style (name), and the final f" \
    has "$s" "content (some_photo) | LSTM | adam, lr 0.1 | style (some_style); f start 2.7908, LSTM 0.6854, baseline 0.6515"
  s=$(LSTM_CAPTION="LSTM at scale" scripts/plot_images.sh "$tmp/art" 2>&1)
  check "plot_images.sh: LSTM_CAPTION names the learned optimizer (the one trained at scale)" \
    has "$s" "content (some_photo) | LSTM at scale | adam, lr 0.1 | style (some_style)"
  size=$(od -An -tu1 -j16 -N8 "$tmp/art/figure_0.png" 2>/dev/null | awk '{ print $3 * 256 + $4 "x" $7 * 256 + $8 }')
  # 64 px panels x3 = 192 px, 24 px apart: 2 x 16 margin + 4 x 192 + 3 x 24 wide, 66 above + 192 + 96 below.
  check "plot_images.sh: figure_0.png is 872x354, each 64 px panel shown at 192 px (got $size)" eval '[ "$size" = 872x354 ]'
  # Every figure pixel inside a panel is the strip pixel it enlarges (nearest neighbour, no
  # smoothing: a blend would show at every checker edge); the panels' outer ring of blocks is left
  # out, as gnuplot's drawing of the strip blends its edge pixels. Text is drawn above each panel
  # and below the first three (rows counted from the bottom).
  pixels() { gnuplot -e "set table '$2'; plot '$1' binary filetype=png with rgbimage" 2>/dev/null; }
  pixels "$tmp/art/compare_0.png" "$tmp/strip.txt"
  pixels "$tmp/art/figure_0.png" "$tmp/figure.txt"
  pixel_counts=$(awk 'FNR == 1 { file++ } /^#/ || NF < 5 { next }
    file == 1 { strip[$1, $2] = $3 " " $4 " " $5; next }
    { x = $1 - 16; i = int(x / 216); px = x - 216 * i; colour = $3 " " $4 " " $5 }
    $2 >= 99 && $2 < 285 && x >= 0 && px >= 3 && px < 189 && i < 4 { n++; if (colour != strip[66 * i + int(px / 3), int(($2 - 96) / 3)]) bad++ }
    $2 >= 288 && $2 < 310 && x >= 0 && px < 192 && i < 4 && colour != "255 255 255" { above[i]++ }
    $2 < 96 && $2 >= 10 && x >= 0 && px < 192 && i < 4 && colour != "255 255 255" { below[i]++ }
    END { printf "%d %d", n, bad + 0; for (i = 0; i < 4; i++) printf " %d:%d", (above[i] > 0), (below[i] > 0) }' \
    "$tmp/strip.txt" "$tmp/figure.txt")
  check "plot_images.sh: every panel pixel is its strip pixel (got $pixel_counts)" \
    eval '[ "$pixel_counts" = "138384 0 1:1 1:1 1:1 1:0" ]'
  # The report's table of the styled images (recipes_art.sh), from the same log: the start row
  # has no style/photo (a log written before art_images printed it), the others do.
  s=$(SCALE=default; source scripts/recipes_art.sh; style_table "$tmp/art")
  check "style_table: one row per crop, style/photo as a percentage and the content term" \
    has "$s" "| 0 | some_photo.png | 4.9% | 0.2278 | adam | 3.1% | 0.2322 |"
  printf 'epoch,train_meta_loss,val_score\n-1,,31.06\n0,232.1,2.687\n1,125.9,2.191\n2,120,2.3\n' >"$tmp/train_log.csv"
  s=$(scripts/plot_train_log.sh "$tmp/train_log.csv" "$tmp/train.png" "test" 16 2>&1)
  check "plot_train_log.sh: draws the validation curve, the lowest score at its meta-iteration" \
    eval '[ -s "$tmp/train.png" ] && has "$s" "3 validation scores after training (untrained 31.06), lowest 2.191 at 32 meta-iterations"'
  s=$(scripts/plot_train_log.sh "$tmp/none.csv" "$tmp/t2.png" "test" 16 2>&1); rc=$?
  check "plot_train_log.sh: a missing log is refused, naming it" eval '[ $rc != 0 ] && has "$s" "$tmp/none.csv"'
  head -c 200 "$tmp/art/figure_0.png" >"$tmp/art/compare_1.png"
  s=$(scripts/plot_images.sh "$tmp/art" 2>&1); rc=$?
  check "plot_images.sh: a strip that is not four square panels is refused" eval '[ $rc != 0 ] && has "$s" "not four square panels"'
else
  echo "SKIP  plot.sh, plot_images.sh (gnuplot not installed; make experiments installs it)"
fi

# ---- verdict and lbfgs_note (experiments.sh's report sentences) on a hand-written CSV ----------
source scripts/zoo_lib.sh
source scripts/verdict_lib.sh
printf 'step,lstm_mean,lstm_std,adam_mean,adam_std,lbfgs_mean,lbfgs_std\n100,0.2,0,0.3,0,0.1,0\n' >"$tmp/lb.csv"
# runs.csv of three problems, f_0 = 3 then 12 flat steps: lstm 0.20/0.21/0.22, adam 0.3, lbfgs 0.1.
mkdir -p "$tmp/vd"
awk 'BEGIN { printf "optimizer,run"; for (t = 0; t <= 12; t++) printf ",f_%d", t; print ""
  split("lstm adam lbfgs", o, " "); v["adam"] = 0.3; v["lbfgs"] = 0.1
  for (i = 1; i <= 3; i++) for (k = 0; k < 3; k++) { x = o[i] == "lstm" ? 0.2 + k / 100 : v[o[i]]
      printf "%s,%d,3", o[i], k; for (t = 1; t <= 12; t++) printf ",%g", x; print "" } }' >"$tmp/vd/runs.csv"
VROWS=$tmp/vd/rows.md
s=$(verdict "$tmp/vd" "4 left" "LSTM lowest")
check "verdict: lbfgs is not a tuned baseline (the LSTM is compared with adam)" \
  has "$s" "**agrees**: LSTM 0.21 vs Adam 0.3 (the best tuned baseline)"
check "verdict: adds its row to the verdict table" has "$(cat "$VROWS")" "| 4 left | LSTM lowest | LSTM 0.21 vs Adam 0.3 |"
check "  ... with - in the at-scale columns when the eval ran no optimizer trained at scale" \
  eval '[[ "$(cat "$VROWS")" == *"| **agrees** | - | - |" ]]'
# The same runs with an optimizer trained at scale (lstm-scale, 0.5: above Adam) from a zoo
# folder of 3 epochs x 250 meta-updates (zoo_lib.sh's quadratic-scale row).
mkdir -p "$tmp/vs/zoo/quadratic-scale"
{ cat "$tmp/vd/runs.csv"; awk 'BEGIN { for (k = 0; k < 3; k++) { printf "lstm-scale,%d,3", k; for (t = 1; t <= 12; t++) printf ",0.5"; print "" } }'; } >"$tmp/vs/runs.csv"
echo "phi-scale = $tmp/vs/zoo/quadratic-scale/phi.ckpt" >"$tmp/vs/config.txt"
printf 'epoch,train_meta_loss,val_score\n-1,,9\n0,1,2\n1,1,2\n2,1,2\n' >"$tmp/vs/zoo/quadratic-scale/train_log.csv"
VROWS=$tmp/vs/rows.md
s=$(verdict "$tmp/vs" "4 left" "LSTM lowest")
check "verdict: judges the optimizer trained at scale too, naming its folder and budget" \
  has "$s" "Trained at scale ($tmp/vs/zoo/quadratic-scale: 750 meta-updates): **disagrees**: LSTM at scale 0.5 vs Adam 0.3"
check "  ... and its row has the at-scale columns" \
  eval '[[ "$(cat "$VROWS")" == *"| **agrees** | +0.2 [+0.2, +0.2] (+67%), n = 3 | **disagrees** |" ]]'
s=$(lbfgs_note "$tmp/lb.csv" 100)
check "lbfgs_note: names L-BFGS's value, the LSTM's and the best tuned baseline's" \
  has "$s" "0.1 at step 100, against the LSTM (0.2) and the best tuned baseline, adam (0.3)."
printf 'step,lstm_mean,lstm_std,adam_mean,adam_std\n100,0.2,0,0.3,0\n' >"$tmp/nolb.csv"
check "lbfgs_note: says nothing without an lbfgs column" eval '[ -z "$(lbfgs_note "$tmp/nolb.csv" 100)" ]'

# A program that fails stops the run: the log it wrote is named with its error, no section is
# written (MNIST meta-training without its data; needs build/l2l, which make test builds).
if [ -x build/l2l ]; then
  run_exp SCALE=smoke ONLY=fig4_center RES="$tmp/fr" RUNS="$tmp/fu" L2L_DATA="$tmp/no-data" L2L_CACHE=off
  check "a failing step stops the run, naming its log and its error" \
    eval '[ $rc != 0 ] && has "$out" "a step failed; its output is in $tmp/fu/mnist.log" && has "$out" "error:" &&
      [ ! -e "$tmp/fr/fig4_center/section.md" ] && [ ! -e "$tmp/fr/REPORT.md" ]'
fi

echo "test_experiments.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
