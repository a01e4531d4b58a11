"""The results letters' office page (/office/results), in-process: the organisation department signs
for its letter, records a use and closes it on the page; the discipline commission sees and acts on
its own letter only; the office and the leading group follow every letter without acting; the other
roles are refused; no clue text on any page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.applications import Starlette

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.enums import Role, Stage
from models.results_use import ResultsLetter
from models.settings import get_settings
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.advance import advance
from tests.support.factories import make_round, sample_findings
from tests.support.gateway import ORIGIN, csrf, logged_in

CLUE_SECRET = "成果运用页面哨兵线索-PV19"


@dataclass
class World:
    app: Starlette
    org: ResultsLetter  # to 组织部
    commission: ResultsLetter  # to 纪委监委


@pytest.fixture
def world(cli_home: Path) -> Iterator[World]:
    settings, t = get_settings(), clock_now()
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        _, insps = make_round(s)
        advance(s, settings, insps[0].id or 0, Stage.CLUE_TRANSFER, findings=sample_findings(),
                clues=[("违纪违法线索", CLUE_SECRET)], now=t)
        s.commit()
        sent = {r.receiver: r for r in s.exec(select(ResultsLetter))}
        for r in sent.values():
            s.expunge(r)
    yield World(create_app(upstream=f"http://127.0.0.1:{free_port()}"), sent[Role.ORGANISATION_DEPARTMENT.value],
                sent[Role.DISCIPLINE_COMMISSION.value])


def test_the_organisation_department_signs_records_and_closes_on_the_page(world: World) -> None:
    client = logged_in(world.app, "吴志刚")
    todo = client.get("/office/")
    assert todo.status_code == 200 and world.org.doc_no in todo.text and "签收" in todo.text
    page = client.get("/office/results")
    assert page.status_code == 200 and ">成果运用</a>" in page.text
    assert world.org.doc_no in page.text and world.commission.doc_no not in page.text
    assert "干部选拔任用程序不规范" in page.text and CLUE_SECRET not in page.text
    base = f"/office/results/{world.org.id}"
    assert client.post(f"{base}/acknowledge", data={}, headers={"Origin": ORIGIN}).status_code == 403  # no CSRF token
    r = client.post(f"{base}/acknowledge", data={"csrf": csrf(page.text)}, headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert "已签收" in page.text and "登记运用情况" in page.text
    token = csrf(page.text)
    r = client.post(f"{base}/use", data={"csrf": token, "kind": "年度考核", "state": "planned", "day": "2020-01-01", "note": ""},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 400 and "早于今天" in r.text and "2020-01-01" in r.text  # what was typed comes back
    r = client.post(f"{base}/use", data={"csrf": token, "kind": "提醒谈话", "state": "done", "day": clock_now().date().isoformat(),
                                         "note": "对党组织书记进行提醒谈话"}, headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.text
    assert "已登记：提醒谈话（已运用）" in client.get(r.headers["location"]).text
    r = client.post(f"{base}/close", data={"csrf": token}, headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert "已办结" in page.text and "对党组织书记进行提醒谈话" in page.text and "登记运用情况</legend>" not in page.text
    # The commission's letter is not the organisation department's to sign.
    r = client.post(f"/office/results/{world.commission.id}/acknowledge", data={"csrf": token}, headers={"Origin": ORIGIN})
    assert r.status_code == 403 and "发给纪委监委" in r.text


@pytest.mark.parametrize(("name", "status", "sees_both"), [
    ("郑文斌", 200, False), ("陶文华", 200, True), ("张明", 200, True), ("李建国", 403, False), ("刘洋", 403, False),
    ("许丽", 403, False), ("钱正平", 403, False)])
def test_each_role_sees_only_its_letters(world: World, name: str, status: int, sees_both: bool) -> None:
    client = logged_in(world.app, name)
    page = client.get("/office/results")
    assert page.status_code == status, page.text
    assert CLUE_SECRET not in page.text
    if status == 403:
        assert "未获准" in page.text and "无权查看巡察成果运用函" in page.text
        return
    assert world.commission.doc_no in page.text
    assert (world.org.doc_no in page.text) is sees_both
    assert ("签收此函" in page.text) is (name == "郑文斌")  # only the receiving body signs
    if sees_both:  # following is not signing
        r = client.post(f"/office/results/{world.org.id}/acknowledge", data={"csrf": csrf(page.text)},
                        headers={"Origin": ORIGIN})
        assert r.status_code == 403 and "无权签收巡察成果运用函" in r.text
