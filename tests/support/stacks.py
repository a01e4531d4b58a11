"""A running stack's settings for the test's own process: the end-to-end fixtures start a Stack
(deployments/ops/stack.py) and then talk to it in-process (Prefect client, application database),
so its PREFECT_* / XUNCHA_* variables go into os.environ while it runs and the environment is
put back as it was afterwards, the settings and engine caches refreshed both times."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.context import refresh_global_settings_context

from deployments.ops.stack import Stack
from models.db import get_engine, session_scope
from models.settings import get_settings


def use_environment(env: dict[str, str]) -> None:
    """Replace os.environ with `env` and make Prefect, the settings and the engine read it again."""
    os.environ.clear()
    os.environ.update(env)
    refresh_global_settings_context()  # Prefect freezes its settings from the environment at import
    get_settings.cache_clear()
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextmanager
def exported(st: Stack, *, without: tuple[str, ...] = ()) -> Iterator[Stack]:
    """`st`'s settings in this process until the block ends; `without`: variables of an outer
    stack that this one must not inherit (neither here nor in the processes it starts)."""
    saved = dict(os.environ)
    for name in without:
        os.environ.pop(name, None)
    use_environment({k: v for k, v in saved.items() if k not in without}
                    | {k: v for k, v in st.env().items() if k.startswith(("PREFECT_", "XUNCHA_"))})
    try:
        yield st
    finally:
        use_environment(saved)


def load_county_without_contacts(path: Path) -> None:
    """A county's org data into the stack's application database, without its own contacts, so
    every alert goes to the role recipients (the session's inbox) or stays in the outbox."""
    from tasks.planning.org import load_org, read_org_file, without_contacts

    data = without_contacts(read_org_file(path))
    with session_scope() as s:
        load_org(session=s, data=data)
