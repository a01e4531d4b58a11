"""Alerts: every message goes into the outbox first, then is delivered with retries.

Senders sit behind a small interface: `AppriseSender` for real channels, `RecordingSender`
for tests. Recipients are resolved when the alert is queued, so a later change of the org
data does not re-address an alert that is already owed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import apprise
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.enums import ROLE_NAMES, AlertStatus, Role, TeamRole
from models.settings import Settings
from models.tables import Alert, Inspection, Person, RoleRecipient, TeamMember, Unit

# A row stuck in SENDING this long (a deliverer died mid-send) is picked up again.
SENDING_LEASE = timedelta(minutes=5)


class Sender(Protocol):
    def send(self, url: str, title: str, body: str) -> str | None:
        """Deliver one message; return None on success or an error text."""


class AppriseSender:
    """Sends through Apprise, one target at a time so each target has its own result."""

    def __init__(self, timeout: int = 4) -> None:
        self.timeout = timeout

    def send(self, url: str, title: str, body: str) -> str | None:
        ap = apprise.Apprise()
        sep = "&" if "?" in url else "?"
        if not ap.add(f"{url}{sep}cto={self.timeout}&rto={self.timeout}"):
            return f"无法识别的通知地址：{_scheme(url)}://"
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:
            ok = ap.notify(title=title, body=body)
            if ok:
                return None
            text = logs.getvalue().strip()
        return (text or "发送失败")[-900:]


@dataclass
class RecordingSender:
    """Test double: records what was sent; `down` makes every send fail."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    down: bool = False

    def send(self, url: str, title: str, body: str) -> str | None:
        if self.down:
            return "接收端不可用"
        self.sent.append((url, title, body))
        return None


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ""


def resolve_recipients(*, session: Session, settings: Settings, role: Role, inspection: Inspection | None) -> list[str]:
    """Apprise URLs for a role, person-level first, then role-level from org data and settings."""
    urls: list[str] = []
    if inspection is not None:
        unit = session.get(Unit, inspection.unit_id)
        if role is Role.TEAM_LEADER:
            leader = session.exec(
                select(Person).join(TeamMember, col(TeamMember.person_id) == Person.id)
                .where(TeamMember.team_id == inspection.team_id, TeamMember.role == TeamRole.LEADER)
            ).first()
            if leader and leader.contact:
                urls.append(leader.contact)
        elif role is Role.UNIT_SECRETARY and unit and unit.secretary_contact:
            urls.append(unit.secretary_contact)
        elif role is Role.LIAISON_LEADER and unit and unit.liaison_leader_id:
            liaison = session.get(Person, unit.liaison_leader_id)
            if liaison and liaison.contact:
                urls.append(liaison.contact)
    if not urls:
        urls.extend(r.url for r in session.exec(select(RoleRecipient).where(RoleRecipient.role == role.value)))
        urls.extend(settings.recipients.get(role.value, []))
    return list(dict.fromkeys(urls))


def enqueue_alert(
    *, session: Session, settings: Settings, key: str, role: Role, title: str, body: str,
    link: str, now: datetime, inspection: Inspection | None = None,
) -> list[Alert]:
    """Queue one alert for every recipient of `role`; a key already queued is not queued again."""
    existing = session.exec(select(Alert).where(Alert.dedupe_key == key)).all()
    if existing:
        return list(existing)
    urls = resolve_recipients(session=session, settings=settings, role=role, inspection=inspection)
    text = f"{body}\n\n查看与办理：{link}" if link else body
    rows = [
        Alert(dedupe_key=key, role=role.value, channel=_scheme(u), recipient=u, title=title, body=text,
              link=link, next_attempt_at=now, created_at=now)
        for u in urls
    ] or [
        Alert(dedupe_key=key, role=role.value, title=title, body=text, link=link, next_attempt_at=now,
              created_at=now, status=AlertStatus.NO_RECIPIENT,
              last_error=f"未配置“{ROLE_NAMES[role]}”的接收人")
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:  # a racing run queued the same key first
        return list(session.exec(select(Alert).where(Alert.dedupe_key == key)).all())
    return rows


def _claim(session: Session, alert_id: int, now: datetime) -> bool:
    result = session.execute(
        update(Alert)
        .where(col(Alert.id) == alert_id)
        .where(
            (col(Alert.status) == AlertStatus.PENDING)
            | ((col(Alert.status) == AlertStatus.SENDING) & (col(Alert.next_attempt_at) <= now - SENDING_LEASE))
        )
        .values(status=AlertStatus.SENDING, next_attempt_at=now)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(*, session: Session, sender: Sender, settings: Settings, now: datetime, limit: int = 500) -> DeliveryResult:
    """Send every alert that is due; a failure is recorded and retried later with backoff."""
    result = DeliveryResult()
    due = session.exec(
        select(Alert.id)
        .where(col(Alert.status).in_([AlertStatus.PENDING, AlertStatus.SENDING]))
        .where(col(Alert.next_attempt_at) <= now)
        .order_by(col(Alert.id))
        .limit(limit)
    ).all()
    for alert_id in due:
        assert alert_id is not None
        if not _claim(session, alert_id, now):
            continue
        alert = session.get(Alert, alert_id)
        assert alert is not None
        error = sender.send(alert.recipient, alert.title, alert.body)
        alert.attempts += 1
        if error is None:
            alert.status = AlertStatus.SENT
            alert.sent_at = now
            alert.last_error = ""
            result.sent += 1
        else:
            backoff = settings.alert_backoff_seconds
            alert.status = AlertStatus.PENDING
            alert.last_error = error[:1000]
            alert.next_attempt_at = now + timedelta(seconds=backoff[min(alert.attempts - 1, len(backoff) - 1)])
            result.failed += 1
            result.errors.append(f"{alert.channel}: {error[:200]}")
        session.add(alert)
        session.commit()
    return result


def outbox_counts(*, session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in session.exec(select(Alert.status)):
        counts[AlertStatus(status).value] = counts.get(AlertStatus(status).value, 0) + 1
    return counts
