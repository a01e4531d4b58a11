"""The command line to the same standard as the pages: a mistyped command is answered in one
Chinese line and every help page is Chinese (deployments/cli/usage.py); a business command
with no stack running says so instead of starting a temporary Prefect server; `up` prints the
address it listens on and points the demo county at the inbox it started; `load-org` makes a
role's recipient addresses exactly what the file says."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select
from typer.main import get_command
from typer.testing import CliRunner

from deployments.cli.main import app
from deployments.ops.stack import free_port
from models.db import get_engine, session_scope
from models.enums import AlertStatus, Role
from models.settings import get_settings
from models.tables import Alert, AuditEvent, Person, RoleRecipient, Unit
from tests.conftest import DEMO_ORG
from tests.support.cli import login
from tests.support.factories import round_data

COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
# Words the help texts themselves carry: file formats, the engine's and libraries' names,
# variables and examples a clerk types as they are.
NAMES = {"YAML", "Excel", "xlsx", "csv", "Prefect", "PostgreSQL", "PNG", "SHA", "manifest", "sha256", "webhook",
         "YYYY", "MM", "DD", "sha", "var", "archive", "round", "unit", "XUNCHA", "PUBLIC", "PORT", "leading", "group", "office",
         "up", "findings", "common", "problems", "submit",
         "replaced",  # replaced: the folder name restore --replace moves old data into
         "CRYPTO", "PROFILE", "gm", "intl"}  # the setting XUNCHA_CRYPTO_PROFILE and its two values


def cli(*args: str, typed: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=typed)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def english(text: str, typed: list[str] | None = None) -> set[str]:
    """Latin words left in `text` once option names, command names, the program and what the
    person typed (echoed back) are taken out."""
    for word in typed or []:
        text = text.replace(f"“{word}”", " ").replace(f"：{word}", " ")
    text = re.sub(r"--[a-z][a-z-]*", " ", text)
    text = re.sub(r"[^\s：]*/[^\s（）]*", " ", text)  # a path (a default file, an example folder)
    for name in sorted(COMMANDS, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", text)
    text = re.sub(r"\S*xuncha\b", " ", text)
    return set(re.findall(r"[A-Za-z]{2,}", text))


BAD = [
    (["start-round"], "缺少参数“巡察轮次参数”"),
    (["import-findings", "问题.csv", "--unit", "城东街道"], "缺少选项 --round"),
    (["status", "--verbose"], "没有选项 --verbose"),
    (["stats", "--roud", "一轮"], "没有选项 --roud（是否要用 --round）"),
    (["up", "--port", "abc"], "选项 --port 的值不对：应为整数"),
    (["sweep", "--rate-below", "许多"], "选项 --rate-below 的值不对：应为数字"),
    (["show-clue", "第三件"], "参数“线索编号”的值不对：应为整数"),
    (["strat-round", "轮次.yaml"], "没有命令“strat-round”（是否要用 start-round）"),
    (["bogus"], "没有命令“bogus”"),
    (["status", "多余"], "多余的参数：多余"),
    (["import-findings", "问题.csv", "--round"], "选项 --round 后面缺少值"),
    (["export-org", "x.xlsx", "--with-addresses=yes"], "选项 --with-addresses 不带值"),
]


@pytest.mark.parametrize(("args", "phrase"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_mistyped_command_is_answered_in_chinese(cli_home: Path, args: list[str], phrase: str) -> None:
    code, out = cli(*args)
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, out
    assert phrase in lines[0] and "用法：xuncha" in lines[0] and "--help" in lines[0], out
    assert not english(lines[0], args) - NAMES, (english(lines[0], args), out)


def test_the_console_answers_the_same(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The console entry point (deployments/cli/failures.py) too: no "内部错误（MissingParameter）"."""
    from deployments.cli.failures import run

    code = run(get_command(app), ["start-round"])
    err = capsys.readouterr().err
    assert code == 2 and "缺少参数“巡察轮次参数”" in err and "内部错误" not in err, err


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_page_is_chinese(cli_home: Path, command: str | None) -> None:
    code, out = cli(*([command] if command else []), "--help")
    assert code == 0, out
    assert out.startswith("用法：xuncha") and "显示本说明并退出" in out, out
    assert ("选项：" in out) and ("命令：" in out) == (command is None)
    assert not english(out) - NAMES, (english(out) - NAMES, out)


def test_no_arguments_shows_the_help(cli_home: Path) -> None:
    code, out = cli()
    assert code == 0 and out.startswith("用法：xuncha [选项] 命令") and "start-round" in out


def test_with_no_stack_a_business_command_says_so(cli_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No PREFECT_API_URL, and Prefect's default profile allowing its temporary server: the
    command refuses in Chinese, having started no server (a temporary one would have answered
    "ObjectNotFound" from its own empty database)."""
    from prefect.context import refresh_global_settings_context
    from prefect.settings import PREFECT_API_URL

    from tasks.planning.org import load_org, read_org_file

    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    login("陶文华")
    params = tmp_path / "轮次.yaml"
    params.write_text(yaml.safe_dump(round_data(), allow_unicode=True), encoding="utf-8")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true")
    refresh_global_settings_context()
    started: list[Any] = []
    import prefect.server.api.server as server

    monkeypatch.setattr(server.SubprocessASGIServer, "start", lambda *a, **k: started.append(a))
    try:
        assert not PREFECT_API_URL.value()
        code, out = cli("start-round", str(params))
    finally:
        monkeypatch.undo()
        refresh_global_settings_context()
    assert code == 2 and "流程平台未运行，请先运行" in out and out.strip().endswith("xuncha up"), out
    assert started == []
    assert "PREFECT_SERVER_EPHEMERAL_ENABLED" not in os.environ  # put back after the command


def test_up_prints_its_port_and_the_demo_county_follows_the_inbox(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`up --port P --inbox-port Q`, the processes themselves left out: the message names P, the
    stack's alert links P, and every demo address the inbox on Q."""
    import deployments.cli.main as cli_module
    from deployments.ops.stack import Stack
    from tests.support.stacks import use_environment

    seen: dict[str, Any] = {}
    for name in ("start_server", "deploy", "start_worker", "start_relay"):
        monkeypatch.setattr(Stack, name, lambda self, *a, **k: seen.setdefault("env", self.env()))
    monkeypatch.setattr(Stack, "start_public", lambda self, *a, **k: "http://127.0.0.1:1")
    monkeypatch.setattr(Stack, "start_inbox", lambda self, port, file: seen.setdefault("inbox", port))
    monkeypatch.setattr(cli_module, "_start_demo_round", lambda ui_url: seen.setdefault("ui_url", ui_url))
    port, inbox = free_port(), free_port()
    saved = dict(os.environ)
    try:
        code, out = cli("up", "--port", str(port), "--inbox-port", str(inbox))
    finally:
        use_environment(saved)
    assert code == 0, out
    assert f"登录地址：http://127.0.0.1:{port}" in out and "4200" not in out, out
    assert seen["env"]["XUNCHA_UI_URL"] == seen["ui_url"] == f"http://127.0.0.1:{port}"
    assert seen["inbox"] == inbox and f"演示收件箱：http://127.0.0.1:{inbox}" in out
    with Session(get_engine()) as s:
        addresses = [r.url for r in s.exec(select(RoleRecipient))] + [
            u.secretary_contact for u in s.exec(select(Unit)) if u.secretary_contact] + [
            p.contact for p in s.exec(select(Person)) if p.contact]
    assert addresses and all(a.startswith(f"json://127.0.0.1:{inbox}/") for a in addresses), addresses


def test_load_org_replaces_a_roles_addresses(cli_home: Path, tmp_path: Path) -> None:
    """A corrected address replaces the old one: alerts go only to the new one from then on, the
    old one's waiting alert (a code among them) is not retried, and the change is on the audit
    trail without the addresses in clear."""
    from models.clock import now
    from tasks.infra.alerts import CODE_SLOT, RecordingSender, deliver_due, enqueue_alert

    code, out = cli("load-org", str(DEMO_ORG))
    assert code == 0, out
    old = "json://127.0.0.1:8765/office"
    settings = get_settings()
    with session_scope() as s:
        enqueue_alert(session=s, settings=settings, key="test:before", role=Role.OFFICE, title="【待审批】",
                      body=f"验证码 {CODE_SLOT}", link="", now=now(), secret="123456")
    raw = yaml.safe_load(DEMO_ORG.read_text(encoding="utf-8"))
    new = "json://127.0.0.1:8782/office"
    raw["recipients"]["office"] = [new]
    corrected = tmp_path / "更正.yaml"
    corrected.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    login("陶文华")
    code, out = cli("load-org", str(corrected))
    assert code == 0, out
    with session_scope() as s:
        assert sorted(r.url for r in s.exec(select(RoleRecipient).where(RoleRecipient.role == "office"))) == [new]
        others = sorted((r.role, r.url) for r in s.exec(select(RoleRecipient).where(RoleRecipient.role != "office")))
        assert others and all(":8765/" in url for _, url in others)  # roles the change did not name keep theirs
        waiting = s.exec(select(Alert).where(Alert.dedupe_key == "test:before")).one()
        assert waiting.status == AlertStatus.NO_RECIPIENT and waiting.secret == "" and "不再发送" in waiting.last_error
        enqueue_alert(session=s, settings=settings, key="test:after", role=Role.OFFICE, title="【提醒】", body="新的提醒",
                      link="", now=now())
        events = [(e.actor, dict(e.detail or {})) for e in s.exec(select(AuditEvent)) if e.action == "更换提醒接收人"]
    assert len(events) == 1 and events[0][0] == "陶文华" and events[0][1]["role"] == "巡察办", events
    detail = events[0][1]
    assert detail["withdrawn_alerts"] == 1 and len(detail["removed"]) == len(detail["added"]) == 1
    assert old not in str(detail) and new not in str(detail)  # masked (scheme and fingerprint only)
    sender = RecordingSender()
    with session_scope() as s:
        deliver_due(session=s, sender=sender, settings=settings, now=now(), workers=1)
    assert [url for url, _, _ in sender.sent] == [new]
