#!/usr/bin/env bash
# tests/check_make_incremental.sh — make keeps its objects: with nothing changed a second
# `make` compiles nothing, touching one .cpp recompiles that file only (then relinks), and an
# object built afresh is kept (make deletes the intermediates it creates unless told not to:
# that is how every make used to rebuild the whole library after a clean build). Run from
# anywhere; CI runs it. Costs two compiles and the relinks.
set -euo pipefail
cd "$(dirname "$0")/.."
compiles() { grep -E ' -c [^ ]+\.cpp' | sed -E 's/.* -c ([^ ]+\.cpp).*/\1/' || true; }
fail() { echo "FAIL (make keeps its objects): $*"; exit 1; }

make -j2 all >/dev/null
again=$(make -n all 2>/dev/null | compiles)
[ -z "$again" ] || fail "a second make with nothing changed would compile: $again"
src=autodiff/gradcheck.cpp
touch "$src"
rebuilt=$(make -j2 all 2>&1 | compiles)
[ "$rebuilt" = "$src" ] || fail "after touching $src, make compiled: ${rebuilt:-nothing} (expected $src only)"
obj=build/f32/"${src%.cpp}.o"
rm -f "$obj" "${obj%.o}.d" build/nn_demo  # built afresh, with no .d file yet: as after `make clean`
rebuilt=$(make -j2 all 2>&1 | compiles)
[ "$rebuilt" = "$src" ] || fail "with $obj and build/nn_demo removed, make compiled: ${rebuilt:-nothing}"
[ -f "$obj" ] || fail "$obj was deleted after linking (an intermediate file of a pattern rule)"
again=$(make -n all 2>/dev/null | compiles)
[ -z "$again" ] || fail "after that, make would compile again: $again"
echo "make keeps its objects: a second make compiles nothing; touching $src recompiles only it"
