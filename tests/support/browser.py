"""The headless Chromium every browser test drives (the Debian package, never a download) and
where their screenshots for the README go."""

from __future__ import annotations

from pathlib import Path

from models.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = PROJECT_ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
