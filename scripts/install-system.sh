#!/usr/bin/env bash
# Debian packages the book uses: the Fashion-MNIST data and Chromium (for the
# browser test of the built site). Installs them only as root on Debian/Ubuntu;
# anywhere else it says what it skipped and carries on.
set -euo pipefail
packages=(dataset-fashion-mnist chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "system: ${packages[*]} already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system: skipped ${missing[*]} (not a Debian system). Fashion-MNIST will download when online;"
  echo "        the browser test of the book is skipped without Chromium."
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "system: skipped ${missing[*]} (needs root). To install them: sudo apt-get install ${missing[*]}"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system: installed ${missing[*]}"
