"""Every status moves through its table (models/transitions.py): no module of the product writes a
record's `status` itself — not by assignment (plain, tuple or augmented), not by `setattr`, not
by a set-based `update(...).values(status=...)`. A record is moved with `Machine.move`, a set of
rows with `.values(**Machine.bulk(sources, target))`, both of which check the table first."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("flows", "tasks", "models", "deployments")
TABLES = ROOT / "models" / "transitions.py"  # the one place a status is set (Machine.move)


def _targets(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)
    elif isinstance(node, ast.Starred):
        yield from _targets(node.value)
    else:
        yield node


def _is_update(node: ast.AST) -> bool:
    """The call chain `update(...)…` (sqlalchemy's UPDATE) under a `.values` call."""
    while True:
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "update") or (
                    isinstance(func, ast.Attribute) and func.attr == "update" and isinstance(func.value, ast.Name)
                    and func.value.id in {"sa", "sqlalchemy"}):
                return True
            node = func
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return False


def status_writes(source: str) -> list[int]:
    """The lines of `source` that write a `status` other than through a transition table."""
    tree = ast.parse(source)
    found: list[int] = []
    in_init: set[int] = set()  # `self.status` set up in an __init__ is an object's own field, not a record's
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            in_init.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in _targets(target)]
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = list(_targets(node.target))
        for t in targets:
            if isinstance(t, ast.Attribute) and t.attr == "status":
                if isinstance(t.value, ast.Name) and t.value.id == "self" and id(t) in in_init:
                    continue
                found.append(t.lineno)
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value == "status"):
                found.append(node.lineno)
            if (isinstance(func, ast.Attribute) and func.attr == "values" and _is_update(func.value)
                    and any(k.arg == "status" for k in node.keywords)):
                found.append(node.lineno)
    return sorted(found)


def test_the_detector_sees_every_kind_of_direct_write() -> None:
    source = (
        "g.status = GroupingStatus.STARTED\n"
        "row.status, row.secret = AlertStatus.HANDLED, ''\n"
        "a, (b.status, c) = 1, (2, 3)\n"
        "cp.status: str = 'x'\n"
        "setattr(row, 'status', AlertStatus.SENT)\n"
        "session.execute(update(Alert).where(x).values(status=AlertStatus.SENDING, n=1))\n"
        "X = update(_ALERTS).where(_MINE).values(\n    status=AlertStatus.SENT)\n"
        "class Inbox:\n    def __init__(self):\n        self.status = 200\n"
        "    def fail(self):\n        self.status = 500\n"
    )
    assert status_writes(source) == [1, 2, 3, 4, 5, 6, 7, 13]
    allowed = (
        "GROUPINGS.move(g, GroupingStatus.STARTED)\n"
        "session.execute(update(Alert).where(x).values(**ALERTS.bulk([AlertStatus.PENDING], AlertStatus.SENDING)))\n"
        "session.execute(insert(Alert).values(status=AlertStatus.PENDING))\n"  # a new row is not a move
        "if row.status == AlertStatus.SENT:\n    pass\n"
    )
    assert status_writes(allowed) == []


def test_no_status_is_written_outside_its_transition_table() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == TABLES or "migrations" in path.parts:  # Alembic's scripts change the schema, not records
                continue
            for line in status_writes(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == [], "状态须经 models/transitions.py 的变更表变更（Machine.move / Machine.bulk）：" + "、".join(offenders)


def test_every_status_column_has_its_transition_table() -> None:
    """Each table's `status` column (an enum a record moves through) has a table in MACHINES, and no
    table of moves is kept outside models/transitions.py where this check would not see it. A log
    row's status (a progress report records what was reported, it never moves) is not a status of its own."""
    import enum

    from sqlmodel import SQLModel

    import models.db  # noqa: F401  (registers every table, results use included)
    from models.enums import LookBackStatus
    from models.tables import LookBack
    from models.transitions import MACHINES

    logs = {"progress_report"}  # rows written once with the status reported, never moved
    tabled = {type(next(iter(m.allowed))) for m in MACHINES}
    missing = []
    for table in SQLModel.metadata.sorted_tables:
        column = table.columns.get("status")
        if column is None or table.name in logs:
            continue
        kind = getattr(column.type, "enum_class", None)
        if kind is None:  # a plain string column (the look-back's, an older table) holding an enum's values
            assert table.name == LookBack.__tablename__, f"{table.name}.status 不是枚举"
            kind = LookBackStatus
        assert issubclass(kind, enum.Enum)
        if kind not in tabled:
            missing.append(f"{table.name}.status（{kind.__name__}）")
    assert missing == [], "这些状态没有变更表（models/transitions.py MACHINES）：" + "、".join(missing)
    elsewhere = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == TABLES or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Machine":
                    elsewhere.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert elsewhere == [], "状态变更表须写在 models/transitions.py：" + "、".join(elsewhere)
