#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
# Used by the README and by .ci/run. Safe to run again (reuses .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c requirements.lock -e '.[test]'
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
