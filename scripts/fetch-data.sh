#!/usr/bin/env bash
# fetch-data.sh: MNIST and CIFAR-10 on a machine that does not have them, laid out as l2l reads
# them (tasks/data/data.cpp):
#   DEST/mnist/{train,t10k}-images-idx3-ubyte.gz, {train,t10k}-labels-idx1-ubyte.gz
#   DEST/cifar10/data_batch_{1..5}.bin.xz, test_batch.bin.xz, batches.meta.txt
# Downloads from the public sources, checks every file against the SHA-256 of its uncompressed
# content (the checksums the data README of the shared data set lists: these are the original
# LeCun and Toronto files), then moves it into place. A file already in DEST that checks out
# is kept. Nothing partial is left in DEST: each file is checked in a temp folder, then renamed.
#
#   scripts/fetch-data.sh [DEST]         DEST defaults to ./data, where l2l looks (else --data DEST
#                                        or L2L_DATA=DEST)
# Environment:
#   MNIST_URL    a folder URL holding the four .gz files
#                (default https://ossci-datasets.s3.amazonaws.com/mnist, a mirror of LeCun's files)
#   CIFAR10_URL  the URL of cifar-10-binary.tar.gz
#                (default https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz)
#   ONLY         mnist or cifar10: fetch one of the two
#   XZ_OPTS      how the CIFAR batches are compressed (default: --delta=dist=32 --lzma2=preset=6)
# Any URL curl reads works, file:// included (tests/scripts/test_fetch_data.sh uses that).
# Needs curl, sha256sum, gzip, tar and xz (Debian: curl, xz-utils; installed when run as root).
# Is not: the Neural Art images or the VGG weights (not downloadable from one public source).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-data}
MNIST_URL=${MNIST_URL:-https://ossci-datasets.s3.amazonaws.com/mnist}
CIFAR10_URL=${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}
ONLY=${ONLY:-}
read -r -a XZ_ARGS <<<"${XZ_OPTS:---delta=dist=32 --lzma2=preset=6}"
command -v curl >/dev/null && command -v xz >/dev/null || scripts/ensure-deps.sh curl xz-utils

# SHA-256 of the uncompressed files.
declare -A SHA=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
  [data_batch_1.bin]=cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5
  [data_batch_2.bin]=a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed
  [data_batch_3.bin]=bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67
  [data_batch_4.bin]=014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48
  [data_batch_5.bin]=755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add
  [test_batch.bin]=8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b
  [batches.meta.txt]=2ce042b1e0b48db4bb214408e6414ba18b2731c24af244f2d6c112fddf31af00
)
MNIST_FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
CIFAR_FILES=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

# The temp folder is inside DEST, so that moving a checked file into place is a rename.
mkdir -p "$DEST"
work=$(mktemp -d "$DEST/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "fetch-data.sh: $*" >&2; exit 1; }
# sha_of DECOMPRESSOR FILE: the SHA-256 of FILE's content after DECOMPRESSOR (cat: as is).
sha_of() { $1 <"$2" | sha256sum | cut -d' ' -f1; }  # $1 unquoted: "gzip -dc" is a command and its flag
# checked NAME DECOMPRESSOR FILE: FILE's content is the expected NAME.
checked() { [ "$(sha_of "$2" "$3" 2>/dev/null)" = "${SHA[$1]}" ]; }
download() {  # download URL FILE
  curl -fsSL --retry 3 -o "$2" "$1" || fail "could not download $1 (set MNIST_URL / CIFAR10_URL to a mirror)"
}

fetch_mnist() {
  mkdir -p "$DEST/mnist"
  local name gz
  for name in "${MNIST_FILES[@]}"; do
    gz="$DEST/mnist/$name.gz"
    if [ -f "$gz" ] && checked "$name" "gzip -dc" "$gz"; then echo "kept $gz (checks out)"; continue; fi
    download "$MNIST_URL/$name.gz" "$work/$name.gz"
    checked "$name" "gzip -dc" "$work/$name.gz" ||
      fail "$MNIST_URL/$name.gz: its content has SHA-256 $(sha_of "gzip -dc" "$work/$name.gz" 2>/dev/null || echo '(not gzip)'), expected ${SHA[$name]}; nothing was written to $DEST/mnist for it. Try another MNIST_URL."
    mv -f "$work/$name.gz" "$gz"
    echo "wrote $gz"
  done
}

# The label names, one per line, as l2l's README of the data set lists them.
write_meta() {
  printf '%s\n' airplane automobile bird cat deer dog frog horse ship truck >"$1"
}

fetch_cifar() {
  mkdir -p "$DEST/cifar10"
  local name xzf missing=()
  for name in "${CIFAR_FILES[@]}"; do
    xzf="$DEST/cifar10/$name.xz"
    if [ -f "$xzf" ] && checked "$name" "xz -dc" "$xzf"; then echo "kept $xzf (checks out)"; else missing+=("$name"); fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    download "$CIFAR10_URL" "$work/cifar.tar.gz"
    tar -xzf "$work/cifar.tar.gz" -C "$work" || fail "$CIFAR10_URL is not a readable .tar.gz"
    for name in "${missing[@]}"; do
      local bin="$work/cifar-10-batches-bin/$name"
      [ -f "$bin" ] || fail "$CIFAR10_URL holds no cifar-10-batches-bin/$name (is it the binary version?)"
      checked "$name" cat "$bin" || fail "$CIFAR10_URL: $name has SHA-256 $(sha_of cat "$bin"), expected ${SHA[$name]}; not written"
      xz "${XZ_ARGS[@]}" -T2 -c "$bin" >"$work/$name.xz"
      mv -f "$work/$name.xz" "$DEST/cifar10/$name.xz"
      echo "wrote $DEST/cifar10/$name.xz"
    done
  fi
  write_meta "$work/batches.meta.txt"
  checked batches.meta.txt cat "$work/batches.meta.txt" || fail "internal: batches.meta.txt does not match its checksum"
  mv -f "$work/batches.meta.txt" "$DEST/cifar10/batches.meta.txt"
}

case "$ONLY" in
  "") fetch_mnist; fetch_cifar ;;
  mnist) fetch_mnist ;;
  cifar10) fetch_cifar ;;
  *) fail "ONLY must be mnist or cifar10, got '$ONLY'" ;;
esac
echo "done: l2l reads $DEST with --data $DEST (or L2L_DATA=$DEST; ./data is found by default)"
