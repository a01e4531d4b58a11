"""A member of the public on a phone-sized screen, in a real (headless) browser: opens the public
reporting page (deployments/public, alone under uvicorn on the test's database, nothing else
running), picks the unit in its stationing period, reports a problem by name, gets the query
code, and asks with it whether the report was received. The team then finds a petition of
channel 网络举报 with the informant encrypted. Screenshots go to SHOTS (tests/support/browser.py: the README's docs/screenshots/ when asked)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from deployments.public.app import create_app
from models.crypto import vault
from models.db import session_scope
from models.enums import PetitionChannel
from models.settings import get_settings
from models.tables import Petition
from tests.support.browser import PHONE, SHOTS, chromium, served
from tests.support.public import unit_in_stationing_now

pytestmark = [pytest.mark.browser]

pytest.importorskip("playwright.sync_api")

CONTENT = "反映该单位负责人在食堂采购中指定供应商（测试数据）"
INFORMANT = "网页举报人-测试甲"


@pytest.fixture
def public_url(cli_home: Path) -> Iterator[str]:
    unit_in_stationing_now()
    with served(create_app(settings=get_settings()), "public page") as url:
        yield url


def test_a_named_report_from_a_phone_and_its_query_code(public_url: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE, locale="zh-CN")
        page.set_default_timeout(30_000)
        page.goto(public_url + "/")
        assert "城东街道" in page.locator("#units").inner_text()
        page.get_by_label("反映哪个单位的问题").select_option(label="城东街道（第一巡察组）")
        page.get_by_label("反映的问题（不超过2000字）").fill(CONTENT)
        page.get_by_label("实名反映（便于巡察组核实和反馈）").check()
        page.get_by_label("姓名（实名反映时填写）").fill(INFORMANT)
        page.get_by_label("联系方式（实名反映时填写）").fill("13700001111")
        page.screenshot(path=str(SHOTS / "public-report.png"), full_page=True)
        page.get_by_role("button", name="提交").click()
        page.get_by_text("您反映的问题已收到").wait_for()
        code = page.locator("#query-code").inner_text()
        assert len(code) == 19
        page.screenshot(path=str(SHOTS / "public-received.png"), full_page=True)
        page.get_by_role("link", name="查询办理情况").first.click()
        page.get_by_label("查询码").fill(code)
        page.get_by_role("button", name="查询").click()
        assert "已受理，正在处理" in page.locator("#query-status").inner_text()
        page.screenshot(path=str(SHOTS / "public-query.png"), full_page=True)
    with session_scope() as s:
        p_ = s.exec(select(Petition)).one()
        assert p_.channel == PetitionChannel.ONLINE and p_.content == CONTENT and not p_.anonymous
        assert INFORMANT not in p_.informant_enc
        assert json.loads(vault(get_settings()).decrypt(p_.informant_enc))["name"] == INFORMANT
