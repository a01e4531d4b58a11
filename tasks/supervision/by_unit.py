"""Rectification by units: what a unit's page at the gateway shows and takes (/office/rectification).

A 被巡察单位联络员 sees and reports for their own unit only (models/access.py Scope.OWN_UNIT,
tasks/infra/scope.py unit_of); the office any unit. Plans and progress go through the same domain
functions as the deployments 报送整改方案 and 报送整改进展 (tasks/supervision/rectification.py), so
the checks, the audit record and the office's alert are the same. Nothing confidential here:
item numbers, finding descriptions, measures, owners, deadlines, states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.access import Action, Forbidden, Scope, allowed, require
from models.clock import CHINA
from models.enums import ItemStatus, Stage
from models.errors import NotFound
from models.forms import PlanItemIn, ProgressIn
from models.settings import Settings
from models.tables import Account, Finding, Inspection, InspectionRound, RectificationItem, Unit
from tasks.infra.holidays import provisional_ids
from tasks.infra.scope import authorise, unit_of
from tasks.supervision.rectification import (
    plan_due,
    plan_due_provisional,
    report_progress,
    submit_plan,
)


@dataclass(frozen=True)
class ItemLine:
    id: int
    category: str
    description: str
    measure: str
    owner: str
    deadline: date
    status: str
    overdue: bool
    open: bool
    supervise_every_days: int
    provisional: bool = False  # counted over a year the calendar does not know (暂按周末计算)


@dataclass
class UnitRound:
    """One inspection of the unit (a round) and its items."""

    inspection_id: int
    round_name: str
    stage: str
    plan_due: date | None
    plan_submitted: bool
    plan_approved: bool
    items: list[ItemLine] = field(default_factory=list)
    plan_due_provisional: bool = False
    may_plan: bool = False  # the plan may be (re)submitted now by this person
    may_progress: bool = False  # progress may be reported now by this person


@dataclass
class UnitPage:
    unit: Unit | None  # None: the office has not chosen one, or the contact's account is not linked
    rounds: list[UnitRound] = field(default_factory=list)
    choices: list[tuple[int, str]] = field(default_factory=list)  # for the office: units with items


def units_with_items(*, session: Session) -> list[tuple[int, str]]:
    """(id, name) of every unit that has rectification items, by name."""
    rows = session.exec(select(Unit.id, Unit.name).join(Inspection, col(Inspection.unit_id) == Unit.id)
                        .join(RectificationItem, col(RectificationItem.inspection_id) == Inspection.id)
                        .distinct().order_by(col(Unit.name))).all()
    return [(int(i), str(n)) for i, n in rows if i is not None]


def _target(session: Session, account: Account, unit_id: int | None) -> Unit | None:
    """The unit whose page this person asks for, if within their reach; Forbidden if not."""
    scope = require(account.role, Action.VIEW_RECTIFICATION)
    if scope is Scope.OWN_UNIT:
        own = unit_of(session=session, account=account)
        if own is None:
            raise Forbidden("您的账号尚未关联被巡察单位（组织数据中没有以您为联络人的单位），请联系巡察办")
        if unit_id is not None and unit_id != own.id:
            raise Forbidden(f"“{account.role}”只能查看本人所在被巡察单位的整改事项，该单位不是您所在的单位")
        return own
    if unit_id is None:
        return None
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("被巡察单位不存在")
    return unit


def _may(session: Session, account: Account, insp: Inspection) -> bool:
    try:
        authorise(session=session, account=account, action=Action.REPORT_RECTIFICATION, inspection=insp)
    except Forbidden:
        return False
    return True


def unit_page(*, session: Session, settings: Settings, account: Account, unit_id: int | None, now: datetime) -> UnitPage:
    """The unit's items round by round (newest first) with what this person may do on `now`'s day."""
    unit = _target(session, account, unit_id)
    choices = units_with_items(session=session) if require(account.role, Action.VIEW_RECTIFICATION) is Scope.ALL else []
    page = UnitPage(unit=unit, choices=choices)
    if unit is None:
        return page
    today = now.astimezone(CHINA).date()
    for insp, rnd in session.exec(select(Inspection, InspectionRound)
                                  .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
                                  .where(Inspection.unit_id == unit.id).order_by(col(InspectionRound.start_date).desc())):
        rows = session.exec(select(RectificationItem, Finding).join(Finding, col(Finding.id) == RectificationItem.finding_id)
                            .where(RectificationItem.inspection_id == insp.id).order_by(col(RectificationItem.id))).all()
        if not rows:
            continue
        guessed = provisional_ids(session=session, model=RectificationItem, column="deadline",
                                  ids=[i.id for i, _ in rows if i.id is not None])
        lines = [ItemLine(id=i.id or 0, category=f.category, description=f.description, measure=i.measure, owner=i.owner,
                          deadline=i.deadline, status=ItemStatus(i.status).value,
                          overdue=i.status != ItemStatus.CLOSED and i.deadline < today,
                          open=i.status != ItemStatus.CLOSED, supervise_every_days=i.supervise_every_days,
                          provisional=i.id in guessed)
                 for i, f in rows]
        may = allowed(account.role, Action.REPORT_RECTIFICATION) and _may(session, account, insp)
        in_rectification = insp.stage == Stage.RECTIFICATION
        page.rounds.append(UnitRound(
            inspection_id=insp.id or 0, round_name=rnd.name, stage=Stage(insp.stage).value,
            plan_due=plan_due(settings=settings, inspection=insp, session=session),
            plan_due_provisional=plan_due_provisional(settings=settings, inspection=insp, session=session),
            plan_submitted=insp.plan_submitted_at is not None,
            plan_approved=insp.plan_approved_at is not None, items=lines,
            may_plan=may and in_rectification and insp.plan_approved_at is None,
            may_progress=may and insp.stage in (Stage.RECTIFICATION, Stage.ARCHIVING) and any(x.open for x in lines)))
    return page


def _inspection(session: Session, account: Account, inspection_id: int) -> Inspection:
    insp = session.get(Inspection, inspection_id)
    if insp is None:
        raise NotFound("巡察任务不存在")
    authorise(session=session, account=account, action=Action.REPORT_RECTIFICATION, inspection=insp)
    return insp


def submit_unit_plan(*, session: Session, settings: Settings, account: Account, inspection_id: int,
                     items: list[PlanItemIn], now: datetime, link: str) -> tuple[int, str | None]:
    """The plan as the 报送整改方案 deployment takes it, by this person for this unit; returns the
    number of items and the unit run to wake (it waits for the plan), if any."""
    insp = _inspection(session, account, inspection_id)
    count = submit_plan(session=session, settings=settings, inspection=insp, items=items, by=account.name, now=now,
                        link=link)
    return count, insp.flow_run_id


def report_unit_progress(*, session: Session, settings: Settings, account: Account, inspection_id: int,
                         reports: list[ProgressIn], formal: bool, now: datetime) -> int:
    """Progress as the 报送整改进展 deployment takes it, by this person for this unit."""
    insp = _inspection(session, account, inspection_id)
    return len(report_progress(session=session, settings=settings, inspection=insp, reports=reports, formal=formal,
                               by=account.name, now=now))
