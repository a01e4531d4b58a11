"""Every failure of the CLI gets one Chinese line and exit code 2, the trace goes to the log file,
and nothing is half written: a broken or locked database, a full disk, no Prefect server, bad
settings, a folder where a file belongs."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from typer.main import get_command

from deployments.cli.failures import run
from deployments.cli.main import app
from models.db import get_engine
from models.settings import get_settings
from tests.conftest import DEMO_ORG
from tests.support.cli import login


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run(get_command(app), args)
    out = capsys.readouterr()
    return code, out.err + out.out


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def fails_with(exc: BaseException) -> Any:
    def boom(*_: Any, **__: Any) -> Any:
        raise exc
    return boom


def test_a_corrupted_database_is_named(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli_home.mkdir(parents=True)
    (cli_home / "xuncha.db").write_bytes(b"this is not a database" * 100)
    code, text = cli(["status"], capsys)
    assert code == 2 and "数据库文件已损坏或不是数据库" in one_line(text)
    assert "Traceback" in (cli_home / "logs" / "cli.log").read_text(encoding="utf-8")
    assert (cli_home / "xuncha.db").read_bytes() == b"this is not a database" * 100  # left as it was


@pytest.mark.parametrize(("error", "phrase"), [
    (OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), "数据库正被其他程序占用"),
    (OperationalError("INSERT", {}, sqlite3.OperationalError("attempt to write a readonly database")), "数据库文件只读"),
    (OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")), "磁盘已满"),
    (OSError(errno.ENOSPC, "No space left on device", "/data/x.docx"), "磁盘空间不足，未能写入：/data/x.docx"),
    (PermissionError(errno.EACCES, "Permission denied", "/data/keys"), "没有读写权限：/data/keys"),
    (MemoryError(), "内存不足"),
], ids=["locked", "read-only", "db-full", "disk-full", "permission", "memory"])
def test_infrastructure_failures_get_a_chinese_line(cli_home: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, error: BaseException,
                                                    phrase: str) -> None:
    import deployments.cli.main as cli_module

    monkeypatch.setattr(cli_module, "load_org", fails_with(error))
    code, text = cli(["load-org", str(DEMO_ORG)], capsys)
    line = one_line(text)
    assert code == 2 and phrase in line, line
    assert "详细信息见" in line and "cli.log" in line
    with get_engine().connect() as conn:  # nothing was written
        assert conn.exec_driver_sql("SELECT count(*) FROM unit").scalar() == 0


def test_bad_settings_say_which_variable(cli_home: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUNCHA_CLUE_ROUTES", '{"违纪违法线索": "nobody"}')
    get_settings.cache_clear()
    code, text = cli(["status"], capsys)
    line = one_line(text)
    assert code == 2 and line.startswith("配置有误") and "XUNCHA_CLUE_ROUTES" in line and "未知的接收单位：nobody" in line
    assert (cli_home / "logs" / "cli.log").exists()  # under the data folder even when the settings fail


def test_start_round_without_a_prefect_server(cli_home: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import yaml
    from prefect.context import refresh_global_settings_context

    from models.db import session_scope
    from tasks.planning.org import load_org, read_org_file
    from tests.support.factories import round_data

    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    login("陶文华")
    params = tmp_path / "轮次.yaml"
    params.write_text(yaml.safe_dump(round_data(), allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    refresh_global_settings_context()
    try:
        code, text = cli(["start-round", str(params)], capsys)
    finally:
        monkeypatch.undo()
        refresh_global_settings_context()
    line = one_line(text)
    assert code == 2 and "无法连接 Prefect 服务（http://127.0.0.1:9/api）" in line, line


def test_a_folder_where_a_file_belongs(cli_home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "组织数据.yaml"
    folder.mkdir()
    code, text = cli(["load-org", str(folder)], capsys)
    assert code == 2 and "是文件夹，应为文件" in one_line(text)


def test_an_unexpected_error_is_logged_not_shown(cli_home: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import deployments.cli.main as cli_module

    monkeypatch.setattr(cli_module, "load_org", fails_with(KeyError("内部键")))
    code, text = cli(["load-org", str(DEMO_ORG)], capsys)
    line = one_line(text)
    assert code == 2 and line.startswith("内部错误（KeyError）") and "Traceback" not in text
    assert "KeyError" in (cli_home / "logs" / "cli.log").read_text(encoding="utf-8")


@pytest.mark.parametrize(("variable", "value", "phrase"), [
    ("XUNCHA_SESSION_IDLE_MINUTES", "abc", "XUNCHA_SESSION_IDLE_MINUTES：应为数字，实为“abc”"),
    ("XUNCHA_CLUE_ROUTES", '{"违纪违法线索": 纪委监委', "XUNCHA_CLUE_ROUTES 的值不是有效的 JSON"),
    ("XUNCHA_CLUE_ROUTES", '["纪委监委"]', "XUNCHA_CLUE_ROUTES：格式不对"),
], ids=["not-a-number", "broken-json", "a-list"])
def test_bad_setting_values_name_the_setting_in_chinese(cli_home: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                                        phrase: str) -> None:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        code, text = cli(["status"], capsys)
    finally:
        monkeypatch.delenv(variable)
        get_settings.cache_clear()
    line = one_line(text)
    assert code == 2 and line.startswith("配置有误（环境变量或 .env）") and phrase in line, line
    assert "内部错误" not in line and not any(w in line for w in ("Input should", "error parsing", "Value error"))


@pytest.mark.parametrize("record", ["-1", "0", "1" * 23])
def test_an_id_out_of_range_is_not_an_internal_error(cli_home: Path, capsys: pytest.CaptureFixture[str],
                                                     record: str) -> None:
    assert cli(["load-org", str(DEMO_ORG)], capsys)[0] == 0
    login("陶文华")
    for command in (["show-petition", record], ["show-clue", record], ["show-petition", "--", record]):
        code, text = cli(command, capsys)
        line = one_line(text)
        assert code == 2 and "内部错误" not in line and ("不存在" in line or "选项" in line), (command, line)
