"""The Chinese console's gateway side, in-process (docs/console.md): its script and dictionary
only for a logged-in person, the dictionary keyed to the installed Prefect, and the classic UI
pinned — Prefect's V2 preference cookie is never passed on, /v2 pages go to the classic ones, the
UI is told there is no V2 UI. The pages themselves in a browser: tests/e2e/test_console_zh.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from deployments.gateway.app import HERE, create_app
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.browser import served
from tests.support.gateway import ORIGIN, logged_in

DICTIONARY = HERE / "console-zh.json"


class Upstream:
    """A stand-in Prefect server: records the cookies each request brings."""

    def __init__(self) -> None:
        self.cookies: list[dict[str, str]] = []

    async def page(self, request: Request) -> Response:
        self.cookies.append(dict(request.cookies))
        return HTMLResponse("<html><head><title>Prefect</title></head><body></body></html>")

    async def settings(self, request: Request) -> Response:
        return JSONResponse({"api_url": "http://127.0.0.1:1/api", "csrf_enabled": False, "auth": None, "flags": [],
                             "default_ui": "v1", "available_uis": ["v1", "v2"], "v1_base_url": "/",
                             "v2_base_url": "/v2"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/ui-settings", self.settings), Route("/{path:path}", self.page)])


@pytest.fixture
def gateway(cli_home: Path) -> Iterator[tuple[TestClient, Upstream]]:
    from models.db import session_scope

    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    upstream = Upstream()
    with served(upstream.app(), "upstream") as url:
        client = logged_in(create_app(upstream=url), "陶文华")
        with client:  # one event loop for every request (the gateway's HTTP client keeps its own)
            yield client, upstream


def test_the_script_and_dictionary_need_a_login(gateway: tuple[TestClient, Upstream]) -> None:
    client, _ = gateway
    anonymous = TestClient(client.app, base_url=ORIGIN, follow_redirects=False)
    for path in ("/gateway/console-zh.js", "/gateway/console-zh.json"):
        assert anonymous.get(path).status_code == 401
        assert client.get(path).status_code == 200
    assert client.get("/gateway/console-zh.json").json() == json.loads(DICTIONARY.read_text(encoding="utf-8"))


def test_the_dictionary_is_keyed_to_the_installed_prefect() -> None:
    import prefect

    data: dict[str, Any] = json.loads(DICTIONARY.read_text(encoding="utf-8"))
    assert data["prefect"] == prefect.__version__, "Prefect was upgraded: run tests/e2e/test_console_zh.py, " \
        "translate what it lists, then set the dictionary's version (docs/console.md)"
    allowed = {"ID", "JSON", "CSV"}  # the file formats and ids the browser test allows
    for english, chinese in data["text"].items():
        assert english.strip() == english and isinstance(chinese, str), english  # "" hides (adverts)
        left = set(re.findall(r"[A-Za-z]+", chinese.replace("@label", ""))) - allowed  # @label: the field's title
        assert not left, (english, chinese)
    for pattern, replacement in data["patterns"]:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern  # whole strings only
        re.compile(pattern)
        assert not set(re.findall(r"[A-Za-z]+", replacement.replace("@label", ""))) - allowed, replacement


def test_the_pages_load_the_translator(gateway: tuple[TestClient, Upstream]) -> None:
    client, _ = gateway
    html = client.get("/runs", headers={"accept": "text/html"}).text
    assert '<script src="/gateway/session.js"></script>' in html
    assert '<script src="/gateway/console-zh.js"></script></head>' in html


def test_the_classic_ui_is_pinned(gateway: tuple[TestClient, Upstream]) -> None:
    client, upstream = gateway
    client.cookies.set("prefect_ui_version", "v2")
    r = client.get("/", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert upstream.cookies[-1] == {}  # Prefect never learns the browser asked for V2
    assert 'prefect_ui_version=""' in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    r = client.get("/v2/runs/flow-run/x?tab=Logs", headers={"accept": "text/html"})
    assert (r.status_code, r.headers["location"]) == (303, "/runs/flow-run/x?tab=Logs")
    assert client.get("/v2/assets/index.js").status_code == 404
    settings = client.get("/ui-settings").json()
    assert (settings["default_ui"], settings["available_uis"], settings["v2_base_url"]) == ("v1", ["v1"], None)


NODE_HARNESS = """
const fs = require('fs');
const dict = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const store = {};
global.Storage = function () {};
Storage.prototype.setItem = function (k, v) { store[k] = String(v); };
global.localStorage = new Storage();
global.window = global;
global.document = { body: null, head: null, documentElement: { appendChild() {} },
  createElement() { return {}; }, addEventListener() {} };
global.fetch = () => Promise.resolve({ ok: true, json: () => Promise.resolve(dict) });
eval(fs.readFileSync(process.argv[3], 'utf8'));
setTimeout(() => {
  localStorage.setItem('prefect-show-promotional-content', 'undefined');
  const t = window.xunchaConsoleZh.translate;
  console.log(JSON.stringify({ promo: store['prefect-show-promotional-content'],
    out: JSON.parse(process.argv[4]).map(t) }));
}, 0);
"""


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Shanghai"])
def test_the_translator_shows_beijing_time_in_chinese(zone: str, tmp_path: Path) -> None:
    """The script itself (Node, where installed), in browsers of three timezones: the UI's English
    datetimes — local to the browser — read as Beijing time in Chinese format; words, counts and
    durations from the dictionary; what is not in it (user data) unchanged."""
    import os
    import shutil
    import subprocess
    from datetime import datetime
    from zoneinfo import ZoneInfo

    node = shutil.which("node")
    if node is None:
        pytest.skip("needs Node.js")
    # 2026-12-01 01:28:28 UTC, as the UI formats it in the browser's zone.
    local = datetime(2026, 12, 1, 1, 28, 28, tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone))
    day = f"{local:%b} {local.day}{'th' if local.day in (11, 12, 13) else {1: 'st', 2: 'nd', 3: 'rd'}.get(local.day % 10, 'th')}"
    shown = [f"{day}, {local.year} at {local:%I:%M %p}", f"{local:%Y/%m/%d %I:%M:%S %p}", f"{local:%I:%M:%S %p}",
             "Completed", " (Optional)", "巡察类型 (Optional)", "3 minutes ago", "1 Flow run", "1h 5m 30s",
             "'decision' is a required property", "eta151-carema-e", "Dec 1st, 2026"]
    script = tmp_path / "harness.js"
    script.write_text(NODE_HARNESS, encoding="utf-8")
    r = subprocess.run([node, str(script), str(DICTIONARY), str(HERE / "console-zh.js"), json.dumps(shown)],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "TZ": zone}, check=True)
    result = json.loads(r.stdout)
    assert result["promo"] == "false"
    assert result["out"] == ["2026年12月1日 09:28", "2026年12月1日 09:28:28", "09:28:28", "已完成", " （选填）",
                             "巡察类型（选填）", "3 分钟前", "1 个流程运行", "1小时5分30秒", "请填写“@label”",
                             "eta151-carema-e", "2026年12月1日"]
