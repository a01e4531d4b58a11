"""The command line's front door, tried as an attacker would: nothing runs before `xuncha login`,
a typed name is no identity, wrong passwords lock the account, the second factor is asked for,
the token file is the OS user's alone and times out, and after login a person can run exactly the
commands the role table allows. The first set-up of a new install is the one way in without it."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlmodel import Session, col, select
from typer.main import get_command
from typer.testing import CliRunner

from deployments.cli import door
from deployments.cli.main import app
from models.access import COMMANDS, allowed
from models.db import get_engine, session_scope
from models.enums import AccessRole
from models.settings import get_settings
from models.tables import Account, AuditEvent, Credential, LoginSession
from tasks.identity import credentials
from tests.conftest import DEMO_ORG
from tests.support.accounts import E2E_PASSWORD, ready_account
from tests.support.cli import login
from tests.support.factories import row_counts

ONE_PER_ROLE = {AccessRole.OFFICE: "陶文华", AccessRole.LEADING_GROUP: "张明", AccessRole.DISCIPLINE_COMMISSION: "郑文斌",
                AccessRole.ORGANISATION_DEPARTMENT: "吴志刚", AccessRole.DEPARTMENT: "许丽",
                AccessRole.UNIT_CONTACT: "钱正平", AccessRole.TEAM_LEADER: "李建国", AccessRole.TEAM_MEMBER: "林静"}


def cli(*args: str, typed: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=typed)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture
def county(cli_home: Path) -> Path:
    """The demo county, loaded by the first set-up's `load-org` (no account exists yet)."""
    code, out = cli("load-org", str(DEMO_ORG))
    assert code == 0, out
    return cli_home


def events(action: str) -> list[AuditEvent]:
    with Session(get_engine()) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_every_command_is_in_the_role_table() -> None:
    registered = set(get_command(app).commands)  # type: ignore[attr-defined]
    assert registered == set(COMMANDS)


@pytest.mark.parametrize("role", list(ONE_PER_ROLE), ids=[r.value for r in ONE_PER_ROLE])
def test_a_person_runs_exactly_the_commands_of_their_role(county: Path, role: AccessRole) -> None:
    login(ONE_PER_ROLE[role])
    for command, rule in COMMANDS.items():
        if rule is None:
            assert door.admit(command) is None  # the operator's commands (and the login itself)
            continue
        if allowed(role, rule.action):
            who = door.admit(command)
            assert who is not None and who.name == ONE_PER_ROLE[role], command
        else:
            with pytest.raises(door.Forbidden, match=f"“{role.value}”无权"):
                door.admit(command)
    with Session(get_engine()) as s:
        on_trail = {e.detail.get("command") for e in s.exec(select(AuditEvent).where(col(AuditEvent.action).endswith("（被拒绝）")))
                    if e.actor == ONE_PER_ROLE[role] and e.detail}
    assert on_trail == {c for c, r in COMMANDS.items() if r is not None and not allowed(role, r.action)}


def test_nothing_runs_before_login(county: Path, tmp_path: Path) -> None:
    ready_account("柳青")  # the office has a password: the first set-up is over
    with Session(get_engine()) as s:
        before = row_counts(s)
    for args in (["status"], ["export-org", str(tmp_path / "组织.xlsx")], ["load-org", str(DEMO_ORG)], ["clues"],
                 ["set-password", "张明"], ["verify-audit"], ["start-round", str(tmp_path / "r.yaml")]):
        code, out = cli(*args)
        assert code == 2 and out.startswith("尚未登录：请先运行") and "login 姓名" in out, (args, out)
    assert not (tmp_path / "组织.xlsx").exists()
    with Session(get_engine()) as s:
        assert row_counts(s) == before
    code, out = cli("status", "--as", "陶文华")  # a typed name is no identity: the option is gone
    assert code == 2 and "--as" in out


def test_load_org_by_a_non_office_account_is_refused_and_audited(county: Path, tmp_path: Path) -> None:
    login("李建国")
    spoiled = tmp_path / "org.yaml"
    spoiled.write_text("accounts:\n  - {name: 李建国, role: 巡察办}\n"
                       "recipients:\n  leading_group: [\"json://127.0.0.1:9/mine\"]\n", encoding="utf-8")
    code, out = cli("load-org", str(spoiled))
    assert code == 2 and "“巡察组组长”无权管理用户" in out, out
    code, out = cli("export-org", str(tmp_path / "组织.xlsx"))
    assert code == 2 and "无权管理用户" in out and not (tmp_path / "组织.xlsx").exists()
    refusals = events("管理用户（被拒绝）")
    assert [(e.actor, e.detail["command"]) for e in refusals] == [("李建国", "load-org"), ("李建国", "export-org")]
    with Session(get_engine()) as s:
        assert s.exec(select(Account).where(Account.name == "李建国")).one().role == "巡察组组长"
    login("陶文华")
    code, out = cli("load-org", str(DEMO_ORG))
    assert code == 0, out
    assert [e.actor for e in events("命令行：管理用户")] == [door.FIRST_SETUP_ACTOR, "陶文华"]


def test_wrong_passwords_lock_the_account(county: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUNCHA_LOGIN_MAX_FAILURES", "5")
    get_settings.cache_clear()
    ready_account("林静")
    for _ in range(5):  # one answer for every wrong password, the locking one too
        code, out = cli("login", "林静", typed="wrong-password-1\n")
        assert code == 2 and "姓名或密码不正确" in out and "锁定" not in out, out
    code, out = cli("login", "林静", typed=f"{E2E_PASSWORD}\n")  # the right one, too late
    assert code == 2 and "账户已锁定（连续5次登录失败）" in out
    assert len(events("登录失败（被拒绝）")) == 5 and len(events("账户锁定")) == 1
    assert not get_settings().cli_session_file().exists()


def test_the_second_factor_is_asked_and_checked(county: Path) -> None:
    ready = ready_account("陶文华")
    code, out = cli("login", "陶文华", typed=f"{ready.password}\n000000\n")
    assert code == 2 and "动态口令不正确或已使用过" in out
    code, out = cli("login", "陶文华", typed=f"{ready.password}\n{pyotp.TOTP(ready.secret).now()}\n")
    assert code == 0 and out.rstrip().endswith("退出登录：.venv/bin/xuncha logout") and "已登录：陶文华（巡察办）" in out, out
    code, out = cli("whoami")
    assert code == 0 and out.startswith("陶文华（巡察办）")


def test_the_token_file_is_the_users_alone_and_only_its_hash_is_stored(county: Path) -> None:
    login("林静")
    path = get_settings().cli_session_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    token = door.read_token(path)
    assert token
    with Session(get_engine()) as s:
        rows = s.exec(select(LoginSession)).all()
    assert rows and all(token not in str(r.model_dump()) for r in rows)
    path.chmod(0o644)
    code, out = cli("findings", "--round", "x", "--unit", "y")
    assert code == 2 and "权限过宽" in out and not path.exists()


def test_an_idle_login_times_out_and_logout_ends_it(county: Path) -> None:
    login("林静")
    with session_scope() as s:
        for row in s.exec(select(LoginSession)):
            row.last_active_at -= timedelta(minutes=get_settings().session_idle_minutes + 1)
            s.add(row)
    code, out = cli("status")
    assert code == 2 and "长时间未操作，会话已超时" in out
    path = get_settings().cli_session_file()
    path.unlink()
    login_again = CliRunner().invoke(app, ["login", "林静"], input=f"{E2E_PASSWORD}\n")
    assert login_again.exit_code == 0, login_again.output
    kept = path.read_bytes()
    assert cli("status")[0] == 0
    assert cli("logout") == (0, "林静已退出登录。\n")
    path.write_bytes(kept)  # a copy of the token kept aside opens nothing after logout
    path.chmod(0o600)
    code, out = cli("status")
    assert code == 2 and "已退出登录" in out


def test_a_login_the_office_ended_says_so(county: Path) -> None:
    """林静's account is deactivated by the office while logged in: the next command says the office
    changed the account (not "已退出登录", which is what one's own logout says)."""
    from models.clock import now
    from tasks.identity.accounts import set_active
    from tasks.identity.sessions import Ended

    login("林静")
    assert cli("status")[0] == 0
    with session_scope() as s:
        office = s.exec(select(Account).where(Account.name == "陶文华")).one()
        assert set_active(session=s, by=office, name="林静", active=False, now=now()).sessions_ended == 1
    code, out = cli("status")
    assert code == 2 and Ended.CHANGED.value in out and "已退出登录" not in out, out


def test_a_new_install_sets_the_first_office_password_without_login(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.planning.org import load_org, read_org_file

    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    code, out = cli("set-password", "张明")  # not an office account: the first password is the office's
    assert code == 2 and "请先为一名巡察办用户设置初始密码" in out
    code, out = cli("set-password", "陶文华")
    assert code == 0, out
    initial = out.split("初始密码：")[1].split()[0]
    code, out = cli("set-password", "张明")  # the first set-up is over: the office logs in to go on
    assert code == 2 and out.startswith("尚未登录")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ"
    monkeypatch.setattr(credentials, "new_totp_secret", lambda: secret)
    new = "Tao-wenhua-2027"
    code, out = cli("login", "陶文华", typed=f"{initial}\n{pyotp.TOTP(secret).now()}\n{new}\n{new}\n")
    assert code == 0, out
    assert f"手动添加密钥\n  {secret}" in out and "须先修改" in out and "已登录：陶文华（巡察办）" in out
    with Session(get_engine()) as s:
        cred = s.exec(select(Credential)).one()
        assert not cred.must_change and cred.totp_enrolled_at is not None
    code, out = cli("set-password", "张明")
    assert code == 0 and "初始密码：" in out
    assert [e.actor for e in events("设置首个巡察办用户的初始密码")] == [door.FIRST_SETUP_ACTOR]
    assert [e.actor for e in events("重置密码")] == ["陶文华"]
