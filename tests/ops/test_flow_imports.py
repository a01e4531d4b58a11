"""A flow run is a new process at every start and every resume after an approval, and it imports its
deployment's flow file before anything else: that file must not pull in what only the relay
(Apprise, to send), a document (python-docx, docxtpl, Jinja) or a workbook (openpyxl) needs. With
them a unit flow imported 582 modules beyond Prefect's engine, without them 278 (bench/README.md, 会话 13)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LATE = ("apprise", "docx", "docxtpl", "jinja2", "openpyxl", "requests", "markdown")


def test_the_deployments_flow_files_import_nothing_only_sending_or_documents_need() -> None:
    entrypoints = sorted({d["entrypoint"].split(":")[0] for d in yaml.safe_load(
        (ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]})
    assert len(entrypoints) >= 10, entrypoints
    modules = [e.removesuffix(".py").replace("/", ".") for e in entrypoints]
    probe = ("import importlib, json, sys\n"
             f"for m in {modules!r}: importlib.import_module(m)\n"
             f"print(json.dumps(sorted(p for p in {LATE!r} if p in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [], out.stdout
