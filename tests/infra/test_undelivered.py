"""Alerts that did not arrive (#25): retrying stops after `alert_max_attempts` sends or
`alert_give_up_hours` from the first failure, the row is kept as 无法送达 and listed for the
office with alerts that had no recipient, until the office re-sends it (to the address as it is
now) or marks it handled — office only, audited, the body (which may hold a code) never shown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from models.access import Forbidden
from models.clock import aware
from models.enums import AlertStatus, Role
from models.errors import DomainError
from models.settings import Settings
from models.tables import Alert, AuditEvent, RoleRecipient
from tasks.infra.alerts import CODE_SLOT, RecordingSender, deliver_due, enqueue_alert
from tasks.infra.undelivered import mark_handled, plain_reason, resend, summary, undelivered
from tasks.planning.org import mask_address
from tests.conftest import NOW

MINUTE = timedelta(minutes=1)
DEAD = "json://127.0.0.1:9/dead"
NEW = "json://127.0.0.1:9/new"


@pytest.fixture
def demo_org(demo_org: Session) -> Session:
    """The demo county without the office's own addresses: each test gives the office its own."""
    for row in demo_org.exec(select(RoleRecipient).where(RoleRecipient.role == Role.OFFICE.value)):
        demo_org.delete(row)
    demo_org.commit()
    return demo_org


def queue(s: Session, settings: Settings, *, key: str = "gate:1:ask", role: Role = Role.OFFICE,
          secret: str = "") -> list[Alert]:
    rows = enqueue_alert(session=s, settings=settings, key=key, role=role, title="【待审批】报告审议",
                         body=f"城东街道：报告审议等待您办理。验证码：{CODE_SLOT}" if secret else "城东街道：报告审议等待您办理。",
                         link="", now=NOW, secret=secret)
    s.commit()
    return rows


def fail_until_given_up(s: Session, cfg: Settings, *, step: timedelta) -> tuple[int, list[Any]]:
    """Deliver to a dead receiver every `step` until the row is given up; (sends, results)."""
    sender, t, results = RecordingSender(down=True), NOW, []
    for _ in range(100):
        results.append(deliver_due(session=s, sender=sender, settings=cfg, now=t))
        row = s.exec(select(Alert)).one()
        s.refresh(row)
        if row.status == AlertStatus.UNDELIVERABLE:
            return len(results), results
        t += step
    raise AssertionError("never given up")


def test_retrying_stops_after_the_configured_number_of_sends(demo_org: Session, settings: Settings) -> None:
    cfg = settings.model_copy(update={"recipients": {"office": [DEAD]}, "alert_backoff_seconds": [60],
                                      "alert_max_attempts": 4, "alert_give_up_hours": 1000})
    (row,) = queue(demo_org, cfg)
    sends, results = fail_until_given_up(demo_org, cfg, step=MINUTE)
    assert sends == 4 and [r.gave_up for r in results] == [0, 0, 0, 1]
    demo_org.refresh(row)
    assert (row.attempts, row.last_error, aware(row.failing_since or NOW - MINUTE)) == (4, "接收端不可用", NOW)
    later = deliver_due(session=demo_org, sender=RecordingSender(), settings=cfg, now=NOW + timedelta(days=30))
    assert later.sent == 0  # no longer retried


def test_retrying_stops_after_the_configured_time_from_the_first_failure(demo_org: Session, settings: Settings) -> None:
    cfg = settings.model_copy(update={"recipients": {"office": [DEAD]}, "alert_backoff_seconds": [600],
                                      "alert_max_attempts": 1000, "alert_give_up_hours": 1})
    queue(demo_org, cfg)
    sends, _ = fail_until_given_up(demo_org, cfg, step=10 * MINUTE)
    assert sends == 7  # failures at 0, 10, …, 60 minutes: the one an hour after the first gives up


def test_a_send_that_succeeds_clears_the_run_of_failures(demo_org: Session, settings: Settings) -> None:
    cfg = settings.model_copy(update={"recipients": {"office": [DEAD]}, "alert_backoff_seconds": [5]})
    (row,) = queue(demo_org, cfg)
    deliver_due(session=demo_org, sender=RecordingSender(down=True), settings=cfg, now=NOW)
    demo_org.refresh(row)
    assert aware(row.failing_since or NOW - MINUTE) == NOW and row.status == AlertStatus.PENDING
    assert deliver_due(session=demo_org, sender=RecordingSender(), settings=cfg, now=NOW + MINUTE).sent == 1
    demo_org.refresh(row)
    assert (row.status, row.failing_since) == (AlertStatus.SENT, None)


def given_up(s: Session, settings: Settings, *, secret: str = "") -> tuple[Settings, Alert]:
    cfg = settings.model_copy(update={"recipients": {"office": [DEAD]}, "alert_max_attempts": 1})
    (row,) = queue(s, cfg, secret=secret)
    deliver_due(session=s, sender=RecordingSender(down=True), settings=cfg, now=NOW)
    s.refresh(row)
    assert row.status == AlertStatus.UNDELIVERABLE
    return cfg, row


def test_the_office_sees_both_kinds_without_the_body(demo_org: Session, settings: Settings) -> None:
    cfg, dead = given_up(demo_org, settings, secret="123456")
    (none,) = queue(demo_org, settings, key="common:1:lead", role=Role.LEADER_IN_CHARGE)
    rows = undelivered(session=demo_org, settings=cfg, by="陶文华")
    assert [(r.id, r.status, r.role) for r in rows] == [(dead.id, "无法送达", "巡察办"), (none.id, "无接收人", "分管领导")]
    assert rows[0].address == mask_address(cfg, DEAD) and "127.0.0.1" not in rows[0].address  # as exports mask it
    assert (rows[0].title, rows[0].attempts, rows[0].since) == ("【待审批】报告审议", 1, "2026-12-01 09:00")
    assert rows[1].reason == "没有配置接收人：请在组织数据中为该角色填写接收地址"
    assert all("等待您办理" not in str(vars(r)) for r in rows)  # the body is never shown
    assert summary(session=demo_org).line() == (
        "有2条提醒未能送达（无接收人1条、多次发送失败1条），请在办公页面“未送达提醒”中更正接收地址后重新发送，或标为已处理。")
    with pytest.raises(Forbidden, match="无权处理未送达的提醒"):
        undelivered(session=demo_org, settings=cfg, by="张明")


@pytest.mark.parametrize(("error", "plain"), [
    ("无法连接接收端（127.0.0.1:9）：连接被拒绝", "连不上接收端：对方服务停用或本机网络不通"),
    ("企业微信返回错误 errcode=93000：invalid webhook url（机器人地址无效：key 错误或机器人已被移出群）",
     "机器人地址已失效（令牌错误或机器人已被移出群）：请向群主要新的机器人地址"),
    ("钉钉在 4 秒内未应答（oapi.dingtalk.com），未确认送达", "接收端长时间没有应答：对方服务繁忙或网络不通"),
    ("无法连接钉钉（oapi.dingtalk.com）：域名无法解析", "接收地址中的网址无法找到：地址可能写错，或本机不能访问外网"),
    ("接收端返回 HTTP 404，未送达：Not Found", "接收端拒收了消息：地址或令牌可能已失效"),
    ("无法识别的通知地址：foo://", "接收地址的格式不对，无法发送：请核对组织数据中的地址"),
])
def test_the_reason_is_said_plainly(error: str, plain: str) -> None:
    assert plain_reason(error) == plain


def test_a_code_the_receiver_quoted_back_is_not_listed(demo_org: Session, settings: Settings) -> None:
    cfg = settings.model_copy(update={"recipients": {"office": [DEAD]}, "alert_max_attempts": 1})
    queue(demo_org, cfg, secret="246810")

    class Echo(RecordingSender):
        def send(self, url: str, title: str, body: str) -> str | None:
            return f"接收端返回 HTTP 400，未送达：bad message {body}"

    deliver_due(session=demo_org, sender=Echo(), settings=cfg, now=NOW)
    (row,) = undelivered(session=demo_org, settings=cfg, by="陶文华")
    assert "246810" not in str(vars(row)) and "（验证码已隐去）" in row.detail
    assert row.reason == "接收端拒收了消息：地址或令牌可能已失效"


def test_resend_to_the_same_address_once_it_works_again(demo_org: Session, settings: Settings) -> None:
    cfg, row = given_up(demo_org, settings, secret="654321")
    done = resend(session=demo_org, settings=cfg, by="陶文华", alert_id=row.id or 0, now=NOW + MINUTE)
    demo_org.commit()
    assert done.same and done.addresses == [mask_address(cfg, DEAD)]
    sender = RecordingSender()
    assert deliver_due(session=demo_org, sender=sender, settings=cfg, now=NOW + MINUTE).sent == 1
    assert sender.sent[0][0] == DEAD and "验证码：654321" in sender.sent[0][2]
    (event,) = demo_org.exec(select(AuditEvent).where(AuditEvent.action == "重新发送未送达的提醒")).all()
    assert (event.actor, event.entity_id) == ("陶文华", row.id)


def test_resend_goes_to_the_corrected_address(demo_org: Session, settings: Settings) -> None:
    cfg, row = given_up(demo_org, settings, secret="777888")
    fixed = cfg.model_copy(update={"recipients": {}})
    demo_org.add(RoleRecipient(role=Role.OFFICE.value, url=NEW))  # what load-org writes
    demo_org.commit()
    done = resend(session=demo_org, settings=fixed, by="陶文华", alert_id=row.id or 0, now=NOW + MINUTE)
    demo_org.commit()
    assert not done.same and done.addresses == [mask_address(fixed, NEW)]
    demo_org.refresh(row)
    assert (row.status, row.secret) == (AlertStatus.HANDLED, "")
    sender = RecordingSender()
    assert deliver_due(session=demo_org, sender=sender, settings=fixed, now=NOW + MINUTE).sent == 1
    assert sender.sent[0][0] == NEW and "验证码：777888" in sender.sent[0][2]
    assert undelivered(session=demo_org, settings=fixed, by="陶文华") == []


def test_resend_without_an_address_writes_nothing(demo_org: Session, settings: Settings) -> None:
    (row,) = queue(demo_org, settings, key="common:1:lead", role=Role.LEADER_IN_CHARGE)
    before = demo_org.exec(select(AuditEvent)).all()
    with pytest.raises(DomainError, match="“分管领导”仍没有新的接收地址：请先在组织数据中填写或更正"):
        resend(session=demo_org, settings=settings, by="陶文华", alert_id=row.id or 0, now=NOW)
    demo_org.rollback()
    assert demo_org.exec(select(AuditEvent)).all() == before
    assert len(demo_org.exec(select(Alert)).all()) == 1


def test_mark_handled_needs_a_note_and_is_audited(demo_org: Session, settings: Settings) -> None:
    cfg, row = given_up(demo_org, settings, secret="135790")
    with pytest.raises(DomainError, match="请填写处理情况"):
        mark_handled(session=demo_org, settings=cfg, by="陶文华", alert_id=row.id or 0, note="  ", now=NOW)
    with pytest.raises(Forbidden):
        mark_handled(session=demo_org, settings=cfg, by="钱正平", alert_id=row.id or 0, note="已通知", now=NOW)
    mark_handled(session=demo_org, settings=cfg, by="陶文华", alert_id=row.id or 0, note="已电话通知本人", now=NOW)
    demo_org.commit()
    demo_org.refresh(row)
    assert (row.status, row.secret) == (AlertStatus.HANDLED, "")
    (event,) = demo_org.exec(select(AuditEvent).where(AuditEvent.action == "未送达的提醒标为已处理")).all()
    assert event.actor == "陶文华" and "已电话通知本人" in str(event.detail)
    with pytest.raises(DomainError, match="已处理"):
        mark_handled(session=demo_org, settings=cfg, by="陶文华", alert_id=row.id or 0, note="again", now=NOW)
    assert summary(session=demo_org).total == 0


def test_the_daily_sweep_tells_the_office(demo_org: Session, settings: Settings) -> None:
    from tasks.supervision.rectification import sweep

    assert sweep(session=demo_org, settings=settings, as_of=NOW.date(), now=NOW, link="").undelivered == ""
    queue(demo_org, settings, key="common:1:lead", role=Role.LEADER_IN_CHARGE)
    said = sweep(session=demo_org, settings=settings, as_of=NOW.date(), now=NOW, link="").undelivered
    assert said.startswith("有1条提醒未能送达（无接收人1条、多次发送失败0条）")
