#!/usr/bin/env bash
# One command: install, start Prefect's private PostgreSQL and the Prefect server, register the
# deployments, start a worker and the relay, load the demo county and start a demo round that stops at its first approval.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false
exec .venv/bin/python -m deployments.cli.main up "$@"
