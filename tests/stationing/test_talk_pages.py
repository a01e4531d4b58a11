"""个别谈话 on the office's pages, in-process: the unit's team plans and records talks and reads
them (audited); every other role is refused, and no page it is served holds the person talked to
or what was said; bad input comes back in Chinese with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select
from starlette.applications import Starlette

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.settings import get_settings
from models.tables import AuditEvent, TalkPlan, TalkRecord
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.factories import in_stationing
from tests.support.gateway import ORIGIN, csrf, logged_in

SECRET = "谈话页面哨兵-R2D4"
NAMED = "谈话对象哨兵-戊己"


@pytest.fixture
def app(cli_home: Path) -> Iterator[Starlette]:
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        in_stationing(s, get_settings(), now=clock_now())
    yield create_app(upstream=f"http://127.0.0.1:{free_port()}")


def test_the_team_plans_records_and_reads_talks_others_see_nothing(app: Starlette) -> None:
    day = clock_now().date().isoformat()
    member = logged_in(app, "刘洋")
    page = member.get("/office/talks")
    assert page.status_code == 200 and "个别谈话" in page.text and "城东街道" in page.text
    token = csrf(page.text)
    r = member.post("/office/talks/plan", headers={"Origin": ORIGIN}, data={
        "csrf": token, "inspection": "1", "person": NAMED, "post": "副主任", "talker": "刘洋", "day": day,
        "purpose": f"了解干部选任情况 {SECRET}"})
    assert r.status_code == 303, r.text
    assert "已安排个别谈话" in member.get(r.headers["location"]).text
    # Bad input: in Chinese, the form back, nothing written.
    r = member.post("/office/talks/record", headers={"Origin": ORIGIN}, data={
        "csrf": token, "inspection": "1", "plan": "1", "talker": "刘洋", "day": day, "content": " "})
    assert r.status_code == 400 and "谈话记录未保存：谈话记录内容不能为空" in r.text
    r = member.post("/office/talks/record", headers={"Origin": ORIGIN}, data={
        "csrf": token, "inspection": "1", "plan": "1", "talker": "周卫东", "day": day, "content": SECRET})
    assert r.status_code == 400 and "谈话人“周卫东”不是负责该单位的巡察组成员" in r.text and SECRET not in r.text
    with session_scope() as s:
        assert s.exec(select(TalkRecord)).all() == []
    r = member.post("/office/talks/record", headers={"Origin": ORIGIN}, data={
        "csrf": token, "inspection": "1", "plan": "1", "talker": "刘洋", "day": day, "content": f"反映情况 {SECRET}"})
    assert r.status_code == 303, r.text
    assert member.post("/office/talks/record", headers={"Origin": ORIGIN}, data={
        "inspection": "1", "plan": "", "person": "某人", "talker": "刘洋", "day": day, "content": "x"}).status_code == 403

    listing = member.get("/office/talks").text
    assert "第1号（查阅）" in listing and SECRET not in listing and NAMED not in listing
    leader = logged_in(app, "李建国")
    shown = leader.get("/office/talks/1")
    assert shown.status_code == 200 and SECRET in shown.text and NAMED in shown.text
    # Another team's leader reaches no unit and no record; the other roles not even the page.
    other = logged_in(app, "周卫东")
    assert "目前没有处于集中巡察或报告阶段" in other.get("/office/talks").text
    refused = other.get("/office/talks/1")
    assert refused.status_code == 403 and SECRET not in refused.text
    for name in ("张明", "吴志刚", "郑文斌", "钱正平"):
        client = logged_in(app, name)
        for path in ("/office/talks", "/office/talks/1", "/office/"):
            got = client.get(path)
            assert SECRET not in got.text and NAMED not in got.text, (name, path)
            if path != "/office/":
                assert got.status_code == 403 and "无权查阅谈话安排和谈话记录" in got.text, (name, path)
    with session_scope() as s:
        reads = s.exec(select(AuditEvent).where(AuditEvent.action == "查阅谈话记录")).all()
        assert [e.actor for e in reads] == ["李建国"]
        refusals = s.exec(select(AuditEvent).where(col(AuditEvent.action).endswith("（被拒绝）"))).all()
        assert any(e.actor == "周卫东" for e in refusals) and any(e.actor == "张明" for e in refusals)
        assert len(s.exec(select(TalkPlan)).all()) == 1
