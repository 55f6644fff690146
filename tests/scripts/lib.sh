# shellcheck shell=bash
# lib.sh: what the shell test scripts share (sourced by test_flags.sh, test_train_cli.sh and
# test_mpi.sh): a temp folder removed at exit, check NAME COMMAND... that counts and prints
# PASS/FAIL, and the closing "<script>: N passed, N failed" line that CI counts.
# Is not: a test framework; each script keeps its own checks and helpers of its subject.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {  # check NAME COMMAND...
  if "${@:2}"; then echo "PASS  $1"; pass=$((pass + 1)); else echo "FAIL  $1"; fail=$((fail + 1)); fi
}
# summary: the closing line, and the script's exit status (0 when nothing failed).
summary() {
  echo "$(basename "$0"): $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
