"""What every command module shares: who is acting, how a refusal ends, how a table prints."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer

from models.errors import DomainError

C = TypeVar("C", bound=Callable[..., Any])


class App(typer.Typer):
    """The CLI's Typer: every command it registers ends a refusal (DomainError) in one Chinese
    line and exit code 2, so no command writes that handling itself. The console entry point
    (deployments/cli/failures.py) does the same for every other failure."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[C], C]:
        register = super().command(*args, **kwargs)

        def decorator(fn: C) -> C:
            @functools.wraps(fn)
            def refused_in_chinese(*a: Any, **kw: Any) -> Any:
                try:
                    return fn(*a, **kw)
                except DomainError as exc:
                    fail(str(exc))

            register(refused_in_chinese)
            return fn

        return decorator

AS: Any = typer.Option(..., "--as", envvar="XUNCHA_USER", help="办理人姓名（须为在册用户，按其角色核验权限）")


def cli_command() -> str:
    """How a person types this CLI in a fresh shell (no venv activated): the console script set-up
    installs, relative to the project folder when they stand in it."""
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "xuncha"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def echo_rows(rows: list[dict[str, Any]], empty: str = "（无）") -> None:
    """Rows as tab-separated lines under their header (pastes into Excel)."""
    if not rows:
        typer.echo(empty)
        return
    typer.echo("\t".join(rows[0]))
    for row in rows:
        typer.echo("\t".join("" if v is None else str(v) for v in row.values()))
