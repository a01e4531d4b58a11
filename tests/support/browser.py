"""The headless Chromium every browser test drives (the Debian package, never a download) and
where their screenshots go (the README's, in docs/screenshots, only when asked)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from models.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Every run of the browser tests takes its screenshots; they go over the README's pictures in
# docs/screenshots only when asked (XUNCHA_UPDATE_SCREENSHOTS=1, docs/console.md), else to the
# untracked test-artifacts/ — a test run does not rewrite the docs with whatever other runs it saw.
SHOTS = (PROJECT_ROOT / "docs" / "screenshots" if os.environ.get("XUNCHA_UPDATE_SCREENSHOTS") == "1"
         else PROJECT_ROOT / "test-artifacts" / "screenshots")
PHONE = {"width": 390, "height": 844}


@contextmanager
def served(app: Any, what: str) -> Iterator[str]:
    """An ASGI app served by uvicorn in a thread on a free loopback port, for a browser to open."""
    import uvicorn

    from deployments.ops.stack import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for one test (skipped where the package is not installed); the
    screenshot folder exists."""
    import pytest

    if not CHROMIUM.exists():
        pytest.skip(f"needs {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
