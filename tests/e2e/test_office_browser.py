"""A receiver in a real (headless) browser on a phone-sized screen: 纪委监委's 郑文斌 logs in at
the gateway, lands on 我的待办, opens 移交本单位 and signs for a transfer letter with one click
(no code: the login proved who he is). The office pages need no Prefect server, so the gateway
runs alone here (uvicorn in a thread) on the test's database. Screenshots go to
docs/screenshots/ for the README."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.settings import PROJECT_ROOT, get_settings
from models.tables import ClueLetter
from tasks.clues import ledger
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.driver import ready_account
from tests.support.factories import in_stationing

pytestmark = [pytest.mark.browser]

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = PROJECT_ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
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
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(upstream=f"http://127.0.0.1:{free_port()}"),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", letter_id
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_a_receiver_signs_for_a_letter_on_a_phone(gateway_url: tuple[str, int]) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium")
    url, letter_id = gateway_url
    acc = ready_account("郑文斌")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
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
        finally:
            browser.close()
    with session_scope() as s:
        letter = s.get(ClueLetter, letter_id)
        assert letter is not None and letter.acknowledged_by == "郑文斌"
