"""The CLI's one answer to every failure: a one-line Chinese message and exit code 2, the trace
in `$XUNCHA_HOME/logs/cli.log` for whoever looks after the installation. Commands keep raising
DomainError for what they know; this turns what they do not (a locked or broken database, a
full disk, a missing Prefect server, bad settings) into words a clerk can act on."""

from __future__ import annotations

import errno
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

EXIT_FAILURE = 2


def _database(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text or "busy" in text:
        return "数据库正被其他程序占用（已等待 60 秒），请稍后重试"
    if "readonly" in text or "read-only" in text:
        return "数据库文件只读，无法写入：请检查数据目录的权限"
    if "full" in text:
        return "磁盘已满，数据库无法写入：请清理磁盘后重试（本次操作未写入任何内容）"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "数据库文件已损坏或不是数据库：请从备份恢复（本次操作未写入任何内容）"
    if "unable to open" in text:
        return "无法打开数据库文件：请检查数据目录（XUNCHA_HOME）是否存在、是否可写"
    if "connection" in text or "could not connect" in text or "server closed" in text:
        return "无法连接数据库服务（XUNCHA_DATABASE_URL），请确认其已启动"
    return f"数据库出错：{str(getattr(exc, 'orig', exc)).splitlines()[0][:200]}"


def _os(exc: OSError) -> str:
    where = f"：{exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"磁盘空间不足，未能写入{where}（请清理磁盘后重试）"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"没有读写权限{where}"
    if exc.errno == errno.EISDIR:
        return f"应为文件，却是目录{where}"
    if exc.errno == errno.ENOTDIR:
        return f"应为目录，却是文件{where}"
    if exc.errno == errno.ENOENT:
        return f"找不到文件或目录{where}"
    if exc.errno == errno.EEXIST:
        return f"已存在同名的文件或目录{where}"
    return f"文件读写出错（{exc.strerror or type(exc).__name__}）{where}"


def _settings(exc: Any) -> str:
    from models.errors import reason

    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        field = loc[0] if loc else "?"
        inner = f"（其中“{'.'.join(loc[1:])}”）" if len(loc) > 1 else ""
        given = error.get("input")
        shown = f"，实为“{given}”" if isinstance(given, str | int | float) and len(str(given)) <= 60 else ""
        parts.append(f"XUNCHA_{field.upper()}{inner}：{reason(error)}{shown}")
    return "配置有误（环境变量或 .env）：" + "；".join(parts)


def _settings_source(exc: Exception) -> str:
    """pydantic-settings' SettingsError: a value that should be JSON (a list, a table) is not."""
    import re

    found = re.search(r'field "([a-z_]+)"', str(exc))
    name = f"XUNCHA_{found.group(1).upper()}" if found else "某个 XUNCHA_ 设置"
    return (f"配置有误（环境变量或 .env）：{name} 的值不是有效的 JSON（应为如 "
            '{"违纪违法线索": "纪委监委"} 的对象或 ["…"] 的列表，键和文字用英文双引号），请改正后重试')


def explain(exc: BaseException) -> str | None:
    """The Chinese line for a failure this module knows; None for an unexpected one."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError, OperationalError

    from models.errors import DomainError

    if isinstance(exc, DomainError):
        return str(exc)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return _settings(exc)
    try:
        from pydantic_settings import SettingsError

        if isinstance(exc, SettingsError):
            return _settings_source(exc)
    except ImportError:  # pragma: no cover - pydantic-settings is a dependency
        pass
    if isinstance(exc, OverflowError):  # an id past 64 bits reached the database
        return "编号超出范围（应为1至9223372036854775807之间的整数）：没有这样的记录"
    if isinstance(exc, OperationalError | DBAPIError):
        return _database(exc)
    try:
        import httpx

        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            from prefect.settings import PREFECT_API_URL

            from deployments.cli.common import cli_command

            return (f"无法连接 Prefect 服务（{PREFECT_API_URL.value() or '未设置 PREFECT_API_URL'}）："
                    f"流程平台未运行，请先运行 {cli_command()} up")
    except ImportError:  # pragma: no cover - httpx comes with Prefect
        pass
    if isinstance(exc, ValueError) and "No Prefect API URL" in str(exc):  # Prefect's, with no temporary server
        from deployments.cli.common import cli_command

        return f"流程平台未运行，请先运行 {cli_command()} up"
    if isinstance(exc, UnicodeError):
        return "文件的文字编码无法识别（支持 UTF-8、带 BOM 的 UTF-8、GB18030/GBK）"
    if isinstance(exc, OSError):
        return _os(exc)
    if isinstance(exc, MemoryError):
        return "内存不足，无法完成（文件可能过大）"
    return None


def _log(exc: BaseException) -> Path | None:
    """Append the trace to the CLI's log under the data folder; None when that cannot be written."""
    try:
        from models.settings import get_settings

        folder = get_settings().home / "logs"
    except Exception:  # noqa: BLE001 - the settings themselves may be what failed
        import os

        folder = Path(os.environ.get("XUNCHA_HOME") or "var") / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "cli.log"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"{datetime.now().isoformat(timespec='seconds')} {' '.join(sys.argv)}\n")
            fh.write("".join(traceback.format_exception(exc)) + "\n")
        return path
    except OSError:
        return None


def run(command: Any, args: list[str] | None = None) -> int:
    """Run the CLI; returns its exit code. Usage errors are answered by the command group itself
    (deployments/cli/usage.py), in Chinese."""
    try:
        result = command.main(args=args, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("已取消。", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the point: every failure gets a Chinese answer
        from models.errors import DomainError

        log = None if isinstance(exc, DomainError) else _log(exc)
        message = explain(exc)
        if message is None:
            message = f"内部错误（{type(exc).__name__}），未能完成"
        if log is not None:
            message += f"（详细信息见 {log}）"
        typer.secho(message, fg=typer.colors.RED, err=True)
        return EXIT_FAILURE
