#!/usr/bin/env bash
# Copies the JavaScript the built book needs (MathJax 3, the Jupyter widgets
# HTML manager, require.js) from npm into _vendor/, which Sphinx copies into the
# site, so pages render math and widgets with no network.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --silent --no-audit --no-fund
out=../_vendor
rm -rf "$out"
# The widget manager finds its own modules and fonts under the AMD module path
# "@jupyter-widgets/html-manager/dist/", resolved from require.js's baseUrl,
# which widgets-config.js sets to the site's _static/ folder.
manager="$out/@jupyter-widgets/html-manager/dist"
mkdir -p "$out/mathjax" "$manager"
cp -r node_modules/mathjax/es5/. "$out/mathjax/"
find node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f ! -name '*.map' \
  -exec cp {} "$manager/" \;
cp node_modules/requirejs/require.js "$out/require.js"
cp widgets-config.js "$out/widgets-config.js"
echo "assets: vendored MathJax, html-manager and require.js into _vendor/"
