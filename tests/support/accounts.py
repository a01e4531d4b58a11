"""Accounts ready to log in, for tests: a known password and, for the roles that need one, a
bound second factor — used by the gateway's browser and HTTP tests and by `tests/support/cli.py`."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlmodel import col, select

from models.db import session_scope

E2E_PASSWORD = "Xuncha-e2e-2026"


@dataclass(frozen=True)
class Login:
    name: str
    password: str
    secret: str  # TOTP secret; empty for roles without a second factor


def ready_account(name: str, *, first_login: bool = False) -> Login:
    """A test-only shortcut past the first login: the account gets a known password and, for the
    roles that need one, a bound second factor. `first_login`: an initial password instead (to
    be changed, second factor not bound), as the office's `set-password` leaves it."""
    import pyotp

    from models.clock import now
    from models.settings import get_settings
    from models.tables import Account, Credential
    from tasks.identity import credentials
    from tasks.identity.throttle import forgive_name

    with session_scope() as s:
        acc = s.exec(select(Account).where(Account.name == name)).one()
        credentials.set_password(session=s, account=acc, password=E2E_PASSWORD, must_change=first_login, now=now())
        cred = s.exec(select(Credential).where(Credential.account_id == acc.id)).one()
        secret = ""
        cred.totp_secret_enc, cred.totp_enrolled_at, cred.totp_last_step = "", None, 0
        if credentials.needs_totp(acc) and not first_login:
            secret = pyotp.random_base32()
            cred.totp_secret_enc, cred.totp_enrolled_at = credentials.seal_secret(get_settings(), secret), now()
        s.add(cred)
        # As a reset by the office: the waits counted against the name go too (tasks/identity/throttle.py).
        forgive_name(session=s, settings=get_settings(), name=name)
    return Login(name, E2E_PASSWORD, secret)


def totp_code(name: str, secret: str) -> str:
    """A code the gateway will take: one of a time step after the last one this person used
    (a code is accepted once), waiting for the next step when needed."""
    import pyotp

    from models.tables import Account, Credential

    with session_scope() as s:
        last = s.exec(select(Credential.totp_last_step).join(Account, col(Account.id) == Credential.account_id)
                      .where(Account.name == name)).one()
    while int(time.time() // 30) <= last:
        time.sleep(1)
    return str(pyotp.TOTP(secret).now())
