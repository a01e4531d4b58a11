"""The identity domain (tasks/identity): argon2 passwords, TOTP, lock-out, sessions, the office's
reset, gate receipts. Against a real database, with time passed in."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from cryptography.hazmat.primitives import hashes
from sqlmodel import Session, select

from models.access import Forbidden
from models.crypto import digest_hex
from models.settings import Settings
from models.tables import AuditEvent, Credential, GateReceipt, LoginSession
from tasks.identity import credentials, receipts, sessions
from tasks.identity.accounts import reset_password
from tasks.identity.credentials import LoginRefused, check_password, check_totp, find_account
from tasks.lifecycle.approvals import open_gate
from tests.conftest import NOW
from tests.support.cli import as_person
from tests.support.factories import make_round

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. Passwords, codes and receipts are computed in Python and behave alike on both
# databases; only the tests whose outcome rests on stored timestamps also run on PostgreSQL.


def office(s: Session):  # type: ignore[no-untyped-def]
    acc = find_account(s, "陶文华")
    assert acc is not None
    return acc


def reset(s: Session, name: str, **kw: object) -> str:
    pw = reset_password(session=s, by=office(s), name=name, now=NOW, **kw).password  # type: ignore[arg-type]
    s.commit()
    return pw


def login(s: Session, settings: Settings, name: str, pw: str, at: timedelta = timedelta()) -> str:
    try:
        acc = check_password(session=s, settings=settings, name=name, password=pw, now=NOW + at)
    except LoginRefused as exc:
        s.commit()  # as the gateway does: the failure is counted
        return str(exc)
    s.commit()
    return f"ok:{acc.name}"


def test_initial_password_is_stored_only_as_argon2_and_must_be_changed(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    pw = reset(s, "林静")
    acc = find_account(s, "林静")
    cred = s.exec(select(Credential).where(Credential.account_id == acc.id)).one()  # type: ignore[union-attr]
    assert cred.password_hash.startswith("$argon2id$") and pw not in cred.password_hash
    assert cred.must_change
    assert login(s, settings, "林静", pw) == "ok:林静"
    # Nothing in the audit trail carries the password.
    assert all(pw not in str(e.detail) for e in s.exec(select(AuditEvent)))
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "重置密码")).one().actor == "陶文华"


def test_only_the_office_resets_passwords(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    member = find_account(s, "林静")
    assert member is not None
    with pytest.raises(Forbidden, match="无权管理用户"):
        reset_password(session=s, by=member, name="张明", now=NOW)
    with pytest.raises(Exception, match="不是组织数据中的用户"):
        reset_password(session=s, by=office(s), name="路人甲", now=NOW)
    with pytest.raises(Exception, match="至少10位"):
        reset_password(session=s, by=office(s), name="林静", now=NOW, password="abc123")


@pytest.mark.both_databases  # lockout until a stored timestamp (PostgreSQL hands back aware UTC, SQLite naive China time)
def test_five_failures_lock_the_account_even_for_the_right_password(demo_org: Session, settings: Settings,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    s = demo_org
    monkeypatch.setattr(settings, "login_max_failures", 5)  # the default is 10 (the gateway's waits come first)
    pw = reset(s, "林静")
    messages = [login(s, settings, "林静", "wrong-password-1") for _ in range(6)]
    # No count of the tries left and no word of the lock to a wrong password: it reads like an unknown name.
    assert messages == ["姓名或密码不正确"] * 6
    assert login(s, settings, "林静", pw).startswith("账户已锁定（连续5次登录失败）")
    cred = s.exec(select(Credential).where(Credential.account_id == find_account(s, "林静").id)).one()  # type: ignore[union-attr]
    assert cred.failures == 0  # the sixth, while locked, was not counted towards another lock
    assert login(s, settings, "林静", pw, at=timedelta(minutes=31)) == "ok:林静"  # the lock lasts 30 minutes
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "账户锁定")).one()
    # The office's reset lifts a lock at once.
    for _ in range(5):
        login(s, settings, "林静", "wrong-password-1", at=timedelta(minutes=40))
    pw = reset(s, "林静")
    assert login(s, settings, "林静", pw, at=timedelta(minutes=41)) == "ok:林静"


def test_unknown_names_and_unset_passwords_get_one_answer(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    assert login(s, settings, "路人甲", "whatever123") == login(s, settings, "林静", "whatever123")


def test_totp_once_per_code_and_wrong_codes_count(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    reset(s, "张明")
    acc = find_account(s, "张明")
    assert acc is not None and credentials.needs_totp(acc) and not credentials.needs_totp(find_account(s, "林静"))  # type: ignore[arg-type]
    secret = credentials.new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    with pytest.raises(LoginRefused, match="动态口令不正确"):
        check_totp(session=s, settings=settings, account=acc, code="000000" if code != "000000" else "111111",
                   now=NOW, secret=secret)
    check_totp(session=s, settings=settings, account=acc, code=code, now=NOW, secret=secret)  # enrolled
    cred = s.exec(select(Credential).where(Credential.account_id == acc.id)).one()
    assert cred.totp_enrolled_at is not None and secret not in cred.totp_secret_enc
    with pytest.raises(LoginRefused, match="已使用过"):  # the same code again: refused
        check_totp(session=s, settings=settings, account=acc, code=code, now=NOW + timedelta(seconds=5))
    later = NOW + timedelta(seconds=60)
    check_totp(session=s, settings=settings, account=acc, code=pyotp.TOTP(secret).at(later), now=later)


@pytest.mark.both_databases  # idle and age limits compare stored timestamps (aware UTC on PostgreSQL, naive on SQLite)
def test_sessions_time_out_when_idle_and_at_the_limit(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    reset(s, "林静")
    acc = find_account(s, "林静")
    assert acc is not None
    token, row = sessions.start(session=s, settings=settings, account=acc, now=NOW)
    assert row.stage == sessions.Stage.CHANGE  # initial password: a change first
    row.stage = sessions.Stage.ACTIVE
    s.commit()
    assert row.token_hash != token and token not in str([r.token_hash for r in s.exec(select(LoginSession))])

    def alive(minutes: float) -> sessions.Ended:
        return sessions.find(session=s, settings=settings, token=token, now=NOW + timedelta(minutes=minutes)).ended

    assert alive(29) is sessions.Ended.NONE
    sessions.touch(session=s, login=row, now=NOW + timedelta(minutes=29))
    assert alive(58) is sessions.Ended.NONE  # activity moved the idle clock
    assert alive(60) is sessions.Ended.IDLE
    assert alive(61) is sessions.Ended.IDLE  # ended stays ended, for the reason recorded then


def test_receipts_bind_person_and_asking_under_a_key(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    rnd, insps = make_round(s)
    approval = open_gate(session=s, settings=settings, round_id=rnd.id or 0, inspection_id=None, gate=_plan(),
                         attempt=1, flow_run_id="run-1", now=NOW)
    assert approval.id is not None
    row = receipts.write_receipt(session=s, settings=settings, approval_id=approval.id, flow_run_id="run-1",
                                 pause_key="plan-0-1-0", person="张明", now=NOW)
    check = receipts.check_receipt(session=s, settings=settings, approval_id=approval.id, flow_run_id="run-1",
                                   pause_key="plan-0-1-0")
    assert (check.person, check.problem) == ("张明", "")
    assert receipts.check_receipt(session=s, settings=settings, approval_id=approval.id, flow_run_id="run-1",
                                  pause_key="plan-0-1-1") == receipts.ReceiptCheck("", "")
    row.person = "陶文华"  # written into the database without the key
    s.add(row)
    s.flush()
    forged = receipts.check_receipt(session=s, settings=settings, approval_id=approval.id, flow_run_id="run-1",
                                    pause_key="plan-0-1-0")
    assert forged.person == "" and "校验失败" in forged.problem
    assert s.exec(select(GateReceipt)).one()


def _plan():  # type: ignore[no-untyped-def]
    from models.enums import Gate

    return Gate.PLAN


def test_set_password_command_is_for_the_office_and_audited(cli_home: object) -> None:
    from typer.testing import CliRunner

    from deployments.cli.main import app
    from models.db import session_scope
    from tasks.planning.org import load_org, read_org_file
    from tests.conftest import DEMO_ORG

    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    runner = CliRunner()
    refused = runner.invoke(app, as_person(["set-password", "张明", "--as", "林静"]))
    assert refused.exit_code == 2 and "无权管理用户" in refused.output
    done = runner.invoke(app, as_person(["set-password", "林静", "--as", "陶文华"]))
    assert done.exit_code == 0, done.output
    pw = done.output.split("初始密码：")[1].split()[0]
    with session_scope() as s:
        from tasks.identity.credentials import check_password

        assert check_password(session=s, settings=__import__("models.settings").settings.get_settings(), name="林静",
                              password=pw, now=NOW).name == "林静"
        actions = [(e.actor, e.action) for e in s.exec(select(AuditEvent))]
        assert ("陶文华", "重置密码") in actions and ("林静", "重置密码（被拒绝）") in actions
        assert all(pw not in str(e.detail) for e in s.exec(select(AuditEvent)))


@pytest.mark.parametrize("profile", ["intl", "gm"])
def test_a_session_token_is_stored_as_the_profiles_hash_and_found_after_a_switch(
        demo_org: Session, settings: Settings, profile: str) -> None:
    s = demo_org
    reset(s, "林静")
    acc = find_account(s, "林静")
    assert acc is not None
    here = settings.model_copy(update={"crypto_profile": profile})
    token, row = sessions.start(session=s, settings=here, account=acc, now=NOW)
    s.commit()
    h = hashes.Hash(hashes.SM3() if profile == "gm" else hashes.SHA256())
    h.update(token.encode())
    assert row.token_hash == h.finalize().hex() == digest_hex(profile, token.encode())
    other = "intl" if profile == "gm" else "gm"
    assert row.token_hash != digest_hex(other, token.encode())
    # After a switch of profile the token still opens its session; a renewed one is in the new profile.
    there = settings.model_copy(update={"crypto_profile": other})
    found = sessions.find(session=s, settings=there, token=token, now=NOW)
    assert found.login is not None and found.login.id == row.id and found.ended is sessions.Ended.NONE
    fresh = sessions.renew(session=s, settings=there, login=row)
    s.commit()
    assert row.token_hash == digest_hex(other, fresh.encode())
    assert sessions.find(session=s, settings=there, token=token, now=NOW).login is None  # the old token is gone
