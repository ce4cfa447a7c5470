#!/usr/bin/env bash
# Set up and run the whole test suite: lint, types, unit, integration (real
# MariaDB on 127.0.0.1:3306) and browser tests (Debian chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
# MariaDB is started before the session on this machine kind; start it if it stopped.
if ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 1; done
fi
.venv/bin/ruff check plugin tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
