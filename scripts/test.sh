#!/usr/bin/env bash
# One command: install (with the browser) and run every test, the end-to-end ones included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export PREFECT_SERVER_ANALYTICS_ENABLED=false
.venv/bin/python -m ruff check flows tasks models deployments tests bench
.venv/bin/python -m mypy --strict flows tasks models deployments bench
# Two pytest-xdist workers (one per core), a file at a time: each worker that meets an end-to-end
# file starts its own stack, as `up` does (tests/conftest.py puts the end-to-end files first).
# XUNCHA_TEST_WORKERS=0 runs everything in this one process.
workers=${XUNCHA_TEST_WORKERS:-2}
exec .venv/bin/python -m pytest -p no:cacheprovider -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
