#!/usr/bin/env bash
# Every tier: unit and per-service integration tests (SQLite and PostgreSQL), system tests
# (every service as a process, Tansu, PostgreSQL), chart checks (helm, kubernetes-validate), and
# browser tests (Chromium, axe-core); then the Rust tests and the browser tests again "on" other
# days (scripts/test-days.sh), with every service's clock moved there by ALONGSIDE_TEST_TODAY.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
start=$(date +%s)

echo "== the code's shape (files, functions, import circles; scripts/code-shape.py)"
python3 scripts/code-shape.py

echo "== build"
cargo build --workspace --bins --tests

echo "== unit, integration and system tests"
cargo test --workspace --no-fail-fast

echo "== chart checks (helm lint, template, kubernetes-validate, golden renders)"
tools/venv/bin/python scripts/helm-check.py

echo "== browser tests"
(cd tests/browser && node --test)

# The same tests on other days: a year and a day ahead, a leap day, either side of a tax year's
# end. Dates are the one thing that changes, so SQLite alone (the system tests use PostgreSQL).
days=$(scripts/test-days.sh)
for day in $days; do
  echo "== the Rust tests again, on $day (ALONGSIDE_TEST_TODAY=$day, SQLite)"
  ALONGSIDE_TEST_TODAY=$day ALONGSIDE_TEST_BACKENDS=sqlite cargo test --workspace --no-fail-fast
done
first_day=${days%% *}
if [ -n "$first_day" ]; then
  echo "== browser tests again, on $first_day"
  (cd tests/browser && ALONGSIDE_TEST_TODAY=$first_day node --test)
fi

echo "== all tiers passed in $(( $(date +%s) - start )) s"
