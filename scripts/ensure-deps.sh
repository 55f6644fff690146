#!/usr/bin/env bash
# ensure-deps.sh PKG...: make sure these Debian packages are installed.
# As root, installs the missing ones with apt-get; otherwise prints the exact command and fails.
# Called by the Makefile before anything is built, so `make test` works on a fresh machine.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "l2l: installing missing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "l2l: installed ${missing[*]}"
else
  echo "l2l: missing Debian packages: ${missing[*]}" >&2
  echo "l2l: install them with:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
