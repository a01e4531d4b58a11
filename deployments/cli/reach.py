"""A command typed in a fresh shell reaches the stack `up` started: the stack writes how it is
reached into the data folder (deployments/ops/stack.py RECORD: Prefect's API, the address staff
open, the application database), and every command but `up` and `down` takes from there what
its environment (or .env) does not set. Prefect's temporary server is never started: with no
API address Prefect's default profile would start one on an empty database of its own, where
nothing of this system exists; a command that needs the stack says it is not running instead."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from models.errors import DomainError
from models.settings import get_settings

NOT_REACHING = frozenset({"up", "down"})  # they start and stop the stack themselves


def _refresh(names: set[str]) -> None:
    """Make Prefect and the settings read the variables `names` again."""
    from prefect.context import refresh_global_settings_context

    from models.db import get_engine

    refresh_global_settings_context()  # Prefect froze its settings from the environment at import
    if any(n.startswith("XUNCHA_") for n in names):
        get_settings.cache_clear()
    if "XUNCHA_DATABASE_URL" in names:
        if get_engine.cache_info().currsize:
            get_engine().dispose()
        get_engine.cache_clear()


def _missing(record: dict[str, str]) -> dict[str, str]:
    """The record's variables that neither the environment nor the settings' .env sets."""
    explicit = get_settings().model_fields_set
    return {k: v for k, v in record.items()
            if k not in os.environ and not (k.startswith("XUNCHA_") and k.removeprefix("XUNCHA_").lower() in explicit)}


@contextmanager
def running_stack(command: str) -> Iterator[None]:
    """Run `command` against the stack the data folder names (put back afterwards, for the
    tests that run several commands in one process)."""
    if command in NOT_REACHING:
        yield
        return
    from deployments.ops.stack import read_record

    record = read_record(get_settings().home.resolve()).get("env") or {}
    changes = {k: v for k, v in {"PREFECT_SERVER_EPHEMERAL_ENABLED": "false", **_missing(record)}.items()
               if os.environ.get(k) != v}
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    if changes:
        _refresh(set(changes))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if changes:
            _refresh(set(changes))


def prefect_api() -> str:
    """The running stack's Prefect API; a Chinese refusal when there is none or it does not answer."""
    from prefect.settings import PREFECT_API_URL

    from deployments.cli.naming import cli_command

    url = str(PREFECT_API_URL.value() or "")
    if not url:
        raise DomainError(f"流程平台未运行，请先运行 {cli_command()} up")
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=5):  # noqa: S310 - our own server
            pass
    except OSError:
        raise DomainError(f"无法连接 Prefect 服务（{url}）：流程平台未运行，请先运行 {cli_command()} up") from None
    return url
