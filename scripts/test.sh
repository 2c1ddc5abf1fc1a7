#!/usr/bin/env bash
# Every tier: unit and per-service integration tests (SQLite and PostgreSQL), system tests
# (every service as a process, Tansu, PostgreSQL), chart checks (helm, kubernetes-validate), and
# browser tests (Chromium, axe-core).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
start=$(date +%s)

echo "== build"
cargo build --workspace --bins --tests

echo "== unit, integration and system tests"
cargo test --workspace --no-fail-fast

echo "== chart checks (helm lint, template, kubernetes-validate, golden renders)"
tools/venv/bin/python scripts/helm-check.py

echo "== browser tests"
(cd tests/browser && node --test)

echo "== all tiers passed in $(( $(date +%s) - start )) s"
