"""未送达提醒 at /office/alerts, in-process: the office sees the alerts that did not arrive (no
body, the address masked), is told of them on 我的待办, marks one handled or re-sends one through
the page (CSRF and role checked as on every office page); other roles neither see the link nor
get the page or its actions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.applications import Starlette

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.db import session_scope
from models.enums import AlertStatus, Role
from models.settings import get_settings
from models.tables import Alert, AuditEvent, RoleRecipient
from tasks.infra.alerts import RecordingSender, deliver_due, enqueue_alert
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG, NOW
from tests.support.gateway import ORIGIN, csrf, logged_in

DEAD = "json://127.0.0.1:9/dead-robot"


@pytest.fixture
def app(cli_home: Path) -> Iterator[Starlette]:
    """The demo county, one alert given up on (the office's address dead) and one with no recipient."""
    settings = get_settings().model_copy(update={"alert_max_attempts": 1})
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
        for row in s.exec(select(RoleRecipient).where(RoleRecipient.role == Role.OFFICE.value)):
            s.delete(row)
        s.add(RoleRecipient(role=Role.OFFICE.value, url=DEAD))
    with session_scope() as s:
        for key, role in (("gate:1:ask", Role.OFFICE), ("common:1:lead", Role.LEADER_IN_CHARGE)):
            enqueue_alert(session=s, settings=settings, key=key, role=role, title=f"【提醒】{key}",
                          body="正文不在页面上显示", link="", now=NOW)
    with session_scope() as s:
        deliver_due(session=s, sender=RecordingSender(down=True), settings=settings, now=NOW)
    yield create_app(upstream=f"http://127.0.0.1:{free_port()}")


def ids() -> dict[str, int]:
    with session_scope() as s:
        return {a.dedupe_key: a.id or 0 for a in s.exec(select(Alert))}


def test_the_office_sees_and_deals_with_alerts_that_did_not_arrive(app: Starlette) -> None:
    client = logged_in(app, "陶文华")
    todo = client.get("/office/").text
    assert 'href="/office/alerts"' in todo
    assert "有2条提醒未能送达（无接收人1条、多次发送失败1条）" in todo
    page = client.get("/office/alerts")
    assert page.status_code == 200 and "<h1>未送达提醒</h1>" in page.text
    assert "共2条：无接收人1条，多次发送失败1条。" in page.text
    assert "【提醒】gate:1:ask" in page.text and "json://（已隐藏·" in page.text and "分管领导" in page.text
    assert "正文不在页面上显示" not in page.text and "dead-robot" not in page.text
    token, alert = csrf(page.text), ids()
    r = client.post(f"/office/alerts/{alert['gate:1:ask']}/handled", data={"note": "已电话通知"},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 403 and "校验码" in r.text
    r = client.post(f"/office/alerts/{alert['common:1:lead']}/resend", data={"csrf": token}, headers={"Origin": ORIGIN})
    assert r.status_code == 400 and "“分管领导”仍没有新的接收地址" in r.text
    r = client.post(f"/office/alerts/{alert['gate:1:ask']}/resend", data={"csrf": token}, headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.text
    assert f"提醒{alert['gate:1:ask']}已重新排队发送（json://（已隐藏·" in client.get(r.headers["location"]).text
    r = client.post(f"/office/alerts/{alert['common:1:lead']}/handled", data={"csrf": token, "note": "已电话通知分管领导"},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.text
    done = client.get(r.headers["location"]).text
    assert f"提醒{alert['common:1:lead']}已标为已处理" in done and "目前没有未送达的提醒。" in done
    with session_scope() as s:
        assert {a.dedupe_key: a.status for a in s.exec(select(Alert))} == {
            "gate:1:ask": AlertStatus.PENDING, "common:1:lead": AlertStatus.HANDLED}
        actions = [(e.actor, e.action) for e in s.exec(select(AuditEvent).where(AuditEvent.entity == "alert"))]
        assert actions == [("陶文华", "重新发送未送达的提醒"), ("陶文华", "未送达的提醒标为已处理")]


@pytest.mark.parametrize("name", ["张明", "李建国", "郑文斌", "钱正平"])
def test_other_roles_neither_see_nor_get_the_page(app: Starlette, name: str) -> None:
    client = logged_in(app, name)
    todo = client.get("/office/").text
    assert 'href="/office/alerts"' not in todo and "未能送达" not in todo
    r = client.get("/office/alerts")
    assert r.status_code == 403 and "无权处理未送达的提醒" in r.text
    alert = ids()
    r = client.post(f"/office/alerts/{alert['gate:1:ask']}/handled", data={"csrf": csrf(todo), "note": "x"},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 403
    with session_scope() as s:
        assert {a.status for a in s.exec(select(Alert))} == {AlertStatus.UNDELIVERABLE, AlertStatus.NO_RECIPIENT}
