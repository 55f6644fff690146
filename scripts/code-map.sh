#!/usr/bin/env bash
# code-map.sh: the README's map of the code, one row per source file with its line count and the
# first line of its file-top comment. Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "| file | lines | what it is |"
echo "|---|---:|---|"
# One group per folder; tasks/ and its three subfolders each get their own (the method at the top
# of tasks/, then the optimizees, the data readers and the run).
for dir in autodiff nn tasks tasks/optimizees tasks/data tasks/run apps tests scripts; do
  total=0
  for f in $(git ls-files "$dir" | grep -E "^$dir/[^/]+\.(h|cpp|sh)\$|^(tests|scripts)/.*\.(h|cpp|sh)\$" | grep -E "^$dir/" | sort); do
    n=$(wc -l <"$f")
    total=$((total + n))
    what=$(awk '/^(\/\/|#) / && !/^# shellcheck/ { print; exit }' "$f" | sed -E 's/^(\/\/|#) //; s/\|/\\|/g' | cut -c1-110)
    echo "| \`$f\` | $n | $what |"
  done
  echo "| **$dir/** | **$total** | |"
done
