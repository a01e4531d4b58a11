"""How a run ends when the domain refuses what it was given: one Chinese line in its log and
the same line as its Failed state's message; no traceback in Prefect (tasks/infra/runlog.py
keeps those in the worker's own log file)."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.states import Failed

from models.errors import DomainError
from tasks.infra import runlog

F = TypeVar("F", bound=Callable[..., Any])


def one_line(exc: DomainError) -> str:
    """The refusal as one line: its headline, then its problems separated by “；”."""
    head = exc.message.strip()
    problems = [p.strip() for p in exc.problems if p.strip() and p.strip() != head]
    text = head + ("：" + "；".join(problems) if problems else "")
    return " ".join(text.split())  # no line breaks inside


def ends_in_chinese(fn: F) -> F:
    """Put under `@flow`: a DomainError ends the run Failed with one Chinese line (logged once)."""
    runlog.install()

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        runlog.install()  # the handlers exist once Prefect has set up logging in this process
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            line = one_line(exc)
            get_run_logger().error(line)
            return Failed(message=line)

    # Prefect reads the parameters from the signature: the flow's own, with its types resolved
    # (the flows' modules use postponed annotations, which this module's globals cannot resolve).
    run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]  # typeshed: no __signature__ on functions
    run.__annotations__ = typing.get_type_hints(fn)
    del run.__wrapped__
    return typing.cast(F, run)
