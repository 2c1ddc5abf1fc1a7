#!/usr/bin/env bash
# Installs, idempotently, everything the tests need on a fresh Debian machine:
# a running PostgreSQL, the Tansu Kafka-protocol broker, Chromium, the npm packages, and the
# chart checks' helm and kubernetes-validate.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL on 127.0.0.1:5432 with trust auth for the postgres user.
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing PostgreSQL"
  apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# Tansu, the broker of the system tests (slow to build the first time; skipped when present).
if ! command -v tansu >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tansu" ]; then
  echo "building Tansu (about 17 minutes the first time)"
  cargo install tansu --locked --features dynostore
fi

# Chromium for the browser tests (Playwright's own browser download does not work here).
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Chromium"
  apt_install chromium
fi

# npm packages: the gateway's design system, and Playwright + axe-core for the browser tests.
scripts/web-assets.sh
(cd tests/browser && { [ -d node_modules/playwright-core ] && cmp -s package-lock.json node_modules/.alongside-installed; } || { npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.alongside-installed; })
# helm and kubernetes-validate for the chart checks.
scripts/install-helm-tools.sh
echo "test dependencies ready"
