#!/usr/bin/env bash
# One command: install (with the browser) and run every test, the end-to-end ones included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/python -m ruff check flows tasks models deployments tests bench
.venv/bin/python -m mypy --strict flows tasks models deployments bench
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
