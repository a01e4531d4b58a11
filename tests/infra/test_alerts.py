"""The alert outbox with real receivers: the `inbox` HTTP endpoint (Apprise json://) and a
local SMTP server (aiosmtpd, Apprise mailto://). Failures stay pending with backoff; a message
is delivered exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from deployments.ops.inbox import Inbox
from deployments.ops.stack import free_port
from models.clock import aware
from models.enums import AlertStatus, Role
from models.settings import Settings
from models.tables import Alert, Person, Unit
from tasks.infra.alerts import (
    AppriseSender,
    RecordingSender,
    deliver_due,
    enqueue_alert,
    outbox_counts,
    resolve_recipients,
)
from tests.conftest import NOW
from tests.support.factories import make_round

SECOND = timedelta(seconds=1)
TITLE = "【待审批】方案及组成人员审批"
BODY = "2026年第一轮巡察：“方案及组成人员审批”等待您办理（第1次）。"


def enqueue(session: Session, settings: Settings, url: str | None = None, *, key: str = "k1",
            role: Role = Role.OFFICE, **kw: Any) -> list[Alert]:
    if url is not None:
        settings = settings.model_copy(update={"recipients": {role.value: [url]}})
    rows = enqueue_alert(session=session, settings=settings, key=key, role=role, title=TITLE, body=BODY,
                         link=kw.pop("link", ""), now=kw.pop("now", NOW), **kw)
    session.commit()
    return rows


def reload(session: Session, alert_id: int | None) -> Alert:
    session.expire_all()
    row = session.get(Alert, alert_id)
    assert row is not None
    return row


# Receivers --------------------------------------------------------------------------------


@pytest.fixture
def box(inbox: Inbox) -> Iterator[tuple[Inbox, str]]:
    """The session's inbox and a path of our own on it; the inbox is left answering 200."""
    path = f"/t-{uuid.uuid4().hex[:8]}"
    try:
        yield inbox, path
    finally:
        inbox.status = 200


def received(inbox: Inbox, path: str) -> list[dict[str, Any]]:
    return [m for m in inbox.messages if str(m.get("path", "")).split("?")[0] == path]


class Collector:
    """aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def start_smtp(port: int) -> tuple[Controller, Collector]:
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler


def mail_url(port: int) -> str:
    # A plain local SMTP server: no TLS (mode=insecure) and no credentials, since a server that
    # offers no AUTH makes Apprise's login fail ("user:pass@" would break delivery).
    return f"mailto://127.0.0.1:{port}?from=office@example.com&to=a@example.com&mode=insecure"


def subject(envelope: Any) -> str:
    return str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"])))


# Queueing ---------------------------------------------------------------------------------


def test_enqueue_dedupes_by_key(session: Session, settings: Settings) -> None:
    urls = ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"]
    cfg = settings.model_copy(update={"recipients": {"office": urls}})
    first = enqueue(session, cfg, key="gate:1:ask", link="http://ui/runs/1")
    assert [a.recipient for a in first] == urls
    assert all(a.status == AlertStatus.PENDING and a.channel == "json" for a in first)
    assert first[0].body == BODY + "\n\n查看与办理：http://ui/runs/1"
    again = enqueue(session, cfg, key="gate:1:ask", now=NOW + timedelta(hours=1))
    assert sorted(a.id or 0 for a in again) == sorted(a.id or 0 for a in first)
    assert len(session.exec(select(Alert)).all()) == 2
    enqueue(session, cfg, key="gate:1:remind:1")
    assert len(session.exec(select(Alert)).all()) == 4


def test_no_recipient_is_recorded_and_not_sent(session: Session, settings: Settings) -> None:
    (row,) = enqueue(session, settings, role=Role.DISCIPLINE_COMMISSION)
    assert row.status == AlertStatus.NO_RECIPIENT
    assert row.last_error == "未配置“纪委监委”的接收人"
    sender = RecordingSender()
    assert deliver_due(session=session, sender=sender, settings=settings, now=NOW + timedelta(days=1)).sent == 0
    assert sender.sent == []
    assert outbox_counts(session=session) == {"无接收人": 1}


def test_person_level_recipients_fall_back_to_role(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    _, (chengdong, jiaoyu, _) = make_round(s)
    assert resolve_recipients(session=s, settings=settings, role=Role.TEAM_LEADER, inspection=chengdong) == [
        "json://127.0.0.1:8765/team/li"]
    assert resolve_recipients(session=s, settings=settings, role=Role.UNIT_SECRETARY, inspection=chengdong) == [
        "json://127.0.0.1:8765/unit/chengdong"]
    assert resolve_recipients(session=s, settings=settings, role=Role.LIAISON_LEADER, inspection=jiaoyu) == [
        "json://127.0.0.1:8765/leader/wu"]
    # 区教育局's secretary has no contact: the role-level recipients apply (none in org data, one in settings).
    assert s.exec(select(Unit.secretary_contact).where(Unit.name == "区教育局")).one() == ""
    assert resolve_recipients(session=s, settings=settings, role=Role.UNIT_SECRETARY, inspection=jiaoyu) == []
    cfg = settings.model_copy(update={"recipients": {"unit_secretary": ["json://127.0.0.1:9/sec"]}})
    assert resolve_recipients(session=s, settings=cfg, role=Role.UNIT_SECRETARY, inspection=jiaoyu) == [
        "json://127.0.0.1:9/sec"]
    # Office: org data first, then settings, without duplicates.
    cfg = settings.model_copy(update={"recipients": {"office": ["json://127.0.0.1:8765/office", "json://127.0.0.1:9/o"]}})
    assert resolve_recipients(session=s, settings=cfg, role=Role.OFFICE, inspection=None) == [
        "json://127.0.0.1:8765/office", "json://127.0.0.1:9/o"]
    # The leader loses his contact: the alert goes to the role's recipients instead.
    li = s.exec(select(Person).where(Person.name == "李建国")).one()
    li.contact = ""
    s.add(li)
    s.commit()
    cfg = settings.model_copy(update={"recipients": {"team_leader": ["json://127.0.0.1:9/leaders"]}})
    assert resolve_recipients(session=s, settings=cfg, role=Role.TEAM_LEADER, inspection=chengdong) == [
        "json://127.0.0.1:9/leaders"]


# Delivery over HTTP -----------------------------------------------------------------------


def test_delivers_to_the_inbox(session: Session, settings: Settings, box: tuple[Inbox, str]) -> None:
    inbox, path = box
    (row,) = enqueue(session, settings, f"json://127.0.0.1:{inbox.port}{path}")
    result = deliver_due(session=session, sender=AppriseSender(timeout=4), settings=settings, now=NOW)
    assert (result.sent, result.failed) == (1, 0)
    row = reload(session, row.id)
    assert (row.status, row.attempts, row.last_error) == (AlertStatus.SENT, 1, "")
    assert aware(row.sent_at) == NOW  # type: ignore[arg-type]
    (msg,) = received(inbox, path)
    assert msg["title"] == TITLE and msg["message"] == BODY
    # Nothing is due any more.
    assert deliver_due(session=session, sender=AppriseSender(), settings=settings, now=NOW + timedelta(days=1)).sent == 0
    assert len(received(inbox, path)) == 1


def test_failing_receiver_backs_off_then_delivers_once(session: Session, settings: Settings, box: tuple[Inbox, str]) -> None:
    inbox, path = box
    backoff = settings.alert_backoff_seconds
    (row,) = enqueue(session, settings, f"json://127.0.0.1:{inbox.port}{path}")
    sender = AppriseSender(timeout=4)
    inbox.status = 500

    result = deliver_due(session=session, sender=sender, settings=settings, now=NOW)
    assert (result.sent, result.failed) == (0, 1)
    row = reload(session, row.id)
    assert (row.status, row.attempts) == (AlertStatus.PENDING, 1)
    assert row.last_error and "500" in row.last_error
    assert aware(row.next_attempt_at) == NOW + backoff[0] * SECOND

    # Not due yet: no attempt before the backoff has passed.
    t = NOW + (backoff[0] - 1) * SECOND
    assert deliver_due(session=session, sender=sender, settings=settings, now=t).failed == 0
    assert reload(session, row.id).attempts == 1

    # Second failure: the next, longer step of the backoff.
    t = NOW + backoff[0] * SECOND
    assert deliver_due(session=session, sender=sender, settings=settings, now=t).failed == 1
    row = reload(session, row.id)
    assert (row.status, row.attempts) == (AlertStatus.PENDING, 2)
    assert aware(row.next_attempt_at) == t + backoff[1] * SECOND

    # The receiver recovers; still nothing before the time, then exactly one delivery.
    inbox.status = 200
    assert deliver_due(session=session, sender=sender, settings=settings, now=t).sent == 0
    assert received(inbox, path) == []
    t = t + backoff[1] * SECOND
    assert deliver_due(session=session, sender=sender, settings=settings, now=t).sent == 1
    row = reload(session, row.id)
    assert (row.status, row.attempts, row.last_error) == (AlertStatus.SENT, 3, "")
    assert deliver_due(session=session, sender=sender, settings=settings, now=t + timedelta(hours=1)).sent == 0
    assert len(received(inbox, path)) == 1


def test_backoff_stays_at_its_last_step(session: Session, settings: Settings) -> None:
    cfg = settings.model_copy(update={"alert_backoff_seconds": [5, 30]})
    (row,) = enqueue(session, cfg, "json://127.0.0.1:9/x")
    sender = RecordingSender(down=True)
    t = NOW
    for expected in (5, 30, 30, 30):
        assert deliver_due(session=session, sender=sender, settings=cfg, now=t).failed == 1
        row = reload(session, row.id)
        assert aware(row.next_attempt_at) == t + expected * SECOND
        assert row.last_error == "接收端不可用"
        t = aware(row.next_attempt_at)
    assert row.attempts == 4 and row.status == AlertStatus.PENDING


def test_stopped_http_receiver_then_up(session: Session, settings: Settings) -> None:
    port = free_port()
    (row,) = enqueue(session, settings, f"json://127.0.0.1:{port}/late")
    sender = AppriseSender(timeout=2)
    assert deliver_due(session=session, sender=sender, settings=settings, now=NOW).failed == 1
    row = reload(session, row.id)
    assert (row.status, row.attempts) == (AlertStatus.PENDING, 1) and row.last_error
    late = Inbox(port=port).start()
    try:
        t = aware(row.next_attempt_at)
        assert deliver_due(session=session, sender=sender, settings=settings, now=t).sent == 1
        assert deliver_due(session=session, sender=sender, settings=settings, now=t + timedelta(hours=1)).sent == 0
        assert [m["title"] for m in late.messages] == [TITLE]
    finally:
        late.stop()
    assert reload(session, row.id).status == AlertStatus.SENT


def test_stuck_sending_row_is_picked_up_after_the_lease(session: Session, settings: Settings) -> None:
    """A deliverer that died mid-send leaves a SENDING row; another picks it up after the lease only."""
    (row,) = enqueue(session, settings, "json://127.0.0.1:9/x")
    row = reload(session, row.id)
    row.status = AlertStatus.SENDING
    session.add(row)
    session.commit()
    sender = RecordingSender()
    SENDING_LEASE = timedelta(seconds=settings.alert_lease_seconds)  # noqa: N806
    assert deliver_due(session=session, sender=sender, settings=settings, now=NOW + SENDING_LEASE - SECOND).sent == 0
    assert deliver_due(session=session, sender=sender, settings=settings, now=NOW + SENDING_LEASE).sent == 1
    assert len(sender.sent) == 1
    assert reload(session, row.id).status == AlertStatus.SENT


def test_unknown_scheme_is_a_failure_not_a_crash(session: Session, settings: Settings) -> None:
    (row,) = enqueue(session, settings, "nosuchscheme://somewhere/x")
    result = deliver_due(session=session, sender=AppriseSender(), settings=settings, now=NOW)
    assert result.failed == 1
    row = reload(session, row.id)
    assert row.status == AlertStatus.PENDING and row.last_error == "无法识别的通知地址：nosuchscheme://"


# Delivery by mail -------------------------------------------------------------------------


def test_mail_to_a_local_smtp_server(session: Session, settings: Settings) -> None:
    controller, handler = start_smtp(free_port())
    try:
        (row,) = enqueue(session, settings, mail_url(controller.port), role=Role.LEADING_GROUP)
        assert row.channel == "mailto"
        result = deliver_due(session=session, sender=AppriseSender(timeout=4), settings=settings, now=NOW)
        assert (result.sent, result.failed) == (1, 0), result.errors
    finally:
        controller.stop()
    (envelope,) = handler.messages
    assert envelope.mail_from == "office@example.com"
    assert envelope.rcpt_tos == ["a@example.com"]
    assert subject(envelope) == TITLE
    message = message_from_bytes(envelope.content)
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "方案及组成人员审批" in payload.decode(part.get_content_charset() or "utf-8")
    assert reload(session, row.id).status == AlertStatus.SENT


def test_mail_server_down_then_up_delivers_once(session: Session, settings: Settings) -> None:
    port = free_port()
    (row,) = enqueue(session, settings, mail_url(port), role=Role.LEADING_GROUP)
    sender = AppriseSender(timeout=2)
    assert deliver_due(session=session, sender=sender, settings=settings, now=NOW).failed == 1
    row = reload(session, row.id)
    assert (row.status, row.attempts) == (AlertStatus.PENDING, 1)
    assert row.last_error
    assert aware(row.next_attempt_at) == NOW + settings.alert_backoff_seconds[0] * SECOND
    controller, handler = start_smtp(port)
    try:
        t = aware(row.next_attempt_at)
        assert deliver_due(session=session, sender=sender, settings=settings, now=t).sent == 1
        assert deliver_due(session=session, sender=sender, settings=settings, now=t + timedelta(hours=1)).sent == 0
    finally:
        controller.stop()
    assert [subject(e) for e in handler.messages] == [TITLE]
    row = reload(session, row.id)
    assert (row.status, row.attempts) == (AlertStatus.SENT, 2)


def test_enqueue_insert_is_race_safe_by_itself(session: Session, settings: Settings,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A racing run that queued the key between our existence check and our insert: the insert
    skips its rows (no IntegrityError, the transaction goes on) and its rows are returned."""
    import tasks.infra.alerts as alerts

    urls = ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"]
    cfg = settings.model_copy(update={"recipients": {"office": urls}})
    first = enqueue(session, cfg, key="race:1")
    # The existence check misses it, as if the other run committed just after our check.
    monkeypatch.setattr(alerts, "_QUEUED", select(Alert.id).where(Alert.dedupe_key == "never"))
    again = enqueue(session, cfg, key="race:1", now=NOW + timedelta(hours=1))
    assert sorted(a.id or 0 for a in again) == sorted(a.id or 0 for a in first)
    assert len(session.exec(select(Alert)).all()) == 2
    assert [a.recipient for a in enqueue(session, cfg, key="race:2")] == urls  # the session still works
