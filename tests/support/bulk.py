"""A year of inspection work inserted in bulk (Core INSERTs, explicit ids), for statistics tests.

Built on the demo county (tests/conftest.py `demo_org`): several rounds in 2026 and one in 2025,
two or three teams each, units in every stage, thousands of findings and rectification items in
every status, and clues with every result. Seeded, so every run builds the same data.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from models import tables
from models.clock import CHINA
from models.enums import (
    ClueKind,
    ClueResult,
    ClueStatus,
    FindingScope,
    ItemStatus,
    RoundKind,
    RoundStatus,
    Stage,
    TeamRole,
)

ROUND_STARTS = [date(2025, 9, 1), date(2026, 1, 5), date(2026, 3, 2), date(2026, 6, 1), date(2026, 9, 7)]
STAGES = [Stage.STATIONING, Stage.FEEDBACK, Stage.CLUE_TRANSFER, Stage.RECTIFICATION, Stage.RECTIFICATION,
          Stage.RECTIFICATION, Stage.ARCHIVING, Stage.ARCHIVED]
CATEGORIES = ["党的建设", "全面从严治党", "选人用人", "巡察整改", "财务管理"]


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA)


def insert_year(session: Session, *, seed: int = 20261, findings: tuple[int, int] = (30, 140)) -> dict[str, Any]:
    """Insert the year; returns the round ids by name (the first round is the 2025 one)."""
    rng = random.Random(seed)
    units = [u for u in session.exec(select(tables.Unit.id)).all() if u is not None]
    people = [p for p in session.exec(select(tables.Person.id)).all() if p is not None]
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (tables.InspectionRound, tables.Team, tables.TeamMember, tables.Inspection, tables.Finding,
                                                            tables.RectificationItem, tables.Clue)}
    ids = {"team": 0, "member": 0, "insp": 0, "finding": 0, "item": 0, "clue": 0}

    def nxt(kind: str) -> int:
        ids[kind] += 1
        return ids[kind]

    rounds: dict[str, int] = {}
    for r, start in enumerate(ROUND_STARTS, 1):
        name = f"{start.year}年第{r}轮巡察"
        rounds[name] = r
        rows[tables.InspectionRound].append({"id": r, "name": name, "kind": RoundKind.REGULAR, "start_date": start,
                                      "end_date": start + timedelta(days=30), "status": RoundStatus.ACTIVE,
                                      "created_at": at(start - timedelta(days=10))})
        round_units = rng.sample(units, rng.randint(6, 10))
        crew = rng.sample(people, 9)
        n_teams = rng.choice([2, 3])
        for t in range(n_teams):
            team_id = nxt("team")
            rows[tables.Team].append({"id": team_id, "round_id": r, "name": f"第{'一二三'[t]}巡察组"})
            for person, role in zip(crew[t * 3:t * 3 + 3], (TeamRole.LEADER, TeamRole.DEPUTY, TeamRole.MEMBER), strict=True):
                rows[tables.TeamMember].append({"id": nxt("member"), "team_id": team_id, "person_id": person, "role": role})
            for unit in round_units[t::n_teams]:
                _inspection(rng, rows, nxt, r, unit, team_id, start, findings)
    for table, data in rows.items():
        if data:
            session.execute(insert(table), data)  # type: ignore[arg-type]
    session.commit()
    return {"rounds": rounds, "findings": ids["finding"], "items": ids["item"], "clues": ids["clue"]}


def _inspection(rng: random.Random, rows: dict[Any, list[dict[str, Any]]], nxt: Any, round_id: int, unit: int,
                team_id: int, start: date, findings: tuple[int, int]) -> None:
    iid = nxt("insp")
    stage = rng.choice(STAGES)
    fed = stage in (Stage.CLUE_TRANSFER, Stage.RECTIFICATION, Stage.ARCHIVING, Stage.ARCHIVED)
    feedback = start + timedelta(days=rng.randint(35, 60)) if fed else None
    rows[tables.Inspection].append({"id": iid, "round_id": round_id, "unit_id": unit, "team_id": team_id, "stage": stage,
                             "search_count": 1, "feedback_date": feedback})
    with_items = stage in (Stage.RECTIFICATION, Stage.ARCHIVING, Stage.ARCHIVED)
    for _ in range(rng.randint(*findings)):
        fid = nxt("finding")
        fixed = rng.random() < 0.15
        rows[tables.Finding].append({"id": fid, "inspection_id": iid, "category": rng.choice(CATEGORIES),
                              "description": f"问题{fid}", "evidence": "", "scope": rng.choice(list(FindingScope)),
                              "fixed_on_site": fixed, "search_count": 1, "created_at": at(start + timedelta(days=5))})
        if not with_items or fixed:
            continue
        assert feedback is not None
        status = ItemStatus.CLOSED if stage != Stage.RECTIFICATION else rng.choice(list(ItemStatus))
        closed = None
        if status == ItemStatus.CLOSED:  # late evening closings test the China-time calendar day
            closed = at(feedback + timedelta(days=rng.randint(3, 80)), rng.choice([9, 15, 23]), 30)
        rows[tables.RectificationItem].append({
            "id": nxt("item"), "inspection_id": iid, "finding_id": fid, "measure": f"措施{fid}", "owner": "书记",
            "responsible_leader_id": None, "deadline": feedback + timedelta(days=60), "status": status,
            "closed_at": closed, "supervisor": "联系领导", "supervise_every_days": 30,
            "evidence": "佐证" if closed else "", "rules_made": rng.choice([0, 0, 0, 1, 2]),
            "next_rung": 0, "next_action_on": None, "ladder_cycle": 0, "last_report_at": closed})
    for _ in range(rng.randint(0, 8)):
        transferred = fed and rng.random() < 0.85
        result = rng.choice([None, *ClueResult]) if transferred else None
        clue_status = (ClueStatus.CLOSED if result and result != ClueResult.INITIAL_CHECK
                  else rng.choice([ClueStatus.TRANSFERRED, ClueStatus.RECEIVED]) if transferred
                  else rng.choice([ClueStatus.PENDING, ClueStatus.HELD]))
        rows[tables.Clue].append({"id": nxt("clue"), "inspection_id": iid, "kind": rng.choice(list(ClueKind)),
                           "summary": "（测试线索）", "urgent": False, "receiver": "discipline_commission" if transferred else "",
                           "status": clue_status, "letter_id": None,
                           "transferred_at": at(feedback or start) if transferred else None, "result": result,
                           "result_note": "", "created_at": at(start + timedelta(days=7))})
