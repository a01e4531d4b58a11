"""The public reporting page (deployments/public), in-process: it lists only the units in their
stationing period; a named and an anonymous report each become a petition of channel 网络举报
with the informant encrypted; the query code works once shown and a wrong one does not; forms
without this app's token or from another site are refused; the rate limits hold; bad input gets
a Chinese message and writes nothing; nothing of Prefect is reachable; nothing confidential is
logged."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from deployments.public.app import CSRF_MAX_AGE, HONEYPOT, create_app
from models.clock import now as clock_now
from models.crypto import vault
from models.db import get_engine, session_scope
from models.enums import PetitionChannel, Stage
from models.settings import Settings, get_settings
from models.tables import AuditEvent, Inspection, Petition, PublicHit, PublicReport
from tasks.clues import ledger, public, views
from tests.support.advance import advance
from tests.support.factories import row_counts
from tests.support.leaks import scan_sqlite
from tests.support.public import unit_in_stationing_now

ORIGIN = "http://127.0.0.1:4300"
CONTENT = "网络举报哨兵内容-PB42"
INFORMANT = "举报人哨兵-赵某某"
CONTACT = "13912345678"


@dataclass
class World:
    home: Path
    inspection_id: int  # 城东街道, in 集中巡察
    waiting_id: int  # 区教育局, same round, still in 巡察准备


def app_client(settings: Settings | None = None, client: tuple[str, int] = ("203.0.113.7", 50000)) -> TestClient:
    return TestClient(create_app(settings=settings or get_settings()), base_url=ORIGIN, follow_redirects=False,
                      client=client)


@pytest.fixture
def world(cli_home: Path) -> Iterator[World]:
    iid = unit_in_stationing_now()
    with session_scope() as s:
        waiting = s.exec(select(Inspection).where(Inspection.stage == Stage.PREPARATION)).first()
        assert waiting is not None and waiting.id is not None
        waiting_id = waiting.id
    yield World(cli_home, iid, waiting_id)


def token(page: str) -> str:
    m = re.search(r'name="csrf" value="([0-9]+\.[0-9a-f]+)"', page)
    assert m is not None, "no CSRF token on the page"
    return m.group(1)


def submit(client: TestClient, **fields: str) -> tuple[int, str]:
    form = {"csrf": token(client.get("/").text), HONEYPOT: ""} | fields
    r = client.post("/report", data=form, headers={"Origin": ORIGIN})
    return r.status_code, r.text


def shown_code(page: str) -> str:
    m = re.search(r'id="query-code">([A-Z0-9-]+)<', page)
    assert m is not None, page
    return m.group(1)


def query(client: TestClient, code: str) -> tuple[int, str]:
    r = client.post("/query", data={"csrf": token(client.get("/query").text), "code": code},
                    headers={"Origin": ORIGIN})
    return r.status_code, r.text


def counts() -> dict[str, int]:
    with Session(get_engine()) as s:
        return row_counts(s)


def test_the_page_lists_only_the_units_in_their_stationing_period(world: World) -> None:
    page = app_client().get("/")
    assert page.status_code == 200 and "向巡察组反映问题" in page.text
    assert page.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    units = page.text.split('id="units"')[1].split("</ul>")[0]
    assert "城东街道" in units and "第一巡察组" in units and "2026年12月1日至2026年12月31日" in units
    assert "区教育局" not in page.text and "区交通投资集团" not in page.text
    assert re.findall(r'<option value="(\d+)"', page.text) == [str(world.inspection_id)]
    with session_scope() as s:  # once the stationing ends the unit leaves the page
        advance(s, get_settings(), world.inspection_id, Stage.REPORTING, now=clock_now())
    page = app_client().get("/")
    assert "城东街道" not in page.text and "目前没有处于巡察进驻期间的单位" in page.text and "/report" not in page.text


def test_named_and_anonymous_reports_become_encrypted_online_petitions(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = app_client()
    status, named = submit(client, inspection=str(world.inspection_id), content=CONTENT + "（实名）", mode="named",
                           name=INFORMANT, contact=CONTACT)
    assert status == 200 and "您反映的问题已收到" in named and "查询码只显示这一次" in named
    assert INFORMANT not in named and CONTACT not in named
    status, anonymous = submit(client, inspection=str(world.inspection_id), content=CONTENT + "（匿名）",
                               mode="anonymous", name="", contact="")
    assert status == 200 and "您选择了匿名反映" in anonymous
    codes = [shown_code(named), shown_code(anonymous)]
    assert all(re.fullmatch(r"([A-HJKMNP-Z2-9]{4}-){3}[A-HJKMNP-Z2-9]{4}", c) for c in codes) and codes[0] != codes[1]

    settings = get_settings()
    with session_scope() as s:
        rows = s.exec(select(Petition).order_by(col(Petition.id))).all()
        assert [(p.channel, p.inspection_id, p.anonymous, p.recorded_by) for p in rows] == [
            (PetitionChannel.ONLINE, world.inspection_id, False, public.ACTOR),
            (PetitionChannel.ONLINE, world.inspection_id, True, public.ACTOR)]
        assert rows[1].informant_enc == "" and INFORMANT not in rows[0].informant_enc
        assert json.loads(vault(settings).decrypt(rows[0].informant_enc)) == {"name": INFORMANT, "contact": CONTACT}
        reports = s.exec(select(PublicReport).order_by(col(PublicReport.id))).all()
        assert [r.petition_id for r in reports] == [p.id for p in rows]
        assert [r.code_hash for r in reports] == [public.code_hash(settings, c) for c in codes]
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "受理网络举报")).all()
        assert [(e.actor, e.entity_id, e.detail) for e in events] == [
            (public.ACTOR, rows[0].id, {"channel": "网络举报", "anonymous": False}),
            (public.ACTOR, rows[1].id, {"channel": "网络举报", "anonymous": True})]
        # The team sees both in its petitions list, as 网络举报.
        lines = views.petitions_in_reach(session=s, by="李建国", now=clock_now())
        assert [(line.channel, line.anonymous) for line in lines] == [("网络举报", True), ("网络举报", False)]
    db = world.home / "xuncha.db"
    assert scan_sqlite(db, CONTENT) == ["xuncha.db:petition"]  # the scan finds what is there
    for secret in (INFORMANT, CONTACT, *codes, *(c.replace("-", "") for c in codes)):
        assert scan_sqlite(db, secret) == [], secret
    logged = caplog.text
    for secret in (CONTENT, INFORMANT, CONTACT, *codes, *(c.replace("-", "") for c in codes)):
        assert secret not in logged


def test_the_query_code_tells_received_and_handled_and_a_wrong_one_nothing(world: World) -> None:
    client = app_client()
    status, page = submit(client, inspection=str(world.inspection_id), content=CONTENT, mode="anonymous")
    code = shown_code(page)
    status, page = query(client, code)
    assert status == 200 and "已收到您反映的问题；已受理，正在处理" in page and CONTENT not in page
    status, page = query(client, code.replace("-", "").lower())  # typed without dashes, in small letters
    assert status == 200 and "已受理，正在处理" in page
    with session_scope() as s:
        p = s.exec(select(Petition)).one()
        assert p.id is not None
        ledger.petition_to_clue(session=s, settings=get_settings(), by="李建国", petition_id=p.id,
                                kind="违纪违法线索", summary="线索摘要", now=clock_now())
    status, page = query(client, code)
    assert status == 200 and "已收到您反映的问题；已处理" in page and "线索摘要" not in page and "城东街道" not in page
    wrong = ("ABCD" if not code.startswith("ABCD") else "EFGH") + code[4:]
    status, page = query(client, wrong)
    assert status == 404 and "没有找到这个查询码对应的举报" in page and "query-status" not in page
    status, page = query(client, "不是查询码")
    assert status == 404 and "没有找到" in page


def test_wrong_codes_are_rate_limited_per_client(world: World) -> None:
    settings = get_settings().model_copy(update={"public_wrong_codes_per_ip": 3})
    client = app_client(settings)
    code = shown_code(submit(client, inspection=str(world.inspection_id), content=CONTENT, mode="anonymous")[1])
    for _ in range(3):
        assert query(client, "ABCDEFGHJKMNPQRS")[0] == 404
    status, page = query(client, code)  # even the right code is refused now, before any look-up
    assert status == 429 and "查询码输错次数过多，请一小时后再试" in page and "query-status" not in page
    other = app_client(settings, client=("198.51.100.9", 40000))  # another address is not held back
    assert query(other, code)[0] == 200
    with session_scope() as s:  # a client is kept only as a keyed hash
        clients = {h.client for h in s.exec(select(PublicHit))}
    assert "203.0.113.7" not in clients and public.client_key(settings, "203.0.113.7") in clients
    # An hour later the window has moved on, and the old rows are gone.
    later = clock_now() + public.WINDOW
    with session_scope() as s:
        assert public.query_report(session=s, settings=settings, code=code, client=public.client_key(settings, "203.0.113.7"),
                                   now=later) == public.IN_HAND
        assert all(h.at > later - public.WINDOW for h in s.exec(select(PublicHit)))


def test_reports_are_rate_limited_per_client_and_in_all(world: World) -> None:
    settings = get_settings().model_copy(update={"public_reports_per_ip": 2, "public_reports_total": 3})
    client = app_client(settings)
    for _ in range(2):
        assert submit(client, inspection=str(world.inspection_id), content=CONTENT, mode="anonymous")[0] == 200
    before = counts()
    status, page = submit(client, inspection=str(world.inspection_id), content=CONTENT, mode="anonymous")
    assert status == 429 and "提交过于频繁，请一小时后再试" in page and counts() == before
    other = app_client(settings, client=("198.51.100.9", 40000))
    assert submit(other, inspection=str(world.inspection_id), content=CONTENT, mode="anonymous")[0] == 200
    third = app_client(settings, client=("192.0.2.44", 40000))
    before = counts()
    status, page = submit(third, inspection=str(world.inspection_id), content=CONTENT, mode="anonymous")
    assert status == 429 and "当前提交的人数较多，请稍后再试" in page and counts() == before


def test_forms_without_this_apps_token_or_from_another_site_are_refused(world: World) -> None:
    client = app_client()
    good = {"inspection": str(world.inspection_id), "content": CONTENT, "mode": "anonymous", HONEYPOT: ""}
    page = app_client().get("/").text
    before = counts()
    cases = [
        ({}, {"Origin": ORIGIN}, "页面已过期或来源不明"),  # no token
        ({"csrf": token(page)[:-2] + "00"}, {"Origin": ORIGIN}, "页面已过期或来源不明"),  # tampered
        ({"csrf": create_app(settings=get_settings()).state.public.csrf_token(int(time.time()) - CSRF_MAX_AGE - 5)}, {"Origin": ORIGIN},
         "页面已过期或来源不明"),  # expired
        ({"csrf": token(page)}, {"Origin": "https://evil.example"}, "跨站提交被拒绝"),
        ({"csrf": token(page)}, {"Origin": "null"}, "跨站提交被拒绝"),
        ({"csrf": token(page)}, {"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"}, "跨站提交被拒绝"),
        ({"csrf": token(page), HONEYPOT: "http://spam.example"}, {"Origin": ORIGIN}, "提交未通过校验"),  # a bot
    ]
    for extra, headers, message in cases:
        r = client.post("/report", data=good | extra, headers=headers)
        assert r.status_code in (400, 403) and message in r.text, (extra, headers)
        r = client.post("/query", data={"code": "ABCDEFGHJKMNPQRS"} | extra, headers=headers)
        assert r.status_code in (400, 403) and message in r.text, (extra, headers)
    assert counts() == before


@pytest.mark.parametrize(("fields", "message"), [
    ({"content": "  ", "mode": "anonymous"}, "请填写反映的问题"),
    ({"content": "字" * 2001, "mode": "anonymous"}, "反映的问题不能超过2000字（现为2001字）"),
    ({"content": CONTENT, "mode": "named", "name": INFORMANT, "contact": ""}, "实名反映请填写姓名和联系方式"),
    ({"content": CONTENT, "mode": "anonymous", "name": INFORMANT}, "已选择匿名反映，请不要填写姓名和联系方式"),
    ({"content": CONTENT, "mode": "named", "name": "名" * 51, "contact": CONTACT}, "姓名不能超过50字"),
    ({"content": CONTENT, "mode": "anonymous", "inspection": "waiting"}, "所选单位目前不在巡察进驻期间"),
    ({"content": CONTENT, "mode": "anonymous", "inspection": "abc"}, "所选单位目前不在巡察进驻期间"),
    ({"content": CONTENT, "mode": "anonymous", "inspection": "999"}, "所选单位目前不在巡察进驻期间"),
    ({"content": CONTENT, "mode": "anonymous", "inspection": "1" * 23}, "所选单位目前不在巡察进驻期间"),
    # Control characters and bidirectional overrides (which reorder what the clerk sees) are refused.
    ({"content": "违规发放\u202e贴补\u202c", "mode": "anonymous"}, "不能包含控制字符或不可见字符（第5个字符，U+202E）"),
    ({"content": "违规\u2066发放\u2069", "mode": "anonymous"}, "U+2066"),
    ({"content": "违规\x00发放", "mode": "anonymous"}, "U+0000"),
    ({"content": CONTENT, "mode": "named", "name": "王\u202b某", "contact": CONTACT}, "U+202B"),
    ({"content": CONTENT, "mode": "named", "name": INFORMANT, "contact": "138\x07000"}, "U+0007"),
])
def test_bad_input_gets_a_chinese_message_and_writes_nothing(world: World, fields: dict[str, str], message: str) -> None:
    inspection = fields.pop("inspection", str(world.inspection_id))
    fields["inspection"] = str(world.waiting_id) if inspection == "waiting" else inspection
    before = counts()
    status, page = submit(app_client(), **fields)
    assert status == 400 and message in page and "query-code" not in page
    assert INFORMANT not in page  # the form comes back without who the informant is
    assert counts() == before


def test_the_app_has_no_route_to_prefect_or_the_office(world: World) -> None:
    client = app_client()
    for method, path in [("GET", "/api/health"), ("POST", "/api/flow_runs/filter"), ("GET", "/api/ui-settings"),
                         ("GET", "/runs"), ("GET", "/office/"), ("GET", "/login"), ("GET", "/gateway/health"),
                         ("POST", "/api/deployments/x/create_flow_run")]:
        r = client.request(method, path, headers={"Origin": ORIGIN})
        assert r.status_code == 404 and "没有这个页面" in r.text, path
    assert client.get("/health").text == "ok"
    assert client.delete("/").status_code == 405


def test_an_unexpected_error_answers_in_chinese_and_logs_nothing_typed(
        world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import IntegrityError

    def broken(**kwargs: object) -> None:  # a database error carries the statement's parameters
        raise IntegrityError("INSERT INTO petition ...", {"content": kwargs["content"], "name": kwargs["name"]}, Exception("x"))

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(public, "submit_report", broken)
    status, page = submit(app_client(), inspection=str(world.inspection_id), content=CONTENT, mode="named",
                          name=INFORMANT, contact=CONTACT)
    assert status == 500 and "系统暂时无法办理，请稍后再试" in page
    assert "IntegrityError" in caplog.text and CONTENT not in caplog.text and INFORMANT not in caplog.text


def test_an_oversized_form_is_refused_unread(world: World) -> None:
    before = counts()
    status, page = submit(app_client(), inspection=str(world.inspection_id), content="字" * 5000, mode="anonymous")
    assert status == 413 and "提交的内容过长" in page and counts() == before
