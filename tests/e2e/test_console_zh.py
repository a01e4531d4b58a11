"""The Prefect console in Chinese, as the office's clerk meets it (docs/console.md).

陶文华 (巡察办, password and dynamic code) walks the pages a clerk uses — Dashboard, Runs,
Deployments, 发起巡察 and its custom-run form, a run waiting at the plan gate and its 办理 (Resume)
dialog — on a desktop screen and a 390-pixel phone, in a browser whose timezone is UTC. Each page's
visible text (innerText, placeholders, titles, aria-labels) is searched for English words: any
word not on the short ALLOWED list fails the test, and every line holding one is printed, so after
a Prefect upgrade the failure lists exactly what deployments/gateway/console-zh.json lacks.
The run's start time must read in Beijing time and Chinese format, and Prefect's per-browser V2
cookie must not switch the UI. Screenshots: console-*.png in SHOTS (tests/support/browser.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from models.clock import CHINA
from tests.support.browser import PHONE, SHOTS
from tests.support.driver import ready_account, retire_round

pytestmark = [pytest.mark.browser, pytest.mark.stack]

sync_api = pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1400, "height": 1000}
TIMEOUT_MS = 60_000
# English a page may show, each for a reason; everything else is a missing translation.
ALLOWED = {
    "Prefect",  # the engine's name (the product says which engine runs it)
    "JSON",  # a file format: the run form's "使用 JSON 输入"
    "CSV",  # a file format: the logs' download button says what it downloads
    "ID",  # as in "复制 ID": the runs' identifiers are ids
}
WORD = re.compile(r"[A-Za-z]+")
# What the pages collect: the visible text, and the words shown in attributes.
VISIBLE_TEXT = """() => {
  const out = [document.body.innerText];
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label]')) {
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) {
      const v = el.getAttribute(a);
      if (v) out.push(`[${a}] ${v}`);
    }
  }
  return out.join('\\n');
}"""


def english(text: str, ids: set[str]) -> list[str]:
    """The lines of `text` that hold an English word not allowed (ids — run names, uuids — aside)."""
    found = []
    for line in text.splitlines():
        rest = re.sub(r"^\[(placeholder|title|aria-label)\] ", "", line)
        for name in ids:
            rest = rest.replace(name, " ")
        rest = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\b[0-9a-f]{16,}\b", " ", rest)  # uuids, hashes
        rest = re.sub(r"\S+\.py:\w+", " ", rest)  # a deployment's entry point (a code path)
        words = [w for w in WORD.findall(rest) if w not in ALLOWED]
        if words:
            found.append(f"{line.strip()!r}  ← {' '.join(words)}")
    return found


def test_english_detector_finds_english_and_spares_ids() -> None:
    assert english("运行记录\nHide subflows\n复制 ID", set()) == ["'Hide subflows'  ← Hide subflows"]
    assert english("glossy-otter 已完成 4f0c7a1e-1111-2222-3333-444455556666", {"glossy-otter"}) == []


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.support.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def waiting_run(stack: Any) -> Iterator[tuple[UUID, UUID]]:
    """A round started from 发起巡察 with its defaults, waiting at the plan gate: (run, deployment)."""
    from tests.e2e.test_browser import _api_settings, _await_form, _defaults, _wait_for

    round_name = f"中文界面测试-{secrets.randbelow(10**6):06d}"  # digits: the gate's heading repeats it
    with _api_settings(stack):
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name("巡察轮次/发起巡察")
            run = client.create_flow_run_from_deployment(dep.id, parameters={"params": {**_defaults(), "name": round_name}})
        try:
            _wait_for(run.id, paused=True, timeout=300)
            _await_form(run.id)
            yield run.id, dep.id
        finally:
            retire_round(round_name)


class Clerk:
    """陶文华 in one browser context (UTC clock, English-speaking browser) at one screen size."""

    def __init__(self, browser: Any, ui_url: str, viewport: dict[str, int], label: str) -> None:
        self.ui_url, self.label = ui_url, label
        self.context = browser.new_context(viewport=viewport, timezone_id="UTC", locale="en-US")
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.found: dict[str, list[str]] = {}

    def login(self) -> None:
        from tests.e2e.test_browser import log_in

        log_in(self.page, self.ui_url, ready_account("陶文华"))

    def settle(self) -> None:
        """The page has drawn its data (no request in flight for a moment) and been translated."""
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(800)

    def look(self, step: str, ids: set[str]) -> str:
        self.settle()
        text = str(self.page.evaluate(VISIBLE_TEXT))
        left = english(text, ids)
        if left:
            self.found[f"{self.label} {step} ({self.page.url.removeprefix(self.ui_url)})"] = left
        self.page.screenshot(path=str(SHOTS / f"console-{self.label}-{step}.png"), full_page=step != "run-form")
        return text


def _ids(stack: Any) -> set[str]:
    """Generated ids, not words, that the UI lists: the names of the flow runs and task runs, and the
    deployments' versions (the commit they were registered from, e.g. 57ef7ac0)."""
    from prefect.client.orchestration import get_client

    from tests.e2e.test_browser import _api_settings

    with _api_settings(stack), get_client(sync_client=True) as client:
        names = {r.name for r in client.read_flow_runs(limit=200)} | {t.name for t in client.read_task_runs(limit=200)}
        names |= {d.version or "" for d in client.read_deployments()}
    return {n for n in names if n}


def _beijing(stack: Any, run_id: UUID) -> str:
    """The run's start time as the page must show it: Beijing time, Chinese format."""
    from tests.e2e.test_browser import _api_settings, _read

    with _api_settings(stack):
        start = _read(run_id).start_time
    assert isinstance(start, datetime)
    local = start.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def walk(clerk: Clerk, run_id: UUID, deployment_id: UUID, ids: set[str], start_shown: str) -> None:
    page, url = clerk.page, clerk.ui_url
    clerk.login()
    page.goto(url + "/dashboard")
    page.get_by_text("仪表盘").first.wait_for()
    clerk.look("dashboard", ids)
    page.goto(url + "/runs")
    page.get_by_text("运行记录").first.wait_for()
    clerk.look("runs", ids)
    page.goto(url + "/deployments")
    page.get_by_role("link", name="发起巡察", exact=True).first.wait_for()
    clerk.look("deployments", ids)
    page.get_by_role("link", name="发起巡察", exact=True).first.click()
    page.get_by_text("巡察轮次", exact=True).first.wait_for()
    clerk.look("deployment", ids)
    if clerk.label == "phone":  # the heading's actions are in its ⋮ menu there
        page.goto(f"{url}/deployments/deployment/{deployment_id}/run")
    else:
        page.get_by_role("button", name="运行", exact=True).click()
        page.get_by_text("自定义运行", exact=True).click()
    page.get_by_text("巡察轮次名称", exact=True).last.wait_for()  # the form has no teams until one is added
    clerk.look("run-form", ids)
    page.goto(f"{url}/runs/flow-run/{run_id}")
    page.get_by_text("等待中", exact=True).first.wait_for()
    text = clerk.look("waiting-run", ids)
    if clerk.label == "desktop":  # the phone's heading shows the state and links, not the start time
        assert start_shown in text, f"the start time {start_shown} (Beijing) is not on the page"
        assert not re.search(r"\b(AM|PM)\b", text)
    if clerk.label == "phone":  # 办理 is a button on the page itself, not only in the ⋮ menu
        button = page.locator("#xuncha-resume")
        button.wait_for()
        assert button.is_visible() and button.inner_text() == "办理"
        button.click()
    else:
        page.get_by_role("button", name="办理", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("审批决定").first.wait_for()
    clerk.look("resume-dialog", ids)
    # Submitting without a decision: the form's validation message, in Chinese.
    dialog.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_timeout(500)
    clerk.look("resume-required", ids)


def test_the_clerks_pages_are_in_chinese(stack: Any, browser: Any, waiting_run: tuple[UUID, UUID]) -> None:
    run_id, deployment_id = waiting_run
    ids = _ids(stack)
    start_shown = _beijing(stack, run_id)
    SHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    for viewport, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        clerk = Clerk(browser, stack.ui_url, viewport, label)
        try:
            walk(clerk, run_id, deployment_id, ids, start_shown)
        finally:
            found.update(clerk.found)
            clerk.context.close()
    if found:
        report = "\n".join(f"{where}:\n  " + "\n  ".join(lines) for where, lines in found.items())
        print("Untranslated (add to deployments/gateway/console-zh.json):\n" + report)
        pytest.fail(f"English left on {len(found)} page(s):\n{report}")


def test_the_v2_cookie_does_not_switch_the_ui(stack: Any, browser: Any) -> None:
    """Prefect serves its V2 UI to a browser holding prefect_ui_version=v2 (even with the V2 UI
    off by default); through the gateway the classic UI stays, and the cookie is cleared."""
    clerk = Clerk(browser, stack.ui_url, DESKTOP, "v2")
    try:
        clerk.login()
        clerk.context.add_cookies([{"name": "prefect_ui_version", "value": "v2", "url": stack.ui_url}])
        for path in ("/", "/v2/dashboard", "/v2/runs"):
            clerk.page.goto(stack.ui_url + path)
            clerk.page.get_by_text("仪表盘" if path != "/v2/runs" else "运行记录").first.wait_for()
            assert "/v2" not in clerk.page.url, (path, clerk.page.url)
            clerk.page.locator(".p-layout-default, .p-layout-well, .p-context-sidebar").first.wait_for()
        assert "Try V2 UI" not in clerk.page.content()
        cookies = {c["name"]: c["value"] for c in clerk.context.cookies()}
        assert "prefect_ui_version" not in cookies, cookies
    finally:
        clerk.context.close()
