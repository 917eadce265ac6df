#!/usr/bin/env bash
# The test command: installs what the checks need (idempotent), then runs every
# check and stops at the first failure.
#
#   scripts/test.sh                  # everything
#   scripts/test.sh -k imap -x       # extra arguments go to pytest
#
# Needs Debian/Ubuntu (apt) for the system packages: Dovecot + Postfix for the
# mail tests (tests/fixtures/mailenv.sh starts private instances on free
# loopback ports; the system services are never started), Chromium for the
# browser tests, python3-venv.  Runs as root or with sudo.  Uses PostgreSQL on
# 127.0.0.1:5432 when one answers and POSTROOM_TEST_DATABASE_URL is not set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
export PIP_DISABLE_PIP_VERSION_CHECK=1
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_PACKAGES=(dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix isync openssl
  ca-certificates chromium python3-venv)

pick_python() { if have python3.11; then echo python3.11; else echo python3; fi; }
can_make_venv() { [ -x .venv/bin/python ] || "$(pick_python)" -c 'import ensurepip, venv' 2>/dev/null; }

install_system_packages() {
  local had_dovecot=0 had_postfix=0 own_policy=0
  if have dovecot; then had_dovecot=1; fi
  if have postfix; then had_postfix=1; fi
  # policy-rc.d (exit 101) keeps the packages' own dovecot/postfix services
  # from starting; containers usually have one already
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  if [ "$own_policy" = 1 ]; then
    $SUDO rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  # with systemd the packages enable their units: the tests never use them
  if [ -d /run/systemd/system ]; then
    if [ "$had_dovecot" = 0 ]; then $SUDO systemctl disable --now dovecot.service || true; fi
    if [ "$had_postfix" = 0 ]; then $SUDO systemctl disable --now postfix.service || true; fi
  fi
}

if ! have dovecot || ! have postfix || ! have chromium || ! can_make_venv; then
  step "Installing system packages: ${APT_PACKAGES[*]}"
  install_system_packages
fi

if [ ! -x .venv/bin/python ]; then
  step "Creating .venv ($(pick_python))"
  "$(pick_python)" -m venv --clear .venv
fi
if [ ! .venv/.installed -nt pyproject.toml ]; then
  step "Installing postroom[test] into .venv"
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi

if [ -z "${POSTROOM_TEST_DATABASE_URL:-}" ]; then
  if have pg_isready; then
    pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
  else
    pg_up() {
      .venv/bin/python -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 2)' \
        2>/dev/null
    }
  fi
  if pg_up; then
    export POSTROOM_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  fi
fi
echo "PostgreSQL tests: ${POSTROOM_TEST_DATABASE_URL:-not configured (SQLite only)}"

lint_dirs=()
for d in src tests benchmarks; do if [ -d "$d" ]; then lint_dirs+=("$d"); fi; done
format_dirs=()
for d in src tests; do if [ -d "$d" ]; then format_dirs+=("$d"); fi; done

step "ruff check ${lint_dirs[*]}"
.venv/bin/ruff check "${lint_dirs[@]}"
step "ruff format --check ${format_dirs[*]}"
.venv/bin/ruff format --check "${format_dirs[@]}"
step "mypy src"
.venv/bin/mypy src
step "lint-imports"
.venv/bin/lint-imports
step "pytest $*"
.venv/bin/pytest -q "$@"
