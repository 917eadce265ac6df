#!/usr/bin/env bash
# Run Postroom from a local .venv (created on first use):
#
#   scripts/serve.sh [postroom serve options...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1
have() { command -v "$1" >/dev/null 2>&1; }
pick_python() { if have python3.11; then echo python3.11; else echo python3; fi; }

if [ ! -x .venv/bin/python ]; then
  if ! "$(pick_python)" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "==> Installing python3-venv" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
      --no-install-recommends python3-venv >/dev/null
  fi
  echo "==> Creating .venv ($(pick_python))" >&2
  "$(pick_python)" -m venv --clear .venv
fi
# scripts/test.sh's stamp means postroom[test] (a superset) is installed already
if [ ! .venv/.installed -nt pyproject.toml ] && [ ! .venv/.installed-serve -nt pyproject.toml ]; then
  echo "==> Installing postroom into .venv" >&2
  .venv/bin/pip install -q -e .
  touch .venv/.installed-serve
fi
exec .venv/bin/postroom serve "$@"
