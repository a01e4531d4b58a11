"""docs/settings.md documents the settings class as it is: every field of models/settings.py
Settings appears, as its environment variable, in one of the page's settings tables (those whose
first column is 变量), with what it means; and every variable those tables name is a field."""

from __future__ import annotations

import re
from pathlib import Path

from models.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "settings.md"


def documented() -> dict[str, str]:
    """Variable -> its meaning, from the rows of the tables headed | 变量 | 含义 | 默认 |."""
    found: dict[str, str] = {}
    in_table = False
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "变量":
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            names = re.findall(r"XUNCHA_[A-Z0-9_]+", cells[0])
            assert names, f"设置表中的一行没有变量名：{line}"
            for name in names:
                assert name not in found, f"{name} 在设置参考中出现两次"
                found[name] = cells[1]
    return found


def fields() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def test_every_setting_is_documented_and_every_documented_one_exists() -> None:
    docs = documented()
    assert sorted(fields() - set(docs)) == [], "设置参考（docs/settings.md）中缺少这些设置"
    assert sorted(set(docs) - fields()) == [], "设置参考中写了设置类没有的设置"
    assert [name for name, meaning in docs.items() if not meaning] == [], "这些设置没有写含义"
