# Sourced by build_maps.sh and test.sh: create the project's virtual environment .venv with the system Python
# (Debian/Ubuntu's Python refuses a bare `pip install`, PEP 668) and activate it.
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    # Debian/Ubuntu ship the venv module in a separate package
    rm -rf .venv
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv
  fi
fi
# shellcheck disable=SC1091
. .venv/bin/activate
