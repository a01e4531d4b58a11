"""The stage transition table: every allowed move works, every other move is refused in Chinese."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select

from models.enums import STAGE_ORDER, Stage
from models.errors import DomainError, IllegalTransition
from models.settings import Settings
from models.tables import AuditEvent, Inspection
from models.transitions import ALLOWED, check_transition, reached
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
