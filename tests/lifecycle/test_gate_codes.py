"""Who may answer a gate: the approver must hold one of the gate's roles and give the live
one-time code that was sent to that role. Table-driven over every gate."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from models.enums import Gate
from models.settings import Settings, get_settings
from models.tables import Alert, Approval
from tasks.infra.alerts import message_text
from tasks.lifecycle.approvals import (
    MAX_CODE_FAILURES,
    check_approver,
    open_gate,
    record_decision,
    remind_waiting,
)
from tests.conftest import HOUR, NOW
from tests.support.factories import make_round

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. Who may answer which gate is the role table, Python over rows read alike: SQLite
# only.

# gate -> (someone allowed, someone of another role). Written out, not derived from models/access.py.
WHO = {
    Gate.PLAN: ("张明", "陶文华"),
    Gate.STATIONING_DONE: ("李建国", "林静"),
    Gate.REPORT: ("张明", "李建国"),
    Gate.CLUE_TRANSFER: ("张明", "郑文斌"),
    Gate.RECT_PLAN: ("陶文华", "钱正平"),
    Gate.CLOSE_OUT: ("柳青", "张明"),
    Gate.LOOK_BACK: ("周卫东", "许丽"),
    Gate.COMMON: ("陶文华", "吴志刚"),
    Gate.TERM_PLAN: ("柳青", "张明"),
}


def codes(s: Session, approval_id: int) -> list[str]:
    """The codes sent for this gate, as the approver will read them (the rows hold them encrypted)."""
    rows = s.exec(select(Alert).where(col(Alert.dedupe_key).startswith(f"gate:{approval_id}:")).order_by(col(Alert.id)))
    return [m.group(1) for a in rows if (m := re.search(r"验证码：(\d{6})", message_text(get_settings(), a)))]


def opened(s: Session, settings: Settings, gate: Gate) -> Approval:
    rnd, insps = make_round(s)
    approval = open_gate(session=s, settings=settings, round_id=rnd.id or 0, inspection_id=insps[0].id, gate=gate,
                         attempt=1, flow_run_id="abc", now=NOW)
    s.commit()
    return approval


@pytest.mark.parametrize("gate", list(WHO))
def test_only_the_gates_role_with_the_live_code(demo_org: Session, settings: Settings, gate: Gate) -> None:
    s = demo_org
    a = opened(s, settings, gate)
    (code,) = codes(s, a.id or 0)
    allowed, other = WHO[gate]
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    def check(who: str, c: str, at: timedelta = HOUR) -> str:
        return check_approver(session=s, settings=settings, approval_id=a.id or 0, approver=who, code=c, now=NOW + at)

    assert check(allowed, code) == ""
    assert "无权办理" in check(other, code) and gate.value in check(other, code)
    assert check("路人甲", code) == "审批人“路人甲”不是本系统在册用户"
    assert check(allowed, "") == "请填写审批提醒中的验证码"
    assert check(allowed, wrong) == "验证码不正确"
    assert a.code_hash and code not in a.code_hash  # only a keyed hash is kept


def test_a_units_stationing_gate_is_for_a_leader_of_its_own_team(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    a = opened(s, settings, Gate.STATIONING_DONE)
    (code,) = codes(s, a.id or 0)

    def check(who: str) -> str:
        return check_approver(session=s, settings=settings, approval_id=a.id or 0, approver=who, code=code, now=NOW + HOUR)

    # 周卫东 and 马成功 are 组长 too, but of no team in this round.
    for outsider in ("周卫东", "马成功"):
        assert check(outsider) == f"“{outsider}”不在负责2026年第一轮巡察·城东街道的巡察组中，无权办理“{Gate.STATIONING_DONE.value}”"
    assert check("陈晓梅") == ""  # the team's deputy holds the leader role
    assert check("李建国") == ""


@pytest.mark.both_databases  # expiry compares stored timestamps (aware UTC on PostgreSQL)
def test_an_expired_code_is_replaced_and_the_new_one_works(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    a = opened(s, settings, Gate.REPORT)
    (code,) = codes(s, a.id or 0)
    late = timedelta(hours=settings.approval_code_hours) + HOUR
    assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code=code,
                          now=NOW + late) == "验证码已过期，新的验证码已发送给审批人"
    s.commit()
    first, fresh = codes(s, a.id or 0)
    assert first == code
    assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code=fresh, now=NOW + late) == ""
    if fresh != code:
        assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code=code,
                              now=NOW + late) == "验证码不正确"


@pytest.mark.both_databases  # the wrong-attempt counter is updated under the approval's row lock (FOR UPDATE)
def test_too_many_wrong_codes_kill_the_code(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    a = opened(s, settings, Gate.REPORT)
    (code,) = codes(s, a.id or 0)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code=wrong, now=NOW)
               for _ in range(MAX_CODE_FAILURES)]
    assert answers[:-1] == ["验证码不正确"] * (MAX_CODE_FAILURES - 1)
    assert answers[-1].startswith(f"验证码连续{MAX_CODE_FAILURES}次错误")
    s.commit()
    assert len(codes(s, a.id or 0)) == 2
    new = codes(s, a.id or 0)[-1]
    assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code=new, now=NOW) == ""


@pytest.mark.both_databases  # the void code and its hour compare stored timestamps
def test_one_new_code_an_hour_however_fast_codes_are_guessed(demo_org: Session, settings: Settings) -> None:
    """Guessing past one void code gets the approver one new code; past the next, nothing for an
    hour, and while void no code is tried at all (not even the right one)."""
    s = demo_org
    a = opened(s, settings, Gate.REPORT)

    def guess(code: str, at: timedelta) -> str:
        return check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code=code, now=NOW + at)

    def wrong(at: timedelta) -> list[str]:
        live = codes(s, a.id or 0)[-1]
        return [guess(f"{(int(live) + 1) % 10**6:06d}", at) for _ in range(MAX_CODE_FAILURES)]

    assert wrong(timedelta())[-1].endswith("新的验证码已发送给审批人")  # the first renewal at once
    s.commit()
    second = codes(s, a.id or 0)[-1]
    held = wrong(timedelta(minutes=10))[-1]
    assert "原验证码已作废" in held and "后再办理时将发送新的验证码" in held
    s.commit()
    assert len(codes(s, a.id or 0)) == 2  # no second alert within the hour
    assert "后再办理时将发送新的验证码" in guess(second, timedelta(minutes=30))  # void: the right code too
    assert guess(second, HOUR + timedelta(minutes=1)).endswith("新的验证码已发送给审批人")
    s.commit()
    assert len(codes(s, a.id or 0)) == 3
    assert guess(codes(s, a.id or 0)[-1], HOUR + timedelta(minutes=2)) == ""


@pytest.mark.both_databases  # reminders pick waiting gates with SKIP LOCKED on PostgreSQL
def test_a_decision_spends_the_code_and_reminders_bring_a_fresh_one(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    a = opened(s, settings, Gate.PLAN)
    remind_waiting(session=s, settings=settings, now=NOW + timedelta(hours=settings.gate_reminder_hours) + HOUR)
    s.commit()
    old, fresh = codes(s, a.id or 0)
    assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code=fresh, now=NOW) == ""
    record_decision(session=s, approval_id=a.id or 0, decision="批准", approver="张明", comment="", now=NOW)
    s.commit()
    s.refresh(a)
    assert a.code_hash == "" and a.code_expires_at is None
    # A re-run of the flow finds the gate decided: no code is asked for again.
    assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code="", now=NOW) == ""


def test_one_answer_is_settled_in_one_step(demo_org: Session, settings: Settings) -> None:
    """settle_answer (the one task per answer): a wrong code is refused, counted, audited and told
    to the approvers, the gate still waiting; the live code decides it with its audit row; a
    receipt's person decides without a code, whatever name was typed."""
    from models.enums import ApprovalStatus
    from models.tables import AuditEvent
    from tasks.identity.receipts import write_receipt
    from tasks.lifecycle.answers import AnswerCheck, AnswerFields, settle_answer

    s = demo_org
    a = opened(s, settings, Gate.REPORT)
    (code,) = codes(s, a.id or 0)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    def settle(approver: str, c: str, try_no: int, key: str = "report-1-1-0") -> tuple[str, str]:
        out = settle_answer(session=s, settings=settings, approval_id=a.id or 0, flow_run_id="abc", pause_key=key,
                            try_no=try_no, answer=AnswerFields(decision="通过", approver=approver, code=c, comment="",
                                                               approved=True), check=AnswerCheck.NONE, now=NOW + HOUR)
        s.commit()
        return out.approver, out.error

    def actions() -> list[str]:
        return [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.entity == "approval",
                                                                    AuditEvent.entity_id == a.id).order_by(col(AuditEvent.id)))]

    assert settle("张明", wrong, 0) == ("张明", "验证码不正确")
    s.refresh(a)
    assert a.status == ApprovalStatus.PENDING and a.code_failures == 1
    assert actions()[-1] == "审批被拒收"
    assert s.exec(select(Alert).where(Alert.dedupe_key == f"gate:{a.id}:refused:0")).first() is not None
    # The gateway wrote a receipt for the next asking: its person is the approver.
    write_receipt(session=s, settings=settings, approval_id=a.id or 0, flow_run_id="abc", pause_key="report-1-1-1",
                  person="张明", now=NOW)
    s.commit()
    assert settle("路人甲", "", 1, key="report-1-1-1") == ("张明", "")  # the receipt's person, no code asked
    s.refresh(a)
    assert a.status == ApprovalStatus.DECIDED and a.approver == "张明" and not a.code_hash
    assert actions()[-1] == "审批决定"
    decided = s.exec(select(AuditEvent).where(AuditEvent.action == "审批决定", AuditEvent.entity_id == a.id)).one()
    assert decided.detail.get("via") == "登录"
    assert settle("张明", code, 2) == ("张明", "")  # decided once: a repeat changes nothing
    assert actions().count("审批决定") == 1
