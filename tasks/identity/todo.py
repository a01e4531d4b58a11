"""我的待办: what waits for one logged-in person. Gates their role may answer (the same check as
the door's, tasks/identity/door.py), overdue rectification items they supervise, transfer
letters their body must sign for, and clues waiting for their body's result. Nothing here is
confidential text: a clue whose text the person may not read is only counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.access import Action, Forbidden, allowed, can_read_clue, require, require_answer
from models.clock import CHINA, aware
from models.enums import AccessRole, ApprovalStatus, ClueKind, ClueStatus, Gate, ItemStatus
from models.settings import Settings
from models.tables import (
    Account,
    Approval,
    Clue,
    ClueLetter,
    Finding,
    Inspection,
    RectificationItem,
    Unit,
)
from tasks.clues.views import receives
from tasks.infra.scope import serves_on
from tasks.lifecycle.approvals import subject_name


@dataclass(frozen=True)
class GateWait:
    gate: str
    subject: str
    asked_at: str
    link: str


@dataclass(frozen=True)
class OverdueItem:
    id: int
    unit: str
    category: str
    description: str
    deadline: date
    days_over: int


@dataclass(frozen=True)
class LetterWait:
    id: int
    doc_no: str
    clue_count: int
    ack_due_on: date
    overdue: bool


@dataclass(frozen=True)
class ClueWait:
    id: int
    kind: str
    result_due_on: date | None
    overdue: bool


@dataclass
class Todo:
    gates: list[GateWait] = field(default_factory=list)
    items: list[OverdueItem] = field(default_factory=list)
    all_overdue_items: int | None = None  # for 巡察办, who runs the supervision: every unit's
    letters: list[LetterWait] = field(default_factory=list)
    clues: list[ClueWait] = field(default_factory=list)  # those whose text the person may read
    clues_counted: int = 0  # those it may not: a number only

    @property
    def empty(self) -> bool:
        return not (self.gates or self.items or self.all_overdue_items or self.letters or self.clues or self.clues_counted)


def _may_answer(session: Session, acc: Account, approval: Approval) -> bool:
    insp = session.get(Inspection, approval.inspection_id) if approval.inspection_id else None
    on_team = insp is not None and serves_on(session=session, name=acc.name, inspection=insp)
    try:
        require_answer(AccessRole(acc.role), Gate(approval.gate), on_team=on_team)
    except Forbidden:
        return False
    return True


def todo_for(*, session: Session, settings: Settings, account: Account, now: datetime) -> Todo:
    """What waits for `account` on `now`'s day (China time)."""
    require(account.role, Action.VIEW_TODO)
    today = now.astimezone(CHINA).date()
    out = Todo()
    for approval in session.exec(select(Approval).where(Approval.status == ApprovalStatus.PENDING)
                                 .order_by(col(Approval.requested_at))):
        if _may_answer(session, account, approval):
            out.gates.append(GateWait(
                gate=Gate(approval.gate).value,
                subject=subject_name(session, approval.round_id, approval.inspection_id, approval.term_id),
                asked_at=f"{aware(approval.requested_at).astimezone(CHINA):%Y-%m-%d %H:%M}",
                link=settings.run_link(approval.flow_run_id)))
    late = (RectificationItem.status != ItemStatus.CLOSED, col(RectificationItem.deadline) < today)
    rows = session.exec(select(RectificationItem, Finding, Unit)
                        .join(Finding, col(Finding.id) == RectificationItem.finding_id)
                        .join(Inspection, col(Inspection.id) == RectificationItem.inspection_id)
                        .join(Unit, col(Unit.id) == Inspection.unit_id)
                        .where(*late, RectificationItem.supervisor == account.name)
                        .order_by(col(RectificationItem.deadline))).all()
    out.items = [OverdueItem(id=i.id or 0, unit=u.name, category=f.category, description=f.description,
                             deadline=i.deadline, days_over=(today - i.deadline).days) for i, f, u in rows]
    if allowed(account.role, Action.RUN_SWEEP):
        out.all_overdue_items = len(session.exec(select(RectificationItem.id).where(*late)).all())
    if allowed(account.role, Action.ACKNOWLEDGE):
        for letter in session.exec(select(ClueLetter).where(col(ClueLetter.acknowledged_at).is_(None))
                                   .order_by(col(ClueLetter.ack_due_on))):
            if receives(account.role, letter.receiver):
                out.letters.append(LetterWait(id=letter.id or 0, doc_no=letter.doc_no, clue_count=letter.clue_count,
                                              ack_due_on=letter.ack_due_on, overdue=letter.ack_due_on < today))
    if allowed(account.role, Action.REPORT_RESULT):
        for clue in session.exec(select(Clue).where(Clue.status == ClueStatus.RECEIVED).order_by(col(Clue.id))):
            if not receives(account.role, clue.receiver):
                continue
            if can_read_clue(account.role, ClueKind(clue.kind), clue.receiver, on_team=False):
                out.clues.append(ClueWait(id=clue.id or 0, kind=ClueKind(clue.kind).value, result_due_on=clue.result_due_on,
                                          overdue=clue.result_due_on is not None and clue.result_due_on < today))
            else:
                out.clues_counted += 1
    return out
