"""Approval gates: the application's own record of who was asked, who answered and what."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.access import CODE_GATES, GATE_ROLES, Scope
from models.clock import CHINA, aware
from models.enums import ApprovalStatus, Gate, Role
from models.errors import DomainError
from models.settings import Settings
from models.tables import Account, Approval, Inspection, InspectionRound, TermPlan, Unit
from models.transitions import APPROVALS
from tasks.infra import codes
from tasks.infra.alerts import CODE_SLOT, enqueue_alert
from tasks.infra.audit import record_event, record_refusal
from tasks.infra.scope import serves_on

GATE_APPROVER: dict[Gate, Role] = {
    Gate.PLAN: Role.LEADING_GROUP,
    Gate.STATIONING_DONE: Role.TEAM_LEADER,
    Gate.REPORT: Role.LEADING_GROUP,
    Gate.CLUE_TRANSFER: Role.LEADING_GROUP,
    Gate.RECT_PLAN: Role.OFFICE,
    Gate.CLOSE_OUT: Role.OFFICE,
    Gate.LOOK_BACK: Role.OFFICE,
    Gate.COMMON: Role.OFFICE,
    Gate.TERM_PLAN: Role.OFFICE,
}


def subject_name(session: Session, round_id: int | None, inspection_id: int | None, term_id: int | None = None) -> str:
    if round_id is None:
        term = session.get(TermPlan, term_id)
        assert term is not None
        return term.name
    rnd = session.get(InspectionRound, round_id)
    assert rnd is not None
    if inspection_id is None:
        return rnd.name
    insp = session.get(Inspection, inspection_id)
    assert insp is not None
    unit = session.get(Unit, insp.unit_id)
    assert unit is not None
    return f"{rnd.name}·{unit.name}"


MAX_CODE_FAILURES = codes.MAX_FAILURES


def _locked(session: Session, approval_id: int) -> Approval | None:
    """The approval, row-locked until the transaction ends (SQLite: its writers are serial) and
    read afresh, so a decision is taken on the row as it is, not as it was read earlier."""
    return session.get(Approval, approval_id, with_for_update=True, populate_existing=True)


def issue_code(*, session: Session, settings: Settings, approval: Approval, now: datetime) -> str:
    """A fresh one-time code for this asking; only its keyed hash is stored, the old code dies."""
    assert approval.id is not None
    code = codes.new_code()
    approval.code_hash = codes.digest(settings, "approval", approval.id, code)
    approval.code_expires_at = now + timedelta(hours=settings.approval_code_hours)
    approval.codes_issued += 1
    approval.code_failures = 0
    session.add(approval)
    return code


def _code_line(settings: Settings, approval: Approval | None = None) -> str:
    """The code's line; the code itself travels apart (encrypted) and fills the slot when sent.
    A gate a leader may answer from a phone also carries its link (no login, by the code)."""
    line = f"\n验证码：{CODE_SLOT}（{settings.approval_code_hours:g}小时内有效，仅限本人办理本次审批时填写）"
    if approval is not None and Gate(approval.gate) in CODE_GATES and approval.flow_run_id:
        line += f"\n手机办理（不登录，凭验证码）：{settings.approve_link(approval.flow_run_id)}"
    return line


def _send_new_code(session: Session, settings: Settings, approval: Approval, now: datetime, why: str) -> None:
    code = issue_code(session=session, settings=settings, approval=approval, now=now)
    gate = Gate(approval.gate)
    name = subject_name(session, approval.round_id, approval.inspection_id, approval.term_id)
    insp = session.get(Inspection, approval.inspection_id) if approval.inspection_id else None
    enqueue_alert(
        session=session, settings=settings, key=f"gate:{approval.id}:code:{approval.codes_issued}",
        role=GATE_APPROVER[gate], title=f"【审批验证码】{gate.value}",
        body=f"{name}：“{gate.value}”{why}，原验证码已作废。" + _code_line(settings, approval), secret=code,
        link=settings.run_link(approval.flow_run_id), now=now, inspection=insp,
    )


def check_approver(*, session: Session, settings: Settings, approval_id: int, approver: str, code: str,
                   now: datetime, logged_in: bool = False) -> str:
    """Why this answer may not decide the gate, in Chinese; empty when it may. `logged_in`: the
    gateway's receipt proved the person, so no code is asked. A wrong code counts towards a limit
    after which a new code is sent; an expired one is replaced at once.

    The row is locked (PostgreSQL) and read as it is then: answers submitted at once, and the
    relay's reminder, count and replace the code one after another."""
    approval = _locked(session, approval_id)
    if approval is None:
        return f"审批记录不存在：{approval_id}"
    if approval.status == ApprovalStatus.DECIDED:
        return ""  # decided in an earlier run of this flow; the code was used then
    gate = Gate(approval.gate)
    acc = session.exec(select(Account).where(Account.name == approver.strip())).first()
    if acc is None or not acc.active:
        return f"审批人“{approver.strip()}”不是本系统在册用户"
    if acc.role not in GATE_ROLES[gate]:
        allowed = "、".join(r.value for r in GATE_ROLES[gate])
        return f"“{acc.name}”（{acc.role.value}）无权办理“{gate.value}”，应由{allowed}办理"
    if GATE_ROLES[gate][acc.role] is Scope.OWN_TEAM:
        insp = session.get(Inspection, approval.inspection_id) if approval.inspection_id else None
        if insp is None or not serves_on(session=session, name=acc.name, inspection=insp):
            where = subject_name(session, approval.round_id, approval.inspection_id, approval.term_id)
            return f"“{acc.name}”不在负责{where}的巡察组中，无权办理“{gate.value}”"
    if logged_in:
        return ""
    if not code.strip():
        return "请填写审批提醒中的验证码"
    if approval.code_failures >= MAX_CODE_FAILURES:  # void, and its new code held back (below): nothing is tried
        if (wait := _renewal_wait(settings, approval, now)) is not None:
            return f"验证码已作废，{wait:%H:%M}后再办理时将发送新的验证码"
        _send_new_code(session, settings, approval, now, f"验证码连续{MAX_CODE_FAILURES}次填写错误")
        return f"验证码连续{MAX_CODE_FAILURES}次错误，原验证码已作废，新的验证码已发送给审批人"
    if approval.code_expires_at is None or aware(approval.code_expires_at) <= now:
        _send_new_code(session, settings, approval, now, "的验证码已过期")
        return "验证码已过期，新的验证码已发送给审批人"
    if not codes.matches(settings, "approval", approval_id, code, approval.code_hash):
        approval.code_failures += 1
        session.add(approval)
        if approval.code_failures >= MAX_CODE_FAILURES:
            if (wait := _renewal_wait(settings, approval, now)) is not None:
                return f"验证码连续{MAX_CODE_FAILURES}次错误，原验证码已作废，{wait:%H:%M}后再办理时将发送新的验证码"
            _send_new_code(session, settings, approval, now, f"验证码连续{MAX_CODE_FAILURES}次填写错误")
            return f"验证码连续{MAX_CODE_FAILURES}次错误，原验证码已作废，新的验证码已发送给审批人"
        return "验证码不正确"
    return ""


RENEWAL_GAP = timedelta(hours=1)  # at most one new code (and its alert) per asking of a gate per hour


def _renewal_wait(settings: Settings, approval: Approval, now: datetime) -> datetime | None:
    """When a voided code may be replaced, if a code was re-sent (not the asking's first) less
    than an hour ago: guessing gets MAX_CODE_FAILURES tries an hour, and the approver one alert."""
    if approval.codes_issued < 2 or approval.code_expires_at is None:
        return None
    issued = aware(approval.code_expires_at) - timedelta(hours=settings.approval_code_hours)
    return (issued + RENEWAL_GAP).astimezone(CHINA) if issued + RENEWAL_GAP > now else None


def asked_gate(*, session: Session, round_id: int | None, inspection_id: int | None, gate: Gate, attempt: int,
               term_id: int | None = None) -> Approval | None:
    """The approval of this asking, if it was opened before."""
    return session.exec(
        select(Approval).where(
            Approval.round_id == round_id, Approval.inspection_id == inspection_id, Approval.term_id == term_id,
            Approval.gate == gate, Approval.attempt == attempt,
        )
    ).first()


def open_gate(
    *, session: Session, settings: Settings, round_id: int | None, inspection_id: int | None, gate: Gate,
    attempt: int, flow_run_id: str | None, now: datetime, term_id: int | None = None,
) -> Approval:
    """Record that a gate is waiting and tell its approver; asking twice changes nothing."""
    if round_id is None and term_id is None:
        raise DomainError("审批须属于一个巡察轮次或一届任期计划")
    approval = asked_gate(session=session, round_id=round_id, inspection_id=inspection_id, gate=gate, attempt=attempt,
                          term_id=term_id)
    if approval:
        return approval
    approval = Approval(round_id=round_id, inspection_id=inspection_id, term_id=term_id, gate=gate, attempt=attempt,
                        flow_run_id=flow_run_id, requested_at=now)
    session.add(approval)
    session.flush()
    code = issue_code(session=session, settings=settings, approval=approval, now=now)
    name = subject_name(session, round_id, inspection_id, term_id)
    insp = session.get(Inspection, inspection_id) if inspection_id else None
    enqueue_alert(
        session=session, settings=settings, key=f"gate:{approval.id}:ask", role=GATE_APPROVER[gate],
        title=f"【待审批】{gate.value}",
        body=f"{name}：“{gate.value}”等待您办理（第{attempt}次）。" + _code_line(settings, approval), secret=code,
        link=settings.run_link(flow_run_id), now=now, inspection=insp,
    )
    record_event(session=session, actor="系统", action="审批发起", entity="approval", entity_id=approval.id,
                 now=now, detail={"gate": gate.value, "attempt": attempt})
    return approval


def record_decision(*, session: Session, approval_id: int, decision: str, approver: str, comment: str, now: datetime,
                    via: str = "") -> Approval:
    """Store the answer once; a second call for a decided gate returns the first answer."""
    approval = _locked(session, approval_id)
    if approval is None:
        raise DomainError(f"审批记录不存在：{approval_id}")
    if approval.status == ApprovalStatus.DECIDED:
        return approval
    APPROVALS.move(approval, ApprovalStatus.DECIDED)
    approval.decision, approval.approver, approval.comment = decision, approver.strip(), comment.strip()
    approval.decided_at = now
    approval.code_hash, approval.code_expires_at = "", None  # the code is spent
    session.add(approval)
    record_event(session=session, actor=approval.approver, action="审批决定", entity="approval", entity_id=approval.id,
                 now=now, detail={"gate": Gate(approval.gate).value, "decision": decision} | ({"via": via} if via else {}))
    session.flush()
    return approval


def remind_waiting(*, session: Session, settings: Settings, now: datetime) -> int:
    """Remind approvers of gates waiting past the reminder time; one reminder per elapsed period."""
    period = timedelta(hours=settings.gate_reminder_hours)
    count = 0
    # Row-locked: relays on PostgreSQL skip a gate another is reminding, so one code is issued
    # per gate and period (SQLite serialises writers with BEGIN IMMEDIATE instead).
    waiting = session.exec(select(Approval).where(Approval.status == ApprovalStatus.PENDING).order_by(col(Approval.id))
                           .with_for_update(skip_locked=True))
    for approval in waiting:
        due_n = int((now - aware(approval.requested_at)) / period)
        if due_n <= approval.reminders_sent:
            continue
        approval.reminders_sent = due_n
        name = subject_name(session, approval.round_id, approval.inspection_id, approval.term_id)
        insp = session.get(Inspection, approval.inspection_id) if approval.inspection_id else None
        hours = int((now - aware(approval.requested_at)).total_seconds() // 3600)
        code = issue_code(session=session, settings=settings, approval=approval, now=now)
        enqueue_alert(
            session=session, settings=settings, key=f"gate:{approval.id}:remind:{due_n}",
            role=GATE_APPROVER[Gate(approval.gate)], title=f"【催办】{Gate(approval.gate).value}",
            body=f"{name}：“{Gate(approval.gate).value}”已等待{hours}小时，请尽快办理。" + _code_line(settings, approval),
            secret=code, link=settings.run_link(approval.flow_run_id), now=now, inspection=insp,
        )
        session.add(approval)
        count += 1
    session.flush()
    return count


def refuse_answer(*, session: Session, settings: Settings, approval_id: int, try_no: int, approver: str, reason: str,
                  now: datetime) -> str:
    """An answer the gate did not accept: audited, and the gate's approvers are told why (the run
    keeps waiting and asks again). Returns the gate's label for the run's log."""
    approval = session.get(Approval, approval_id)
    assert approval is not None
    gate = Gate(approval.gate)
    who = approver.strip()[:50] or "（未署名）"
    recorded = record_refusal(session=session, actor=approver, action="审批被拒收", entity="approval",
                              entity_id=approval_id, now=now, detail={"try": try_no, "reason": reason})
    name = subject_name(session, approval.round_id, approval.inspection_id, approval.term_id)
    if recorded is None:  # an unregistered name past its hourly audit row: no alert either
        return f"{name}：{gate.value}"
    insp = session.get(Inspection, approval.inspection_id) if approval.inspection_id else None
    enqueue_alert(session=session, settings=settings, key=f"gate:{approval_id}:refused:{try_no}", role=GATE_APPROVER[gate],
                  title=f"【审批未被接受】{gate.value}",
                  body=f"{name}：“{gate.value}”的一次提交（署名“{who}”）未被接受：{reason}。流程仍在等待，请重新填写。",
                  link=settings.run_link(approval.flow_run_id), now=now, inspection=insp)
    return f"{name}：{gate.value}"
