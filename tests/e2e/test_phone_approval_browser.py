"""A leader opens the phone link of 报告审议 (no login) in a real headless Chromium at 390 px:
the page shows what the decision is about — the report's figures and its problems by category,
read from the database as the page opens — never a clue's or a petition's text, and nothing is
wider than the screen. The gateway runs alone (nothing upstream) on the test's database; the
screenshot goes to approve-phone.png in SHOTS (tests/support/browser.py: the README's docs/screenshots/ when asked)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.enums import Gate, Stage
from models.settings import get_settings
from models.tables import Alert, Inspection
from tasks.clues.ledger import store_clue
from tasks.infra.alerts import message_text
from tasks.lifecycle.approvals import open_gate
from tasks.lifecycle.findings import record_findings
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.advance import advance
from tests.support.browser import PHONE, SHOTS, chromium, served
from tests.support.factories import finding, in_stationing, sample_findings

pytestmark = [pytest.mark.browser]

pytest.importorskip("playwright.sync_api")

SECRET = "反映某科长收受礼金（测试哨兵）"


def test_the_report_gate_on_a_phone_shows_what_is_decided(cli_home: Path) -> None:
    settings, t, run_id = get_settings(), clock_now(), str(uuid.uuid4())
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        iid = in_stationing(s, settings, now=t)
        insp = s.get(Inspection, iid)
        assert insp is not None
        record_findings(session=s, inspection=insp, by="巡察组", now=t, findings=[
            *sample_findings(), finding("财务报销审核不严，部分报销凭证缺少审批签字，涉及金额较大且时间跨度较长", category="全面从严治党")])
        store_clue(session=s, inspection=insp, kind="违纪违法线索", summary=SECRET, by="巡察组", now=t)
        advance(s, settings, iid, Stage.REPORTING, now=t)
        approval = open_gate(session=s, settings=settings, round_id=insp.round_id, inspection_id=iid, gate=Gate.REPORT,
                             attempt=1, flow_run_id=run_id, now=t)
        alert = s.exec(select(Alert).where(Alert.dedupe_key == f"gate:{approval.id}:ask")).first()
        assert alert is not None
        code = re.search(r"验证码：(\d{6})", message_text(settings, alert)).group(1)  # type: ignore[union-attr]
    with served(create_app(upstream=f"http://127.0.0.1:{free_port()}"), "gateway") as url, chromium() as browser:
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.goto(f"{url}/approve/{run_id}")
        # Before a valid code the gate's name only; name and code from the alert open the matter.
        assert "报告审议" in page.content() and "发现问题" not in page.content()
        page.get_by_label("审批人（本人姓名）").fill("张明")
        page.get_by_label("验证码").fill(code)
        with page.expect_navigation():
            page.get_by_role("button", name="核验").click()
        subject = page.get_by_role("region", name="审批事项")
        text = subject.inner_text()
        assert "发现问题 4 个（其中立行立改 1 个）" in text and "问题线索 1 件" in text
        assert "全面从严治党（2 个）" in text and "公务接待超标准" in text
        assert SECRET not in page.content()
        # Readable at 390 px: nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(SHOTS / "approve-phone.png"), full_page=True)
