#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine into the project venv .venv, then run the
# whole suite. Browser tests drive Debian's chromium headless; it is installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
source scripts/venv.sh
python -m pip install -q -e ".[test]"
python -m pytest "$@"
