#!/usr/bin/env bash
# Set up and run the vidline demo: the sandbox PBX, SQLite, two demo agents.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/vidline demo "$@"
