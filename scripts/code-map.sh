#!/usr/bin/env bash
# code-map.sh: the README's map of the code, one row per source file with its line count and the
# first line of its file-top comment. Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "| file | lines | what it is |"
echo "|---|---:|---|"
for dir in autodiff nn tasks apps tests scripts; do
  total=0
  for f in $(git ls-files "$dir" | grep -E '\.(h|cpp|sh)$' | sort); do
    n=$(wc -l <"$f")
    total=$((total + n))
    what=$(grep -m1 -E '^(//|#) ' "$f" | grep -v '^#!' | sed -E 's/^(\/\/|#) //; s/\|/\\|/g' | cut -c1-110)
    echo "| \`$f\` | $n | $what |"
  done
  echo "| **$dir/** | **$total** | |"
done
