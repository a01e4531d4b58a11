"""我的待办: what waits for one logged-in person. Gates their role may answer (the same check as
the door's, tasks/identity/door.py), overdue rectification items they supervise, transfer
letters their body must sign for, clues waiting for their body's result, and for a unit contact
their own unit's open items and a rectification plan it still owes; for the office, from 1
November, next year's holidays if not yet entered. A deadline counted over a year the calendar
does not know is marked provisional (暂按周末计算). Nothing here is confidential text: a clue
whose text the person may not read is only counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.access import (
    PERMISSIONS,
    Action,
    Forbidden,
    Scope,
    allowed,
    can_read_clue,
    require,
    require_answer,
)
from models.clock import CHINA, aware
from models.enums import AccessRole, ApprovalStatus, ClueKind, ClueStatus, Gate, ItemStatus, Stage
from models.settings import Settings
from models.tables import (
    Account,
    Approval,
    Clue,
    ClueLetter,
    Finding,
    Inspection,
    InspectionRound,
    RectificationItem,
    Unit,
)
from tasks.clues.views import receives
from tasks.infra.holidays import missing_years, provisional_ids
from tasks.infra.scope import serves_on, unit_of
from tasks.infra.undelivered import summary as undelivered_summary
from tasks.lifecycle.approvals import subject_name
from tasks.results.use import ResultsWait, waiting_for
from tasks.supervision.rectification import plan_due, plan_due_provisional


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
class UnitItem:
    """An open item of the person's own unit (a unit contact's)."""

    id: int
    round_name: str
    category: str
    description: str
    deadline: date
    status: str
    overdue: bool
    provisional: bool = False  # counted over a year the calendar does not know (暂按周末计算)


@dataclass(frozen=True)
class PlanWait:
    """A rectification plan the person's unit still owes (not submitted yet)."""

    inspection_id: int
    round_name: str
    unit: str
    due_on: date | None
    overdue: bool
    provisional: bool = False


@dataclass(frozen=True)
class LetterWait:
    id: int
    doc_no: str
    clue_count: int
    ack_due_on: date
    overdue: bool
    provisional: bool = False


@dataclass(frozen=True)
class ClueWait:
    id: int
    kind: str
    result_due_on: date | None
    overdue: bool
    provisional: bool = False


@dataclass
class Todo:
    gates: list[GateWait] = field(default_factory=list)
    items: list[OverdueItem] = field(default_factory=list)
    all_overdue_items: int | None = None  # for 巡察办, who runs the supervision: every unit's
    letters: list[LetterWait] = field(default_factory=list)
    clues: list[ClueWait] = field(default_factory=list)  # those whose text the person may read
    clues_counted: int = 0  # those it may not: a number only
    unit_items: list[UnitItem] = field(default_factory=list)  # a unit contact's own unit's open items
    plans: list[PlanWait] = field(default_factory=list)  # and the plans it owes
    calendar: list[str] = field(default_factory=list)  # the office: a year's holidays to enter
    undelivered: str = ""  # the office: alerts that did not arrive (tasks/infra/undelivered.py)
    results: list[ResultsWait] = field(default_factory=list)  # results letters (巡察成果运用) its body owes

    @property
    def unit_overdue(self) -> int:
        return sum(i.overdue for i in self.unit_items)

    @property
    def empty(self) -> bool:
        return not (self.gates or self.items or self.all_overdue_items or self.letters or self.clues or self.clues_counted
                    or self.unit_items or self.plans or self.calendar or self.undelivered
                    or self.results)


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
    if allowed(account.role, Action.MANAGE_HOLIDAYS):
        out.calendar = missing_years(session=session, settings=settings, today=today)
    if allowed(account.role, Action.HANDLE_UNDELIVERED):
        out.undelivered = undelivered_summary(session=session).line()
    if allowed(account.role, Action.ACKNOWLEDGE):
        guessed = provisional_ids(session=session, model=ClueLetter, column="ack_due_on")
        for letter in session.exec(select(ClueLetter).where(col(ClueLetter.acknowledged_at).is_(None))
                                   .order_by(col(ClueLetter.ack_due_on))):
            if receives(account.role, letter.receiver):
                out.letters.append(LetterWait(id=letter.id or 0, doc_no=letter.doc_no, clue_count=letter.clue_count,
                                              ack_due_on=letter.ack_due_on, overdue=letter.ack_due_on < today,
                                              provisional=letter.id in guessed))
    if allowed(account.role, Action.REPORT_RESULT):
        guessed = provisional_ids(session=session, model=Clue, column="result_due_on")
        for clue in session.exec(select(Clue).where(Clue.status == ClueStatus.RECEIVED).order_by(col(Clue.id))):
            if not receives(account.role, clue.receiver):
                continue
            if can_read_clue(account.role, ClueKind(clue.kind), clue.receiver, on_team=False):
                out.clues.append(ClueWait(id=clue.id or 0, kind=ClueKind(clue.kind).value, result_due_on=clue.result_due_on,
                                          overdue=clue.result_due_on is not None and clue.result_due_on < today,
                                          provisional=clue.id in guessed))
            else:
                out.clues_counted += 1
    out.results = waiting_for(session=session, role=AccessRole(account.role), today=today)
    if PERMISSIONS[Action.VIEW_RECTIFICATION].get(AccessRole(account.role)) is Scope.OWN_UNIT:
        _own_unit(session, settings, account, today, out)
    return out


def _own_unit(session: Session, settings: Settings, account: Account, today: date, out: Todo) -> None:
    """A unit contact's own unit: its open items (overdue first) and the plans it still owes."""
    unit = unit_of(session=session, account=account)
    if unit is None:
        return
    rows = session.exec(select(RectificationItem, Finding, Inspection, InspectionRound)
                        .join(Finding, col(Finding.id) == RectificationItem.finding_id)
                        .join(Inspection, col(Inspection.id) == RectificationItem.inspection_id)
                        .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
                        .where(Inspection.unit_id == unit.id, RectificationItem.status != ItemStatus.CLOSED,
                               Inspection.stage != Stage.ARCHIVED)
                        .order_by(col(RectificationItem.deadline), col(RectificationItem.id))).all()
    guessed = provisional_ids(session=session, model=RectificationItem, column="deadline",
                              ids=[i.id for i, *_ in rows if i.id is not None])
    items = [UnitItem(id=i.id or 0, round_name=r.name, category=f.category, description=f.description, deadline=i.deadline,
                      status=ItemStatus(i.status).value, overdue=i.deadline < today, provisional=i.id in guessed)
             for i, f, _, r in rows]
    out.unit_items = sorted(items, key=lambda x: not x.overdue)
    for insp, rnd in session.exec(select(Inspection, InspectionRound)
                                  .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
                                  .where(Inspection.unit_id == unit.id, Inspection.stage == Stage.RECTIFICATION,
                                         col(Inspection.plan_submitted_at).is_(None))
                                  .order_by(col(Inspection.id))):
        due = plan_due(settings=settings, inspection=insp, session=session)
        out.plans.append(PlanWait(inspection_id=insp.id or 0, round_name=rnd.name, unit=unit.name, due_on=due,
                                  overdue=due is not None and due < today,
                                  provisional=plan_due_provisional(settings=settings, inspection=insp, session=session)))
