"""Builders for test data taken from the demo county (deployments/demo/county.yaml).

The default round has one team (组长 李建国, 副组长 陈晓梅, 组员 刘洋) inspecting three units
none of them has to recuse from: 城东街道, 区教育局 and 区交通投资集团.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from models.db import make_engine
from models.enums import AlertStatus, RoundStatus, Stage
from models.errors import DomainError
from models.forms import FindingIn, RoundParams
from models.settings import Settings, get_settings
from models.tables import AuditEvent, Inspection, InspectionRound, Unit
from tasks.lifecycle.rounds import create_round, settle_plan
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.templates import TEMPLATES

DEMO_UNITS: tuple[str, ...] = ("城东街道", "区教育局", "区交通投资集团")
START = date(2026, 12, 1)
END = date(2026, 12, 31)
SHEET_HEADER = ["问题类别", "问题描述", "证据材料", "问题性质", "立行立改"]


@contextmanager
def database(home: Path, *, demo: bool = True) -> Iterator[Session]:
    """A database like the `session`/`demo_org` fixtures, for module-scoped fixtures shared by
    tests that only read, or that each assert they wrote nothing."""
    TEMPLATES.copy_sqlite("demo" if demo else "schema", home)  # built once (tests/support/templates.py)
    engine = make_engine(f"sqlite:///{home / 'xuncha.db'}")
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def team_data(
    *, name: str = "第一巡察组", leader: str = "李建国", deputy: str | None = "陈晓梅",
    members: Sequence[str] = ("刘洋",), units: Sequence[str] = DEMO_UNITS,
) -> dict[str, Any]:
    return {"name": name, "leader": leader, "deputy": deputy, "members": list(members), "units": list(units)}


def round_data(
    *, name: str = "2026年第一轮巡察", kind: str = "常规巡察", start: date = START, end: date = END,
    teams: list[dict[str, Any]] | None = None, **team: Any,
) -> dict[str, Any]:
    """The raw form as the office fills it in (before validation)."""
    return {"name": name, "kind": kind, "start_date": start, "end_date": end,
            "teams": teams if teams is not None else [team_data(**team)]}


def round_params(**kwargs: Any) -> RoundParams:
    return RoundParams.model_validate(round_data(**kwargs))


def unvalidated_params(**kwargs: Any) -> RoundParams:
    """Params that skip the form's own validation, to test validate_round on its own."""
    from models.forms import TeamSpec

    data = round_data(**kwargs)
    teams = [TeamSpec.model_validate(t) for t in data.pop("teams")]
    return RoundParams.model_construct(**data, teams=teams)


def make_round(
    session: Session, params: RoundParams | None = None, *, now: datetime = NOW, flow_run_id: str | None = None,
) -> tuple[InspectionRound, list[Inspection]]:
    """Create a round with create_round and commit; returns the round and its inspections by unit order."""
    params = params or round_params()
    rnd = create_round(session=session, params=params, now=now, flow_run_id=flow_run_id)
    session.commit()
    order = [u for t in params.teams for u in t.units]
    rows = session.exec(
        select(Inspection, Unit.name).join(Unit, col(Unit.id) == Inspection.unit_id).where(Inspection.round_id == rnd.id)
    ).all()
    by_unit = {name: insp for insp, name in rows}
    return rnd, [by_unit[u] for u in order]


def round_in(
    session: Session, status: RoundStatus, settings: Settings | None = None, params: RoundParams | None = None,
) -> tuple[InspectionRound, list[Inspection]]:
    """A round (make_round) brought to `status` the way the product gets there: 方案待批 as created;
    进行中 or 方案退回 by the leading group's answer to its plan (settle_plan, as the round flow
    records it); 已完成 once every unit, its plan approved, went through every stage to 已归档
    (needs `settings`). Committed."""
    rnd, inspections = make_round(session, params)
    if status is not RoundStatus.PLANNING:
        settle_plan(session=session, round_id=rnd.id or 0, approved=status is not RoundStatus.RETURNED, now=NOW)
        session.commit()
    if status is RoundStatus.DONE:
        assert settings is not None, "a finished round needs the settings its stages write under"
        for insp in inspections:
            advance(session, settings, insp.id or 0, Stage.ARCHIVED)
            session.commit()
        session.refresh(rnd)
    assert rnd.status == status, (rnd.status, status)
    return rnd, inspections


def finding(
    description: str = "“三会一课”制度落实不到位，支部会议记录缺失", *, category: str = "党的建设",
    evidence: str = "", scope: str = "个性问题", fixed_on_site: bool = False,
) -> FindingIn:
    return FindingIn(category=category, description=description, evidence=evidence, scope=scope,
                     fixed_on_site=fixed_on_site)


def sample_findings() -> list[FindingIn]:
    return [
        finding("公务接待超标准，存在违规报销招待费问题", category="全面从严治党", evidence="财务凭证2026-031"),
        finding("干部选拔任用程序不规范，个别岗位未经民主推荐", category="选人用人", scope="共性问题"),
        finding("党务公开栏内容长期未更新", category="党的建设", fixed_on_site=True),
    ]


def sheet_rows(n: int = 2) -> list[list[Any]]:
    """A good findings sheet: header plus `n` data rows."""
    rows: list[list[Any]] = [list(SHEET_HEADER)]
    samples = [
        ["党的建设", "“三会一课”制度落实不到位", "会议记录本", "个性问题", "否"],
        ["全面从严治党", "公务用车管理不规范", "", "共性问题", "是"],
        ["选人用人", "干部档案材料不完整", "档案抽查记录", "", ""],
    ]
    rows += [samples[i % len(samples)] for i in range(n)]
    return rows


def write_csv(path: Path, rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Iterable[Sequence[Any]], sheet: str = "问题清单") -> Path:
    """A workbook with one sheet of these rows."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def in_stationing(s: Session, settings: Any, *, now: datetime = NOW, link: str = "") -> int:
    """The default round created and its first unit (城东街道) in 集中巡察; returns its inspection id."""
    _, insps = make_round(s)
    iid = insps[0].id
    assert iid is not None
    advance(s, settings, iid, Stage.STATIONING, now=now, link=link)
    s.commit()
    return iid


def write_sheet(path: Path, rows: Iterable[Sequence[Any]]) -> Path:
    """Write rows as .csv or .xlsx according to the path's extension."""
    return write_xlsx(path, rows) if path.suffix == ".xlsx" else write_csv(path, rows)


def row_counts(session: Session) -> dict[str, int]:
    """Rows in every application table, to show that a refused action wrote nothing."""
    session.flush()
    return {
        name: session.exec(select(func.count()).select_from(table)).one()
        for name, table in sorted(SQLModel.metadata.tables.items())
    }


def refused(session: Session, call: Callable[[], Any], message: str) -> AuditEvent:
    """The call raises DomainError matching `message` and writes nothing but one audit entry, the
    refused attempt's (returned)."""
    import pytest

    before = row_counts(session)
    with pytest.raises(DomainError, match=message):
        call()
    session.expire_all()
    after = row_counts(session)
    assert after.pop("audit_event") == before.pop("audit_event") + 1
    assert after == before
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert last is not None and last.action.endswith("（被拒绝）")
    return last


def sent_code(session: Session, key_prefix: str, label: str = "签收码", *, settings: Settings | None = None) -> str:
    """The newest one-time code an alert under `key_prefix` carries, as its receiver reads it: the
    row's message with its code while it waits to be sent (the code is kept encrypted until then),
    else the message the receiver got — the stack's inbox file (home/inbox.jsonl), the one
    `xuncha inbox` reads — since a sent row keeps no code."""
    import json
    import re

    from models.tables import Alert
    from tasks.infra.alerts import CODE_SLOT, message_text

    settings = settings or get_settings()
    # The rows first, then the inbox: a row read as sent (its code gone) was recorded sent after the
    # receiver had it (the inbox writes before it answers), so the file read next holds its message.
    # Read the other way round, a send landing between the two reads is found in neither.
    rows = session.exec(select(Alert).where(col(Alert.dedupe_key).startswith(key_prefix))
                        .order_by(col(Alert.id).desc())).all()
    inbox = settings.home / "inbox.jsonl"
    received = [json.loads(line).get("message", "") for line in inbox.read_text(encoding="utf-8").splitlines()
                if line.strip()] if inbox.exists() else []
    for row in rows:
        if CODE_SLOT not in row.body:
            continue
        if row.secret:
            text = message_text(settings, row)
        else:
            shape = re.compile(re.escape(row.body).replace(re.escape(CODE_SLOT), r"\d{6}"))
            text = next((m for m in reversed(received) if shape.fullmatch(m)), "")
        if m := re.search(label + r"：(\d{6})", text):
            return m.group(1)
    seen = [(row.dedupe_key, AlertStatus(row.status).value, bool(row.secret), row.last_error[:80]) for row in rows]
    raise AssertionError(f"no {label} was sent under {key_prefix}: rows {seen}, {len(received)} messages in {inbox}")


def letter_code(session: Session, letter_id: int) -> str:
    return sent_code(session, f"clue-letter:{letter_id}")


# Billion laughs: nine levels of entities, each ten of the one below (10**9 "lol"s when expanded).
LAUGHS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%s;" % (b"" if i == 1 else str(i - 1).encode())) * 10)
                     for i in range(1, 10))
          + b"]>\n")


def laughing_workbook(path: Path, part: str = "xl/worksheets/sheet1.xml") -> Path:
    """A findings workbook whose `part` defines the billion-laughs entities and whose first
    finding's text refers to the largest of them (an entity-expansion attack)."""
    plain = write_xlsx(path.with_name("plain-" + path.name), [SHEET_HEADER, ["党的建设", "&lol9;问题", "记录", "个性问题", "否"]])
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == part:
                data = LAUGHS + re.sub(rb"^<\?xml[^>]*\?>\s*", b"", data)
                data = data.replace(b"&amp;lol9;", b"&lol9;")  # the cell's text refers to the entity
            dst.writestr(info, data)
    plain.unlink()
    return path
