"""The office pages in a real (headless) browser. A receiver on a phone-sized screen: 纪委监委's
郑文斌 logs in at the gateway, lands on 我的待办, opens 移交本单位 and signs for a transfer letter
with one click (no code: the login proved who he is). A team member registers a petition, a
member of no team here is refused its page, and a unit's contact sees the unit's items and submits its plan. The
office's clerk (password and dynamic code) reads a petition, turns it into a clue, registers
another and sends it at once (边巡边移). The office pages need no Prefect server, so the gateway
runs alone here (uvicorn in a thread) on the test's database. Screenshots go to
SHOTS (tests/support/browser.py: the README's docs/screenshots/ when asked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.settings import get_settings
from models.tables import ClueLetter
from tasks.clues import ledger
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.accounts import ready_account, totp_code
from tests.support.browser import PHONE, SHOTS, chromium, served
from tests.support.factories import in_stationing

pytestmark = [pytest.mark.browser]

pytest.importorskip("playwright.sync_api")

SECRET = "反映某单位负责人在工程招标中接受请托（测试数据）"


@pytest.fixture
def gateway_url(cli_home: Path) -> Iterator[tuple[str, int]]:
    """The gateway alone (nothing upstream) on the test's database, with one letter sent to 纪委监委."""
    settings, t = get_settings(), clock_now()
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        iid = in_stationing(s, settings, now=t)
        clue = ledger.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary=SECRET, now=t)
        assert clue.id is not None
        letter = ledger.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=clue.id, now=t,
                                        link=settings.run_link(None))
        assert letter.id is not None
        letter_id = letter.id
    with served(create_app(upstream=f"http://127.0.0.1:{free_port()}"), "gateway") as url:
        yield url, letter_id


def log_in(page: Any, url: str, name: str, *, then: str = "") -> None:
    """The gateway's login page, then the second factor where the role needs one (the office)."""
    acc = ready_account(name)
    page.goto(url + "/login" + (f"?next={then}" if then else ""))
    page.get_by_label("姓名").fill(acc.name)
    page.get_by_label("密码").fill(acc.password)
    page.get_by_role("button", name="登录").click()
    if acc.secret:
        page.get_by_label("动态口令", exact=True).fill(totp_code(acc.name, acc.secret))
        page.get_by_role("button", name="验证").click()
    page.wait_for_load_state()


def test_a_receiver_signs_for_a_letter_on_a_phone(gateway_url: tuple[str, int]) -> None:
    url, letter_id = gateway_url
    acc = ready_account("郑文斌")
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.set_default_timeout(30_000)
        page.goto(url + "/login")
        page.get_by_label("姓名").fill(acc.name)
        page.get_by_label("密码").fill(acc.password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(url + "/office/")  # a receiver lands on 我的待办
        page.get_by_text("待签收的线索移交函").wait_for()
        page.screenshot(path=str(SHOTS / "office-todo.png"), full_page=True)
        page.get_by_role("link", name="去签收").click()
        page.wait_for_url(url + "/office/letters")
        page.get_by_role("button", name="签收此移交函（线索1件）").click()
        page.get_by_role("status").get_by_text("已签收").wait_for()
        assert page.get_by_role("button", name="签收此移交函（线索1件）").count() == 0
        page.screenshot(path=str(SHOTS / "office-letter-signed.png"), full_page=True)
        # The clue's page: its text (he may read it, the read is audited) and the result form.
        page.get_by_role("link", name="查看并反馈").click()
        page.locator("#clue-text").wait_for()
        assert SECRET in page.locator("#clue-text").inner_text()
        page.get_by_label("办理结果").select_option("初步核实")
        page.screenshot(path=str(SHOTS / "office-clue-result.png"), full_page=True)
    with session_scope() as s:
        letter = s.get(ClueLetter, letter_id)
        assert letter is not None and letter.acknowledged_by == "郑文斌"


INFORMANT_NAME = "赵某某（测试）"


def register_petition(page: Any, url: str, inspection_id: int | None, channel: str, contact: str, *,
                      shot: str = "") -> None:
    """A named petition (SECRET, INFORMANT_NAME) registered on the form; `shot`: its screenshot."""
    page.goto(url + "/office/petitions/new")
    page.get_by_label("被巡察单位").select_option(str(inspection_id))
    page.get_by_label("受理渠道").select_option(channel)
    page.get_by_label("举报内容").fill(f"{SECRET}（{channel}）")
    page.get_by_label("举报人姓名（实名举报时填写）").fill(INFORMANT_NAME)
    page.get_by_label("联系方式（实名举报时填写）").fill(contact)
    if shot:
        page.screenshot(path=str(SHOTS / shot), full_page=True)
    page.get_by_role("button", name="登记").click()
    page.get_by_role("status").get_by_text("已受理信访举报").wait_for()


def test_staff_a_wrong_role_and_a_units_contact_in_the_browser(gateway_url: tuple[str, int]) -> None:
    from sqlmodel import select

    from models.enums import PetitionChannel, Stage
    from models.tables import Inspection, Petition, Unit
    from tests.support.advance import advance
    from tests.support.factories import sample_findings

    url, _ = gateway_url
    settings = get_settings()
    with session_scope() as s:
        # 城东街道 (its contact: 钱正平) on to 督促整改 with its items; 区教育局 into 集中巡察.
        by_unit = {u.name: i for i, u in s.exec(select(Inspection, Unit).join(Unit))}
        advance(s, settings, by_unit["城东街道"].id or 0, Stage.RECTIFICATION, findings=sample_findings(),
                reported_by="李建国", link=settings.run_link(None))
        advance(s, settings, by_unit["区教育局"].id or 0, Stage.STATIONING, link=settings.run_link(None))
        edu, chengdong = by_unit["区教育局"].id, by_unit["城东街道"].id
    with chromium() as browser:
        # 组员 刘洋 registers a petition (named; the informant is encrypted) from the form.
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.set_default_timeout(30_000)
        log_in(page, url, "刘洋")
        register_petition(page, url, edu, "来信", "13900000000", shot="office-petition-new.png")
        assert SECRET not in page.content() and INFORMANT_NAME not in page.content()  # the list holds neither
        page.screenshot(path=str(SHOTS / "office-petitions.png"), full_page=True)
        page.close()
        with session_scope() as s:
            row = s.exec(select(Petition)).one()
            assert row.channel == PetitionChannel.LETTER and row.recorded_by == "刘洋"
            assert INFORMANT_NAME not in row.informant_enc
            petition_id = row.id
        # 林静, a 组员 of no team in this round, is refused the petition's page.
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        log_in(page, url, "林静")
        page.goto(url + f"/office/petitions/{petition_id}")
        page.get_by_text("未获准").first.wait_for()
        assert SECRET not in page.content() and INFORMANT_NAME not in page.content()
        page.screenshot(path=str(SHOTS / "office-refused.png"), full_page=True)
        page.close()
        # The unit's contact sees its own items, with their numbers, on a phone.
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        log_in(page, url, "钱正平")
        page.goto(url + "/office/rectification")
        page.get_by_role("heading", name="整改事项：城东街道").wait_for()
        assert page.locator("tr.item").count() >= 1
        page.screenshot(path=str(SHOTS / "office-rectification.png"), full_page=True)
        # ... and submits the rectification plan for them from the phone: a measure, an owner
        # and a deadline for each item, named by its number.
        numbers = [int(n) for n in page.locator("tr.item").evaluate_all("rows => rows.map(r => r.dataset.item)")]
        for n in numbers:
            page.get_by_label("整改措施").nth(numbers.index(n)).fill(f"建立台账，逐项整改（编号{n}）")
            page.locator(f"#owner-{n}").fill("钱正平")
            page.locator(f"#deadline-{n}").fill("2027-03-31")
        page.get_by_role("button", name="报送整改方案").click()
        page.get_by_role("status").get_by_text("已报送整改方案").wait_for()
        page.get_by_text("已报送，待巡察办审核").first.wait_for()
        page.screenshot(path=str(SHOTS / "office-rectification-plan.png"), full_page=True)
        page.close()
    with session_scope() as s:
        from models.tables import RectificationItem

        rows = s.exec(select(RectificationItem).where(RectificationItem.inspection_id == chengdong)).all()
        assert {(r.id, r.measure, r.owner) for r in rows} == {(n, f"建立台账，逐项整改（编号{n}）", "钱正平") for n in numbers}


def test_the_office_clerk_registers_reads_turns_and_transfers(gateway_url: tuple[str, int]) -> None:
    """巡察办 陶文华 with the second factor: a petition taken by phone, read (its informant on a
    separate, audited click), turned into a clue; a clue registered from the form and sent to
    纪委监委 at once; the clue list shows numbers and states, never a clue's text."""
    from sqlmodel import col, select

    from models.enums import ClueStatus
    from models.tables import AuditEvent, Clue, Inspection, Unit

    url, _ = gateway_url
    with session_scope() as s:
        unit_id = s.exec(select(Inspection.id).join(Unit).where(Unit.name == "城东街道")).one()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.set_default_timeout(30_000)
        log_in(page, url, "陶文华", then="/office/")
        page.wait_for_url(url + "/office/")
        page.locator("#office-user").get_by_text("陶文华（巡察办）").wait_for()
        # A petition by phone, named: the informant is encrypted, the list shows neither.
        register_petition(page, url, unit_id, "来电", "13700000000")
        page.get_by_role("link", name="查阅").first.click()
        page.locator("#petition-text").wait_for()
        assert INFORMANT_NAME not in page.content()  # only on its own click
        page.get_by_role("link", name="查看举报人身份（单独留痕）").click()
        page.locator("#informant").get_by_text(INFORMANT_NAME).wait_for()
        page.screenshot(path=str(SHOTS / "office-petition-detail.png"), full_page=True)
        # The petition becomes a clue with its own summary (the informant stays behind).
        page.get_by_label("线索类型").select_option("违纪违法线索")
        page.get_by_label("线索摘要（另写，不含举报人身份）").fill("反映某负责人在工程招标中接受请托（转自来电）")
        page.get_by_role("button", name="转为线索").click()
        page.get_by_role("status").get_by_text("转为线索").wait_for()
        # A clue registered from the form, then sent at once from its page.
        page.goto(url + "/office/clues/new")
        page.get_by_label("被巡察单位").select_option(str(unit_id))
        page.get_by_label("线索类型").select_option("选人用人问题")
        page.get_by_label("线索内容").fill("反映某科长任职前公示期未满即到岗（测试数据）")
        page.screenshot(path=str(SHOTS / "office-clue-new.png"), full_page=True)
        page.get_by_role("button", name="登记").click()
        page.get_by_role("status").get_by_text("已登记线索").wait_for()
        assert "公示期未满" not in page.content() and SECRET not in page.content()  # the list holds no text
        page.screenshot(path=str(SHOTS / "office-clues.png"), full_page=True)
        with session_scope() as s:
            newest = s.exec(select(Clue).order_by(col(Clue.id).desc())).first()
            assert newest is not None and newest.status is ClueStatus.PENDING
            clue_id = newest.id
        page.goto(url + f"/office/clues/{clue_id}")
        page.get_by_role("button", name="立即移交").click()
        page.get_by_role("status").get_by_text("已边巡边移").wait_for()
        page.screenshot(path=str(SHOTS / "office-clue-transfer.png"), full_page=True)
    with session_scope() as s:
        clue = s.get(Clue, clue_id)
        assert clue is not None and clue.urgent and clue.letter_id is not None and clue.receiver
        actions = set(s.exec(select(AuditEvent.action).where(AuditEvent.actor == "陶文华")))
        assert {"查阅信访举报", "查阅举报人身份", "线索移交"} <= actions, actions


def test_the_office_clerk_deals_with_alerts_that_did_not_arrive(gateway_url: tuple[str, int]) -> None:
    """The relay gave up on the letter's alerts (a dead robot) and a common problem's leader has no
    address: 我的待办 says so, 未送达提醒 lists them (the address masked, no body), and the clerk
    marks one handled after telephoning."""
    from models.enums import AlertStatus, Role
    from tasks.infra.alerts import RecordingSender, deliver_due, enqueue_alert

    settings, t = get_settings().model_copy(update={"alert_max_attempts": 1}), clock_now()
    with session_scope() as s:
        deliver_due(session=s, sender=RecordingSender(down=True), settings=settings, now=t)
        enqueue_alert(session=s, settings=settings, key="common:1:lead", role=Role.LEADER_IN_CHARGE,
                      title="【共性问题领办】干部选拔任用程序不规范", body="领办通知", link="", now=t)
    url, _ = gateway_url
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.set_default_timeout(30_000)
        log_in(page, url, "陶文华", then="/office/")
        page.wait_for_url(url + "/office/")
        page.locator("#todo-undelivered").get_by_role("link", name="去处理").click()
        page.wait_for_url(url + "/office/alerts")
        summary = page.locator("#alerts-summary").inner_text()
        assert "无接收人1条" in summary and "多次发送失败" in summary
        assert "领办通知" not in page.content() and "（已隐藏·" in page.content()
        page.screenshot(path=str(SHOTS / "office-alerts.png"), full_page=True)
        row = page.locator("#alerts tr", has_text="干部选拔任用程序不规范")
        row.get_by_label("处理情况").fill("已电话通知分管领导")
        row.get_by_role("button", name="标为已处理").click()
        page.get_by_text("已标为已处理").wait_for()
        assert "干部选拔任用程序不规范" not in page.locator("#alerts").inner_text()
    with session_scope() as s:
        from sqlmodel import select

        from models.tables import Alert

        assert s.exec(select(Alert.status).where(Alert.dedupe_key == "common:1:lead")).one() == AlertStatus.HANDLED


def test_stationing_pages_as_the_roles_that_use_them(gateway_url: tuple[str, int]) -> None:
    """巡察指标, 个别谈话 and 巡察成果运用 as their users see them: the 组长 records what his team
    examined at 城东街道 (the shipped 示例 indicators), the 组员 plans and records a talk, and 组织部
    signs for a results letter of 区教育局 and records its use. Screenshots for docs/roles/."""
    from sqlmodel import select

    from models.enums import Stage
    from models.results_use import ResultsLetter
    from models.tables import Inspection, Unit
    from tasks.lifecycle.findings import record_findings
    from tasks.stationing import indicators as ind
    from tests.support.advance import advance
    from tests.support.factories import sample_findings

    url, _ = gateway_url
    settings, t = get_settings(), clock_now()
    with session_scope() as s:
        ind.load_sample(session=s, by="陶文华", now=t)
        by_unit = {u.name: i for i, u in s.exec(select(Inspection, Unit).join(Unit))}
        found = record_findings(session=s, inspection=by_unit["城东街道"], findings=sample_findings()[:2], by="李建国", now=t)
        decision_finding = found[0].id
        advance(s, settings, by_unit["区教育局"].id or 0, Stage.RECTIFICATION, findings=sample_findings(),
                reported_by="李建国", link=settings.run_link(None))
    talk_text = "反映科室经费报销审核不严（测试数据）"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.set_default_timeout(30_000)
        log_in(page, url, "李建国")
        page.goto(url + "/office/indicators")
        page.get_by_label("指标", exact=True).select_option("“三重一大”集体决策（示例）")
        for method in ("个别谈话", "查阅资料"):
            page.get_by_label(method, exact=True).check()
        # The unit's findings are listed with their numbers, to be named here.
        page.get_by_text("本单位已登记的问题（2个").click()
        assert page.locator("section.unit td").first.inner_text() == str(decision_finding)
        page.get_by_label("由此发现的问题编号（用顿号分隔，可不填）").fill(str(decision_finding))
        page.get_by_label("核查说明").fill("查阅2026年党委会记录，比对大额支出")
        page.get_by_role("button", name="登记").click()
        page.get_by_role("status").get_by_text("已登记").wait_for()
        page.get_by_text("指标覆盖：已核查 1/").first.wait_for()
        page.get_by_text("本单位已登记的问题（2个").click()
        page.locator("section.unit td", has_text="“三重一大”集体决策（示例）").wait_for()
        page.screenshot(path=str(SHOTS / "office-indicators.png"), full_page=True)
        assert "import" not in page.inner_text("body")
        page.close()
        # 组员 刘洋 plans a talk and records it on a phone.
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.set_default_timeout(30_000)
        log_in(page, url, "刘洋")
        page.goto(url + "/office/talks")
        page.get_by_label("谈话对象", exact=True).fill("王某某（测试）")
        page.get_by_label("职务").first.fill("财务科科长")
        page.get_by_label("计划日期").fill(t.date().isoformat())
        page.get_by_label("谈话事由").fill("了解经费报销审核情况")
        page.get_by_role("button", name="安排").click()
        page.get_by_role("status").get_by_text("已安排个别谈话").wait_for()
        page.get_by_label("谈话安排编号（按安排进行的谈话，可不填谈话对象）").fill("1")
        page.get_by_label("谈话日期").fill(t.date().isoformat())
        page.get_by_label("谈话内容").fill(talk_text)
        page.get_by_role("button", name="登记").click()
        page.get_by_role("status").get_by_text("已登记谈话记录").wait_for()
        assert talk_text not in page.content()  # the list shows numbers, inspectors and days only
        page.screenshot(path=str(SHOTS / "office-talks.png"), full_page=True)
        page.get_by_role("link", name="第1号（查阅）").click()
        page.locator("#talk-text").wait_for()
        assert talk_text in page.locator("#talk-text").inner_text()
        page.close()
        # 组织部's 吴志刚 signs for the results letter of 区教育局 and records how it was used.
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.set_default_timeout(30_000)
        log_in(page, url, "吴志刚")
        page.goto(url + "/office/results")
        page.get_by_role("button", name="签收此函").click()
        page.get_by_role("status").get_by_text("已签收").wait_for()
        page.get_by_label("运用方式").select_option("提醒谈话")
        page.get_by_label("情况说明").fill("对局党组书记进行提醒谈话")
        page.get_by_role("button", name="登记").click()
        page.get_by_role("status").get_by_text("已登记").wait_for()
        page.screenshot(path=str(SHOTS / "office-results.png"), full_page=True)
        page.close()
    with session_scope() as s:
        org = s.exec(select(ResultsLetter).where(ResultsLetter.receiver == "organisation_department")).one()
        assert org.acknowledged_by == "吴志刚"
