"""The office's own pages at the gateway (/office/...), in-process: each page for each role,
a wrong role refused, forms without the session's CSRF token refused, and confidential text
(a sentinel) never in a page served to a role that may not read it, nor in the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.enums import AccessRole, ClueKind, ClueStatus
from models.settings import get_settings
from models.tables import AuditEvent, Clue, ClueLetter, Inspection, Petition
from tasks.clues import ledger
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.driver import ready_account
from tests.support.factories import in_stationing
from tests.support.gateway import ORIGIN, csrf, logged_in, login_post

R = AccessRole
CLUE_SECRET = "线索哨兵文字-ZX81"  # the text of a discipline clue
PETITION_SECRET = "举报哨兵内容-QW77"  # a petition's content
INFORMANT = "举报人哨兵-王某某"
SECRETS = (CLUE_SECRET, PETITION_SECRET, INFORMANT)

# One demo-county account per role; the team roles serve on the round's team, OTHER_LEADER does not.
ACTOR = {R.OFFICE: "陶文华", R.LEADING_GROUP: "张明", R.TEAM_LEADER: "李建国", R.TEAM_MEMBER: "刘洋",
         R.DISCIPLINE_COMMISSION: "郑文斌", R.ORGANISATION_DEPARTMENT: "吴志刚", R.DEPARTMENT: "许丽",
         R.UNIT_CONTACT: "钱正平"}
OTHER_LEADER = "周卫东"


@dataclass
class World:
    app: Starlette
    inspection_id: int
    petition_id: int
    clue_id: int  # a discipline clue, sent to 纪委监委 at once (边巡边移)
    letter_id: int


@pytest.fixture
def world(cli_home: Path) -> Iterator[World]:
    settings = get_settings()
    t = clock_now()
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        iid = in_stationing(s, settings, now=t)
        p = ledger.add_petition(session=s, settings=settings, by="李建国", inspection_id=iid, channel="来信",
                                content=PETITION_SECRET, informant_name=INFORMANT, informant_contact="13800000000", now=t)
        clue = ledger.register_clue(session=s, by="刘洋", inspection_id=iid, kind="违纪违法线索", summary=CLUE_SECRET, now=t)
        assert clue.id is not None and p.id is not None
        letter = ledger.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=clue.id, now=t,
                                        link=settings.run_link(None))
        ids = (p.id, clue.id, letter.id)
    assert ids[2] is not None
    app = create_app(upstream=f"http://127.0.0.1:{free_port()}")
    yield World(app, iid, *ids)  # type: ignore[arg-type]


def login(world: World, name: str) -> TestClient:
    return logged_in(world.app, name)


def no_secret(text: str, *allowed: str) -> None:
    for secret in SECRETS:
        if secret not in allowed:
            assert secret not in text, secret


# Which office pages each role gets (200) or is refused (403). Written out, not derived.
#                        todo  letters clues  clue_new petitions petition_new
PAGES = ["/office/", "/office/letters", "/office/clues", "/office/clues/new", "/office/petitions", "/office/petitions/new"]
OPEN = {
    R.OFFICE:                  (True, False, True,  True,  True,  True),
    R.LEADING_GROUP:           (True, False, True,  False, False, False),
    R.TEAM_LEADER:             (True, False, True,  True,  True,  True),
    R.TEAM_MEMBER:             (True, False, True,  True,  True,  True),
    R.DISCIPLINE_COMMISSION:   (True, True,  False, False, False, False),
    R.ORGANISATION_DEPARTMENT: (True, True,  False, False, False, False),
    R.DEPARTMENT:              (True, True,  False, False, False, False),
    R.UNIT_CONTACT:            (True, False, False, False, False, False),
}


@pytest.mark.parametrize("role", list(OPEN))
def test_each_role_gets_exactly_its_pages_and_no_text_it_may_not_read(
        world: World, role: AccessRole, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = login(world, ACTOR[role])
    for page, open_ in zip(PAGES, OPEN[role], strict=True):
        r = client.get(page)
        assert r.status_code == (200 if open_ else 403), (page, r.status_code)
        assert "<html lang=\"zh-CN\">" in r.text and 'name="viewport"' in r.text
        if not open_:
            assert "未获准" in r.text and "无权" in r.text
        no_secret(r.text)  # lists and forms never carry the texts
    # The clue's own page: its text for the roles the table lets read a discipline clue.
    r = client.get(f"/office/clues/{world.clue_id}")
    readers = {R.OFFICE, R.LEADING_GROUP, R.TEAM_LEADER, R.DISCIPLINE_COMMISSION}
    assert r.status_code == (200 if role in readers else 403)
    if role in readers:
        assert CLUE_SECRET in r.text
    no_secret(r.text, CLUE_SECRET if role in readers else "")
    r = client.get(f"/office/petitions/{world.petition_id}")
    assert r.status_code == (200 if role in (R.OFFICE, R.TEAM_LEADER, R.TEAM_MEMBER) else 403)
    no_secret(r.text, PETITION_SECRET if r.status_code == 200 else "")
    r = client.get(f"/office/petitions/{world.petition_id}?informant=1")
    assert r.status_code == (200 if role in (R.OFFICE, R.TEAM_LEADER) else 403)
    if r.status_code == 200:
        assert INFORMANT in r.text
    for secret in SECRETS:
        assert secret not in caplog.text


def test_reads_of_texts_are_audited_under_the_person(world: World) -> None:
    client = login(world, "李建国")
    assert client.get(f"/office/clues/{world.clue_id}").status_code == 200
    assert client.get(f"/office/petitions/{world.petition_id}?informant=1").status_code == 200
    refused = login(world, "刘洋")
    assert refused.get(f"/office/clues/{world.clue_id}").status_code == 403
    with session_scope() as s:
        events = [(e.actor, e.action, e.entity_id) for e in s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert ("李建国", "查阅线索", world.clue_id) in events
    assert ("李建国", "查阅举报人身份", world.petition_id) in events
    assert ("刘洋", "查阅线索（被拒绝）", world.clue_id) in events


def test_a_team_leader_of_another_team_sees_nothing_of_this_unit(world: World) -> None:
    client = login(world, OTHER_LEADER)
    assert "第" + str(world.clue_id) + "号" not in client.get("/office/clues").text
    assert client.get(f"/office/clues/{world.clue_id}").status_code == 403
    assert client.get(f"/office/petitions/{world.petition_id}").status_code == 403
    assert "目前没有处于集中巡察" in client.get("/office/petitions/new").text


def test_todo_lists_what_waits_for_each_person(world: World) -> None:
    jiwei = login(world, "郑文斌").get("/office/")
    assert 'id="todo-letters"' in jiwei.text and "去签收" in jiwei.text
    assert "我的待办" in jiwei.text
    zuzhi = login(world, "吴志刚").get("/office/")
    assert 'id="todo-letters"' not in zuzhi.text  # nothing was routed to 组织部
    office = login(world, "陶文华").get("/office/")
    assert 'id="todo-all-items"' not in office.text  # no overdue items (0 is not shown)
    assert 'id="todo-letters"' not in office.text


def test_todo_lists_gates_for_the_role_with_a_link_to_the_run(world: World) -> None:
    import uuid

    from models.enums import Gate
    from tasks.lifecycle.approvals import open_gate

    run_id = str(uuid.uuid4())
    with session_scope() as s:
        insp = s.get(Inspection, world.inspection_id)
        assert insp is not None
        open_gate(session=s, settings=get_settings(), round_id=insp.round_id, inspection_id=None, gate=Gate.PLAN,
                  attempt=1, flow_run_id=run_id, now=clock_now())
    leader = login(world, "张明").get("/office/").text
    assert "方案及组成人员审批" in leader and f"/runs/flow-run/{run_id}" in leader
    member = login(world, "刘洋").get("/office/").text
    assert "方案及组成人员审批" not in member


def test_a_receiver_signs_for_a_letter_and_reports_the_result(world: World) -> None:
    client = login(world, "郑文斌")
    page = client.get("/office/letters")
    assert page.status_code == 200 and "签收此移交函" in page.text
    r = client.post(f"/office/letters/{world.letter_id}/acknowledge", data={"csrf": csrf(page.text)})
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert "已签收" in done.text and "签收此移交函" not in done.text
    with session_scope() as s:
        letter = s.get(ClueLetter, world.letter_id)
        assert letter is not None and letter.acknowledged_by == "郑文斌"
        clue = s.get(Clue, world.clue_id)
        assert clue is not None and clue.status == ClueStatus.RECEIVED and clue.result_due_on is not None
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "签收线索移交函")).one()
        assert event.actor == "郑文斌"
    # Signed twice: refused with the reason, nothing changes.
    again = client.post(f"/office/letters/{world.letter_id}/acknowledge", data={"csrf": csrf(page.text)})
    assert again.status_code == 400 and "已于" in again.text
    # The result, from the clue's page.
    clue_page = client.get(f"/office/clues/{world.clue_id}")
    assert "反馈办理结果" in clue_page.text and CLUE_SECRET in clue_page.text
    for result in ("初步核实", "立案审查调查", "诫勉谈话", "留置", "移送司法机关", "党纪政务处分", "经核查无问题"):
        assert f'<option value="{result}"' in clue_page.text
    bad = client.post(f"/office/clues/{world.clue_id}/result", data={"csrf": csrf(clue_page.text), "result": "不知道"})
    assert bad.status_code == 400 and "未知的办理结果" in bad.text
    r = client.post(f"/office/clues/{world.clue_id}/result",
                    data={"csrf": csrf(clue_page.text), "result": "初步核实", "note": "已成立核查组"})
    assert r.status_code == 303
    r = client.post(f"/office/clues/{world.clue_id}/result",
                    data={"csrf": csrf(clue_page.text), "result": "立案审查调查", "note": "已立案"})
    assert r.status_code == 303 and "已办结" in client.get(r.headers["location"]).text
    with session_scope() as s:
        clue = s.get(Clue, world.clue_id)
        assert clue is not None and clue.status == ClueStatus.CLOSED and clue.result_note == "已立案"


def test_another_receiver_can_neither_see_nor_sign_the_letter(world: World) -> None:
    client = login(world, "吴志刚")
    page = client.get("/office/letters")
    assert page.status_code == 200 and "签收此移交函" not in page.text
    r = client.post(f"/office/letters/{world.letter_id}/acknowledge", data={"csrf": csrf(page.text)})
    assert r.status_code == 403 and "无权签收线索移交函" in r.text
    r = client.post(f"/office/clues/{world.clue_id}/result", data={"csrf": csrf(page.text), "result": "留置"})
    assert r.status_code == 403
    with session_scope() as s:
        letter = s.get(ClueLetter, world.letter_id)
        assert letter is not None and letter.acknowledged_at is None


def test_forms_without_the_sessions_token_or_from_elsewhere_are_refused(world: World) -> None:
    client = login(world, "郑文斌")
    page = client.get("/office/letters").text
    for data in ({}, {"csrf": "0" * 64}):
        r = client.post(f"/office/letters/{world.letter_id}/acknowledge", data=data)
        assert r.status_code == 403 and "校验码" in r.text
    cross = client.post(f"/office/letters/{world.letter_id}/acknowledge", data={"csrf": csrf(page)},
                        headers={"origin": "http://evil.example"})
    assert cross.status_code == 403 and "跨站" in cross.json()["detail"]
    # Another session's token does not do either.
    other = login(world, "郑文斌")
    other_token = csrf(other.get("/office/letters").text)
    assert other_token != csrf(page)
    assert client.post(f"/office/letters/{world.letter_id}/acknowledge",
                       data={"csrf": other_token}).status_code == 403
    with session_scope() as s:
        letter = s.get(ClueLetter, world.letter_id)
        assert letter is not None and letter.acknowledged_at is None
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "办公页面（被拒绝）")).all()
    # Without a login: the login page for a page, 401 for a form.
    anonymous = TestClient(world.app, base_url=ORIGIN, follow_redirects=False)
    assert anonymous.get("/office/").headers["location"] == "/login?next=/office/"
    assert anonymous.post(f"/office/letters/{world.letter_id}/acknowledge", data={"csrf": csrf(page)}).status_code == 401


def test_staff_register_a_petition_and_a_clue_from_the_forms(world: World) -> None:
    client = login(world, "刘洋")
    form = client.get("/office/petitions/new").text
    assert "城东街道" in form and 'name="anonymous"' in form
    token = csrf(form)
    both = client.post("/office/petitions/new", data={"csrf": token, "inspection": str(world.inspection_id),
                                                      "channel": "来电", "content": "某某违规发放补贴",
                                                      "anonymous": "1", "informant": "张三"})
    assert both.status_code == 400 and "已选择匿名" in both.text and "张三" not in both.text
    r = client.post("/office/petitions/new", data={"csrf": token, "inspection": str(world.inspection_id),
                                                   "channel": "来电", "content": "某某违规发放补贴", "anonymous": "1"})
    assert r.status_code == 303 and "匿名" in client.get(r.headers["location"]).text
    r = client.post("/office/petitions/new", data={"csrf": token, "inspection": str(world.inspection_id),
                                                   "channel": "来访", "content": "食堂采购不公开",
                                                   "informant": "李四", "contact": "13900000000"})
    assert r.status_code == 303
    with session_scope() as s:
        rows = s.exec(select(Petition).order_by(col(Petition.id))).all()
        assert [(p.channel.value, p.anonymous, p.recorded_by) for p in rows[1:]] == [("来电", True, "刘洋"), ("来访", False, "刘洋")]
        assert "李四" not in rows[2].informant_enc  # encrypted at rest
    form = client.get("/office/clues/new").text
    r = client.post("/office/clues/new", data={"csrf": csrf(form), "inspection": str(world.inspection_id),
                                               "kind": "行业领域问题", "summary": "工程项目未招标"})
    assert r.status_code == 303 and "已登记线索" in client.get(r.headers["location"]).text
    empty = client.post("/office/clues/new", data={"csrf": csrf(form), "inspection": str(world.inspection_id),
                                                   "kind": "行业领域问题", "summary": "  "})
    assert empty.status_code == 400 and "线索内容不能为空" in empty.text
    # The new clue is in 刘洋's list (a 组员 may read a sector clue of the team's unit); the discipline one is not.
    listing = client.get("/office/clues").text
    assert "行业领域问题" in listing and f"第{world.clue_id}号" not in listing


def test_an_oversized_form_is_refused_whole_not_cut(world: World) -> None:
    """A clue longer than the form limit is not stored cut short: refused, nothing written."""
    client = login(world, "刘洋")
    form = client.get("/office/clues/new").text
    with session_scope() as s:
        before = len(s.exec(select(Clue)).all())
    r = client.post("/office/clues/new", data={"csrf": csrf(form), "inspection": str(world.inspection_id),
                                               "kind": "行业领域问题", "summary": "工程项目未招标" * 3000})
    assert r.status_code == 413 and "提交的内容过长" in r.text
    with session_scope() as s:
        assert len(s.exec(select(Clue)).all()) == before


def test_unknown_office_paths_are_not_passed_to_prefect(world: World) -> None:
    client = login(world, "陶文华")
    assert client.get("/office/nothing-here").status_code == 404
    assert client.get(f"/office/letters/{world.letter_id}/acknowledge").status_code == 404


def test_a_receiver_and_the_leading_group_land_on_the_todo_page_after_login(world: World) -> None:
    acc = ready_account("许丽")
    client = TestClient(world.app, base_url=ORIGIN, follow_redirects=False)
    r = login_post(client, acc.name, acc.password)
    assert r.headers["location"] == "/office/"
    acc = ready_account("钱正平")  # a unit's contact: its items and reports are on its pages too
    r = login_post(TestClient(world.app, base_url=ORIGIN, follow_redirects=False), acc.name, acc.password)
    assert r.headers["location"] == "/office/"
    acc = ready_account("刘洋")
    r = login_post(TestClient(world.app, base_url=ORIGIN, follow_redirects=False), acc.name, acc.password)
    assert r.headers["location"] == "/"
    # The leading group answers gates: its to-do page lists them, each with its run's link. Its
    # members have a second factor: the page to go to after it rides in a cookie.
    acc = ready_account("张明")
    r = login_post(TestClient(world.app, base_url=ORIGIN, follow_redirects=False), acc.name, acc.password)
    assert r.headers["location"] == "/login/totp" and r.cookies["xuncha_next"].strip('"') == quote("/office/")
    r = login_post(TestClient(world.app, base_url=ORIGIN, follow_redirects=False), acc.name, acc.password, "/runs")
    assert r.cookies["xuncha_next"].strip('"') == quote("/runs")


def test_only_roles_with_work_in_the_platform_are_linked_to_it(world: World) -> None:
    """The receivers and a unit's contact do all their work on these pages: no link to the
    Prefect UI in their bar; the team, the office and the leading group keep it."""
    for role, name in ACTOR.items():
        page = login(world, name).get("/office/").text
        linked = 'href="/">流程平台</a>' in page
        assert linked is (role not in (R.DISCIPLINE_COMMISSION, R.ORGANISATION_DEPARTMENT, R.DEPARTMENT,
                                       R.UNIT_CONTACT)), name


def test_todo_lists_overdue_items_for_their_supervisor(world: World) -> None:
    from datetime import timedelta

    from models.tables import Finding, RectificationItem

    t = clock_now()
    with session_scope() as s:
        f = Finding(inspection_id=world.inspection_id, category="党的建设", description="支部会议记录缺失", created_at=t)
        s.add(f)
        s.flush()
        assert f.id is not None
        # 吴志刚 is 城东街道's liaison leader: he supervises its individual problems.
        s.add(RectificationItem(inspection_id=world.inspection_id, finding_id=f.id, supervisor="吴志刚",
                                deadline=(t - timedelta(days=5)).date()))
    mine = login(world, "吴志刚").get("/office/").text
    assert 'id="todo-items"' in mine and "支部会议记录缺失" in mine and "5天" in mine
    office = login(world, "陶文华").get("/office/").text
    assert 'id="todo-all-items"' in office and "共 1 件" in office
    assert 'id="todo-items"' not in login(world, "郑文斌").get("/office/").text


def test_a_clue_whose_text_the_receiver_may_not_read_is_only_counted(world: World) -> None:
    """Routes are settings: a discipline clue routed to 组织部 may be answered by it, not read."""
    t = clock_now()
    with session_scope() as s:
        clue = Clue(inspection_id=world.inspection_id, kind=ClueKind.DISCIPLINE, summary=CLUE_SECRET + "-2",
                    receiver="organisation_department", status=ClueStatus.RECEIVED, created_at=t,
                    result_due_on=t.date())
        s.add(clue)
        s.flush()
        clue_id = clue.id
    client = login(world, "吴志刚")
    todo_page = client.get("/office/").text
    assert 'id="todo-clues-counted"' in todo_page and "另有 1 件" in todo_page
    assert f"/office/clues/{clue_id}" not in todo_page
    page = client.get(f"/office/clues/{clue_id}")
    assert page.status_code == 200 and "不在您的查阅范围内" in page.text and "反馈办理结果" in page.text
    no_secret(page.text)
    assert CLUE_SECRET not in page.text
    r = client.post(f"/office/clues/{clue_id}/result", data={"csrf": csrf(page.text), "result": "经核查无问题"})
    assert r.status_code == 303
    with session_scope() as s:
        assert not s.exec(select(AuditEvent).where(AuditEvent.action == "查阅线索", AuditEvent.actor == "吴志刚")).all()


def test_a_crafted_link_cannot_show_a_false_confirmation(world: World) -> None:
    client = login(world, "郑文斌")
    forged = client.get("/office/letters", params={"done": "已签收巡移〔2026〕99号，线索1件"})
    assert forged.status_code == 200 and "巡移〔2026〕99号" not in forged.text
    page = client.get("/office/letters")
    r = client.post(f"/office/letters/{world.letter_id}/acknowledge", data={"csrf": csrf(page.text)})
    signed = r.headers["location"]
    assert "已签收" in client.get(signed).text  # the gateway's own confirmation, signed for this session
    other = login(world, "吴志刚")  # the same address in another session shows nothing
    assert "已签收" not in other.get(signed.replace("/letters", "/")).text


def test_a_petition_becomes_a_clue_and_is_transferred_at_once_from_the_pages(world: World) -> None:
    leader = login(world, "李建国")  # 本组组长: may turn the petition into a clue, may not transfer it
    page = leader.get(f"/office/petitions/{world.petition_id}")
    assert "转为问题线索" in page.text
    bad = leader.post(f"/office/petitions/{world.petition_id}/clue", data={"csrf": csrf(page.text), "kind": "其他", "summary": "x"})
    assert bad.status_code == 400 and "未知的线索类型：其他" in bad.text
    r = leader.post(f"/office/petitions/{world.petition_id}/clue",
                    data={"csrf": csrf(page.text), "kind": "违纪违法线索", "summary": "某站所长优亲厚友"})
    assert r.status_code == 303, r.text
    clue_url = r.headers["location"].split("?")[0]
    clue_id = int(clue_url.rsplit("/", 1)[1])
    shown = leader.get(r.headers["location"]).text
    assert f"已由信访举报{world.petition_id}转为线索，编号{clue_id}" in shown and "立即移交" not in shown
    again = leader.get(f"/office/petitions/{world.petition_id}").text
    assert "转为问题线索" not in again and f"第{clue_id}号" in again
    refused = leader.post(f"{clue_url}/transfer", data={"csrf": csrf(again)})
    assert refused.status_code == 403 and "无权边巡边移" in refused.text
    office = login(world, "陶文华")
    page = office.get(clue_url)
    assert "立即移交" in page.text
    r = office.post(f"{clue_url}/transfer", data={"csrf": csrf(page.text)})
    assert r.status_code == 303
    done = office.get(r.headers["location"]).text
    assert "已边巡边移" in done and "已移交" in done and "立即移交" not in done
    with session_scope() as s:
        clue = s.get(Clue, clue_id)
        assert clue is not None and clue.status == "已移交" and clue.urgent
        events = [(e.actor, e.action) for e in s.exec(select(AuditEvent))]
    assert ("李建国", "边巡边移（被拒绝）") in events or ("李建国", "办公页面（被拒绝）") in events


def test_the_office_still_gets_in_when_the_audit_trail_has_lost_rows(world: World) -> None:
    from sqlalchemy import text

    from tasks.infra.audit import verify_trail

    with session_scope() as s:  # someone deletes the newest audit record
        tail = s.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
        s.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": tail})
    office = login(world, "陶文华")  # the login goes ahead, unrecorded, so the trail can be verified
    assert office.get("/office/").status_code == 200
    with session_scope() as s:
        assert any("已被删除" in p for p in verify_trail(session=s))


BIG = "1" * 23  # past 64 bits: SQLite could not even bind it (an OverflowError, once a 500)


def test_ids_beyond_64_bits_answer_a_chinese_404(world: World) -> None:
    office = login(world, "陶文华")
    for path in (f"/office/clues/{BIG}", f"/office/petitions/{BIG}", f"/office/petitions/{2**63}",
                 f"/office/rectification?unit={BIG}", "/office/holidays?year=" + BIG):
        r = office.get(path)
        assert r.status_code in (200, 404) and "Internal Server Error" not in r.text, path
        if r.status_code == 404:
            assert "不存在" in r.text or "没有这个" in r.text, (path, r.text)
    assert office.get(f"/office/clues/{BIG}").status_code == 404
    token = csrf(office.get("/office/clues/new").text)
    for path, data in ((f"/office/clues/{BIG}/transfer", {}), (f"/office/petitions/{BIG}/clue", {"kind": "违纪违法线索", "summary": "x"}),
                       (f"/office/rectification/{BIG}/plan", {}), ("/office/clues/new", {"inspection": BIG, "kind": "违纪违法线索", "summary": "x"})):
        r = office.post(path, data={"csrf": token, **data}, headers={"Origin": ORIGIN})
        assert r.status_code in (400, 404) and "Internal Server Error" not in r.text, (path, r.status_code)
        assert "不存在" in r.text or "没有这个" in r.text, (path, r.text)
    receiver = login(world, "郑文斌")
    r = receiver.post(f"/office/letters/{BIG}/acknowledge", data={"csrf": csrf(receiver.get("/office/letters").text)},
                      headers={"Origin": ORIGIN})
    assert r.status_code == 404 and "不存在" in r.text


@pytest.mark.parametrize("bad", ["\u202e", "\u202a", "\u2066", "\u2069", "\x00", "\x1b"])
def test_control_and_bidi_characters_are_refused_in_every_form(world: World, bad: str) -> None:
    client = login(world, "刘洋")
    token = csrf(client.get("/office/petitions/new").text)
    with session_scope() as s:
        before = (len(s.exec(select(Petition)).all()), len(s.exec(select(Clue)).all()))
    for path, data in (
        ("/office/petitions/new", {"inspection": str(world.inspection_id), "channel": "来电",
                                   "content": f"违规发放{bad}补贴", "anonymous": "1"}),
        ("/office/petitions/new", {"inspection": str(world.inspection_id), "channel": "来电",
                                   "content": "违规发放补贴", "informant": f"王{bad}某"}),
        ("/office/clues/new", {"inspection": str(world.inspection_id), "kind": "行业领域问题", "summary": f"工程{bad}未招标"}),
    ):
        r = client.post(path, data={"csrf": token, **data}, headers={"Origin": ORIGIN})
        assert r.status_code == 400 and "不能包含控制字符或不可见字符" in r.text and f"U+{ord(bad):04X}" in r.text, (path, r.text)
    with session_scope() as s:
        assert (len(s.exec(select(Petition)).all()), len(s.exec(select(Clue)).all())) == before
    # The domain refuses them as well (the command line and the public page reach it without the page's check).
    with session_scope() as s, pytest.raises(Exception, match="不能包含控制字符"):
        ledger.register_clue(session=s, by="刘洋", inspection_id=world.inspection_id, kind="行业领域问题",
                             summary=f"工程{bad}未招标", now=clock_now())
