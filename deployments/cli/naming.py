"""How a person types this CLI: a leaf module, so the door and the stack's reach can name the
command in their refusals without importing the module that runs them (deployments/cli/common.py)."""

from __future__ import annotations

import sys
from pathlib import Path


def cli_command() -> str:
    """How a person types this CLI in a fresh shell (no venv activated): the console script set-up
    installs, relative to the project folder when they stand in it."""
    exe = Path(sys.executable).parent / "xuncha"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)
