#!/bin/sh
# Copies the front-end files Licensor serves from the npm packages (installed
# by `npm ci` from package-lock.json) into static/vendor, which go:embed
# then compiles into the binary. Run from the repository root.
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] || { echo "node_modules is missing: run npm ci first" >&2; exit 1; }
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css
