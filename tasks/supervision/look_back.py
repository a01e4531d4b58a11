"""回头看: a re-inspection focused on rectification. Its team is composed with the same recusal
rules; it verifies every earlier item on site, records new findings, and feeds accountability
(问责) and reopened items back into the unit's lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.db import get_or_raise
from models.enums import CheckResult, FindingScope, ItemStatus, LookBackStatus, Pool, Role, TeamRole
from models.errors import DomainError
from models.forms import FindingIn, ItemCheckIn
from models.handoffs import LookBackRecorded
from models.settings import Settings
from models.tables import (
    Accountability,
    Finding,
    Inspection,
    InspectionRound,
    LookBack,
    LookBackCheck,
    Person,
    RectificationItem,
    TeamMember,
    Unit,
)
from models.transitions import ITEMS, LOOK_BACKS
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event
from tasks.infra.holidays import note_deadline
from tasks.infra.workdays import work_calendar
from tasks.lifecycle.archived import ensure_not_archived
from tasks.lifecycle.findings import finding_hash
from tasks.lifecycle.rounds import recusal_problems
from tasks.ops.run_names import run_name
from tasks.supervision.rectification import first_action_on, restart_ladder


def get_look_back(session: Session, look_back_id: int) -> LookBack:
    lb = get_or_raise(session, LookBack, look_back_id, "回头看任务")
    return lb


def to_start(*, session: Session) -> list[int]:
    """Look-backs registered (by any sweep: the CLI's, the scheduled one, one that crashed after
    registering) whose flow run has not been started yet."""
    return [i for i in session.exec(select(LookBack.id).where(LookBack.status == LookBackStatus.REGISTERED)
                                    .order_by(col(LookBack.id))) if i is not None]


def run_label(*, session: Session, look_back_id: int) -> str:
    lb = get_look_back(session, look_back_id)
    source = session.get(Inspection, lb.source_inspection_id)
    unit = session.get(Unit, lb.unit_id)
    rnd = session.get(InspectionRound, source.round_id) if source else None
    return run_name("回头看", rnd.name if rnd else "", unit.name if unit else "")


def mark_started(*, session: Session, look_back_id: int, flow_run_id: str) -> None:
    """Record the started run. Several relays may start the same look-back (the idempotency key
    gives them one run): the row is locked and read afresh, so a late one never sets a look-back
    its run has already moved on back to 已启动."""
    lb = get_or_raise(session, LookBack, look_back_id, "回头看任务", with_for_update=True, populate_existing=True)
    lb.flow_run_id = flow_run_id
    if lb.status == LookBackStatus.REGISTERED:
        LOOK_BACKS.move(lb, LookBackStatus.STARTED)
    session.add(lb)
    session.flush()


@dataclass(frozen=True)
class LookBackRow:
    id: int
    round: str
    unit: str
    cause: str
    status: str
    triggered_on: date
    link: str


def list_look_backs(*, session: Session, settings: Settings) -> list[LookBackRow]:
    """Every look-back with unit, reason, state and the link to its run (none while registered)."""
    rows = session.exec(
        select(LookBack, Unit.name, InspectionRound.name)
        .join(Unit, col(Unit.id) == LookBack.unit_id)
        .join(Inspection, col(Inspection.id) == LookBack.source_inspection_id)
        .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
        .order_by(col(LookBack.id))).all()
    return [LookBackRow(id=lb.id or 0, round=rnd, unit=unit, cause=lb.detail or lb.cause, status=lb.status,
                        triggered_on=lb.triggered_on, link=settings.run_link(lb.flow_run_id) if lb.flow_run_id else "")
            for lb, unit, rnd in rows]


def compose_team(*, session: Session, look_back_id: int, size: int = 3) -> list[str]:
    """A leader from the leader pool and members from the talent pool, none conflicted with the
    unit and none from the team that inspected it the first time (rotation)."""
    lb = get_look_back(session, look_back_id)
    if lb.team:
        return list(lb.team)
    unit = session.get(Unit, lb.unit_id)
    source = session.get(Inspection, lb.source_inspection_id)
    assert unit and source
    earlier = set(session.exec(select(TeamMember.person_id).where(TeamMember.team_id == source.team_id)).all())
    eligible = [p for p in session.exec(select(Person).where(col(Person.available)).order_by(col(Person.id)))
                if p.pools and p.id not in earlier and not recusal_problems(session=session, person=p, unit=unit)]
    leaders = [p for p in eligible if Pool.LEADER.value in p.pools]
    if not leaders:
        raise DomainError(f"{unit.name} 回头看无法组队：组长库中没有可用且无需回避的人员")
    leader = leaders[0]
    members = [p for p in eligible if p.id != leader.id and Pool.TALENT.value in p.pools][: size - 1]
    lb.team = [f"{TeamRole.LEADER.value}：{leader.name}"] + [f"{TeamRole.MEMBER.value}：{m.name}" for m in members]
    if lb.status != LookBackStatus.IN_PROGRESS:  # composed again after a crash: same team, same status
        LOOK_BACKS.move(lb, LookBackStatus.IN_PROGRESS)
    session.add(lb)
    session.flush()
    return list(lb.team)


def items_to_verify(*, session: Session, look_back_id: int) -> list[RectificationItem]:
    lb = get_look_back(session, look_back_id)
    return list(session.exec(select(RectificationItem).where(
        RectificationItem.inspection_id == lb.source_inspection_id).order_by(col(RectificationItem.id))))


def check_problems(*, session: Session, look_back_id: int, checks: list[ItemCheckIn]) -> list[str]:
    """Every item must be verified exactly once; empty when the checks can be recorded."""
    wanted = {i.id for i in items_to_verify(session=session, look_back_id=look_back_id) if i.id is not None}
    given = [c.item_id for c in checks]
    problems = [f"整改事项{i}不属于该单位" for i in given if i not in wanted]
    problems += [f"整改事项{i}重复核查" for i in sorted({i for i in given if given.count(i) > 1})]
    missing = sorted(wanted - set(given))
    if missing:
        problems.append("尚未核查的整改事项：" + "、".join(map(str, missing)))
    return problems


def record_results(
    *, session: Session, settings: Settings, look_back_id: int, checks: list[ItemCheckIn], new_findings: list[FindingIn],
    by: str, as_of: date, now: datetime, link: str,
) -> LookBackRecorded:
    """Store the verification, reopen what is not rectified, add new findings, and hold to account."""
    lb = get_look_back(session, look_back_id)
    if lb.status == LookBackStatus.DONE:
        checked = len(session.exec(select(LookBackCheck.id).where(LookBackCheck.look_back_id == look_back_id)).all())
        return LookBackRecorded(checked=checked, by_result={}, new_findings=0)
    problems = check_problems(session=session, look_back_id=look_back_id, checks=checks)
    if problems:
        raise DomainError("回头看核查结果未保存", problems)
    unit = session.get(Unit, lb.unit_id)
    source = ensure_not_archived(session=session, inspection=lb.source_inspection_id, action="记录回头看核查结果")
    assert unit and source.id
    cal, rule = work_calendar(settings, session), settings.rule("look_back")
    deadline = cal.deadline(as_of, rule)
    counts = {r.value: 0 for r in CheckResult}
    for c in checks:
        session.add(LookBackCheck(look_back_id=look_back_id, item_id=c.item_id, result=c.result, note=c.note))
        counts[c.result] += 1
        item = session.get(RectificationItem, c.item_id)
        assert item is not None
        if CheckResult(c.result) is CheckResult.RECTIFIED:
            if item.status != ItemStatus.CLOSED:
                ITEMS.move(item, ItemStatus.CLOSED)
                item.closed_at, item.next_action_on = now, None
        else:  # back into the unit's lists with a new deadline and a fresh ladder
            if item.status != ItemStatus.IN_PROGRESS:
                ITEMS.move(item, ItemStatus.IN_PROGRESS)
            item.closed_at = None
            restart_ladder(item, deadline, settings)
            note_deadline(session=session, cal=cal, entity=item, column="deadline", start=as_of, days=rule.days,
                          count=rule.count, due=deadline, now=now)
        session.add(item)
    known = set(session.exec(select(Finding.content_hash).where(Finding.inspection_id == source.id)))
    for f in new_findings:
        # Salted with the look-back: a problem found again on re-inspection is its own finding.
        digest = finding_hash(f.category, f.description, salt=f"look-back-{look_back_id}")
        if digest in known:
            continue
        known.add(digest)
        finding = Finding(inspection_id=source.id, category=f.category, description=f.description, evidence=f.evidence,
                          scope=FindingScope(f.scope), fixed_on_site=f.fixed_on_site, search_count=source.search_count,
                          created_at=now, content_hash=digest)
        session.add(finding)
        session.flush()
        assert finding.id is not None
        if not f.fixed_on_site:
            session.add(RectificationItem(inspection_id=source.id, finding_id=finding.id, owner=unit.secretary_name,
                                          deadline=deadline, next_rung=0, next_action_on=first_action_on(deadline, settings)))
    secretary = f"{unit.name}党组织书记{unit.secretary_name}"
    if counts[CheckResult.NOT_RECTIFIED] or counts[CheckResult.PARTLY]:
        session.add(Accountability(
            look_back_id=look_back_id, unit_id=unit.id or 0, kind="约谈", target=secretary, created_at=now,
            reason=f"整改不到位：未整改{counts[CheckResult.NOT_RECTIFIED]}项、部分整改{counts[CheckResult.PARTLY]}项"))
    if counts[CheckResult.FALSE_REPORT]:
        for kind in ("通报", "处理建议"):
            session.add(Accountability(look_back_id=look_back_id, unit_id=unit.id or 0, kind=kind, target=secretary,
                                       reason=f"虚假整改{counts[CheckResult.FALSE_REPORT]}项", created_at=now))
    LOOK_BACKS.move(lb, LookBackStatus.DONE)
    lb.finished_at = now
    session.add(lb)
    record_event(session=session, actor=by, action="回头看核查", entity="look_back", entity_id=look_back_id, now=now,
                 detail=counts | {"new_findings": len(new_findings)})
    enqueue_alert(session=session, settings=settings, key=f"look-back:{look_back_id}:done", role=Role.LEADING_GROUP,
                  title="【回头看结果】", inspection=source, link=link, now=now,
                  body=(f"{unit.name}回头看完成：已整改{counts['已整改']}项、部分整改{counts['部分整改']}项、"
                        f"未整改{counts['未整改']}项、虚假整改{counts['虚假整改']}项，新发现问题{len(new_findings)}个。"))
    session.flush()
    return LookBackRecorded(checked=len(checks), by_result=counts, new_findings=len(new_findings))
