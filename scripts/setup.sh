#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: a virtualenv with the pinned
# requirements, Debian's PostgreSQL server binaries (Prefect's private database) and, for the
# browser tests, Debian's Chromium with CJK fonts.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
# The console command `.venv/bin/xuncha` (pyproject [project.scripts]), editable: it runs this checkout.
project=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/xuncha ] || [ "$(cat .venv/.project.sha256 2>/dev/null)" != "$project" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$project" > .venv/.project.sha256
fi

# Prefect's own database on the embedded default is a private PostgreSQL that `up` starts under
# the data folder (deployments/ops/private_pg.py): the server binaries come from Debian's package.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

# The tests also render each Word document once to PDF (LibreOffice) and its first page to PNG.
if [ "${1:-}" = "--browser" ] && ! { [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "noto.*cjk" \
    && command -v soffice >/dev/null && command -v pdftoppm >/dev/null; }; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-noto-cjk libreoffice-writer-nogui poppler-utils >/dev/null
fi
