#!/usr/bin/env bash
# Idempotent setup of everything vidline and its tests need on a fresh Debian
# machine: a virtualenv with the package (editable) and its test tools, and
# Debian's chromium for the browser tests. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VIDLINE_VENV:-.venv}
WITH_TESTS=${1:-}

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# front-end bundles (the customer widget, rrweb co-browsing; frontend/) into the
# package data before pip installs the package: `npm ci` from package-lock.json (only when the lock
# changed), then `npm run build` (only when the lock or the sources changed)
# (the widget is built from frontend/src/widget: no npm, no customer widget)
if ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi
if command -v npm >/dev/null 2>&1; then
    lock=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
    if [ ! -f node_modules/.vidline-lock ] || [ "$(cat node_modules/.vidline-lock)" != "$lock" ]; then
        npm ci --no-audit --no-fund --loglevel=error
        echo "$lock" > node_modules/.vidline-lock
    fi
    # every source under frontend/src, names too (the widget's modules in frontend/src/widget/)
    built=$({ cat package-lock.json frontend/build.mjs
              find frontend/src -type f -name '*.js' | LC_ALL=C sort \
                  | while read -r f; do echo "$f"; cat "$f"; done; } | sha256sum | cut -d' ' -f1)
    if [ ! -f node_modules/.vidline-built ] || [ "$(cat node_modules/.vidline-built)" != "$built" ] \
            || [ ! -f plugin/vidline/widget/static/vidline.js ] \
            || [ ! -f plugin/vidline/widget/static/cobrowse.js ] \
            || [ ! -f agent_panel/static/cobrowse.js ] || [ ! -f agent_panel/static/cobrowse.css ]; then
        npm run --silent build
        echo "$built" > node_modules/.vidline-built
    fi
else
    echo "setup: npm could not be installed: the customer widget cannot be built" >&2
    exit 1
fi

stamp="$VENV/.vidline-installed"
want=$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)$WITH_TESTS
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    if [ "$WITH_TESTS" = "--tests" ]; then
        "$VENV/bin/python" -m pip install -q -e '.[test]'
    else
        "$VENV/bin/python" -m pip install -q -e .
    fi
    echo "$want" > "$stamp"
fi

if [ "$WITH_TESTS" = "--tests" ] && ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

# coturn: the TURN server the relay-only media test starts on loopback
if [ "$WITH_TESTS" = "--tests" ] && ! command -v turnserver >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq coturn >/dev/null
    # the package's own service stays off: tests start their own instance
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now coturn >/dev/null 2>&1 || true
    fi
fi
