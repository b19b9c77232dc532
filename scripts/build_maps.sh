#!/usr/bin/env bash
# Install the package and write the interactive maps into maps/ (open maps/index.html in a browser).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q .
corridors build --out maps "$@"
