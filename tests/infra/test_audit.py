"""The audit trail's hash chain and the approval gates' record, reminders included."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from models.clock import aware
from models.crypto import INTL, SM3_TAG
from models.enums import ApprovalStatus, Gate, Role
from models.errors import DomainError
from models.settings import Settings
from models.tables import Alert, Approval, AuditEvent
from tasks.infra.audit import (
    UNREGISTERED,
    UNREGISTERED_FLOOD,
    UNREGISTERED_PER_HOUR,
    current_profile,
    first_broken_link,
    head_file,
    read_head,
    record_event,
    record_refusal,
    verify_trail,
)
from tasks.lifecycle.approvals import open_gate, record_decision, remind_waiting
from tests.conftest import HOUR, NOW
from tests.support.cli import as_person
from tests.support.factories import make_round, row_counts

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. The chain hashes stored timestamps (aware UTC on PostgreSQL, naive China time on
# SQLite) and JSON details, under an advisory lock on PostgreSQL, and tampering is done in raw SQL:
# those run on both. The command-line tests run the CLI on its own SQLite home (cli_home) whatever
# the backend, and the gate tests are covered on PostgreSQL by tests/lifecycle/test_gate_codes.py:
# SQLite only.


def chain(session: Session, n: int = 5) -> list[AuditEvent]:
    events = [
        record_event(session=session, actor=f"用户{i}", action="审批决定", entity="approval", entity_id=i,
                     now=NOW + i * HOUR, detail={"gate": "报告审议", "decision": "通过", "n": i})
        for i in range(1, n + 1)
    ]
    session.commit()
    return events


@pytest.mark.both_databases
def test_chain_verifies(session: Session) -> None:
    assert first_broken_link(session=session) is None  # an empty trail holds
    events = chain(session)
    assert events[0].prev_hash == ""
    # A whole MAC in the configured profile's stored form: 64 hex digits (HMAC-SHA256) or, under
    # gm, the SM3 tag and base64url (HMAC-SM3; XUNCHA_TEST_CRYPTO_PROFILE=gm, tests/conftest.py).
    form = re.compile(r"[0-9a-f]{64}" if current_profile() == INTL else re.escape(SM3_TAG) + r"[A-Za-z0-9_-]{43}")
    for prev, ev in zip(events, events[1:], strict=False):
        assert ev.prev_hash == prev.hash and form.fullmatch(ev.hash), ev.hash
    session.expire_all()
    assert first_broken_link(session=session) is None


# Each column, and a raw SQL value that changes it.
TAMPERING: list[tuple[str, str]] = [
    ("at", "'2026-12-01 12:00:01.000000'"),
    ("actor", "'他人'"),
    ("action", "'审批被拒收'"),
    ("entity", "'clue'"),
    ("entity_id", "99"),
    ("entity_id", "NULL"),
    ("detail", "'{\"gate\": \"报告审议\", \"decision\": \"退回重新查找\", \"n\": 3}'"),
    ("prev_hash", "'" + "0" * 64 + "'"),
    ("hash", "'" + "f" * 64 + "'"),
]


@pytest.mark.both_databases
def test_tampering_with_any_column_is_detected_at_that_row(session: Session) -> None:
    """Every column of the first, a middle and the last row, changed by raw SQL one at a time
    (and put back after): the chain check names exactly that row."""
    events = chain(session)
    for victim in (events[0], events[2], events[4]):
        for column, value in TAMPERING:
            original = session.execute(text(f"SELECT {column} FROM audit_event WHERE id = :id"), {"id": victim.id}).scalar()
            session.execute(text(f"UPDATE audit_event SET {column} = {value} WHERE id = :id"), {"id": victim.id})
            session.commit()
            session.expire_all()
            broken = first_broken_link(session=session)
            assert broken is not None, f"changing {column} of row {victim.id} went unnoticed"
            assert broken.id == victim.id, f"changing {column} of row {victim.id} reported row {broken.id}"
            if isinstance(original, dict):  # a JSON column reads back as a dict on PostgreSQL
                original = json.dumps(original, ensure_ascii=False)
            put_back = "CAST(:v AS json)" if column == "detail" and session.get_bind().dialect.name == "postgresql" else ":v"
            session.execute(text(f"UPDATE audit_event SET {column} = {put_back} WHERE id = :id"), {"v": original, "id": victim.id})
            session.commit()
            session.expire_all()
            assert first_broken_link(session=session) is None


@pytest.mark.both_databases
def test_deleted_row_is_detected_at_the_next(session: Session) -> None:
    events = chain(session)
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[1].id})
    session.commit()
    session.expire_all()
    broken = first_broken_link(session=session)
    assert broken is not None and broken.id == events[2].id


@pytest.mark.parametrize(
    "when",
    [NOW, NOW.astimezone(UTC), NOW.replace(tzinfo=None), NOW.replace(microsecond=654321)],
    ids=["china", "utc", "naive-china", "microseconds"],
)
@pytest.mark.both_databases
def test_chain_holds_whatever_the_timestamp_form(session: Session, when: datetime) -> None:
    """The same instant given in UTC must not look like tampering once read back from SQLite."""
    record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=1, now=when)
    record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=1, now=when + HOUR)
    session.commit()
    session.expire_all()
    assert first_broken_link(session=session) is None
    first = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).first()
    assert first is not None and aware(first.at) == NOW.replace(microsecond=0)  # naive on SQLite, UTC on PostgreSQL


@pytest.mark.both_databases
def test_chain_across_a_domain_run(demo_org: Session, settings: Settings) -> None:
    """Events written by the domain functions (round, gate, decision) chain up too."""
    s = demo_org
    rnd, inspections = make_round(s)
    assert rnd.id is not None
    a = open_gate(session=s, settings=settings, round_id=rnd.id, inspection_id=None, gate=Gate.PLAN, attempt=1,
                  flow_run_id=None, now=NOW)
    record_decision(session=s, approval_id=a.id or 0, decision="批准", approver="张书记", comment="", now=NOW + HOUR)
    s.commit()
    actions = [e.action for e in s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions == ["审批发起", "审批决定"]
    assert first_broken_link(session=s) is None


# Approval gates -----------------------------------------------------------------------------


def _open(s: Session, settings: Settings, **kw: Any) -> Approval:
    rnd, inspections = make_round(s)
    assert rnd.id is not None
    args: dict[str, Any] = {"round_id": rnd.id, "inspection_id": None, "gate": Gate.PLAN, "attempt": 1,
                            "flow_run_id": "abc", "now": NOW, **kw}
    approval = open_gate(session=s, settings=settings, **args)
    s.commit()
    return approval


def _keys(s: Session, approval: Approval) -> list[str]:
    return sorted(s.exec(select(Alert.dedupe_key).where(col(Alert.dedupe_key).startswith(f"gate:{approval.id}:"))))


def test_open_gate_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    approval = _open(s, settings)
    assert (approval.status, approval.attempt, approval.reminders_sent) == (ApprovalStatus.PENDING, 1, 0)
    (ask,) = s.exec(select(Alert).where(Alert.dedupe_key == f"gate:{approval.id}:ask")).all()
    assert ask.role == Role.LEADING_GROUP.value and ask.recipient == "json://127.0.0.1:8765/leading-group"
    assert ask.title == "【待审批】方案及组成人员审批"
    assert "2026年第一轮巡察" in ask.body and "/runs/flow-run/abc" in ask.body
    before = row_counts(s)
    again = open_gate(session=s, settings=settings, round_id=approval.round_id, inspection_id=None, gate=Gate.PLAN,
                      attempt=1, flow_run_id="abc", now=NOW + HOUR)
    s.commit()
    assert again.id == approval.id
    assert row_counts(s) == before


@pytest.mark.both_databases
def test_decision_is_recorded_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    approval = _open(s, settings)
    assert approval.id is not None
    record_decision(session=s, approval_id=approval.id, decision="退回修改", approver=" 张书记 ", comment=" 组成人员需调整 ",
                    now=NOW + HOUR)
    s.commit()
    before = row_counts(s)
    second = record_decision(session=s, approval_id=approval.id, decision="批准", approver="李副书记", comment="",
                             now=NOW + 2 * HOUR)
    s.commit()
    assert (second.decision, second.approver, second.comment) == ("退回修改", "张书记", "组成人员需调整")
    assert row_counts(s) == before
    with pytest.raises(DomainError, match="审批记录不存在：424242"):
        record_decision(session=s, approval_id=424242, decision="批准", approver="x", comment="", now=NOW)


@pytest.mark.both_databases
def test_reminders_one_per_elapsed_period(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    period = timedelta(hours=settings.gate_reminder_hours)
    approval = _open(s, settings, gate=Gate.STATIONING_DONE,
                     inspection_id=None)

    def remind(at: datetime) -> int:
        n = remind_waiting(session=s, settings=settings, now=at)
        s.commit()
        return n

    assert remind(NOW + period - timedelta(minutes=1)) == 0
    assert _keys(s, approval) == [f"gate:{approval.id}:ask"]
    assert remind(NOW + period) == 1
    assert remind(NOW + period) == 0  # the same time again: nothing extra
    assert remind(NOW + period + HOUR) == 0
    before = row_counts(s)
    assert remind(NOW + period + 2 * HOUR) == 0
    assert row_counts(s) == before
    assert remind(NOW + 2 * period) == 1
    assert remind(NOW + 2 * period) == 0
    assert _keys(s, approval) == sorted(
        [f"gate:{approval.id}:ask", f"gate:{approval.id}:remind:1", f"gate:{approval.id}:remind:2"])
    reminder = s.exec(select(Alert).where(Alert.dedupe_key == f"gate:{approval.id}:remind:2")).one()
    assert reminder.title == "【催办】巡察组提交报告"
    assert f"已等待{int(2 * settings.gate_reminder_hours)}小时" in reminder.body
    s.expire_all()
    assert s.get(Approval, approval.id).reminders_sent == 2  # type: ignore[union-attr]

    # Once decided, no more reminders.
    record_decision(session=s, approval_id=approval.id or 0, decision="进驻结束，提交巡察报告", approver="李建国",
                    comment="", now=NOW + 2 * period + HOUR)
    s.commit()
    assert remind(NOW + 10 * period) == 0
    assert len(_keys(s, approval)) == 3


def test_reminder_goes_to_the_gate_approver(demo_org: Session, settings: Settings) -> None:
    """The stationing gate is the team leader's: the reminder goes to 李建国 himself."""
    s = demo_org
    rnd, inspections = make_round(s)
    assert rnd.id is not None and inspections[0].id is not None
    approval = open_gate(session=s, settings=settings, round_id=rnd.id, inspection_id=inspections[0].id,
                         gate=Gate.STATIONING_DONE, attempt=1, flow_run_id=None, now=NOW)
    s.commit()
    assert remind_waiting(session=s, settings=settings, now=NOW + timedelta(hours=settings.gate_reminder_hours)) == 1
    s.commit()
    reminder = s.exec(select(Alert).where(Alert.dedupe_key == f"gate:{approval.id}:remind:1")).one()
    assert reminder.recipient == "json://127.0.0.1:8765/team/li"
    assert "2026年第一轮巡察·城东街道" in reminder.body


# --- the chain head outside the database ---------------------------------------------------

@pytest.mark.both_databases
def test_head_file_follows_every_commit_and_not_a_rollback(session: Session) -> None:
    events = chain(session, 3)
    path = head_file(session)
    if session.get_bind().dialect.name == "sqlite":  # in the key folder beside the database file
        assert path.parent == Path(session.get_bind().engine.url.database or "").parent / "keys"
        assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    assert read_head(path) == (events[-1].id, events[-1].hash)
    record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=1, now=NOW)
    session.rollback()
    assert read_head(path) == (events[-1].id, events[-1].hash)
    assert verify_trail(session=session) == []


@pytest.mark.parametrize("deleted", [1, 2, 5])
@pytest.mark.both_databases
def test_deleting_the_newest_rows_is_caught_by_the_head(session: Session, deleted: int) -> None:
    events = chain(session, 5)
    first_gone = events[-deleted].id
    session.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": first_gone})
    session.commit()
    session.expire_all()
    assert first_broken_link(session=session) is None  # what is left is a valid, shorter chain
    assert verify_trail(session=session) == [
        f"审计日志第{first_gone}条至第5条已被删除（链头文件记录到第5条，数据库只到第{(first_gone or 1) - 1}条）"]


@pytest.mark.parametrize(("column", "value"), TAMPERING)
@pytest.mark.both_databases
def test_verify_names_the_changed_entry(session: Session, column: str, value: str) -> None:
    events = chain(session, 4)
    victim = events[1]
    session.execute(text(f"UPDATE audit_event SET {column} = {value} WHERE id = :id"), {"id": victim.id})
    session.commit()
    session.expire_all()
    (problem,) = verify_trail(session=session)
    assert problem.startswith(f"审计日志第{victim.id}条被篡改")


@pytest.mark.both_databases
def test_a_rewritten_newest_entry_with_a_valid_hash_is_caught(session: Session) -> None:
    """Even whoever holds the audit key and recomputes the last keyed hash is caught: the head file differs."""
    from tasks.infra.audit import _mac, audit_key

    events = chain(session, 3)
    last = events[-1]
    forged = _mac(audit_key(), last.id, last.prev_hash, last.at, "他人", last.action, last.entity, last.entity_id,
                  last.detail)
    session.execute(text("UPDATE audit_event SET actor = '他人', hash = :h WHERE id = :id"), {"h": forged, "id": last.id})
    session.commit()
    session.expire_all()
    assert first_broken_link(session=session) is None
    assert verify_trail(session=session) == [f"审计日志第{last.id}条与链头文件不符（记录被替换）"]


@pytest.mark.both_databases
def test_a_missing_head_file_is_reported(session: Session) -> None:
    chain(session, 2)
    head_file(session).unlink()
    (problem,) = verify_trail(session=session)
    assert problem.startswith("找不到审计链头文件")


def cli_trail(refused: int = 0) -> CliRunner:
    """The demo county loaded through the CLI (into `cli_home`), then `refused` verify-audit
    attempts by 林静, which a 组员 may not make: a trail to check or tamper with. Returns the runner."""
    from deployments.cli.main import app

    runner = CliRunner()
    assert runner.invoke(app, ["load-org"]).exit_code == 0
    for _ in range(refused):
        assert runner.invoke(app, as_person(["verify-audit", "--as", "林静"])).exit_code == 2
    return runner


def test_verify_audit_command(cli_home: Path) -> None:

    from deployments.cli.main import app
    from models.db import get_engine

    runner = cli_trail()
    ok = runner.invoke(app, as_person(["verify-audit", "--as", "陶文华"]))
    assert ok.exit_code == 0 and "审计日志完整" in ok.output, ok.output
    refused = runner.invoke(app, as_person(["verify-audit", "--as", "林静"]))
    assert refused.exit_code == 2 and "“巡察组组员”无权校验审计日志" in refused.output
    with Session(get_engine()) as s:  # the refused attempt is on the trail; now delete it
        last = s.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert last is not None and last.action == "校验审计日志（被拒绝）" and last.actor == "林静"
        gone = last.id
        s.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": gone})
        s.commit()
    broken = runner.invoke(app, as_person(["verify-audit", "--as", "陶文华"]))
    assert broken.exit_code == 2 and f"审计日志第{gone}条至第{gone}条已被删除" in broken.output


# --- the tail cannot be lost: the head's count, checks on every write, bounded refusals -----

@pytest.mark.both_databases
def test_head_file_records_the_count(session: Session) -> None:
    events = chain(session, 3)
    fields = head_file(session).read_text(encoding="ascii").split()
    assert fields == [str(events[-1].id), events[-1].hash, "3", "1"]  # keyed from the first row


@pytest.mark.both_databases
def test_no_append_on_top_of_a_shrunk_trail(session: Session) -> None:
    """After the newest row is deleted, the next append is refused instead of becoming the new tail."""
    chain(session, 3)
    session.execute(text("DELETE FROM audit_event WHERE id = 3"))
    session.commit()
    with pytest.raises(DomainError, match="审计日志不完整，已停止记录新的操作：审计日志第3条至第3条已被删除"):
        record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=1, now=NOW)
    session.rollback()
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 2
    assert verify_trail(session=session) == ["审计日志第3条至第3条已被删除（链头文件记录到第3条，数据库只到第2条）"]


@pytest.mark.both_databases
def test_a_lower_count_than_the_head_is_reported(session: Session) -> None:
    """A head that says 5 rows where the database holds 4 with the same newest row: rows went missing."""
    events = chain(session, 4)
    path = head_file(session)
    path.write_text(f"{events[-1].id} {events[-1].hash} 5\n", encoding="ascii")
    assert verify_trail(session=session) == ["审计日志少了1条（链头文件记录共5条，数据库只有4条）"]
    with pytest.raises(DomainError, match="审计日志少了1条"):
        record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=1, now=NOW)


@pytest.mark.both_databases
def test_an_old_head_without_a_count_still_reads(session: Session) -> None:
    events = chain(session, 2)
    head_file(session).write_text(f"{events[-1].id} {events[-1].hash}\n", encoding="ascii")
    assert read_head(head_file(session)) == (events[-1].id, events[-1].hash)
    assert verify_trail(session=session) == []
    record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=1, now=NOW)
    session.commit()
    assert head_file(session).read_text(encoding="ascii").split()[2] == "3"


@pytest.mark.both_databases
def test_a_mangled_timestamp_names_its_row(session: Session) -> None:
    """One character of a stored timestamp changed so it no longer parses (SQLite keeps any text):
    the check names the row instead of failing to read it."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses a timestamp that does not parse")
    events = chain(session, 4)
    victim, after = events[2].id, events[3].id  # (read now: the rows will no longer load)
    stored = session.execute(text("SELECT at FROM audit_event WHERE id = :id"), {"id": victim}).scalar()
    mangled = stored[:11] + "x" + stored[12:]
    session.execute(text("UPDATE audit_event SET at = :v WHERE id = :id"), {"v": mangled, "id": victim})
    session.execute(text("UPDATE audit_event SET detail = '{broken' WHERE id = :id"), {"id": after})
    session.commit()
    session.expire_all()
    broken = first_broken_link(session=session)
    assert broken is not None and broken.id == victim
    (problem,) = verify_trail(session=session)
    assert problem.startswith(f"审计日志第{victim}条被篡改") and f"时间“{mangled}”无法识别" in problem
    session.execute(text("UPDATE audit_event SET at = :v WHERE id = :id"), {"v": stored, "id": victim})
    session.commit()
    (problem,) = verify_trail(session=session)  # the broken JSON of the next row is named too
    assert problem.startswith(f"审计日志第{after}条被篡改")


@pytest.mark.both_databases
def test_unregistered_refusals_are_bounded(demo_org: Session) -> None:
    """Refusals by names that are no account: one row per name and hour, at most
    UNREGISTERED_PER_HOUR names an hour plus one row saying the rest went unrecorded."""
    s = demo_org

    def refuse(name: str, at: datetime) -> None:
        record_refusal(session=s, actor=name, action="查阅线索（被拒绝）", entity="clue", entity_id=1, now=at,
                       detail={"reason": "不是在册用户"})
        s.commit()

    for i in range(500):
        refuse(f"冒名{i % 60}" + "长" * (i % 3) * 40, NOW + timedelta(seconds=i))
    hour = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert len(hour) == UNREGISTERED_PER_HOUR + 1
    assert {e.action for e in hour[:-1]} == {UNREGISTERED} and hour[-1].action == UNREGISTERED_FLOOD
    assert all(len(e.actor) <= 50 for e in hour)
    for _ in range(50):
        refuse("冒名0", NOW + HOUR)  # next hour: the same name once more
    assert s.exec(select(func.count()).select_from(AuditEvent)).one() == UNREGISTERED_PER_HOUR + 2
    for _ in range(3):  # a registered name is recorded every time
        refuse("林静", NOW + HOUR)
    assert s.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == "林静")).one() == 3
    assert verify_trail(session=s) == []


def test_deleted_tail_then_refused_commands_is_still_reported(cli_home: Path) -> None:
    """The reported attack: delete the newest row, run two refused commands (one by an unknown
    name), and verify-audit must still report the loss."""

    from deployments.cli.main import app
    from models.db import get_engine

    runner = cli_trail(refused=2)
    with Session(get_engine()) as s:
        tail = s.exec(select(func.max(AuditEvent.id))).one()  # the newest row (logins are on the trail too)
        s.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": tail})
        s.commit()
        kept = s.exec(select(func.count()).select_from(AuditEvent)).one()
    # An unknown name cannot act at the command line at all: its refused attempt is the login.
    attempts = [(as_person(["verify-audit", "--as", "林静"]), None), (["login", "无名氏"], "x\n")]
    for args, typed in attempts:
        refused = runner.invoke(app, args, input=typed)
        assert refused.exit_code == 2
        assert "无权校验审计日志" in refused.output or "无名氏" in args
        assert "审计日志不完整" in refused.output and f"第{tail}条至第{tail}条已被删除" in refused.output
    with Session(get_engine()) as s:
        assert s.exec(select(func.count()).select_from(AuditEvent)).one() == kept  # nothing appended on top
    broken = runner.invoke(app, as_person(["verify-audit", "--as", "陶文华"]))
    assert broken.exit_code == 2 and f"审计日志第{tail}条至第{tail}条已被删除" in broken.output


def test_verify_audit_command_names_a_mangled_timestamp(cli_home: Path) -> None:

    from deployments.cli.main import app
    from models.db import get_engine

    runner = cli_trail(refused=2)
    with Session(get_engine()) as s:
        stored = s.execute(text("SELECT at FROM audit_event WHERE id = 1")).scalar()
        s.execute(text("UPDATE audit_event SET at = :v WHERE id = 1"), {"v": stored[:-1] + "?"})
        s.commit()
    result = runner.invoke(app, as_person(["verify-audit", "--as", "陶文华"]))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "审计日志第1条被篡改" in result.output, result.output


# --- the keyed chain: a plain re-chain, a wrong key, trails begun with plain hashes ---------

def rechain(session: Session, start: int, digest: Any, change: dict[str, Any] | None = None, end: int | None = None) -> None:
    """What someone who can write the database does: change row `start` and recompute every hash
    from there on (to `end`) with `digest` (the plain SHA-256, or an HMAC under a key of their own)."""
    if change:
        session.execute(text(f"UPDATE audit_event SET {', '.join(f'{k} = :{k}' for k in change)} WHERE id = :id"),
                        {**change, "id": start})
        session.commit()
    session.expire_all()
    rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    prev = next((r.hash for r in rows if r.id == start - 1), "")
    for r in rows:
        if (r.id or 0) < start or (end is not None and (r.id or 0) > end):
            continue
        h = digest(r.id, prev, r.at, r.actor, r.action, r.entity, r.entity_id, r.detail)
        session.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id"), {"p": prev, "h": h, "id": r.id})
        prev = h
    session.commit()
    session.expire_all()


@pytest.mark.parametrize("start", [1, 3, 5])
@pytest.mark.both_databases
def test_a_trail_rechained_with_plain_sha256_is_caught_at_the_changed_row(session: Session, start: int) -> None:
    """The attack the unkeyed chain could not see: edit a row and recompute plain SHA-256 hashes
    from there to the end. Without the head's newest hash to compare it would pass; it is named."""
    from tasks.infra.audit import _digest

    chain(session, 5)
    rechain(session, start, _digest, {"actor": "他人"})
    broken = first_broken_link(session=session)
    assert broken is not None and broken.id == start and broken.plain
    (problem,) = verify_trail(session=session)
    assert problem.startswith(f"审计日志第{start}条被篡改") and "不带密钥的 SHA-256" in problem


@pytest.mark.both_databases
def test_a_trail_rechained_under_another_key_is_caught(session: Session) -> None:
    import hashlib
    import hmac

    from tasks.infra.audit import _payload

    chain(session, 4)

    def other(*fields: Any) -> str:
        return hmac.new(b"a key of one's own" * 2, _payload(*fields), hashlib.sha256).hexdigest()

    rechain(session, 2, other, {"detail": json.dumps({"gate": "报告审议", "decision": "退回重新查找", "n": 2})})
    broken = first_broken_link(session=session)
    assert broken is not None and broken.id == 2 and not broken.plain


@pytest.mark.both_databases
def test_the_audit_key_is_not_in_the_database_and_differs_by_purpose(session: Session, settings: Settings) -> None:
    from models.crypto import PURPOSES, derived_key, master_key
    from tasks.infra.audit import audit_key

    chain(session, 2)
    keys = {p: derived_key(settings, p) for p in PURPOSES}
    assert audit_key() == keys["audit"] and len(set(keys.values())) == len(PURPOSES)
    dump = " ".join(str(v) for row in session.execute(text("SELECT * FROM audit_event")) for v in row)
    assert master_key(settings).decode() not in dump and keys["audit"].hex() not in dump


def _plain_trail(session: Session, n: int) -> list[AuditEvent]:
    """A trail as releases before keying wrote it: plain SHA-256 hashes, the head in three fields."""
    from tasks.infra.audit import _digest

    events = chain(session, n)
    rechain(session, 1, _digest)
    path = head_file(session)
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert last is not None
    path.write_text(f"{last.id} {last.hash} {n}\n", encoding="ascii")
    return events


@pytest.mark.both_databases
def test_a_trail_begun_with_plain_hashes_switches_once_and_verifies(session: Session) -> None:
    from tasks.infra.audit import SWITCH

    _plain_trail(session, 3)
    assert verify_trail(session=session) == []  # verified as before
    for i in range(2):
        record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=i, now=NOW)
        session.commit()
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions == ["审批决定"] * 3 + [SWITCH, "阶段变更", "阶段变更"]  # one switch record
    switch = session.exec(select(AuditEvent).where(AuditEvent.action == SWITCH)).one()
    assert switch.id == 4 and switch.detail == {"plain_until": 3} and switch.actor == "系统"
    assert head_file(session).read_text(encoding="ascii").split()[2:] == ["6", "4"]  # rows, first keyed
    assert verify_trail(session=session) == []


@pytest.mark.both_databases
def test_after_the_switch_plain_hashes_are_refused_and_the_plain_part_is_sealed(session: Session) -> None:
    from tasks.infra.audit import _digest

    _plain_trail(session, 3)
    record_event(session=session, actor="系统", action="阶段变更", entity="inspection", entity_id=1, now=NOW)
    session.commit()  # rows 1-3 plain, 4 the switch, 5 keyed
    # A plain row changed and the plain part re-chained: the switch record's keyed hash covers the link.
    rechain(session, 2, _digest, {"actor": "他人"}, end=3)
    broken = first_broken_link(session=session)
    assert broken is not None and broken.id == 4 and not broken.plain
    # Everything re-chained with plain hashes, the switch included: caught where keying began.
    rechain(session, 1, _digest)
    broken = first_broken_link(session=session)
    assert broken is not None and broken.id == 4 and broken.plain


@pytest.mark.both_databases
def test_the_head_beside_the_database_moves_to_the_key_folder(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the earlier default beside the database file is SQLite's")
    events = chain(session, 2)
    path = head_file(session)
    earlier = Path(session.get_bind().engine.url.database or "").with_suffix(".audit-head")
    path.replace(earlier)
    assert head_file(session) == path and path.is_file() and not earlier.exists()
    assert read_head(path) == (events[-1].id, events[-1].hash) and verify_trail(session=session) == []


def test_verify_audit_command_finds_a_plain_rechain(cli_home: Path) -> None:

    from deployments.cli.main import app
    from models.db import get_engine
    from tasks.infra.audit import _digest

    runner = cli_trail(refused=3)
    with Session(get_engine()) as s:
        rechain(s, 2, _digest, {"actor": "陶文华"})
    result = runner.invoke(app, as_person(["verify-audit", "--as", "陶文华"]))
    assert result.exit_code == 2 and "审计日志第2条被篡改" in result.output and "不带密钥" in result.output, result.output
