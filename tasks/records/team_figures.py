"""Teams evaluated (#27 point 4; “no evaluation of inspectors” is a pain point the reports name):
per team and per member across rounds — findings per unit, indicators covered, clues transferred
and their outcomes (counts only), the rectification rate of its units, reports returned.

Built on the per-team figures of tasks/records/statistics.py (one SQL statement), with what that
module does not count added per inspection here: indicator coverage (tasks/stationing/indicators.py),
clue outcomes, and reports returned (每次退回重新查找 adds one to the unit's search count). Only
counts leave this module: no clue text, no names of people handled."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.enums import ClueResult, TeamRole
from models.tables import Clue, Inspection, InspectionRound, Person, TeamMember
from tasks.records.rates import rate_text
from tasks.records.statistics import CASE_RESULTS, SANCTION_RESULTS, _scope, per_team_evaluation
from tasks.stationing.indicators import coverage

COUNTED = ("units", "problems_found", "examined", "applicable", "clues_transferred", "cases", "sanctioned", "no_issue",
           "clues_open", "items", "rectified", "returned")
TEAM_LABELS: dict[str, str] = {
    "round": "轮次", "team": "巡察组", "leader": "组长", "units": "被巡察单位数", "problems_found": "发现问题",
    "per_unit": "每单位问题数", "indicators": "指标覆盖", "clues_transferred": "移交线索", "cases": "立案",
    "sanctioned": "处分处理", "no_issue": "经核查无问题", "clues_open": "线索未办结", "rate": "单位整改到位率",
    "returned": "报告退回次数",
}
MEMBER_LABELS: dict[str, str] = {
    "name": "姓名", "teams": "参加巡察组数", "led": "任组长次数", "units": "被巡察单位数", "problems_found": "发现问题",
    "per_unit": "每单位问题数", "indicators": "指标覆盖", "clues_transferred": "移交线索", "cases": "立案",
    "sanctioned": "处分处理", "no_issue": "经核查无问题", "clues_open": "线索未办结", "rate": "单位整改到位率",
    "returned": "报告退回次数",
}
LEVELS = {"巡察组考评": "team", "巡察干部": "member"}


def _per_inspection(session: Session, team_ids: list[int]) -> dict[int, dict[str, int]]:
    """team id -> the counts this module adds, summed over the team's inspections."""
    insps = list(session.exec(select(Inspection).where(col(Inspection.team_id).in_(team_ids))))
    ids = [i.id for i in insps]
    clues: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for iid, result, transferred, closed in session.execute(
            sa_select(col(Clue.inspection_id), col(Clue.result), col(Clue.transferred_at), col(Clue.closed_at))
            .where(col(Clue.inspection_id).in_(ids))).all():
        if transferred is None:
            continue
        c = clues[iid]
        c["clues_transferred"] += 1
        c["cases"] += result in CASE_RESULTS
        c["sanctioned"] += result in SANCTION_RESULTS
        c["no_issue"] += result == ClueResult.NO_ISSUE
        c["clues_open"] += closed is None
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for insp in insps:
        t = out[insp.team_id]
        # Examined among the indicators that apply now (one the office took out of the library no longer counts).
        cov = coverage(session=session, inspection_id=insp.id or 0)
        t["examined"] += len(cov.applicable) - len(cov.missing)
        t["applicable"] += len(cov.applicable)
        t["returned"] += max(insp.search_count - 1, 0)
        for k, v in clues.get(insp.id or 0, {}).items():
            t[k] += v
    return out


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """The derived columns: findings per unit, coverage and the rectification rate."""
    units, examined, total = row["units"], row["examined"], row["applicable"]
    row["per_unit"] = f"{row['problems_found'] / units:.1f}" if units else "—"
    row["indicators"] = f"{examined}/{total}（{examined * 100 / total:.0f}%）" if total else "—"
    row["rate"] = rate_text(row["rectified"], row["items"])
    return row


def team_evaluation(*, session: Session, round_id: int | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Per team (each round composes its teams afresh), oldest round first."""
    base = per_team_evaluation(session=session, round_id=round_id, year=year)
    extra = _per_inspection(session, [r["id"] for r in base])
    rows = []
    for r in base:
        row = {**{k: 0 for k in COUNTED}, **r}
        for k, v in extra.get(r["id"], {}).items():
            row[k] = v
        rows.append(_finish(row))
    return rows


def member_evaluation(*, session: Session, round_id: int | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Per member across rounds: the sums of the teams they served in (findings and clues are
    recorded per unit, not per person), with the number of teams and of times as 组长."""
    teams = {r["id"]: r for r in team_evaluation(session=session, round_id=round_id, year=year)}
    served = session.execute(
        sa_select(col(Person.name), col(TeamMember.team_id), col(TeamMember.role))
        .join(TeamMember, col(TeamMember.person_id) == Person.id)
        .where(col(TeamMember.team_id).in_(list(teams)))).all()
    people: dict[str, dict[str, Any]] = {}
    for name, team_id, role in served:
        p = people.setdefault(name, {"name": name, "teams": 0, "led": 0, **{k: 0 for k in COUNTED}})
        p["teams"] += 1
        p["led"] += TeamRole(role) is TeamRole.LEADER
        for k in COUNTED:
            p[k] += teams[team_id][k]
    return [_finish(p) for _, p in sorted(people.items())]


def evaluation(*, session: Session, by: str, round_id: int | None = None, year: int | None = None
               ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """`stats --by 巡察组考评|巡察干部`: the rows and their Chinese labels."""
    if LEVELS[by] == "team":
        return team_evaluation(session=session, round_id=round_id, year=year), TEAM_LABELS
    return member_evaluation(session=session, round_id=round_id, year=year), MEMBER_LABELS


def person_figures(*, session: Session) -> dict[str, dict[str, Any]]:
    """name -> their figures across all rounds (the pools' rotation view)."""
    return {r["name"]: r for r in member_evaluation(session=session)}


def rounds_in_scope(session: Session, round_id: int | None, year: int | None) -> int:
    """How many rounds the figures span (said under the table)."""
    return int(session.execute(sa_select(func.count(func.distinct(col(Inspection.round_id))))
                               .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
                               .where(*_scope(round_id, year))).scalar_one())
