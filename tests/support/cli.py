"""Running a CLI command as a person. The CLI runs as whoever logged in with `xuncha login`, so a
test that names the person acting logs them in through that real command first: the account gets
a known password (and, for 巡察办 / 领导小组, a bound second factor: tests/support/accounts.py), and
the code typed is the authenticator's current one.

Tests write the person as `--as NAME` inside the argument list they pass to `as_person`, which
logs NAME in and hands back the rest: the CLI itself has no such option."""

from __future__ import annotations

from collections.abc import Sequence

import pyotp
from typer.testing import CliRunner

from models.db import session_scope
from models.settings import get_settings
from tasks.identity import credentials
from tests.support.accounts import ready_account

# (session file, person) -> the content of that person's session file, once logged in: switching
# back to someone logged in earlier restores their file, as their own terminal would still hold it.
_LOGGED_IN: dict[tuple[str, str], bytes] = {}


def login(name: str) -> None:
    """`name` is the person logged in at the command line from now on (the real `login` command)."""
    from deployments.cli.main import app

    path = get_settings().cli_session_file()
    key = (str(path), name)
    if key in _LOGGED_IN:
        path.write_bytes(_LOGGED_IN[key])
        path.chmod(0o600)
        return
    path.unlink(missing_ok=True)  # another person's terminal: the login of whoever was here stays alive
    with session_scope() as s:
        known = credentials.find_account(s, name) is not None
    if not known:  # no such account: the real login is refused, and nobody is logged in
        result = CliRunner().invoke(app, ["login", name], input="x\n")
        assert result.exit_code == 2, result.output
        return
    ready = ready_account(name)
    typed = f"{ready.password}\n" + (f"{pyotp.TOTP(ready.secret).now()}\n" if ready.secret else "")
    result = CliRunner().invoke(app, ["login", name], input=typed)
    assert result.exit_code == 0, f"login {name} failed: {result.output}"
    _LOGGED_IN[key] = path.read_bytes()


def as_person(args: Sequence[str]) -> list[str]:
    """The command line without its `--as NAME`, after logging NAME in (no `--as`: as it stands)."""
    rest = list(args)
    if "--as" in rest:
        i = rest.index("--as")
        name = rest[i + 1]
        del rest[i:i + 2]
        login(name)
    return rest
