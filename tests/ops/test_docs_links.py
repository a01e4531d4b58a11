"""The manual holds together: README stays short (an entry point, not the manual), and every
link and picture in README and docs/ points at a file that exists (the manuals moved into docs/
and link to each other and to the screenshots the browser tests take)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)|<img src=\"([^\"]+)\"")
ROLES = ("office", "leading-group", "team", "unit", "receiver", "public")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_readme_is_an_entry_point() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert text.index("bash scripts/up.sh") < text.index("## 接下来读什么")  # the two commands first


def test_every_role_has_its_guide_linked_from_the_readme() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for role in ROLES:
        assert (ROOT / "docs" / "roles" / f"{role}.md").exists(), role
        assert f"(docs/roles/{role}.md)" in text, role


def test_every_link_and_picture_points_at_a_file() -> None:
    broken = []
    for page in pages():
        for link, src in LINK.findall(page.read_text(encoding="utf-8")):
            target = link or src
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []
