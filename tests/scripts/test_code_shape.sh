#!/usr/bin/env bash
# test_code_shape.sh: the shape the code promises its readers (DEVELOPERS' standards), checked:
#   - every .h and .cpp under autodiff/ nn/ tasks/ apps/ opens with a comment that names the file;
#   - no function in tasks/ or apps/ is longer than 60 lines (its body, braces included);
#   - tasks/meta_train.cpp, the paper's Section 2, stays at most 250 lines.
# A function is found by its opening line: one that ends in ") {" (or ") const {", "override {",
# ...) outside any other function; it ends where the brace depth returns. Comments and string
# literals are blanked first, so their braces do not count.
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }

# long_functions FILE...: "file:line: N lines: first line" for every function over 60 lines.
long_functions() {
  awk -v max=60 '
    FNR == 1 { depth = 0; in_fn = 0 }
    {
      line = $0
      gsub(/"([^"\\]|\\.)*"/, "\"\"", line)     # string literals
      gsub(/'"'"'([^'"'"'\\]|\\.)*'"'"'/, "0", line)  # char literals
      sub(/\/\/.*/, "", line)                    # line comments
      if (!in_fn && line ~ /\)[ a-z&>:_<,()0-9]*\{[ ]*$/ && line !~ /^[ ]*(if|for|while|switch|else)[ (]/) {
        in_fn = 1; start = FNR; start_depth = depth; head = $0
      }
      n = split(line, ch, "")
      for (i = 1; i <= n; i++) { if (ch[i] == "{") depth++; else if (ch[i] == "}") depth-- }
      if (in_fn && depth <= start_depth) {
        in_fn = 0
        if (FNR - start + 1 > max) { sub(/^[ ]+/, "", head); printf "%s:%d: %d lines: %s\n", FILENAME, start, FNR - start + 1, head }
      }
    }' "$@"
}

missing=""
for f in $(git ls-files 'autodiff/*.h' 'autodiff/*.cpp' 'nn/*.h' 'nn/*.cpp' 'tasks/*.h' 'tasks/*.cpp' 'apps/*.h' 'apps/*.cpp'); do
  b=$(basename "$f"); head -1 "$f" | grep -qE "^// ($b|${b%.*}|$f)[: ]" || missing+=" $f"
done
[ -z "$missing" ] && ok "every source file opens with a comment naming it" || bad "files without their top comment:$missing"

long=$(long_functions $(git ls-files 'tasks/*.h' 'tasks/*.cpp' 'apps/*.h' 'apps/*.cpp'))
[ -z "$long" ] && ok "no function in tasks/ or apps/ over 60 lines" || { bad "functions over 60 lines in tasks/ or apps/:"; echo "$long" | sed 's/^/      /'; }

lines=$(wc -l <tasks/meta_train.cpp)
[ "$lines" -le 250 ] && ok "tasks/meta_train.cpp is $lines lines (at most 250)" || bad "tasks/meta_train.cpp is $lines lines (more than 250)"

# The checker itself finds a long function (a test that could not fail would prove nothing).
tmp=$(mktemp --suffix=.cpp)
{ echo "int f(int x) {"; for i in $(seq 70); do echo "  x += $i;"; done; echo "  return x;"; echo "}"; } >"$tmp"
[ -n "$(long_functions "$tmp")" ] && ok "the checker finds a 73-line function" || bad "the checker missed a 73-line function"
rm -f "$tmp"

echo "test_code_shape.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
