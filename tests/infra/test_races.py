"""Read-decide-write on shared rows, run at once on the local PostgreSQL as several relays and
workers would: two reminder passes issue one code per gate, answers and signings entered at once
count and replace a code once, a late relay does not set a look-back back, and a crashed run is
recovered once however many relays see the crash."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.enums import Gate, LookBackStatus
from models.errors import DomainError
from models.settings import Settings
from models.tables import Alert, Approval, AuditEvent, ClueLetter, Inspection, LookBack, RunRecovery
from tasks.clues import ledger as clues
from tasks.infra import codes
from tasks.infra.alerts import message_text
from tasks.lifecycle.approvals import check_approver, open_gate, remind_waiting
from tasks.ops.recovery import CrashedRun, plan_recoveries
from tasks.supervision.look_back import mark_started
from tests.conftest import LINK, NOW
from tests.support.factories import in_stationing, letter_code, make_round

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)

HOLD = 0.3  # seconds a pass keeps its transaction open after deciding, as a slow relay would


def at_once(n: int, work: Callable[[Session], Any], engine: Any) -> list[Any]:
    """Run `work` in `n` threads, each with its own session (connection), started together;
    each commits after HOLD seconds. Returns what each returned, or the exception it raised."""
    start = threading.Barrier(n)
    out: list[Any] = [None] * n

    def one(i: int) -> None:
        with Session(engine) as own:
            start.wait()
            try:
                out[i] = work(own)
                time.sleep(HOLD)
                own.commit()
            except Exception as exc:  # noqa: BLE001 - handed to the test
                own.rollback()
                out[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def _sent_codes(s: Session, settings: Settings, prefix: str, label: str = "验证码") -> list[str]:
    rows = s.exec(select(Alert).where(col(Alert.dedupe_key).startswith(prefix)).order_by(col(Alert.id)))
    return [m.group(1) for a in rows if (m := re.search(label + r"：(\d{6})", message_text(settings, a)))]


def test_two_reminder_passes_at_once_issue_exactly_one_code_per_gate(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    rnd, insps = make_round(s)
    gates = [open_gate(session=s, settings=settings, round_id=rnd.id or 0, inspection_id=i.id, gate=Gate.STATIONING_DONE,
                       attempt=1, flow_run_id=f"run-{i.id}", now=NOW) for i in insps]
    gates.append(open_gate(session=s, settings=settings, round_id=rnd.id or 0, inspection_id=None, gate=Gate.PLAN,
                           attempt=1, flow_run_id="run-plan", now=NOW))
    s.commit()
    gate_ids = [g.id or 0 for g in gates]
    due = NOW + timedelta(hours=settings.gate_reminder_hours)
    reminded = at_once(2, lambda own: remind_waiting(session=own, settings=settings, now=due), s.get_bind())
    assert sum(reminded) == len(gates), reminded
    s.expire_all()
    for gate_id in gate_ids:
        a = s.get(Approval, gate_id)
        assert a is not None and (a.codes_issued, a.reminders_sent) == (2, 1)
        keys = s.exec(select(Alert.dedupe_key).where(col(Alert.dedupe_key).startswith(f"gate:{a.id}:"))).all()
        assert sorted(set(keys)) == [f"gate:{a.id}:ask", f"gate:{a.id}:remind:1"]
        sent = _sent_codes(s, settings, f"gate:{a.id}:remind:")
        assert len(set(sent)) == 1  # one code per gate, the same to every recipient
        approver = "李建国" if a.inspection_id else "张明"
        assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver=approver, code=sent[0],
                              now=due) == ""  # and it is the live one
    s.rollback()


def test_wrong_codes_entered_at_once_all_count_and_replace_the_code_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    rnd, _ = make_round(s)
    a = open_gate(session=s, settings=settings, round_id=rnd.id or 0, inspection_id=None, gate=Gate.PLAN, attempt=1,
                  flow_run_id="abc", now=NOW)
    s.commit()
    aid = a.id or 0  # (objects of the test's session stay out of the threads)
    answers = at_once(codes.MAX_FAILURES, lambda own: check_approver(
        session=own, settings=settings, approval_id=aid, approver="张明", code="000000x", now=NOW), s.get_bind())
    assert sorted(answers).count("验证码不正确") == codes.MAX_FAILURES - 1, answers
    s.expire_all()
    approval = s.get(Approval, aid)
    assert approval is not None and (approval.codes_issued, approval.code_failures) == (2, 0)
    assert len(_sent_codes(s, settings, f"gate:{aid}:")) == 2


def _letter(s: Session, settings: Settings) -> ClueLetter:
    iid = in_stationing(s, settings, now=NOW, link=LINK)
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="x", now=NOW).id or 0
    return clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=NOW, link=LINK)


def test_a_letter_signed_twice_at_once_is_signed_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    lid = _letter(s, settings).id or 0
    code = letter_code(s, lid)
    results = at_once(2, lambda own: clues.acknowledge(session=own, settings=settings, by="郑文斌",
                                                       letter_id=lid, code=code, now=NOW), s.get_bind())
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and "该移交函已于" in str(refused[0]), results
    s.expire_all()
    assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "签收线索移交函")).all()) == 1


def test_wrong_letter_codes_entered_at_once_replace_the_code_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    lid = _letter(s, settings).id or 0
    results = at_once(codes.MAX_FAILURES, lambda own: clues.acknowledge(
        session=own, settings=settings, by="郑文斌", letter_id=lid, code="x", now=NOW), s.get_bind())
    messages = sorted(str(r) for r in results)
    assert messages.count("签收码不正确") == codes.MAX_FAILURES - 1, messages
    s.expire_all()
    assert len(_sent_codes(s, settings, f"clue-letter:{lid}", "签收码")) == 2
    assert s.get(ClueLetter, lid).code_failures == 0  # type: ignore[union-attr]


def test_a_late_relay_does_not_set_a_look_back_back_to_started(demo_org: Session, settings: Settings) -> None:
    """The relay read the look-back as registered; meanwhile its run (started by another relay)
    moved it on. Marking it started decides on the row as it is when locked."""
    s = demo_org
    rnd, insps = make_round(s)
    insp = s.get(Inspection, insps[0].id)
    assert insp is not None
    lb = LookBack(source_inspection_id=insp.id or 0, unit_id=insp.unit_id, cause="逾期", triggered_on=NOW.date())
    s.add(lb)
    s.commit()
    relay = Session(s.get_bind())
    stale = relay.get(LookBack, lb.id)  # read as registered
    assert stale is not None and stale.status == LookBackStatus.REGISTERED
    with Session(s.get_bind()) as run:  # the look-back's run moves it on
        row = run.get(LookBack, lb.id)
        assert row is not None
        row.status, row.flow_run_id = LookBackStatus.IN_PROGRESS, "run-1"
        run.add(row)
        run.commit()
    mark_started(session=relay, look_back_id=lb.id or 0, flow_run_id="run-1")
    relay.commit()
    relay.close()
    s.expire_all()
    assert s.get(LookBack, lb.id).status == LookBackStatus.IN_PROGRESS  # type: ignore[union-attr]


def test_a_crash_seen_by_two_relays_is_recovered_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    run = CrashedRun(id="run-x", name="单位巡察·2026年第一轮巡察·城东街道", deployment="单位巡察")
    state = {"run-x": "CRASHED"}  # what the Prefect server says of the run
    scheduled: list[int] = []
    lock = threading.Lock()

    def reschedule(r: CrashedRun, attempt: int) -> None:
        with lock:
            time.sleep(0.05)  # a call to the server
            state[r.id] = "SCHEDULED"
            scheduled.append(attempt)

    def relay(own: Session) -> Any:
        return plan_recoveries(session=own, settings=settings, crashed=[run], now=NOW,
                               still_crashed=lambda r: state[r.id] == "CRASHED", reschedule=reschedule)

    for _ in range(3):  # a fresh row the first time, an existing one after
        results = at_once(2, relay, s.get_bind())
        assert all(not isinstance(r, Exception) for r in results), results
        assert sorted(len(r) for r in results) == [0, 1]
        state["run-x"] = "CRASHED"  # it crashes again
    assert scheduled == [1, 2, 3]
    s.expire_all()
    rec = s.exec(select(RunRecovery).where(RunRecovery.flow_run_id == "run-x")).one()
    assert rec.attempts == 3


def test_public_reports_sent_at_once_stay_within_the_rate_limit(demo_org: Session, settings: Settings) -> None:
    """Four reports from one address at once, with room for one more in its hour: one is taken,
    three are refused (each counts the window only after the one before it has committed)."""
    from tasks.clues import public

    s = demo_org
    iid = in_stationing(s, settings, now=NOW, link=LINK)
    limited = settings.model_copy(update={"public_reports_per_ip": 3})
    client = public.client_key(limited, "203.0.113.7")
    for n in range(2):
        public.submit_report(session=s, settings=limited, inspection_id=iid, content=f"第{n}件", anonymous=True,
                             client=client, now=NOW)
    results = at_once(4, lambda own: public.submit_report(
        session=own, settings=limited, inspection_id=iid, content="同时提交", anonymous=True, client=client,
        now=NOW), s.get_bind())
    taken = [r for r in results if isinstance(r, public.Received)]
    refused = [r for r in results if isinstance(r, public.RateLimited)]
    assert (len(taken), len(refused)) == (1, 3), results
    s.expire_all()
    assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "受理网络举报")).all()) == 3


def test_wrong_query_codes_entered_at_once_stay_within_the_limit(demo_org: Session, settings: Settings) -> None:
    """Wrong codes entered at once by one address count one by one: never more looked up than allowed."""
    from models.tables import PublicHit
    from tasks.clues import public

    s = demo_org
    limited = settings.model_copy(update={"public_wrong_codes_per_ip": 2})
    client = public.client_key(limited, "203.0.113.8")
    results = at_once(5, lambda own: public.query_report(session=own, settings=limited, code="AAAA-BBBB-CCCC-DDDD",
                                                         client=client, now=NOW), s.get_bind())
    assert sorted(type(r).__name__ for r in results) == ["DomainError", "DomainError"] + ["RateLimited"] * 3, results
    s.expire_all()
    assert len(s.exec(select(PublicHit).where(PublicHit.kind == "wrong-code")).all()) == 2
