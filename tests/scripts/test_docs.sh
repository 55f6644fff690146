#!/usr/bin/env bash
# test_docs.sh: what the README and docs/*.md say about the code is current. Checks, in every
# document a user reads (README.md, docs/*.md, zoo/*/README.md):
#   - each `path:N` or `path:N-M` reference (a path from the repository root, or a file name that
#     one tracked file has) names a tracked file with at least that many lines, and when the
#     reference is followed by (`name`), line N (or one of N..M) contains that name;
#   - each row of the code map (`path` | N |) and each "`path` (N lines)" states the file's
#     current line count;
#   - no words of the project's own tracking ("issue 12", "the helper's run", "session").
# The checker is tried first on documents made stale on purpose, so that it cannot pass by
# checking nothing. Prints PASS/FAIL per check and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/scripts/lib.sh  # tmp, check, summary

# problems DOC: one line per stale statement of DOC (nothing when all are current). One awk
# process (the machine may be loaded: a process per reference would take minutes).
git ls-files >"$tmp/tracked"
problems() {
  awk -v doc="$1" -v tracked="$tmp/tracked" '
    function lines(path,   n, l) { if (path in nlines) return nlines[path]; n = 0
      while ((getline l < path) > 0) { n++; text[path, n] = l }; close(path); nlines[path] = n; return n }
    function resolve(name,   hits, found, f) {  # a tracked path, or the one tracked file of that name
      if (name in istracked) return name
      hits = 0; for (f in istracked) if (f == name || substr(f, length(f) - length(name)) == "/" name) { hits++; found = f }
      return hits == 1 ? found : ""
    }
    function ref(r,   part, name, range, lo, hi, sym, path, n, i, ok) {
      # r is `name:lo[-hi]` optionally followed by (`sym`): split on the backquotes
      split(r, part, "`"); name = part[2]; sym = part[4]
      range = name; sub(/^[^:]*:/, "", range); sub(/:.*$/, "", name)
      lo = range + 0; hi = lo; if (index(range, "-")) { hi = substr(range, index(range, "-") + 1) + 0 }
      path = resolve(name)
      if (path == "") { print doc ": " r ": no tracked file (or more than one) is named " name; return }
      n = lines(path)
      if (hi > n) { print doc ": " r ": " path " has " n " lines"; return }
      if (sym == "") return
      ok = 0; for (i = lo; i <= hi; i++) if (index(text[path, i], sym)) ok = 1
      if (!ok) print doc ": " r ": line(s) " lo "-" hi " of " path " do not contain " sym " (the line moved: update the reference)"
    }
    function count(r,   part, name, want, path, n) {
      # r is a code map row "| `name` | N | ..." or "`name` (N lines)"
      split(r, part, "`"); name = part[2]; want = part[3]
      sub(/^[^0-9]*/, "", want); sub(/[^0-9,].*$/, "", want); gsub(/,/, "", want); path = resolve(name)
      if (path == "") { print doc ": " r ": no tracked file is named " name; return }
      n = lines(path)
      if (n != want + 0) print doc ": " r ": " path " has " n " lines now (regenerate with scripts/code-map.sh --update)"
    }
    BEGIN { while ((getline f < tracked) > 0) istracked[f] = 1 }
    {
      rest = $0
      while (match(rest, /`[A-Za-z0-9_.\/-]+\.(cpp|h|sh|py|md):[0-9]+(-[0-9]+)?`( \(`[^`]+`\))?/)) {
        ref(substr(rest, RSTART, RLENGTH)); rest = substr(rest, RSTART + RLENGTH)
      }
      if ($0 ~ /^\| `[^`]+` \| [0-9]+ \|/) count($0)
      rest = $0
      while (match(rest, /`[A-Za-z0-9_.\/-]+` \([0-9,]+ lines\)/)) { count(substr(rest, RSTART, RLENGTH)); rest = substr(rest, RSTART + RLENGTH) }
      if (tolower($0) ~ /(^|[^a-z])issue #?[0-9]|helper(.s)? (run|session)|(^|[^a-z])sessions?([^a-z]|$)/)
        print doc ": tracker words: " FNR ": " $0
    }' "$1"
}

# 1. The checker itself, on stale documents.
printf 'See `autodiff/tape.cpp:999999`.\n' >"$tmp/stale1.md"
check "a reference past the file's end is caught" bash -c "tmp=$tmp; $(declare -f problems); problems '$tmp/stale1.md' | grep -q 'has [0-9]* lines'"
printf 'See `autodiff/tape.cpp:1` (`no_such_function_name`).\n' >"$tmp/stale2.md"
check "a reference whose line lost its name is caught" bash -c "tmp=$tmp; $(declare -f problems); problems '$tmp/stale2.md' | grep -q 'do not contain'"
printf '| `autodiff/tape.cpp` | 1 | the tape |\n' >"$tmp/stale3.md"
check "a stale line count is caught" bash -c "tmp=$tmp; $(declare -f problems); problems '$tmp/stale3.md' | grep -q 'lines now'"
printf 'See `no_such_file.cpp:3`.\n' >"$tmp/stale4.md"
check "a reference to a missing file is caught" bash -c "tmp=$tmp; $(declare -f problems); problems '$tmp/stale4.md' | grep -q 'no tracked file'"
printf 'As issue 9 said.\n' >"$tmp/stale5.md"
check "tracker words are caught" bash -c "tmp=$tmp; $(declare -f problems); problems '$tmp/stale5.md' | grep -q 'tracker words'"
first=$(grep -n . autodiff/tape.cpp | head -1 | cut -d: -f1)
printf 'See `tape.cpp:%s` (`%s`) and `autodiff/tape.cpp` (%s lines).\n' "$first" "$(sed -n "${first}p" autodiff/tape.cpp | cut -c4-20)" \
  "$(wc -l <autodiff/tape.cpp)" >"$tmp/fresh.md"
check "a current document passes" test -z "$(problems "$tmp/fresh.md")"

# 2. The documents.
for doc in README.md docs/*.md zoo/*/README.md; do
  [ -f "$doc" ] || continue
  out=$(problems "$doc")
  [ -z "$out" ] || echo "$out"
  check "$doc: its file:line references, line counts and words are current" test -z "$out"
done

summary
