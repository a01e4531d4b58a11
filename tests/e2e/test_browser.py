"""Office staff in a real browser: log in at the gateway, start a round from the Prefect UI's
“Custom run” form of the deployment 发起巡察, then (logged in as the leading group's 张明) approve
the plan gate through the flow run's “Resume” form. And the door as an attacker tries it: five
wrong passwords, the second factor, a 组员 answering a 领导小组 gate, an idle session.

Prefect 3.8.8 serves two UIs; the stack pins the classic (Vue) one at the server root
(PREFECT_SERVER_UI_V2_ENABLED=false), which is the one the README and the alert links
describe, and the walk-through is done there. Only finding
the new run and waiting for its state use the API; every submission is made in headless
Chromium (the Debian package, never a Playwright download). Screenshots of each step go to
test-artifacts/browser/<ui>-NN-<step>.png.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlmodel import select

from models.db import session_scope
from models.enums import ApprovalStatus, Gate, RoundStatus
from models.settings import PROJECT_ROOT
from models.tables import Approval, InspectionRound
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.driver import (
    Login,
    ready_account,
    retire_round,
    totp_code,
)

pytestmark = [pytest.mark.browser, pytest.mark.stack]

sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
UI_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1400, "height": 1000}

# Titles of models/forms.py:RoundParams and TeamSpec in `position` order; the UI appends
# " (Optional)" to fields that have a default, which the Chinese console shows as "（选填）"
# (docs/console.md: the UI's own words are Chinese, so the steps below name them in Chinese).
ROUND_TITLES = ["巡察轮次名称", "巡察类型（选填）", "进驻开始日期", "进驻结束日期", "巡察组及被巡察单位（选填）",
                "由系统组建巡察组（选填）"]
TEAM_TITLES = ["巡察组名称", "组长", "副组长（选填）", "组员（选填）", "被巡察单位"]
# Name and code are optional since the gateway's login names the approver (#14).
PLAN_TITLES = ["审批决定", "审批人（姓名）（选填）", "验证码（选填）", "意见（选填）"]
RUN_URL = re.compile(r"/runs/flow-run/([0-9a-f-]{36})")


def _defaults() -> dict[str, Any]:
    """The demo county's round (deployments/demo/round.yaml): two teams. prefect.yaml gives 发起巡察
    no defaults; the walk puts this round into the form as the office's own defaults would."""
    from deployments.cli.main import demo_round_params

    return demo_round_params()


@contextmanager
def _form_defaults(params: dict[str, Any]) -> Iterator[None]:
    """发起巡察's form prefilled with `params` and offering the org data's lists (as `load-org`
    leaves it), for the walk; back to no defaults afterwards."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    from tasks.ops.forms import refresh_forms

    with session_scope() as s:
        refresh_forms(session=s)
    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name("巡察轮次/发起巡察")
        client.update_deployment(dep.id, DeploymentUpdate(parameters={"params": params}))
    try:
        yield
    finally:
        with get_client(sync_client=True) as client:
            client.update_deployment(dep.id, DeploymentUpdate(parameters={}))


def _glimpse_toast(page: Any, text: str) -> None:
    """Wait a while for a confirmation toast, for the screenshot; it lasts a few seconds and
    is missed on a loaded machine, so its absence proves nothing: the API checks that follow
    decide whether the submission took effect."""
    try:
        page.get_by_text(text).first.wait_for(timeout=15_000)
    except PlaywrightTimeoutError:
        pass


def _in_order(seen: list[str], expected: list[str]) -> bool:
    """`expected` occur in `seen` in this order (other labels may come between)."""
    it = iter(seen)
    return all(any(s == e for s in it) for e in expected)


def _labels(scope: Any) -> list[str]:
    return [t.strip() for t in scope.locator("label").all_inner_texts() if t.strip()]


class V1:
    """The classic UI (Vue, unprefixed routes). Its `<label for=…>` has no matching input id,
    so get_by_label finds nothing: go from the label text to its schema-form property."""

    name = "v1"
    root = "/deployments"

    kind_field = "巡察类型（选填）"  # the label text

    @staticmethod
    def nav(page: Any, item: str) -> None:
        page.get_by_role("button", name=item, exact=True).click()  # sidebar links have role=button

    @staticmethod
    def open_custom_run(page: Any) -> None:
        page.get_by_role("button", name="运行", exact=True).click()
        page.get_by_text("自定义运行", exact=True).click()

    @staticmethod
    def _property(scope: Any, title: str) -> Any:
        return scope.get_by_text(title, exact=True).locator(
            "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' schema-form-property ')][1]")

    @classmethod
    def textbox(cls, scope: Any, title: str) -> Any:
        return cls._property(scope, title).locator("textarea")

    @classmethod
    def select_value(cls, scope: Any, title: str) -> str:
        return str(cls._property(scope, title).locator(".p-select-button__control").inner_text()).strip()

    @classmethod
    def choose(cls, page: Any, scope: Any, title: str, value: str) -> None:
        # A mouse click opens this combobox and it shuts again at once in headless Chromium
        # (its search box loses focus); opening it from the keyboard keeps it open.
        # On a fresh clone the click on the option was sometimes lost (the list shut first): the
        # choice is read back and made again, by the keyboard, until it shows.
        control = cls._property(scope, title).locator(".p-select-button__control")
        option = page.get_by_role("option", name=value, exact=True)
        for attempt in range(4):
            if attempt == 0:
                control.click()
            else:
                control.focus()
                control.press("ArrowDown")
            try:
                option.wait_for(state="visible", timeout=1500)
            except sync_api.TimeoutError:
                control.focus()
                control.press("ArrowDown")
            try:
                option.click(timeout=5000)
            except sync_api.TimeoutError:
                continue
            if cls.select_value(scope, title) == value:
                return
            page.wait_for_timeout(300)
            if cls.select_value(scope, title) == value:
                return

    @staticmethod
    def open_resume(page: Any) -> Any:
        page.get_by_role("button", name="办理", exact=True).click()
        return page.get_by_role("dialog")

    submit_resume = "提交"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


def _read(run_id: UUID) -> Any:
    from tests.support.driver import read  # imported late: see _api_settings

    return read(run_id)


def _wait_for(run_id: UUID, **kwargs: Any) -> Any:
    from tests.support.driver import wait_for

    return wait_for(run_id, **kwargs)


def _api_settings(stack: Any) -> Any:
    """Point this process's Prefect client at the stack's server.

    Prefect builds its global settings when it is first imported. If that happens at test
    collection, before the `stack` fixture exports PREFECT_API_URL, get_client() finds no API
    URL and quietly starts an ephemeral server of its own (slow, and it times out on a busy
    machine). So this module imports Prefect only inside the test, and pins the URL here.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings(updates={PREFECT_API_URL: stack.api_url})


def _await_form(run_id: UUID, timeout: float = 120) -> None:
    """A run turns Paused a moment before it stores its form (schema, then description);
    the UI shows the form only if it is there when the Resume dialog opens."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.input.run_input import keyset_from_paused_state

    state = _read(run_id).state
    keyset = state.state_details.run_input_keyset or keyset_from_paused_state(state)
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        for key in (keyset["schema"], keyset["description"]):
            while True:
                try:
                    client.read_flow_run_input(run_id, key)
                    break
                except ObjectNotFound:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.25)


def _find_run(round_name: str, timeout: float = 120) -> UUID:
    """The run of 发起巡察 whose params.name is `round_name` (exactly one)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name("巡察轮次/发起巡察")
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep.id])))
        mine = [r for r in runs if isinstance(r.parameters.get("params"), dict)
                and r.parameters["params"].get("name") == round_name]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(mine) == 1, f"expected one run with params.name={round_name}, found {len(mine)}"
    return mine[0].id


class Walk:
    """One member of the office in one UI, in its own browser context."""

    def __init__(self, ui: Any, browser: Any, stack: Any, defaults: dict[str, Any]) -> None:
        self.ui, self.stack, self.defaults = ui, stack, defaults
        self.expected = defaults  # what the form sends (start_round removes a team)
        self.round_name = f"界面测试轮次-{ui.name}-{secrets.token_hex(3)}"
        self.approver = "张明"  # the leading group's account in the demo county
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(UI_TIMEOUT_MS)
        self.page.set_default_navigation_timeout(60_000)
        self.run_id: UUID | None = None
        self.problems: list[str] = []  # failed requests and console errors, written out on failure
        self.page.on("response", self._on_response)
        self.page.on("console", self._on_console)

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            req = response.request
            self.problems.append(f"{response.status} {req.method} {response.url} {req.post_data or ''}"[:2000])

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}"[:2000])

    def login(self, who: Login) -> None:
        log_in(self.page, self.stack.ui_url, who)

    def logout(self) -> None:
        self.page.get_by_role("button", name="退出", exact=True).click()
        self.page.get_by_text("已退出登录").wait_for()

    def shot(self, step: str, tall: bool = False) -> None:
        page = self.page
        if tall:  # the long form scrolls inside the layout; a tall viewport shows all of it
            page.set_viewport_size({"width": VIEWPORT["width"], "height": 3000})
        page.screenshot(path=str(ARTIFACTS / f"{self.ui.name}-{step}.png"), full_page=True)
        if tall:
            page.set_viewport_size(VIEWPORT)

    def start_round(self) -> None:
        """Deployments → 发起巡察 → Run → Custom run; change the name, keep the defaults, submit."""
        ui, page = self.ui, self.page
        self.login(ready_account("陶文华"))  # 巡察办 starts rounds
        page.goto(self.stack.ui_url + ui.root)
        ui.nav(page, "部署")
        page.get_by_role("link", name="发起巡察", exact=True).first.click()
        page.get_by_role("button", name="运行", exact=True).wait_for()
        self.shot("01-deployment")
        ui.open_custom_run(page)

        name_box = ui.textbox(page, "巡察轮次名称")
        assert name_box.input_value() == self.defaults["name"]  # waits for the form
        page.get_by_text("被巡察单位", exact=True).last.wait_for()
        labels = _labels(page)
        assert _in_order(labels, ROUND_TITLES), labels
        assert _in_order(labels, TEAM_TITLES), labels
        assert ui.select_value(page, ui.kind_field) == self.defaults["kind"]
        self.shot("02-run-form-defaults", tall=True)

        # The second team is removed from the list (its trash button), and stays removed.
        teams = page.locator(".schema-form-property-array-item").filter(has_text="巡察组名称")
        assert teams.count() == len(self.defaults["teams"]) == 2
        teams.nth(1).locator(".schema-form-property-array-item__control").first.locator(":scope > button").first.click()
        page.wait_for_function("() => [...document.querySelectorAll('.schema-form-property-array-item')]"
                               ".filter(e => e.innerText.includes('巡察组名称')).length === 1")
        self.expected = {**self.defaults, "teams": self.defaults["teams"][:1]}

        name_box.fill(self.round_name)
        assert name_box.input_value() == self.round_name
        self.shot("03-run-form-filled", tall=True)
        self.submit_run()
        self.shot("04-run-submitted")

    def submit_run(self) -> None:
        """Submit, as a person would: if the server answers “Oops” (Prefect's SQLite server says 503
        when its database is busy; nothing was created), submit again, at most three times."""
        page = self.page
        for _ in range(3):
            refused = sum("create_flow_run" in p for p in self.problems)
            with page.expect_response(lambda r: "create_flow_run" in r.url, timeout=60_000) as answer:
                page.get_by_role("button", name="提交", exact=True).click()
            if answer.value.ok:
                _glimpse_toast(page, "立即开始")  # await_plan_gate finds the run through the API
                return
            assert answer.value.status == 503, f"create_flow_run answered {answer.value.status}"
            assert sum("create_flow_run" in p for p in self.problems) == refused + 1
            time.sleep(2)
        raise AssertionError("the server refused the run three times")

    def await_plan_gate(self) -> None:
        """The run the browser created (found by its parameter) stops at the plan gate."""
        self.run_id = _find_run(self.round_name)
        submitted = _read(self.run_id).parameters["params"]
        # The form sends the optional “由系统组建巡察组” left empty as an explicit null.
        assert submitted == {**self.expected, "name": self.round_name, "auto_teams": None}, submitted
        fr = _wait_for(self.run_id, paused=True, timeout=300)
        assert fr.state is not None and fr.state.is_paused(), fr.state
        assert str(fr.state.state_details.pause_key) == "plan-0-1-0"  # type: ignore[union-attr]
        _await_form(self.run_id)

    def approve_plan(self) -> None:
        """As 张明 (领导小组): Runs → the run → Resume: 批准, submit. Name and code stay empty: the
        gateway's login says who answers."""
        ui, page = self.ui, self.page
        self.logout()
        self.login(ready_account(self.approver))
        page.goto(self.stack.ui_url + ui.root)
        ui.nav(page, "运行记录")
        page.get_by_placeholder("按流程运行名称搜索").filter(visible=True).first.fill(self.round_name)
        page.get_by_role("link", name=f"巡察轮次·{self.round_name}", exact=True).first.click()
        page.wait_for_url(RUN_URL)
        assert RUN_URL.search(page.url).group(1) == str(self.run_id)  # type: ignore[union-attr]
        page.get_by_text("等待中", exact=True).first.wait_for()
        dialog = ui.open_resume(page)
        # The gate's description says what is decided (tasks/lifecycle/gate_summary.py): teams, roles, units.
        dialog.get_by_text(f"{self.round_name}：方案及组成人员审批").wait_for()
        dialog.get_by_text(f"巡察类型：{self.defaults['kind']}").wait_for()
        dialog.get_by_text("回避及未选配说明").wait_for()
        ui.textbox(dialog, "审批人（姓名）（选填）").wait_for()
        assert _in_order(_labels(dialog), PLAN_TITLES), _labels(dialog)
        self.shot("05-resume-form-empty")
        ui.choose(page, dialog, "审批决定", "批准")
        assert ui.select_value(dialog, "审批决定") == "批准"
        self.shot("06-resume-form-filled")
        for _ in range(3):  # as in submit_run: a busy SQLite server may say 503; then submit again
            with page.expect_response(lambda r: r.url.endswith("/resume"), timeout=60_000) as answer:
                dialog.get_by_role("button", name=ui.submit_resume, exact=True).click()
            if answer.value.status != 503:
                break
            time.sleep(2)
        assert answer.value.ok, f"resume answered {answer.value.status}"
        _glimpse_toast(page, "已提交办理")  # left_gate() asks the API whether it did
        self.shot("07-resumed")

    def left_gate(self) -> bool:
        return not _read(self.run_id).state.is_paused()  # type: ignore[arg-type]

    def await_units_working(self) -> None:
        """Past the plan the round run starts its units and waits for them (not Completed with a
        Retry button while they work): suspended under round-units-<round>-0."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            state = _read(self.run_id).state  # type: ignore[arg-type]
            assert state is not None and not (state.is_failed() or state.is_crashed()), state
            if state.is_paused() and str(state.state_details.pause_key).startswith("round-units-"):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"the round run did not wait for its units: {_read(self.run_id).state}")  # type: ignore[arg-type]
        self.page.reload()
        self.page.get_by_text("等待中", exact=True).first.wait_for()  # Prefect's "Suspended", in Chinese
        self.shot("08-units-working")

    def check_records(self) -> None:
        """The application recorded the round as started and who approved the plan (the person
        logged in, proven by the gateway's receipt)."""
        with session_scope() as s:
            rnd = s.exec(select(InspectionRound).where(InspectionRound.name == self.round_name)).one()
            assert rnd.status == RoundStatus.ACTIVE
            assert rnd.flow_run_id == str(self.run_id)
            plan = s.exec(select(Approval).where(Approval.round_id == rnd.id, Approval.gate == Gate.PLAN)).one()
            assert plan.status == ApprovalStatus.DECIDED
            assert (plan.decision, plan.approver, plan.comment) == ("批准", self.approver, "")
            assert plan.decided_at is not None


def test_start_round_and_approve_plan_in_browser(stack: Any, browser: Any) -> None:
    """The classic UI, step by step: start a round from its deployment, approve the plan gate."""
    with _api_settings(stack):
        _walk_both(stack, browser)


def _walk_both(stack: Any, browser: Any) -> None:
    from prefect.settings import PREFECT_API_URL

    assert PREFECT_API_URL.value() == stack.api_url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    defaults = _defaults()
    with _form_defaults(defaults):
        _walk(stack, browser, defaults, started)


def _walk(stack: Any, browser: Any, defaults: dict[str, Any], started: float) -> None:
    walks = [Walk(V1, browser, stack, defaults)]
    # The address people open is the gateway's login page, then the classic UI the README and
    # the alert links describe (the stack sets PREFECT_SERVER_UI_V2_ENABLED=false).
    page = walks[0].page
    page.goto(stack.ui_url)
    page.get_by_text("请使用本人账户登录").wait_for()
    assert "/login" in page.url, page.url

    def phase(name: str) -> None:
        print(f"[browser] {name} at {time.monotonic() - started:.1f}s")

    try:
        for w in walks:
            w.start_round()
            phase(f"{w.ui.name}: round submitted")
            w.await_plan_gate()
            phase(f"{w.ui.name}: run paused at the plan gate")
            w.approve_plan()
            phase(f"{w.ui.name}: plan approved")
            deadline = time.monotonic() + 30
            while not w.left_gate() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert w.left_gate(), f"{w.ui.name}: still paused 30 s after resuming in the UI"
            w.await_units_working()
            phase(f"{w.ui.name}: round run waits for its units")
            w.check_records()
            phase(f"{w.ui.name}: records checked")
            retire_round(w.round_name)  # the next tests may use the same units and people
    except BaseException:
        for w in walks:  # what each page showed when it went wrong
            try:
                w.shot("99-failure")
                (ARTIFACTS / f"{w.ui.name}-99-failure.html").write_text(w.page.content(), encoding="utf-8")
                (ARTIFACTS / f"{w.ui.name}-99-failure.log").write_text("\n".join(w.problems), encoding="utf-8")
            except Exception:  # noqa: BLE001 - keep the original error
                pass
            try:  # a round left waiting would hold its units and people from the session's later tests
                retire_round(w.round_name)
            except Exception:  # noqa: BLE001 - no round was created; keep the original error
                pass
        raise
    finally:
        for w in walks:
            w.context.close()


# The door, as a person (or an attacker) meets it ------------------------------------------

def _submit(page: Any, button: str) -> None:
    """Press a button of a gateway form and wait for the page it answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def log_in(page: Any, ui_url: str, who: Login) -> None:
    """The gateway's login page, then the second factor where the role needs one."""
    page.goto(ui_url + "/login")
    page.get_by_label("姓名", exact=True).fill(who.name)
    page.get_by_label("密码", exact=True).fill(who.password)
    _submit(page, "登录")
    if who.secret:
        page.get_by_label("动态口令", exact=True).fill(totp_code(who.name, who.secret))
        _submit(page, "验证")
    # The gateway's bar: in the UI, or on 我的待办 where the leading group and the receivers land.
    page.locator("#xuncha-user, #office-user").get_by_text(f"{who.name}（").wait_for()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    p = context.new_page()
    p.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield p
    finally:
        context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"door-{name}.png"), full_page=True)


def test_five_wrong_passwords_lock_the_account(stack: Any, page: Any) -> None:
    who = ready_account("黄磊")
    # A browser of its own behind the HTTPS front (the stack believes 127.0.0.1's X-Forwarded-For):
    # its failures do not make the other tests' logins from loopback wait.
    page.context.set_extra_http_headers({"x-forwarded-for": f"198.19.{secrets.randbelow(250)}.{secrets.randbelow(250)}"})
    page.goto(stack.ui_url + "/runs")  # sent to the login page first
    page.wait_for_url(re.compile(r"/login\?next="))
    errors: list[str] = []
    while len([e for e in errors if not e.startswith("尝试次数过多")]) < 5:  # the stack locks at five
        page.get_by_label("姓名", exact=True).fill(who.name)
        page.get_by_label("密码", exact=True).fill(f"wrong-password-{len(errors)}")
        _submit(page, "登录")
        errors.append(page.get_by_role("alert").inner_text())
        if errors[-1].startswith("尝试次数过多"):  # the gateway's wait before the next try
            time.sleep(int(re.search(r"请(\d+)秒", errors[-1]).group(1)))  # type: ignore[union-attr]
    # Every wrong password reads alike (no count of tries left, no word of the lock).
    assert {e for e in errors if not e.startswith("尝试次数过多")} == {"姓名或密码不正确"}, errors
    time.sleep(5)  # past the name's last wait
    page.get_by_label("姓名", exact=True).fill(who.name)
    page.get_by_label("密码", exact=True).fill(who.password)  # the right one, too late
    _submit(page, "登录")
    assert page.get_by_role("alert").inner_text().startswith("账户已锁定（连续5次登录失败）")
    _shot(page, "locked")
    assert page.request.post(stack.ui_url + "/api/flow_runs/filter", data={}).status == 401
    ready_account("黄磊")  # the office's reset lifts the lock (later tests use the account)


def test_second_factor_is_bound_at_first_login_and_asked_after(stack: Any, page: Any) -> None:
    import pyotp

    who = ready_account("柳青", first_login=True)  # 巡察办: initial password, no second factor yet
    page.goto(stack.ui_url + "/login")
    page.get_by_label("姓名", exact=True).fill(who.name)
    page.get_by_label("密码", exact=True).fill(who.password)
    _submit(page, "登录")
    page.get_by_text("绑定后不再显示").wait_for()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert f"secret={secret}" in (page.locator("#totp-uri").text_content() or "")  # inside a closed <details>
    _shot(page, "totp-enrol")
    page.get_by_label("动态口令", exact=True).fill(pyotp.TOTP(secret).now())
    _submit(page, "验证")
    page.get_by_text("首次登录（或密码被重置）后须设置本人的新密码").wait_for()  # then the initial password goes
    page.get_by_label("原密码", exact=True).fill(who.password)
    page.get_by_label("新密码", exact=True).fill("liuqing-2026-own")
    page.get_by_label("再次输入新密码", exact=True).fill("liuqing-2026-own")
    _submit(page, "保存新密码")
    page.locator("#xuncha-user").get_by_text("柳青（巡察办）").wait_for()
    page.get_by_role("button", name="退出", exact=True).click()
    page.get_by_text("已退出登录").wait_for()
    # Next time: the code is asked and the secret is not shown again.
    page.get_by_label("姓名", exact=True).fill(who.name)
    page.get_by_label("密码", exact=True).fill("liuqing-2026-own")
    _submit(page, "登录")
    page.get_by_label("动态口令", exact=True).fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    _submit(page, "验证")
    assert "动态口令不正确" in page.get_by_role("alert").inner_text()
    assert secret not in page.content()
    page.get_by_label("动态口令", exact=True).fill(totp_code(who.name, secret))
    _submit(page, "验证")
    page.locator("#xuncha-user").get_by_text("柳青（巡察办）").wait_for()
    _shot(page, "totp-in")
    # Another 巡察办 account resets 柳青's second factor (a lost phone): 柳青's open page, at its next
    # check of the session (every 10 s, session.js), is at the login page saying the office changed
    # the account — not "已退出登录". (No page.goto here: it would race that check's own navigation.)
    from models.clock import now
    from models.tables import Account
    from tasks.identity.accounts import reset_second_factor

    with session_scope() as s:
        office = s.exec(select(Account).where(Account.name == "陶文华")).one()
        assert reset_second_factor(session=s, by=office, name=who.name, now=now()).sessions_ended == 1
    page.wait_for_url(re.compile(r"/login\?reason=changed"), timeout=60_000)
    assert page.get_by_role("status").inner_text() == (
        "巡察办调整了您的账户（重置密码、重置动态口令或停用账户），本次登录已结束；请重新登录，无法登录的请联系巡察办")
    _shot(page, "changed")


def test_a_member_cannot_answer_the_leading_groups_gate(stack: Any, page: Any) -> None:
    from prefect.client.orchestration import get_client

    round_name = f"界面越权测试-{secrets.token_hex(3)}"
    with _api_settings(stack):
        # The sync client: Playwright's sync API runs an event loop, where run_deployment turns async.
        with get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name("巡察轮次/发起巡察")
            run = client.create_flow_run_from_deployment(dep.id, parameters={"params": {**_defaults(), "name": round_name}})
        try:
            _wait_for(run.id, paused=True, timeout=300)
            _await_form(run.id)
            log_in(page, stack.ui_url, ready_account("郭涛"))  # 巡察组组员
            page.goto(f"{stack.ui_url}/runs/flow-run/{run.id}")
            page.get_by_text("等待中", exact=True).first.wait_for()
            dialog = V1.open_resume(page)
            V1.textbox(dialog, "审批人（姓名）（选填）").wait_for()
            V1.choose(page, dialog, "审批决定", "批准")
            V1.textbox(dialog, "审批人（姓名）（选填）").fill("张明")  # a name typed is no proof
            with page.expect_response(lambda r: r.url.endswith("/resume"), timeout=60_000) as answer:
                dialog.get_by_role("button", name="提交", exact=True).click()
            assert answer.value.status == 403
            banner = page.locator("#xuncha-refused")
            banner.wait_for()
            assert "未获准：“巡察组组员”无权办理“方案及组成人员审批”，应由巡察工作领导小组办理" in banner.inner_text()
            time.sleep(2)
            # Prefect's own toast for any 401/403 ("Oops… Please check your connection") would send the
            # refused person to check the network beside the reason above: it is taken away.
            for text in ("请检查网络连接后重试", "Please check your connection"):
                assert page.get_by_text(text).count() == 0, text
            _shot(page, "member-refused")
            assert _read(run.id).state.is_paused()
            with session_scope() as s:
                plan = s.exec(select(Approval).where(Approval.flow_run_id == str(run.id))).one()
                assert plan.status == ApprovalStatus.PENDING and plan.approver == ""
        finally:
            retire_round(round_name)


def test_an_idle_session_ends(stack: Any, page: Any) -> None:
    """A gateway with a 45-second idle time-out (longer than the runs page's 30-second refresh) beside the stack's own (same server, same data):
    the UI keeps polling, but without the person doing anything the session ends and the page
    goes back to the login page."""
    from deployments.ops.stack import free_port

    url = stack.start_gateway(name="gateway-idle", port=free_port(), env={"XUNCHA_SESSION_IDLE_MINUTES": "0.75"})
    try:
        log_in(page, url, ready_account("罗敏"))
        page.goto(url + "/runs")
        page.locator("#xuncha-user").wait_for()
        polled = []
        page.on("request", lambda r: polled.append(r.url) if "/api/" in r.url else None)
        page.wait_for_url(re.compile(r"/login\?reason=idle"), timeout=150_000)
        assert page.get_by_role("status").inner_text() == "长时间未操作，会话已超时，请重新登录"
        assert polled, "the UI did not poll while idle: the test proves nothing"
        _shot(page, "idle")
        assert page.request.post(url + "/api/flow_runs/filter", data={}).status == 401
    finally:
        stack.kill("gateway-idle")


def test_a_bad_round_is_refused_in_the_form_before_any_run(stack: Any, page: Any) -> None:
    """The office submits 发起巡察's form with a unit given to both teams (both are choices of the
    form's lists): the gateway refuses before any run exists, and the form shows why in Chinese."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    bad = _defaults()
    bad["name"] = f"界面拒绝测试-{secrets.token_hex(3)}"
    bad["teams"][1]["units"] = ["城东街道"]
    with _api_settings(stack), _form_defaults(bad):
        with get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name("巡察轮次/发起巡察")
            filters = DeploymentFilter(id=DeploymentFilterId(any_=[dep.id]))
            before = client.count_flow_runs(deployment_filter=filters)
        log_in(page, stack.ui_url, ready_account("陶文华"))
        page.goto(f"{stack.ui_url}/deployments/deployment/{dep.id}")
        V1.open_custom_run(page)
        assert V1.textbox(page, "巡察轮次名称").input_value() == bad["name"]
        with page.expect_response(lambda r: "create_flow_run" in r.url, timeout=60_000) as answer:
            page.get_by_role("button", name="提交", exact=True).click()
        assert answer.value.status == 400
        banner = page.locator("#xuncha-refused")
        banner.wait_for()
        text = banner.inner_text()
        assert "未运行“发起巡察”，请修改表单后再提交" in text, text
        assert "单位“城东街道”同时分配给了 第一巡察组 和 第二巡察组" in text, text
        assert "Traceback" not in text and "\\n" not in text
        _shot(page, "round-refused-in-form")
        with get_client(sync_client=True) as client:
            assert client.count_flow_runs(deployment_filter=filters) == before
    with session_scope() as s:
        assert s.exec(select(InspectionRound).where(InspectionRound.name == bad["name"])).first() is None
