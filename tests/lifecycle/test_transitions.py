"""The stage transition table: every allowed move works, every other move is refused in Chinese."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.enums import STAGE_ORDER, ClueKind, ClueStatus, LookBackStatus, Stage
from models.errors import DomainError, IllegalTransition
from models.settings import Settings
from models.tables import AuditEvent, Clue, Inspection
from models.transitions import (
    ALLOWED,
    CLUES,
    LOOK_BACKS,
    MACHINES,
    STAGES,
    Machine,
    check_transition,
    reached,
)
from tasks.lifecycle.stages import Ctx
from tests.conftest import NOW
from tests.support.factories import database, make_round

ALL_PAIRS = list(itertools.product(Stage, Stage))
ALLOWED_PAIRS = [(a, b) for a, b in ALL_PAIRS if b in ALLOWED[a]]
ILLEGAL_PAIRS = [(a, b) for a, b in ALL_PAIRS if b not in ALLOWED[a]]


def test_table_covers_every_stage() -> None:
    assert set(ALLOWED) == set(Stage)
    # The main path moves one step forward at a time; only a returned report goes back.
    for here, nxt in itertools.pairwise(STAGE_ORDER):
        assert nxt in ALLOWED[here], f"{here.value} → {nxt.value}"
    assert ALLOWED[Stage.REPORTING] == {Stage.FEEDBACK, Stage.STATIONING}
    assert ALLOWED[Stage.ARCHIVED] == frozenset()
    assert len(ALLOWED_PAIRS) == (len(STAGE_ORDER) - 1) + 1  # seven steps forward, one way back


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS, ids=lambda s: s.value)
def test_allowed_move(current: Stage, target: Stage) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL_PAIRS, ids=lambda s: s.value)
def test_illegal_move_is_refused_in_chinese(current: Stage, target: Stage) -> None:
    with pytest.raises(IllegalTransition) as exc:
        check_transition(current, target)
    message = str(exc.value)
    assert "不允许的阶段变更" in message
    assert f"{current.value} → {target.value}" in message
    assert isinstance(exc.value, DomainError)  # bad input: never retried


def test_reached_follows_lifecycle_order() -> None:
    for i, current in enumerate(STAGE_ORDER):
        for j, stage in enumerate(STAGE_ORDER):
            assert reached(current, stage) is (i >= j)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Settings, Inspection]]:
    """One demo round for the module; each test first puts its inspection in the stage it needs."""
    home = tmp_path_factory.mktemp("transitions")
    with database(home) as s:
        _, (insp, *_) = make_round(s)
        yield s, Settings(home=home), insp


def _put(s: Session, insp: Inspection, stage: Stage) -> int:
    insp.stage = stage
    s.add(insp)
    s.commit()
    assert insp.id is not None
    return insp.id


def _audit_count(session: Session) -> int:
    return len(session.exec(select(AuditEvent.id)).all())


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS, ids=lambda s: s.value)
def test_move_on_an_inspection_records_the_change(shared: tuple[Session, Settings, Inspection], current: Stage, target: Stage) -> None:
    s, settings, insp = shared
    iid = _put(s, insp, current)
    Ctx(s, settings, iid).move(target, NOW, actor="巡察办")
    s.commit()
    s.expire_all()
    assert s.get(Inspection, iid).stage == target  # type: ignore[union-attr]
    event = s.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None
    assert (event.action, event.actor, event.entity_id) == ("阶段变更", "巡察办", iid)
    assert event.detail == {"from": current.value, "to": target.value}


@pytest.mark.parametrize(
    ("current", "target"),
    [(Stage.PREPARATION, Stage.REPORTING), (Stage.STATIONING, Stage.FEEDBACK), (Stage.FEEDBACK, Stage.STATIONING),
     (Stage.RECTIFICATION, Stage.ARCHIVED), (Stage.ARCHIVED, Stage.PREPARATION), (Stage.ARCHIVED, Stage.ARCHIVED)],
    ids=lambda s: s.value,
)
def test_illegal_move_on_an_inspection_changes_nothing(shared: tuple[Session, Settings, Inspection], current: Stage, target: Stage) -> None:
    s, settings, insp = shared
    iid = _put(s, insp, current)
    before = _audit_count(s)
    with pytest.raises(IllegalTransition, match="不允许的阶段变更"):
        Ctx(s, settings, iid).move(target, NOW)
    s.commit()
    s.expire_all()
    assert s.get(Inspection, iid).stage == current  # type: ignore[union-attr]
    assert _audit_count(s) == before


# Every other status with rules has its own table, checked the same way -------------------------

MACHINE_PAIRS = [(m, a, b) for m in MACHINES for a in m.allowed for b in m.allowed]


@pytest.mark.parametrize(("machine", "current", "target"), MACHINE_PAIRS,
                         ids=lambda v: v.noun if isinstance(v, Machine) else v.value)
def test_every_status_table_allows_its_moves_and_refuses_the_rest(machine: Machine[Any], current: Any, target: Any) -> None:
    assert set(machine.allowed) == set(type(current)), f"{machine.noun}的变更表须覆盖每个状态"
    if target in machine.allowed[current]:
        machine.check(current, target)
        return
    with pytest.raises(IllegalTransition) as exc:
        machine.check(current, target)
    assert f"不允许的{machine.noun}变更：{current.value} → {target.value}" in str(exc.value)


def test_move_changes_the_record_only_when_allowed() -> None:
    clue = Clue(inspection_id=1, kind=ClueKind.DISCIPLINE, summary="", status=ClueStatus.CLOSED)
    with pytest.raises(IllegalTransition):
        CLUES.move(clue, ClueStatus.RECEIVED)
    assert clue.status == ClueStatus.CLOSED
    clue.status = ClueStatus.PENDING
    CLUES.move(clue, ClueStatus.TRANSFERRED)
    assert clue.status == ClueStatus.TRANSFERRED
    assert {m.noun for m in MACHINES} == {"阶段", "轮次状态", "线索状态", "移交函状态", "整改事项状态", "审批状态", "回头看状态",
                                           "共性问题归类状态", "共性问题状态", "提醒状态", "成果运用函状态"}
    assert STAGES.allowed is ALLOWED and LOOK_BACKS.allowed[LookBackStatus.DONE] == frozenset()
