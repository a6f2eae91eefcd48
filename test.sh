#!/usr/bin/env bash
# Install everything the tests need (from this repository's own files) and run them:
# ruff, mypy, import-linter, then pytest. Node tools for two test modules are installed when npm exists
# (those tests skip cleanly without node).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -e '.[test]'
if command -v npm >/dev/null 2>&1; then
  (cd tests/tools && npm ci --no-audit --no-fund --silent) || echo "npm install failed: node-based tests will skip" >&2
fi
.venv/bin/ruff check syncd tests bench
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
.venv/bin/python -m pytest "$@"
