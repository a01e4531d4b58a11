"""The command line's own words: its help pages and its usage errors, in Chinese.

Typer (0.29) carries its own copy of click whose messages are English literals, without the
gettext hooks click itself has, so there is nothing to translate from outside. Instead the
classes here draw the help page themselves (from each command's and parameter's own Chinese
help) and turn a usage error into one Chinese line from what it is (its class and the parameter
or option it names, a value's pydantic reason), never from its English text: an error this
module does not know still reads in Chinese, only less precisely. `App`
(deployments/cli/common.py) gives these classes to the group and to every command.

The exception classes live in typer's private `_click` package (typer re-exports only
BadParameter): a typer upgrade that moves them fails at import, loudly, and
tests/ops/test_cli_usage.py shows any English that creeps back."""

from __future__ import annotations

import difflib
import inspect
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

import typer
from typer._click import Context, HelpFormatter
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperCommand, TyperGroup

HELP_TEXT = "显示本说明并退出"
OPTIONS = "[选项]"
# What a value of each parameter type is called (the placeholder after an option, the reason a
# value is refused when pydantic gives none).
TYPE_NAMES: dict[Any, str] = {int: "整数", float: "数字", str: "文字", Path: "路径", bool: "是或否"}


class ChineseUsageError(UsageError):
    """A usage error whose message is already Chinese (raised by the classes below)."""


def _width(text: str) -> int:
    """Columns `text` takes in a terminal (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _rows(rows: Sequence[tuple[str, str]]) -> str:
    """Two columns, the left padded to one width; long right texts are left to the terminal."""
    left = max((_width(a) for a, _ in rows), default=0)
    return "".join(f"  {a}{' ' * (left - _width(a))}  {b}".rstrip() + "\n" for a, b in rows)


def _type_name(param: Any) -> str:
    annotation: Any = getattr(getattr(param, "type_descriptor", None), "annotation", str)
    if get_origin(annotation) is list:
        return TYPE_NAMES.get(get_args(annotation)[0], "文字") + "（可重复）"
    return TYPE_NAMES.get(annotation, "文字")


def argument_label(param: Any) -> str:
    """An argument as the usage line and messages name it: the head of its help
    (“组织数据文件（YAML 或 Excel）” → 组织数据文件), or its type."""
    if param.metavar:
        return str(param.metavar)
    head = str(param.help or "")
    for stop in "（(，,；;：:":
        head = head.split(stop, 1)[0]
    return head.strip() or _type_name(param)


def _is_argument(param: Any) -> bool:
    return bool(param.param_type_name == "argument")


def _option_names(param: Any) -> str:
    return " / ".join([*param.opts, *param.secondary_opts])


def _default(param: Any, ctx: Context) -> str:
    if param.required or not getattr(param, "show_default", True):
        return ""
    try:
        value = param.get_default(ctx, call=False)
    except Exception:  # noqa: BLE001 - a default that cannot be shown is just not shown
        return ""
    if callable(value) or value is None or value == "" or value == ():
        return ""
    if isinstance(value, bool):
        if param.secondary_opts:  # --demo / --no-demo: the one that applies
            return str(param.opts[0] if value else param.secondary_opts[0])
        return ""  # a plain flag is off unless given
    return str(value)


def _param_row(param: Any, ctx: Context, help_option: Any) -> tuple[str, str]:
    if param is help_option:
        return _option_names(param), HELP_TEXT
    if _is_argument(param):
        left = argument_label(param)
    else:
        left = _option_names(param) + ("" if getattr(param, "is_flag", False) else f" {_type_name(param)}")
    notes = [f"默认：{d}" for d in [_default(param, ctx)] if d] + (["必填"] if param.required else [])
    help_text = " ".join(str(param.help or "").split())
    return left, (help_text + (f"  [{'；'.join(notes)}]" if notes else "")).strip()


def usage_line(command: Any, ctx: Context) -> str:
    pieces = [OPTIONS]
    for param in command.params:
        if _is_argument(param):
            label = argument_label(param)
            pieces.append(label if param.required else f"[{label}]")
    if isinstance(command, TyperGroup):
        pieces.append("命令 [参数]…")
    return f"用法：{ctx.command_path} " + " ".join(pieces)


def help_page(command: Any, ctx: Context) -> str:
    parts = [usage_line(command, ctx) + "\n"]
    if command.help:
        text = inspect.cleandoc(command.help).partition("\f")[0]
        parts.append("\n" + "".join(f"  {line}\n" for line in text.splitlines()))
    help_option = command.get_help_option(ctx)
    params = command.get_params(ctx)
    arguments = [_param_row(p, ctx, help_option) for p in params if _is_argument(p) and not p.hidden]
    options = [_param_row(p, ctx, help_option) for p in params if not _is_argument(p) and not p.hidden]
    if arguments:
        parts.append("\n参数：\n" + _rows(arguments))
    if options:
        parts.append("\n选项：\n" + _rows(options))
    if isinstance(command, TyperGroup):
        rows = [(name, short_help(sub)) for name in command.list_commands(ctx)
                if (sub := command.get_command(ctx, name)) is not None and not sub.hidden]
        if rows:
            parts.append("\n命令：\n" + _rows(rows))
    return "".join(parts)


def short_help(command: Any, limit: int = 60) -> str:
    """A command's line in the list: its help's first sentence, cut at `limit` characters."""
    text = " ".join(inspect.cleandoc(command.short_help or command.help or "").split())
    first = text.split("。", 1)[0] + ("。" if "。" in text else "")
    return first if len(first) <= limit else first[:limit - 1] + "…"


def _value_reason(exc: BadParameter) -> str:
    """Why a value was refused: pydantic's reason in Chinese (models/errors.py), else its type."""
    from pydantic import ValidationError

    from models.errors import reason

    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        return reason(cause.errors()[0])
    return f"应为{_type_name(exc.param)}" if exc.param is not None else "不符合要求"


def _named(param: Any) -> str:
    if param is None:
        return "参数"
    return f"参数“{argument_label(param)}”" if _is_argument(param) else f"选项 {_option_names(param)} "


def problem(exc: ClickException) -> str:
    """What is wrong with the command as typed, in Chinese, from the kind of error."""
    if isinstance(exc, ChineseUsageError):
        return exc.message
    if isinstance(exc, MissingParameter):
        return f"缺少{_named(exc.param)}".rstrip()
    if isinstance(exc, NoSuchOption):
        maybe = f"（是否要用 {'、'.join(sorted(exc.possibilities))}）" if exc.possibilities else ""
        if exc.option_name.lstrip("-").isdigit():  # `show-petition -1`: a negative number, read as an option
            return f"没有选项 {exc.option_name}：编号是从1起的正整数，没有负数编号"
        return f"没有选项 {exc.option_name}{maybe}"
    if isinstance(exc, BadParameter):
        return f"{_named(exc.param)}的值不对：{_value_reason(exc)}"
    if isinstance(exc, BadOptionUsage):
        if "requires" in exc.message:
            return f"选项 {exc.option_name} 后面缺少值"
        if "does not take" in exc.message:
            return f"选项 {exc.option_name} 不带值"
        return f"选项 {exc.option_name} 的用法不对"
    return "命令的写法不对"


def usage_message(exc: ClickException) -> str:
    """The one line a usage error prints: the problem, the usage and where the help is."""
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return problem(exc) + "。"
    return f"{problem(exc)}。{usage_line(ctx.command, ctx)}（说明见 {ctx.command_path} --help）"


class ChineseCommand(TyperCommand):
    """A command whose help page and usage errors are Chinese."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        formatter.write(help_page(self, ctx))

    def format_usage(self, ctx: Context, formatter: HelpFormatter) -> None:
        formatter.write(usage_line(self, ctx) + "\n")

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return _parse_strictly(super().parse_args, ctx, args)


def _parse_strictly(parse: Any, ctx: Context, args: list[str]) -> list[str]:
    """`parse`, with extra arguments refused in Chinese (click's own check words it in English)."""
    if ctx.allow_extra_args or ctx.resilient_parsing:
        return list(parse(ctx, args))
    ctx.allow_extra_args = True
    try:
        rest = list(parse(ctx, args))
    except UsageError as exc:  # the option parser's errors come without the command they are about
        if exc.ctx is None:
            exc.ctx, exc.cmd = ctx, ctx.command
        raise
    finally:
        ctx.allow_extra_args = False
    if rest:
        raise ChineseUsageError(f"多余的参数：{' '.join(rest)}", ctx)
    return rest


class ChineseGroup(TyperGroup):
    """The command group: Chinese help, Chinese usage errors (in both of click's modes: the
    console's, which returns the exit code, and the test runner's, which exits)."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        formatter.write(help_page(self, ctx))

    def format_usage(self, ctx: Context, formatter: HelpFormatter) -> None:
        formatter.write(usage_line(self, ctx) + "\n")

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, list(self.commands), n=3)
            maybe = f"（是否要用 {'、'.join(close)}）" if close else ""
            raise ChineseUsageError(f"没有命令“{name}”{maybe}", ctx)
        return super().resolve_command(ctx, args)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]  # click overloads main on standalone_mode
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help())
            code = 0
        except ClickException as exc:
            typer.secho(usage_message(exc), fg=typer.colors.RED, err=True)
            code = exc.exit_code
        except typer.Abort:
            typer.secho("已取消。", err=True)
            code = 130
        else:
            if not standalone_mode:
                return result
            code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code
