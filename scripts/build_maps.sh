#!/usr/bin/env bash
# Install corridors into the project venv .venv and write the interactive maps into maps/
# (open maps/index.html in a browser). Afterwards: `source .venv/bin/activate` and use `corridors` / `import corridors`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
python -m pip install -q .
corridors build --out maps "$@"
