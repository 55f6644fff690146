#!/usr/bin/env bash
# test_fetch_data.sh: scripts/fetch-data.sh against local copies served as file:// URLs (no
# network): MNIST end to end (the four files laid out, their content checked, read by build/l2l);
# a second run keeps what checks out without downloading; a mirror with a corrupted file is
# refused, naming the file, writing nothing and leaving no temp folder; CIFAR-10 from a tarball
# in the official layout (to stay fast it holds test_batch.bin only, and the five training
# batches are already in place, so they are kept after their check), read by build/l2l; a tarball
# without a batch is refused; the script's checksums are the data README's. Needs
# ../shared/data (as every data test). Prints PASS/FAIL per check and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
L2L=build/l2l
SHARED=../shared/data
source tests/scripts/lib.sh  # tmp, check, summary
quiet() { "$@" >/dev/null 2>&1; }
fetch() { nice -n 10 scripts/fetch-data.sh "$@"; }
sha_gz() { gzip -dc <"$1" | sha256sum | cut -d' ' -f1; }

# 1. MNIST from a mirror folder.
MNIST_URL="file://$(realpath "$SHARED/mnist")" ONLY=mnist fetch "$tmp/d" >"$tmp/mnist.log" 2>&1
check "MNIST: fetch-data.sh succeeds from a file:// mirror" test $? -eq 0
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  check "  ... $f.gz is in DEST/mnist with the original content" test "$(sha_gz "$tmp/d/mnist/$f.gz")" = "$(sha_gz "$SHARED/mnist/$f.gz")"
done
check "  ... and l2l reads it (--data DEST)" quiet "$L2L" eval --task mnist --data "$tmp/d" --steps 1 --problems 1 \
  --optimizers sgd --lr sgd=0.1 --out "$tmp/e1" --threads 1
check "  ... its summary says what the final accuracy is measured on" grep -q "final accuracy, test split (trained on)" "$tmp/e1/summary.md"
MNIST_URL="file://$tmp/nowhere" ONLY=mnist fetch "$tmp/d" >"$tmp/again.log" 2>&1
check "a second run keeps the files that check out (no download: the URL is wrong)" test $? -eq 0
check "  ... saying so" test "$(grep -c '^kept .*checks out' "$tmp/again.log")" -eq 4

# 2. A corrupted mirror: refused, nothing written, no temp folder left.
mkdir -p "$tmp/bad"
cp "$SHARED"/mnist/*.gz "$tmp/bad/"
printf '\037\213\010\000\000\000\000\000\000\003\003\000\000\000\000\000\000\000\000\000' >"$tmp/bad/train-labels-idx1-ubyte.gz"
MNIST_URL="file://$tmp/bad" ONLY=mnist fetch "$tmp/d2" >"$tmp/bad.log" 2>&1
check "a file with other content is refused" test $? -ne 0
check "  ... naming it and the expected checksum" grep -q "train-labels-idx1-ubyte.gz: its content has SHA-256 .*expected 65a50cbb" "$tmp/bad.log"
check "  ... and it is not written" test ! -e "$tmp/d2/mnist/train-labels-idx1-ubyte.gz"
check "  ... and no temp folder is left" bash -c "! ls -A '$tmp/d2' | grep -q '^\.fetch'"

# 3. CIFAR-10 from a tarball in the official layout (test_batch.bin only; the rest already there).
mkdir -p "$tmp/tar/cifar-10-batches-bin" "$tmp/d/cifar10"
xz -dc "$SHARED/cifar10/test_batch.bin.xz" >"$tmp/tar/cifar-10-batches-bin/test_batch.bin"
tar -C "$tmp/tar" -cf - cifar-10-batches-bin | gzip -1 >"$tmp/cifar.tar.gz"
cp "$SHARED"/cifar10/data_batch_*.bin.xz "$tmp/d/cifar10/"
CIFAR10_URL="file://$tmp/cifar.tar.gz" XZ_OPTS=-0 ONLY=cifar10 fetch "$tmp/d" >"$tmp/cifar.log" 2>&1
check "CIFAR-10: fetch-data.sh succeeds from a file:// tarball" test $? -eq 0
check "  ... keeps the five training batches after checking them" test "$(grep -c '^kept .*data_batch_[1-5].bin.xz' "$tmp/cifar.log")" -eq 5
check "  ... writes test_batch.bin.xz with the original content" \
  test "$(xz -dc <"$tmp/d/cifar10/test_batch.bin.xz" | sha256sum)" = "$(xz -dc <"$SHARED/cifar10/test_batch.bin.xz" | sha256sum)"
check "  ... and batches.meta.txt as the data set's" cmp -s "$tmp/d/cifar10/batches.meta.txt" "$SHARED/cifar10/batches.meta.txt"
check "  ... and l2l reads it" quiet "$L2L" eval --task cifar --data "$tmp/d" --cifar-labels 0,1 --steps 1 --problems 1 \
  --optimizers sgd --lr sgd=0.1 --final-metrics false --out "$tmp/e2" --threads 1
rm "$tmp/d/cifar10/data_batch_2.bin.xz"
CIFAR10_URL="file://$tmp/cifar.tar.gz" XZ_OPTS=-0 ONLY=cifar10 fetch "$tmp/d" >"$tmp/cifar2.log" 2>&1
check "a tarball without a needed batch is refused" test $? -ne 0
check "  ... naming it" grep -q 'holds no cifar-10-batches-bin/data_batch_2.bin' "$tmp/cifar2.log"

# 4. The script's checksums are the data README's.
for sum in $(grep -oE '\b[0-9a-f]{64}\b' scripts/fetch-data.sh); do
  check "checksum ${sum:0:12}... is listed in the data README" grep -q "$sum" "$SHARED/README.md"
done

summary
