"""Statistics (统计) per round, unit, team and year, and the per-team evaluation of inspectors.

Definitions (docs/records.md, “统计、图表与表格导出”, says the same in Chinese):

- 发现问题 problems_found: every finding recorded for the inspection (all searches, look-back
  findings included).
- 反馈问题 fed_back: findings of inspections whose feedback opinion was issued (stage 线索移交
  or later; an inspection in 巡察反馈 is still waiting for it).
- 立行立改 fixed_on_site: findings fixed during the inspection (they get no rectification item).
- 整改事项 items: rectification items, one per fed-back problem not fixed on site.
- 整改到位 rectified: items closed (已销号).
- 整改到位率 rate: rectified / items, two decimals rounded half up (tasks.supervision.rectification.rate_text);
  the same denominator as `stats` always had, so 590 closed of 1,172 items is "50.34%".
- 移交线索 clues_transferred: clues handed to a receiver (transferred_at set), urgent ones included.
- 立案 cases: clues whose result is 立案审查调查 or a result that only follows a filed case:
  留置, 移送司法机关, 党纪政务处分 (a clue keeps its latest result, so a case that went on to a
  sanction still counts once).
- 处分处理人数 sanctioned: clues whose result handles a person: 诫勉谈话, 留置, 移送司法机关,
  党纪政务处分. A clue records no head count, so each such clue counts as one person.
  初步核实 (not concluded) and 经核查无问题 count in neither.
- 建章立制 rules_made: sum of the items' rules_made.

Every grouping is one SQL statement: the three source tables are first aggregated per inspection
(so the joins cannot multiply rows), then summed per round, unit, team or year. Only counts leave
this module: no clue text, no names of informants or of people handled.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy import types as sa_types
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from models import tables
from models.enums import ClueResult, ItemStatus, Stage, TeamRole
from models.errors import DomainError, NotFound
from models.settings import Settings
from tasks.lifecycle.rounds import get_round
from tasks.records.rates import rate_text
from tasks.supervision.forecast import Forecast, slowest
from tasks.supervision.rectification import inspection_forecasts

CASE_RESULTS = (ClueResult.CASE_FILED, ClueResult.DETENTION, ClueResult.JUDICIARY, ClueResult.SANCTION)
SANCTION_RESULTS = (ClueResult.ADMONISHING_TALK, ClueResult.DETENTION, ClueResult.JUDICIARY, ClueResult.SANCTION)
FED_BACK_STAGES = (Stage.CLUE_TRANSFER, Stage.RECTIFICATION, Stage.ARCHIVING, Stage.ARCHIVED)

# The measures in display order with their Chinese names (tables, spreadsheets, artifacts).
MEASURES: dict[str, str] = {
    "problems_found": "发现问题",
    "fed_back": "反馈问题",
    "fixed_on_site": "立行立改",
    "items": "整改事项",
    "rectified": "整改到位",
    "rate": "整改到位率",
    "clues_transferred": "移交线索",
    "cases": "立案",
    "sanctioned": "处分处理人数",
    "rules_made": "建章立制",
}
COUNTS = [k for k in MEASURES if k != "rate"]
FORECAST = "预计完成"  # the per-unit column of `stats --by 单位` (tasks/supervision/forecast.py)
LEVELS = {"轮次": "round", "单位": "unit", "巡察组": "team", "年度": "year"}
TEAM_LABELS: dict[str, str] = {
    "round": "轮次", "team": "巡察组", "leader": "组长", "units": "被巡察单位数", "problems_found": "发现问题",
    "clues": "线索数", "clues_transferred": "移交线索", "items": "整改事项", "rectified": "整改到位", "rate": "整改率",
}
INSPECTOR_LABELS: dict[str, str] = {
    "name": "姓名", "teams": "参加巡察组数", "led": "任组长次数", "problems_found": "发现问题", "clues": "线索数",
    "items": "整改事项", "rectified": "整改到位", "rate": "整改率",
}


def _flag(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def year_of(column: Any) -> ColumnElement[Any]:
    """The year of a date column as text ("2026"), on SQLite and PostgreSQL alike."""
    return func.substr(func.cast(column, sa_types.String), 1, 4)


def _scope(round_id: int | None, year: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if round_id is not None:
        where.append(col(tables.Inspection.round_id) == round_id)
    if year is not None:
        where.append(year_of(col(tables.InspectionRound.start_date)) == f"{year:04d}")
    return where


class _PerInspection:
    """Findings, items and clues aggregated per inspection, restricted to the inspections in scope."""

    def __init__(self, where: list[ColumnElement[bool]]) -> None:
        scope = (sa_select(col(tables.Inspection.id)).join(tables.InspectionRound, col(tables.InspectionRound.id) == tables.Inspection.round_id)
                 .where(*where))
        self.findings = (sa_select(col(tables.Finding.inspection_id).label("iid"), func.count().label("n"),
                            _flag(col(tables.Finding.fixed_on_site).is_(True)).label("fixed"))
                  .where(col(tables.Finding.inspection_id).in_(scope)).group_by(col(tables.Finding.inspection_id)).subquery("f"))
        self.items = (sa_select(col(tables.RectificationItem.inspection_id).label("iid"), func.count().label("n"),
                            _flag(col(tables.RectificationItem.status) == ItemStatus.CLOSED).label("closed"),
                            func.sum(col(tables.RectificationItem.rules_made)).label("rules"))
                  .where(col(tables.RectificationItem.inspection_id).in_(scope))
                  .group_by(col(tables.RectificationItem.inspection_id)).subquery("r"))
        self.clues = (sa_select(col(tables.Clue.inspection_id).label("iid"), func.count().label("n"),
                            _flag(col(tables.Clue.transferred_at).is_not(None)).label("transferred"),
                            _flag(col(tables.Clue.result).in_(CASE_RESULTS)).label("cases"),
                            _flag(col(tables.Clue.result).in_(SANCTION_RESULTS)).label("sanctioned"))
                  .where(col(tables.Clue.inspection_id).in_(scope)).group_by(col(tables.Clue.inspection_id)).subquery("c"))

    def join(self, q: Select[Any], inspection_id: Any) -> Select[Any]:
        return (q.outerjoin(self.findings, self.findings.c.iid == inspection_id).outerjoin(self.items, self.items.c.iid == inspection_id)
                .outerjoin(self.clues, self.clues.c.iid == inspection_id))

    def measures(self) -> list[ColumnElement[Any]]:
        def total(x: Any) -> ColumnElement[Any]:
            return func.coalesce(func.sum(x), 0)

        fed = case((col(tables.Inspection.stage).in_(FED_BACK_STAGES), self.findings.c.n), else_=0)
        return [total(self.findings.c.n).label("problems_found"), total(fed).label("fed_back"),
                total(self.findings.c.fixed).label("fixed_on_site"), total(self.items.c.n).label("items"),
                total(self.items.c.closed).label("rectified"), total(self.clues.c.transferred).label("clues_transferred"),
                total(self.clues.c.cases).label("cases"), total(self.clues.c.sanctioned).label("sanctioned"),
                total(self.items.c.rules).label("rules_made")]


def _counts(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(getattr(row, k) or 0) for k in COUNTS}
    out["rate"] = rate_text(out["rectified"], out["items"])
    return {k: out[k] for k in MEASURES}


def _base(keys: list[Any], agg: _PerInspection, where: list[ColumnElement[bool]]) -> Select[Any]:
    q = (sa_select(*keys, *agg.measures()).select_from(tables.Inspection)
         .join(tables.InspectionRound, col(tables.InspectionRound.id) == tables.Inspection.round_id)
         .join(tables.Unit, col(tables.Unit.id) == tables.Inspection.unit_id)
         .join(tables.Team, col(tables.Team.id) == tables.Inspection.team_id))
    return agg.join(q, col(tables.Inspection.id)).where(*where)


def statistics(*, session: Session, by: str, round_id: int | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Rows of {"name", <measures>} per 轮次, 单位, 巡察组 or 年度, optionally within one round or year."""
    if by not in LEVELS:
        raise DomainError(f"统计口径应为：{'、'.join(LEVELS)}，实为“{by}”")
    where = _scope(round_id, year)
    agg = _PerInspection(where)
    year_key = year_of(col(tables.InspectionRound.start_date))
    keys_by: dict[str, list[Any]] = {
        "轮次": [col(tables.InspectionRound.id), col(tables.InspectionRound.name), col(tables.InspectionRound.start_date)],
        "单位": [col(tables.Unit.id), col(tables.Unit.name), col(tables.Unit.kind)],
        "巡察组": [col(tables.Team.id), col(tables.InspectionRound.name), col(tables.Team.name), col(tables.InspectionRound.start_date)],
        "年度": [year_key.label("year")],
    }
    keys = keys_by[by]
    order_by: dict[str, list[Any]] = {
        "轮次": [col(tables.InspectionRound.start_date), col(tables.InspectionRound.id)],
        "单位": [col(tables.Unit.name)],
        "巡察组": [col(tables.InspectionRound.start_date), col(tables.Team.id)],
        "年度": [year_key],
    }
    rows = session.execute(_base(keys, agg, where).group_by(*keys).order_by(*order_by[by])).all()
    out = []
    for row in rows:
        name = str(row[0]) if by == "年度" else f"{row[1]}·{row[2]}" if by == "巡察组" else row[1]
        extra: dict[str, Any] = {"id": row[0]} if by != "年度" else {}
        if by == "单位":
            extra["kind"] = str(getattr(row[2], "value", row[2]))
        out.append({"name": name, **extra, **_counts(row)})
    return out


def totals(*, session: Session, round_id: int | None = None, year: int | None = None) -> dict[str, Any]:
    """The measures summed over everything in scope (one round, one year, or all)."""
    where = _scope(round_id, year)
    return _counts(session.execute(_base([], _PerInspection(where), where)).one())


def find_round(*, session: Session, name: str) -> tables.InspectionRound:
    """A round by its name, or a Chinese error naming it."""
    rnd = session.exec(select(tables.InspectionRound).where(tables.InspectionRound.name == name.strip())).first()
    if rnd is None:
        raise NotFound(f"未知的巡察轮次：{name}")
    return rnd


def unit_figures(*, session: Session, round_id: int, unit_id: int | None = None) -> list[dict[str, Any]]:
    """Per-unit rows of one round (or the one unit), with the unit's kind, team and stage."""
    where = _scope(round_id, None)
    if unit_id is not None:
        where.append(col(tables.Inspection.unit_id) == unit_id)
    agg = _PerInspection(where)
    keys = [col(tables.Unit.id), col(tables.Unit.name), col(tables.Unit.kind), col(tables.Team.name), col(tables.Inspection.stage)]
    rows = session.execute(_base(keys, agg, where).group_by(*keys).order_by(col(tables.Unit.name))).all()
    return [{"id": r[0], "name": r[1], "kind": str(getattr(r[2], "value", r[2])), "team": r[3],
             "stage": str(getattr(r[4], "value", r[4])), **_counts(r)} for r in rows]


def _leaders() -> Any:
    return (sa_select(col(tables.TeamMember.team_id).label("team_id"), func.min(col(tables.Person.name)).label("name"))
            .join(tables.Person, col(tables.Person.id) == tables.TeamMember.person_id)
            .where(col(tables.TeamMember.role) == TeamRole.LEADER).group_by(col(tables.TeamMember.team_id)).subquery("leader"))


def per_team_evaluation(*, session: Session, round_id: int | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Per team (问题发现数, 线索数, 整改率 …), for the appraisal of inspectors; one query."""
    where = _scope(round_id, year)
    agg = _PerInspection(where)
    leader = _leaders()
    keys = [col(tables.Team.id), col(tables.InspectionRound.name), col(tables.Team.name), leader.c.name, col(tables.InspectionRound.start_date)]
    q = (_base(keys, agg, where).add_columns(func.count(col(tables.Inspection.id)).label("units"),
                                             func.coalesce(func.sum(agg.clues.c.n), 0).label("clues"))
         .outerjoin(leader, leader.c.team_id == tables.Team.id)
         .group_by(*keys).order_by(col(tables.InspectionRound.start_date), col(tables.Team.id)))
    out = []
    for r in session.execute(q).all():
        m = _counts(r)
        out.append({"id": r[0], "round": r[1], "team": r[2], "leader": r[3] or "", "units": int(r.units),
                    "problems_found": m["problems_found"], "clues": int(r.clues), "clues_transferred": m["clues_transferred"],
                    "items": m["items"], "rectified": m["rectified"], "rate": m["rate"]})
    return out


def per_inspector_evaluation(*, session: Session, round_id: int | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Per inspector: the figures of the teams they served in (findings are not recorded per person)."""
    where = _scope(round_id, year)
    agg = _PerInspection(where)
    led = case((col(tables.TeamMember.role) == TeamRole.LEADER, col(tables.TeamMember.team_id)), else_=None)
    q = (sa_select(col(tables.Person.id), col(tables.Person.name), func.count(func.distinct(col(tables.TeamMember.team_id))).label("teams"),
                   func.count(func.distinct(led)).label("led"), *agg.measures(),
                   func.coalesce(func.sum(agg.clues.c.n), 0).label("clues"))
         .select_from(tables.TeamMember).join(tables.Person, col(tables.Person.id) == tables.TeamMember.person_id)
         .join(tables.Inspection, col(tables.Inspection.team_id) == tables.TeamMember.team_id)
         .join(tables.InspectionRound, col(tables.InspectionRound.id) == tables.Inspection.round_id))
    q = agg.join(q, col(tables.Inspection.id)).where(*where).group_by(col(tables.Person.id), col(tables.Person.name)).order_by(col(tables.Person.name))
    out = []
    for r in session.execute(q).all():
        m = _counts(r)
        out.append({"name": r[1], "teams": int(r.teams), "led": int(r.led), "problems_found": m["problems_found"],
                    "clues": int(r.clues), "items": m["items"], "rectified": m["rectified"], "rate": m["rate"]})
    return out


def round_summary(*, session: Session, round_id: int) -> dict[str, Any]:
    """One round's figures: the measures, plus per-team rows (with evaluation) and per-unit rows."""
    rnd = get_round(session=session, round_id=round_id)
    return {"round": rnd.name, **totals(session=session, round_id=round_id),
            "teams": per_team_evaluation(session=session, round_id=round_id),
            "units": unit_figures(session=session, round_id=round_id)}


def labelled(rows: list[dict[str, Any]], labels: dict[str, str], first: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows with Chinese column names, in the labels' order (for tables and artifacts)."""
    names = {**(first or {}), **labels}
    return [{title: row[key] for key, title in names.items() if key in row} for row in rows]


def with_forecasts(
    *, session: Session, settings: Settings, rows: list[dict[str, Any]], as_of: date, round_id: int | None = None,
    year: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Per-unit rows (statistics by 单位) with 预计完成 (tasks/supervision/forecast.py) in the same scope, and their
    labels; a unit rectifying in more than one round shows the round that finishes last, one with
    no rectification items "—"."""
    scope = session.execute(sa_select(col(tables.Inspection.id), col(tables.Inspection.unit_id))
                            .join(tables.InspectionRound, col(tables.InspectionRound.id) == tables.Inspection.round_id)
                            .where(*_scope(round_id, year))).all()
    estimates = inspection_forecasts(session=session, settings=settings, as_of=as_of, inspection_ids=[int(i) for i, _ in scope])
    by_unit: dict[int, list[Forecast]] = {}
    for iid, unit_id in scope:
        if int(iid) in estimates:
            by_unit.setdefault(int(unit_id), []).append(estimates[int(iid)])
    out = []
    for row in rows:
        f = slowest(forecasts=by_unit.get(row["id"], []))
        out.append({**row, "forecast": f.text if f else "—"})
    return out, {**MEASURES, "forecast": FORECAST}


def rate_value(done: int, total: int) -> float:
    """The rate as a number 0–100 for progress bars (the text form is rate_text)."""
    return 0.0 if not total else round(done * 100 / total, 2)

