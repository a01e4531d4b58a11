"""节假日安排 at /office/holidays, in-process: the office enters a year through the page (CSRF and
role checked as on every office page), a wrong notice comes back with its line and festival and
what was typed, and other roles neither see the link nor get the page.

2027 here is tests/support/holidays_2027.yaml, a schedule made up for the tests (not official)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.applications import Starlette

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.db import session_scope
from models.tables import AuditEvent, HolidayYear
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.gateway import ORIGIN, csrf, logged_in

NOTICE_2027 = (Path(__file__).resolve().parents[1] / "support" / "holidays_2027.yaml").read_text(encoding="utf-8")


@pytest.fixture
def app(cli_home: Path) -> Iterator[Starlette]:
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    yield create_app(upstream=f"http://127.0.0.1:{free_port()}")


def test_the_office_enters_a_year_on_the_page(app: Starlette) -> None:
    client = logged_in(app, "陶文华")
    page = client.get("/office/holidays")
    assert page.status_code == 200 and "<h1>节假日安排</h1>" in page.text and "chinese-calendar" in page.text
    assert 'href="/office/holidays"' in client.get("/office/").text  # in the office's menu
    token = csrf(page.text)
    bad = "元旦:\n  放假: 2027-01-01\n春节:\n  放假: 2027-02-05 至 2027-02-13\n  调休上班: 2027-02-15\n"
    r = client.post("/office/holidays", data={"csrf": token, "year": "2027", "text": bad}, headers={"Origin": ORIGIN})
    assert r.status_code == 400
    assert "2027年节假日安排未保存：第5行（春节）：调休上班日2027-02-15（周一）不是周六或周日" in r.text
    assert "调休上班: 2027-02-15\n</textarea>" in r.text  # what was typed comes back to be corrected
    r = client.post("/office/holidays", data={"year": "2027", "text": NOTICE_2027}, headers={"Origin": ORIGIN})
    assert r.status_code == 403 and "校验码" in r.text
    with session_scope() as s:
        assert s.get(HolidayYear, 2027) is None
    r = client.post("/office/holidays", data={"csrf": token, "year": "2027", "text": NOTICE_2027}, headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.text
    done = client.get(r.headers["location"])
    assert "已录入2027年节假日安排（7个节日，放假29天，调休上班6天）" in done.text
    assert "<td>2027</td><td>巡察办录入</td><td>元旦、春节、清明节" in done.text
    again = client.get("/office/holidays?year=2027")
    assert "春节:\n  放假: 2027-02-05 至 2027-02-13\n  调休上班: 2027-01-31、2027-02-20" in again.text  # to correct it
    with session_scope() as s:
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "录入节假日安排")).all()
        assert (event.actor, event.entity_id) == ("陶文华", 2027)


@pytest.mark.parametrize("name", ["张明", "李建国", "郑文斌", "钱正平"])
def test_other_roles_neither_see_nor_get_the_page(app: Starlette, name: str) -> None:
    client = logged_in(app, name)
    assert 'href="/office/holidays"' not in client.get("/office/").text
    r = client.get("/office/holidays")
    assert r.status_code == 403 and "无权录入和查看法定节假日安排" in r.text
    r = client.post("/office/holidays", data={"csrf": csrf(client.get("/office/").text), "year": "2027",
                                               "text": NOTICE_2027}, headers={"Origin": ORIGIN})
    assert r.status_code == 403
    with session_scope() as s:
        assert s.get(HolidayYear, 2027) is None
