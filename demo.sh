#!/usr/bin/env bash
# Install syncd into .venv and sync the example Logseq graph (examples/graph: Readwise pages)
# into a new Obsidian vault, ./demo-vault. Run it twice: the second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet -e .
.venv/bin/syncd once examples/graph demo-vault --state-dir demo-state
echo
echo "Notes written:"
find demo-vault -name '*.md' | sort
