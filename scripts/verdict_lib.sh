# shellcheck shell=bash
# verdict_lib.sh: the report's verdicts (source it; it defines functions only): the sentences and
# verdict-table rows made from `l2l verdict` (tasks/verdict.h), for the optimizer this run trained
# and, when the eval ran it too, the one trained at scale (zoo/; needs zoo_lib.sh). Rows go to the
# file $VROWS of the current report section (experiments.sh, section).
#
#   verdict DIR ROW CLAIM [fails] [LEARNED]   the sentences of a claim, and its table row
#   verdict_row JSON ROW CLAIM [SCALE_JSON]   a table row from verdict_<learned>.json files
#   majority VERDICT_JSON...                  Figure 6's count of nets per word, and its majority
#   lbfgs_note CSV STEP                       L-BFGS beside the LSTM (not a claim of the paper)

# verdict DIR ROW CLAIM [fails] [LEARNED]: the paired verdict of `l2l verdict` on DIR/runs.csv
# (tasks/verdict.h): LEARNED (default lstm) minus the best tuned baseline (SGD, NAG, RMSprop or
# Adam; L-BFGS, not in the paper, is reported apart by lbfgs_note), per test problem, on the mean
# f over the last 10 steps, with a 95% t-interval: agrees, disagrees or tie. With "fails" the
# paper's claim is that the learned optimizer is worse (Figure 5, ReLU). When DIR also ran
# LEARNED-scale (the optimizer trained at scale, zoo/), it is judged the same way. Prints the
# report's sentences and adds "| ROW | CLAIM | numbers | difference [interval] | verdict | at
# scale: difference [interval] | verdict |" to the section's verdict rows ($VROWS), which open
# REPORT.md as one table.
verdict() {
  local dir=$1 row=$2 claim=$3 sense=lower learned=${5:-lstm} scale_json=""
  [ "${4:-}" = fails ] && sense=higher
  build/l2l verdict --dir "$dir" --learned "$learned" --claim "$sense" || return 1
  if grep -q "^$learned-scale," "$dir/runs.csv"; then
    printf 'Trained at scale (%s): ' "$(scale_budget "$dir" "$learned-scale")"
    build/l2l verdict --dir "$dir" --learned "$learned-scale" --claim "$sense" || return 1
    scale_json=$dir/verdict_$learned-scale.json
  fi
  verdict_row "$dir/verdict_$learned.json" "$row" "$claim" "$scale_json" >>"$VROWS"
}
# verdict_row JSON ROW CLAIM [SCALE_JSON]: one row of the verdict table from verdict_<learned>.json
# (and the at-scale columns from SCALE_JSON, else "-").
verdict_row() {
  local scale="- | -"
  [ -n "${4:-}" ] && scale=$(verdict_diff_cells "$4")
  printf '| %s | %s | %s | %s |\n' "$2" "$3" "$(verdict_cells "$1")" "$scale"
}
# verdict_cells JSON: "LSTM 0.23 vs NAG 0.29 | -0.05 [-0.06, -0.05] (-19%), n = 100 | **agrees**" (the
# optimizers named as l2l verdict shows them: learned_shown, baseline_shown).
verdict_cells() {
  tr -d '\n' <"$1" | grep -oE '"[a-z_]+": ("[^"]*"|[-0-9.e+]+|-?inf|null)' |
    awk -F'": ' '{ k = substr($1, 2); v = $2; gsub(/"/, "", v); f[k] = v }
      END { if (f["problems"] < 2) d = sprintf("%+.3g (one problem: no interval)", f["diff_mean"])
        else d = sprintf("%+.3g [%+.3g, %+.3g] (%+.0f%%), n = %d", f["diff_mean"], f["diff_lo"], f["diff_hi"],
          100 * f["diff_mean"] / f["baseline_mean"], f["problems"])
        printf "%s %.4g vs %s %.4g | %s | **%s**", f["learned_shown"], f["learned_mean"], f["baseline_shown"], f["baseline_mean"], d, f["word"] }'
}
# verdict_diff_cells JSON: "-0.05 [-0.06, -0.05] (-19%), n = 100 | **agrees**" (the at-scale columns).
verdict_diff_cells() { verdict_cells "$1" | cut -d'|' -f2- | sed 's/^ //'; }
# scale_budget DIR LEARNED: "zoo/mnist-scale: 20000 meta-updates" for the checkpoint DIR's eval
# ran as LEARNED (lstm-scale: --phi-scale, lstm-sub-scale: --phi-sub-scale, in DIR/config.txt).
scale_budget() {
  local flag=phi-scale phi name
  [ "$2" = lstm-sub-scale ] && flag=phi-sub-scale
  phi=$(sed -n "s/^$flag = //p" "$1/config.txt")
  name=$(basename "$(dirname "$phi")")
  if zoo_entry "$name" >/dev/null && [ -f "$(dirname "$phi")/train_log.csv" ]; then
    echo "$(dirname "$phi"): $(($(zoo_epochs_done "$(dirname "$phi")") * $(zoo_updates_per_epoch "$name"))) meta-updates"
  else
    echo "$phi"
  fi
}

# lbfgs_note CSV STEP: L-BFGS (not in the paper; no learning rate, one step = one iteration) at
# STEP against the LSTM and the best tuned baseline there; nothing if CSV has no lbfgs column.
lbfgs_note() {
  awk -F, -v step="$2" 'NR == 1 { for (i = 2; i <= NF; i += 2) name[i] = substr($i, 1, length($i) - 5); next }
    $1 == step { best = ""; for (i = 2; i <= NF; i += 2) { if (name[i] == "lbfgs") q = $i; else if (name[i] == "lstm") l = $i
        else if (name[i] !~ /^lstm/ && $i != "null" && (best == "" || $i + 0 < best + 0)) { best = $i; bn = name[i] } }
      if (q == "") exit
      printf "L-BFGS (not in the paper; m = 10, Armijo backtracking line search, no learning rate to tune; one step = one iteration, whose function evaluations the table states): %.4g at step %d, against %sthe best tuned baseline, %s (%.4g).", q, step, l == "" ? "" : sprintf("the LSTM (%.4g) and ", l), bn, best }' "$1"
}

# majority VERDICT_JSON...: "NETS AGREE TIE WORD": the majority word of the nets' verdicts.
majority() {
  local words n a t word=mixed
  words=$(cat "$@" | grep -o '"word": "[a-z]*"' | cut -d'"' -f4)
  n=$(grep -c . <<<"$words"); a=$(grep -cx agrees <<<"$words" || true); t=$(grep -cx tie <<<"$words" || true)
  [ $((2 * a)) -gt "$n" ] && word=agrees
  [ $((2 * (n - a - t))) -gt "$n" ] && word=disagrees
  echo "$n $a $t $word"
}
