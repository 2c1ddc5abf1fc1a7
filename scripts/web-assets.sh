#!/usr/bin/env bash
# Installs the gateway's front-end packages (nhsuk-frontend) from the lockfile, once.
set -euo pipefail
cd "$(dirname "$0")/../services/gateway/web"
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.alongside-installed 2>/dev/null; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: pages will be unstyled until nhsuk-frontend is installed (apt-get install nodejs npm)" >&2
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.alongside-installed
