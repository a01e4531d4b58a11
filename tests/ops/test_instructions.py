"""Every instruction the project documents or prints works as typed in a fresh shell after
set-up: the console command exists, runs without an activated virtualenv, and every command the
README, the manuals in docs/ or the code tell people to type is one it has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from typer.main import get_command

from deployments.cli.main import app
from models.settings import PROJECT_ROOT

TYPED = re.compile(r"(?:\.venv/bin/)?xuncha ([a-z][a-z-]+)")
SOURCES = ["flows", "tasks", "models", "deployments", "scripts"]


def commands() -> set[str]:
    return set(get_command(app).commands)  # type: ignore[attr-defined]


def texts() -> dict[str, str]:
    files = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "bench" / "README.md", *sorted((PROJECT_ROOT / "docs").rglob("*.md"))]
    files += [p for d in SOURCES for p in (PROJECT_ROOT / d).rglob("*") if p.suffix in {".py", ".sh"}]
    return {str(p.relative_to(PROJECT_ROOT)): p.read_text(encoding="utf-8") for p in files}


def test_no_instruction_needs_an_activated_virtualenv() -> None:
    stale = {name for name, text in texts().items() if re.search(r"(?<!\.venv/bin/)python -m deployments\.cli", text)}
    assert stale == set()


def test_every_documented_command_exists() -> None:
    known = commands()
    typed = {(name, cmd) for name, text in texts().items() for cmd in TYPED.findall(text)}
    assert typed, "the README shows commands"
    assert {(name, cmd) for name, cmd in typed if cmd not in known} == set()


def test_console_command_runs_in_a_fresh_shell(tmp_path: Path) -> None:
    exe = PROJECT_ROOT / ".venv" / "bin" / "xuncha"
    assert exe.exists(), "scripts/setup.sh installs the console command"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XUNCHA_HOME": str(tmp_path / "home")}
    # A command that needs no login (every other one asks for `xuncha login` first, tests/identity).
    out = subprocess.run([".venv/bin/xuncha", "whoami"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "当前未登录。登录：.venv/bin/xuncha login 姓名"
