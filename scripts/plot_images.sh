#!/usr/bin/env bash
# plot_images.sh DIR [BASELINE]
# Figure 9 made readable. For each compare_<k>.png in DIR (the strip content | LSTM | baseline |
# style that build/art_images writes: square panels of S pixels, 2 pixels apart) draws
# DIR/figure_<k>.png: the four panels enlarged by a whole factor to at least 192 pixels a side
# (nearest neighbour: each pixel a block of equal pixels, nothing smoothed), a caption above each
# (content (photo), LSTM, the baseline and its learning rate, style (name)), and under each the
# loss DIR/images.log gives: the final f and its content, style and tv terms (weighted: they sum
# to f) under the LSTM's and the baseline's images, those of the start under the content, and
# beside the style term, when images.log gives it, the style term as a share of the content
# photo's own ("style/photo": 100% = not styled). The baseline's rate comes from images.log's "# baseline:" line, else from
# BASELINE (NAME=LR, as art_images' --baseline; logs written before art_images printed it).
# LSTM_CAPTION names the learned optimizer in the captions (default "LSTM").
# Is not: a run (the images and the numbers are art_images'); it only draws. Needs gnuplot.
set -euo pipefail
dir=${1:?usage: plot_images.sh DIR [BASELINE]}
given_baseline=${2:-}
log=$dir/images.log
[ -f "$log" ] || { echo "plot_images.sh: no $log (art_images writes it beside the compare_<k>.png)" >&2; exit 2; }
MIN_SIDE=192 MARGIN=16 GAP=24 TOP=66 LINE=18

# png_size FILE: "WIDTH HEIGHT" from the PNG header; fails on a file that is not a PNG.
png_size() {
  [ "$(od -An -tx1 -N8 "$1" | tr -d ' ')" = 89504e470d0a1a0a ] || { echo "plot_images.sh: $1 is not a PNG" >&2; return 2; }
  od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
}

# loss_row K WHO: "f content style tv [style/photo]" of row WHO (start, lstm or the baseline's
# name; "baseline": the row after lstm) of test problem K in images.log (logs written before
# art_images printed style/photo have four numbers).
loss_row() {
  awk -v k="$1" -v who="$2" '
    /^test problem / { on = ($3 == k); row = 0; next }
    on && $2 == "f" { row++; gsub(/[(),]/, ""); if ($1 == who || (who == "baseline" && row == 3)) { print $3, $5, $7, $9, $11; exit } }' "$log"
}
photo_of() { sed -n "s/^test problem $1 (\(.*\)):$/\1/p" "$log" | sed 's/\.png$//'; }
task_part() { sed -n "s/^# task: .*$1.*/\\1/p" "$log" | head -1; }

# baseline_caption K: "adam, lr 0.1" from the log's "# baseline:" line, else from BASELINE, else
# the name of the row alone.
baseline_caption() {
  local line
  line=$(sed -n 's/^# baseline: \([^ ]*\) lr \([^ ]*\)$/\1, lr \2/p' "$log" | head -1)
  if [ -n "$line" ]; then echo "$line"
  elif [ -n "$given_baseline" ]; then echo "${given_baseline%%=*}, lr ${given_baseline#*=}"
  else awk -v k="$1" '/^test problem / { on = ($3 == k); row = 0; next } on && $2 == "f" && ++row == 3 { print $1; exit }' "$log"; fi
}

# loss_labels X Y PREFIX F C S T [R]: gnuplot labels, one line each, centred at pixel column X
# from pixel row Y down (PREFIX before f: "start: " under the content; R, style/photo, as a
# percentage beside the style term, except under the start, PREFIX non-empty).
loss_labels() {
  local x=$1 y=$2 i=0 text style="style $6"
  [ -n "${8:-}" ] && [ -z "$3" ] && style="style $6 ($(awk -v r="$8" 'BEGIN { printf "%.2g", 100 * r }')% of photo)"
  for text in "$3f $4" "content $5" "$style" "tv $7"; do
    echo "set label \"$text\" at screen $x/W, 1 - ($y + $((i * LINE)))/H center"
    i=$((i + 1))
  done
}

# panel_image STRIP I: the gnuplot plot element that draws panel I of STRIP enlarged, its top-left
# corner at pixel (MARGIN + I x (panel + space), TOP) of the figure (the whole strip is placed so,
# the other panels masked out). The plot's axes are the figure's pixels (x right, y up),
# so each strip pixel is a SCALE x SCALE block at whole pixels: nothing is resampled. The mask is
# the alpha channel: opaque only in panel I's columns (the point counter $0 gives the column).
panel_image() {
  local strip=$1 i=$2 first=$(($2 * (s + gap))) x0=$((MARGIN + $2 * (p + space)))
  local ox=$((x0 - first * scale)) oy=$((h - TOP - p))
  echo "'$strip' binary filetype=png dx=$scale dy=$scale origin=($ox + $scale / 2.0, $oy + $scale / 2.0)" \
    "using 1:2:3:((int(\$0) % $sw) >= $first && (int(\$0) % $sw) < $((first + s)) ? 255 : 0) with rgbalpha"
}

# draw_figure K STRIP OUT: figure_<k>.png from compare_<k>.png.
draw_figure() {
  local k=$1 strip=$2 out=$3 sw sh
  local size
  size=$(png_size "$strip") || return 2
  read -r sw sh <<<"$size"
  if [ "$sh" -eq 0 ] || [ $(((sw - 4 * sh) % 3)) != 0 ] || [ "$sw" -lt $((4 * sh)) ]; then
    echo "plot_images.sh: $strip is ${sw}x$sh, not four square panels side by side" >&2
    return 2
  fi
  local s=$sh gap=$(((sw - 4 * sh) / 3)) scale=$(((MIN_SIDE + sh - 1) / sh))
  # Panels at least GAP apart, and at least as far as the strip's own gap enlarged: then every
  # copy of the strip panel_image places lies inside the figure (none is clipped at its edge).
  local p=$((s * scale)) space=$((gap * scale > GAP ? gap * scale : GAP)) w h
  w=$((2 * MARGIN + 4 * p + 3 * space)) h=$((TOP + p + 5 * LINE + 6))
  local captions=("content ($(photo_of "$k"))" "${LSTM_CAPTION:-LSTM}" "$(baseline_caption "$k")" "style ($(task_part 'style \([^,]*\),'))")
  local rows=("start" "lstm" "baseline") prefixes=("start: " "" "") losses=() i cx
  for i in 0 1 2; do  # "f content style tv [style/photo]" of each row, the first four there
    losses[i]=$(loss_row "$k" "${rows[$i]}")
    [ "$(wc -w <<<"${losses[$i]}")" -ge 4 ] || { echo "plot_images.sh: no ${rows[$i]} row for test problem $k in $log" >&2; return 2; }
  done
  {
    echo "set terminal pngcairo size $w,$h font 'Sans,11' noenhanced"
    echo "set output '$out'"
    echo "W = $w.0; H = $h.0"
    echo "unset border; unset tics; unset key; unset colorbox"
    echo "set lmargin at screen 0; set rmargin at screen 1; set tmargin at screen 1; set bmargin at screen 0"
    echo "set xrange [0:W]; set yrange [0:H]"
    echo "set label \"test problem $k, ${s}x$s pixels shown x$scale (each pixel a ${scale}x$scale block)\" at screen 0.5, 1 - 14/H center font 'Sans,12'"
    echo "set label \"$(task_part '\(f = [^;]*\), theta_0'); the terms under each image sum to its f\" at screen 0.5, 1 - 32/H center font 'Sans,10'"
    for i in 0 1 2 3; do
      cx=$((MARGIN + i * (p + space) + p / 2))
      echo "set label \"${captions[$i]}\" at screen $cx/W, 1 - $((TOP - 10))/H center font 'Sans,11:Bold'"
      # shellcheck disable=SC2086  # the numbers are split into arguments on purpose
      [ "$i" -lt 3 ] && loss_labels "$cx" $((TOP + p + LINE)) "${prefixes[$i]}" ${losses[$i]}
    done
    echo "plot $(panel_image "$strip" 0), $(panel_image "$strip" 1), $(panel_image "$strip" 2), $(panel_image "$strip" 3)"
  } | gnuplot
  echo "wrote $out (${w}x$h): ${captions[0]} | ${captions[1]} | ${captions[2]} | ${captions[3]};" \
    "f start ${losses[0]%% *}, LSTM ${losses[1]%% *}, baseline ${losses[2]%% *}"
}

found=0
for strip in "$dir"/compare_*.png; do
  [ -f "$strip" ] || continue
  k=${strip##*/compare_}
  k=${k%.png}
  draw_figure "$k" "$strip" "$dir/figure_$k.png" || exit 2
  found=$((found + 1))
done
[ "$found" -gt 0 ] || { echo "plot_images.sh: no compare_<k>.png in $dir" >&2; exit 2; }
