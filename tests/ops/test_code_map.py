"""The code map (docs/code-map.md) is the tree as it is: every module of flows, tasks,
models and deployments appears in it, at its place, and nothing it lists is missing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("flows", "tasks", "models", "deployments")


def code_map() -> tuple[set[str], set[str]]:
    """(files, folders) of the tree drawn in the first code block of docs/code-map.md."""
    text = (ROOT / "docs" / "code-map.md").read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    files: set[str] = set()
    folders: set[str] = set()
    stack: list[str] = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent > 2 * len(stack):
            continue  # a description carried on to the next line
        assert indent % 2 == 0, f"代码结构的缩进应为两个空格一级：{line!r}"
        depth = indent // 2
        name = line.split()[0]
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+/?", name), line
        stack = stack[:depth]
        path = "/".join([*stack, name.rstrip("/")])
        if name.endswith("/"):
            folders.add(path)
            stack.append(name.rstrip("/"))
        else:
            files.add(path)
    return files, folders


def modules() -> set[str]:
    found = set()
    for top in CODE:
        for p in (ROOT / top).rglob("*.py"):
            rel = p.relative_to(ROOT).as_posix()
            if p.name == "__init__.py" or "/migrations/versions/" in rel:
                continue
            found.add(rel)
    return found


def test_every_module_is_in_the_code_map_and_every_entry_exists() -> None:
    files, folders = code_map()
    listed = {f for f in files if f.endswith(".py") and f.split("/")[0] in CODE}
    assert modules() - listed == set(), "代码结构中缺少这些模块"
    assert listed - modules() == set(), "代码结构中列出了不存在的模块"
    for f in files:
        assert (ROOT / f).exists(), f
    for d in folders:
        assert (ROOT / d).is_dir(), d
