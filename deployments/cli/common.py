"""What every command module shares: the door every command passes, how a refusal ends, how a table prints."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn, TypeVar

import typer

from deployments.cli.naming import cli_command as cli_command  # where commands import it from
from models.errors import DomainError

C = TypeVar("C", bound=Callable[..., Any])


class App(typer.Typer):
    """The CLI's Typer. Every command it registers is first checked at the door
    (deployments/cli/door.py: the person logged in with `xuncha login`, against the role table's
    COMMANDS), and ends a refusal (DomainError) in one Chinese line and exit code 2, so no command
    writes that handling itself. The console entry point (deployments/cli/failures.py) does the
    same for every other failure. Help pages and usage errors are Chinese
    (deployments/cli/usage.py); every command but `up` and `down` reaches the stack `up` started,
    found from the data folder (deployments/cli/reach.py)."""

    def __init__(self, **kwargs: Any) -> None:
        from deployments.cli.usage import ChineseGroup

        super().__init__(cls=ChineseGroup, rich_markup_mode=None, **kwargs)

    def command(self, name: str | None = None, *args: Any, **kwargs: Any) -> Callable[[C], C]:
        from deployments.cli.usage import ChineseCommand
        from models.access import COMMANDS

        if name is None or name not in COMMANDS:  # every command is named, to be checked at the door
            raise KeyError(f"command {name!r} is missing from models.access.COMMANDS")
        register = super().command(name, *args, cls=kwargs.pop("cls", ChineseCommand), **kwargs)

        def decorator(fn: C) -> C:
            @functools.wraps(fn)
            def checked_at_the_door(*a: Any, **kw: Any) -> Any:
                from deployments.cli import door
                from deployments.cli.reach import running_stack

                try:
                    with running_stack(name):
                        who = door.admit(name, owner=bool(kw.get("operator")))  # OWNER_COMMANDS' --operator
                        result = door.run_as(who, lambda: fn(*a, **_ids_in_range(kw)))
                        if who is not None:
                            door.record_run(name, who)
                        return result
                except DomainError as exc:
                    fail(str(exc))

            register(checked_at_the_door)
            return fn

        return decorator

def _ids_in_range(kw: dict[str, Any]) -> dict[str, Any]:
    """A record id typed on the command line (`petition_id`, `clue_id` …) outside 1..2^63-1
    (`-1`, 23 digits) names no record: said so in Chinese before any database sees it."""
    from models.db import record_id

    for key, value in kw.items():
        if key.endswith("_id") and isinstance(value, int) and not isinstance(value, bool):
            record_id(value, "编号")
    return kw


def register_commands(app: typer.Typer, module: ModuleType) -> None:
    """Register a command module's commands: its functions named `<command>_cmd`, in the order
    they are written (`petition_to_clue_cmd` is `petition-to-clue`)."""
    for name, fn in vars(module).items():
        if name.endswith("_cmd") and callable(fn) and getattr(fn, "__module__", "") == module.__name__:
            app.command(name.removesuffix("_cmd").replace("_", "-"))(fn)


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
