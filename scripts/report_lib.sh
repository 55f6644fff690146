# shellcheck shell=bash
# report_lib.sh: sentences for REPORT.md read from the results.json files `l2l eval` writes
# (source it; it defines functions only; awk and grep, no JSON library). Both keep working when
# a field is absent: they then say nothing about it rather than guess.
#
#   run_counts DIR...   how many test runs diverged and how many ended above their start, summed
#                       over the eval folders DIR... ("diverged_runs" and
#                       "ended_above_start_runs" of each optimizer, out of config "problems"; a
#                       results.json with only "diverged_runs" counted both in it, and is so named).
#   tuning_notes GRID DIR...   for each tuned baseline whose best rate is the lowest or highest
#                       rate tried: says it is not a true optimum; says when the grid was widened
#                       beyond GRID (lo:hi:per_decade); else that every tuned rate is interior.

# The optimizer fields of one results.json as lines "name key value".
_optimizer_fields() {
  sed -n '/"optimizers"/,$p' "$1" |
    grep -oE '"(name|diverged_runs|ended_above_start_runs)": ("[^"]*"|[0-9]+)' |
    awk -F': ' '{ gsub(/"/, ""); if ($1 == "name") cur = $2; else print cur, $1, $2 }'
}

run_counts() {
  local d n
  for d in "$@"; do
    [ -f "$d/results.json" ] || continue
    n=$(grep -o '"problems": "[0-9]*"' "$d/results.json" | head -1 | grep -o '[0-9][0-9]*' || true)
    _optimizer_fields "$d/results.json" | sed "s/\$/ ${n:-0}/"
  done | awk '
    { key = $1 SUBSEP $2; count[key] += $3; total[key] += $4; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
      has[$2] = 1 }
    function list(field,   i, s, key) {
      s = ""
      for (i = 1; i <= k; i++) { key = order[i] SUBSEP field
        if (count[key] > 0) s = s (s == "" ? "" : ", ") order[i] " " count[key] " of " total[key] }
      return s }
    END {
      if ("diverged_runs" in has && !("ended_above_start_runs" in has)) {  # the older results.json: one count for both
        s = list("diverged_runs")
        printf "%s", s == "" ? "No test run diverged or ended above its start." : "Test runs that diverged or ended above their start (this results.json counts the two together): " s "." }
      else if ("diverged_runs" in has) { s = list("diverged_runs")
        printf "%s", s == "" ? "No test run diverged (non-finite or exploding loss)." : "Test runs that diverged (non-finite or exploding loss): " s "." }
      if ("ended_above_start_runs" in has) { s = list("ended_above_start_runs")
        printf " %s", s == "" ? "No test run ended above its starting loss." : "Test runs that ended above their starting loss (not diverged): " s "." }
      print "" }'
}

tuning_notes() {
  local grid=$1 d many="" g
  shift
  # The grid the runs were tuned on, from the first results.json's config (else the argument).
  for d in "$@"; do [ -f "$d/results.json" ] && break; done
  g=$(grep -o '"grid": "[-0-9.:]*"' "$d/results.json" 2>/dev/null | head -1 | cut -d'"' -f4 || true)
  grid=${g:-$grid}
  [ $# -gt 1 ] && many=1  # name the folder of each note only when there are several
  for d in "$@"; do
    [ -f "$d/results.json" ] || continue
    # One line per file (l2l eval writes one key per line), so each optimizer's entry reads
    # '"sgd": {"best_lr": 0.1, "grid": [...], ..., "tried": [[lr,loss], ...]}'.
    sed -n '/"tuning"/,/"optimizers"/p' "$d/results.json" | tr '\n' ' ' | sed -E 's/\{ +/{/g; s/"grid": \[[^]]*\]//g' |
      grep -oE '"[A-Za-z0-9_]+": \{"best_lr": [-0-9.e+]+|\[[-0-9.e+]+,' |
      awk -v dir="${many:+$(basename "$d")}" -v none=- '
        /best_lr/ { name = $1; gsub(/[":]/, "", name); best[name] = $3 + 0; lo[name] = ""; order[++k] = name; next }
        { v = substr($0, 2) + 0; if (lo[name] == "" || v < lo[name]) lo[name] = v; if (v > hi[name]) hi[name] = v }
        END { for (i = 1; i <= k; i++) { n = order[i]; print (dir == "" ? none : dir), n, best[n], lo[n], hi[n] } }'
  done | awk -v grid="$grid" '
    function near(a, b) { return a > b * (1 - 1e-6) && a < b * (1 + 1e-6) }
    BEGIN { split(grid, g, ":"); glo = 10 ^ g[1]; ghi = 10 ^ g[2] }
    { n++; if ($1 != "-") many = 1; if (!($1 in seen)) { seen[$1] = 1; folders++ }
      side = near($3, $4) ? "lowest" : near($3, $5) ? "highest" : ""
      if (side != "") { key = $2 " " side; if (!(key in cnt)) order[++k] = key
        cnt[key]++; where[key] = where[key] (where[key] == "" ? "" : ", ") $1; rate[key] = $3; lo[key] = $4; hi[key] = $5 }
      if ($4 < glo * (1 - 1e-6) || $5 > ghi * (1 + 1e-6)) widened = widened sprintf("%s%s%s to %g..%g", widened == "" ? "" : ", ",
        $2, $1 == "-" ? "" : " (" $1 ")", $4, $5) }
    END { if (n == 0) exit
      if (widened != "") printf "Tuning grid widened past 10^%s..10^%s because the best rate sat at its edge: %s. ", g[1], g[2], widened
      if (k == 0) { print "Every tuned learning rate is inside the grid it was chosen from."; exit }
      # One folder: "sgd best rate 10 is the highest tried (0.0001..10)". Several: one entry per
      # optimizer and edge, "sgd at the highest rate tried in 2 of 12 folders (l3_u10, l3_u5)".
      for (i = 1; i <= k; i++) { key = order[i]; split(key, f, " ")
        if (many) e = sprintf("%s at the %s rate tried in %d of %d folders (%s)", f[1], f[2], cnt[key], folders, where[key])
        else e = sprintf("%s best rate %g is the %s tried (%g..%g)", f[1], rate[key], f[2], lo[key], hi[key])
        edges = edges (edges == "" ? "" : "; ") e }
      print "**Best rate at the grid edge, not a true optimum:** " edges "." }'
}
