"""Issue 26 on the stack `up` starts, as an attacker and as an operator would meet it: the office's
accounts page (用户管理) against forged posts, self-deactivation and every other role; control and
bidi-override characters in the office's forms, in a gate answer through the gateway and in
`add-petition`; the command line's bad input and bad settings against the stack's data home and
environment; and the 国密 switch of the stack's own data (killed once, run again, and back), with
the stack's processes restarted as an operator restarts them after changing the profile.

The tests share the session's stack with every other end-to-end file: what they change (an account
deactivated, the crypto profile) is put back before they end."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from typer.main import get_command

from deployments.cli.failures import run as run_cli
from deployments.cli.main import app
from models.access import Action
from models.db import session_scope
from models.enums import AccessRole, ApprovalStatus, Gate
from models.settings import PROJECT_ROOT, get_settings
from models.tables import Account, Approval, AuditEvent, Clue, Credential, GateReceipt, Petition
from tests.support.accounts import ready_account
from tests.support.cli import login
from tests.support.driver import http_login, retire_round
from tests.support.gateway import csrf

pytestmark = pytest.mark.stack

# One account of every role in the role table but the office's (deployments/demo/county.yaml).
LOW_ROLES = {AccessRole.TEAM_LEADER: "李建国", AccessRole.TEAM_MEMBER: "刘洋", AccessRole.LEADING_GROUP: "张明",
             AccessRole.DISCIPLINE_COMMISSION: "郑文斌", AccessRole.ORGANISATION_DEPARTMENT: "吴志刚",
             AccessRole.DEPARTMENT: "许丽", AccessRole.UNIT_CONTACT: "钱正平"}
# Bidirectional overrides and isolates (U+202A–202E, U+2066–2069) and C0 controls (and DEL).
BAD = [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\x00", "\x01", "\x07", "\x1b", "\x7f"]
REFUSED = "办公页面（被拒绝）"


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The console command `xuncha` in this process (deployments/cli/main.py main, without its
    sys.exit), on the stack's data home and environment exported by the `stack` fixture."""
    capsys.readouterr()
    code = run_cli(get_command(app), argv)
    out = capsys.readouterr()
    return code, out.err + out.out


def _last_audit_id() -> int:
    with session_scope() as s:
        return s.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first() or 0


def _audit_since(first_id: int, action: str | None = None) -> list[AuditEvent]:
    with session_scope() as s:
        q = select(AuditEvent).where(col(AuditEvent.id) > first_id)
        rows = list(s.exec(q.where(AuditEvent.action == action) if action else q).all())
        s.expunge_all()
        return rows


def _count(model: Any) -> int:
    with session_scope() as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


@pytest.fixture(scope="module")
def stationed(stack: Any) -> Iterator[tuple[str, int]]:
    """A round of its own on the stack's data with 城东街道 in 集中巡察 as of now (a test-only
    shortcut past the round's flow: tests/support/factories.in_stationing); retired at the end so
    later files may book its people. (round name, inspection id)."""
    from models.clock import now
    from tests.support.advance import advance
    from tests.support.factories import make_round, round_params

    name = f"门禁测试轮次-{secrets.token_hex(3)}"
    with session_scope() as s:
        _, insps = make_round(s, round_params(name=name), now=now())
        iid = insps[0].id or 0
        from models.enums import Stage

        advance(s, get_settings(), iid, Stage.STATIONING, now=now())
        s.commit()
    yield name, iid
    retire_round(name)


def _office_post(client: Any, path: str, token: str | None = None, **data: str) -> Any:
    form = {"csrf": token, **data} if token is not None else data
    return client.post(path, data=form, headers={"Origin": str(client.base_url).rstrip("/")})


# 1. The accounts page -----------------------------------------------------------------------

def test_the_accounts_page_refuses_forged_posts_the_office_itself_and_every_other_role(stack: Any) -> None:
    """Without or with a wrong CSRF token nothing is done; the office cannot deactivate its own
    account, which, with 柳青 deactivated, is the last office account; every role but the office is
    refused the page and each of its three acts, every refusal audited, nothing changed."""
    start = _last_audit_id()
    office = http_login(stack.ui_url, ready_account("陶文华"))
    clients = {name: http_login(stack.ui_url, ready_account(name)) for name in LOW_ROLES.values()}
    target = ready_account("吴志刚")  # whose password a forged post would reset
    with session_scope() as s:
        acc = s.exec(select(Account).where(Account.name == target.name)).one()
        hash_before = s.exec(select(Credential.password_hash).where(Credential.account_id == acc.id)).one()
    try:
        # Forged posts: no token, a wrong token (a well-formed one of another session), an empty one.
        other = csrf(clients["刘洋"].get("/office/").text)
        for token in (None, other, "", "0" * 64):
            for path, extra in (("/office/accounts/password", {}), ("/office/accounts/active", {"active": "0"}),
                                ("/office/accounts/second-factor", {})):
                r = _office_post(office, path, token, name=target.name, **extra)
                assert r.status_code == 403 and "校验码" in r.text, (token, path, r.status_code, r.text)
        with session_scope() as s:
            acc = s.exec(select(Account).where(Account.name == target.name)).one()
            assert acc.active
            assert s.exec(select(Credential.password_hash).where(Credential.account_id == acc.id)).one() == hash_before
        assert not [e for e in _audit_since(start) if e.action in ("重置密码", "停用用户", "重置动态口令")]
        forged = [e for e in _audit_since(start, REFUSED) if e.actor == "陶文华"]
        assert len(forged) == 12 and all("表单校验码无效" in str(e.detail) for e in forged)

        # The office cannot deactivate itself, also when it is the last active office account.
        page = office.get("/office/accounts").text
        token = csrf(page)
        r = _office_post(office, "/office/accounts/active", token, name="陶文华", active="0")
        assert r.status_code == 400 and "不能停用本人的账户" in r.text, r.text
        r = _office_post(office, "/office/accounts/active", token, name="柳青", active="0")
        assert r.status_code == 303, r.text
        with session_scope() as s:
            live = s.exec(select(Account.name).where(Account.role == AccessRole.OFFICE, Account.active == True)).all()  # noqa: E712
        assert list(live) == ["陶文华"]
        r = _office_post(office, "/office/accounts/active", token, name="陶文华", active="0")
        assert r.status_code == 400 and "不能停用本人的账户（请由另一名巡察办用户办理）" in r.text, r.text
        with session_scope() as s:
            assert s.exec(select(Account.active).where(Account.name == "陶文华")).one()
        r = _office_post(office, "/office/accounts/active", token, name="柳青", active="1")
        assert r.status_code == 303, r.text

        # Every other role: no page, none of the three acts; each refusal audited.
        before = _last_audit_id()
        for role, name in LOW_ROLES.items():
            c = clients[name]
            r = c.get("/office/accounts")
            assert r.status_code == 403 and "无权" in r.text and Action.MANAGE_ACCOUNTS.value in r.text, (role, r.text)
            token = csrf(c.get("/office/").text)
            for path, extra in (("/office/accounts/password", {}), ("/office/accounts/second-factor", {}),
                                ("/office/accounts/active", {"active": "0"})):
                r = _office_post(c, path, token, name="陶文华", **extra)
                assert r.status_code == 403, (role, path, r.status_code, r.text)
        refused = _audit_since(before, REFUSED)
        for name in LOW_ROLES.values():
            mine = [e for e in refused if e.actor == name]
            assert len(mine) == 4 and all("/office/accounts" in str(e.detail) for e in mine), (name, mine)
        assert [e.detail["account"] for e in _audit_since(start) if e.action in ("重置密码", "停用用户", "启用用户",
                                                                                "重置动态口令")] == ["柳青", "柳青"]
        assert office.get("/gateway/me").status_code == 200  # the office still in, its account untouched
    finally:
        with session_scope() as s:
            for name in ("柳青", "陶文华"):
                acc = s.exec(select(Account).where(Account.name == name)).one()
                acc.active = True
                s.add(acc)
        for c in (office, *clients.values()):
            c.close()


# 2. Control and bidi-override characters ------------------------------------------------------

def test_control_and_bidi_characters_are_refused_in_the_office_forms_a_gate_answer_and_add_petition(
        stack: Any, stationed: tuple[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import uuid

    from models.clock import now
    from models.tables import Inspection
    from tasks.lifecycle.approvals import open_gate

    round_name, iid = stationed
    member = http_login(stack.ui_url, ready_account("刘洋"))  # of the round's team: may register both
    leader = http_login(stack.ui_url, ready_account("张明"))
    run_id = str(uuid.uuid4())
    with session_scope() as s:  # the round's plan waiting for the leading group (no run behind it)
        insp = s.get(Inspection, iid)
        assert insp is not None
        gate_id = open_gate(session=s, settings=get_settings(), round_id=insp.round_id, inspection_id=None,
                            gate=Gate.PLAN, attempt=1, flow_run_id=run_id, now=now()).id
    petitions, clues = _count(Petition), _count(Clue)
    try:
        token = csrf(member.get("/office/petitions/new").text)
        for bad in BAD:
            for path, data in (
                ("/office/petitions/new", {"inspection": str(iid), "channel": "来电",
                                           "content": f"违规发放{bad}补贴", "anonymous": "1"}),
                ("/office/petitions/new", {"inspection": str(iid), "channel": "来电", "content": "违规发放补贴",
                                           "informant": f"王{bad}某", "contact": "13700000000"}),
                ("/office/clues/new", {"inspection": str(iid), "kind": "行业领域问题", "summary": f"工程{bad}未招标"}),
            ):
                r = _office_post(member, path, token, **data)
                assert r.status_code == 400 and "不能包含控制字符或不可见字符" in r.text, (path, repr(bad), r.text)
                assert f"U+{ord(bad):04X}" in r.text
            # A gate answer through the gateway, by the one who may answer it.
            r = leader.post(f"/api/flow_runs/{run_id}/resume",
                            json={"run_input": {"decision": "批准", "approver": "", "code": "", "comment": f"同意{bad}"}})
            assert r.status_code == 400 and f"U+{ord(bad):04X}" in r.json()["detail"], (repr(bad), r.text)
        assert (_count(Petition), _count(Clue)) == (petitions, clues)
        # The same form without the character is taken (so the refusals above are the characters').
        r = _office_post(member, "/office/clues/new", token, inspection=str(iid), kind="行业领域问题", summary="工程未招标（测试）")
        assert r.status_code == 303, r.text
        with session_scope() as s:
            approval = s.get(Approval, gate_id)
            assert approval is not None and approval.status == ApprovalStatus.PENDING and approval.decision in (None, "")
            assert s.exec(select(GateReceipt).where(GateReceipt.approval_id == gate_id)).first() is None

        # `xuncha add-petition` against the stack's home: refused in Chinese, nothing written.
        login("刘洋")
        for bad in BAD:
            text = json.dumps(f"反映{bad}问题", ensure_ascii=True)
            sheet = tmp_path / "p.yaml"
            sheet.write_text(f"渠道: 来信\n内容: {text}\n", encoding="utf-8")
            code, out = cli(["add-petition", "--round", round_name, "--unit", "城东街道", str(sheet)], capsys)
            assert code == 2 and "信访举报内容不能包含控制字符或不可见字符" in out and f"U+{ord(bad):04X}" in out, (repr(bad), out)
        assert _count(Petition) == petitions
    finally:
        with session_scope() as s:  # the test's gate: nobody's to answer or to be reminded of
            approval = s.get(Approval, gate_id)
            if approval is not None:
                approval.status = ApprovalStatus.DECIDED
                s.add(approval)
        member.close()
        leader.close()


# 3. The command line's bad input and settings, on the stack's home ----------------------------

ENGLISH = re.compile(r"Field required|Input should|value_error|Traceback|validation error|while parsing|"
                     r"while scanning|error parsing|Value error|内部错误", re.I)


def test_the_command_line_on_the_stack_answers_bad_input_and_settings_in_chinese(
        stack: Any, stationed: tuple[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from models.tables import Finding

    round_name, iid = stationed
    login("刘洋")
    petitions, findings = _count(Petition), _count(Finding)

    def refused(argv: list[str], said: str) -> str:
        code, out = cli(argv, capsys)
        assert code == 2 and said in out and not ENGLISH.search(out), (argv, out)
        return out

    def sheet(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    where = ["--round", round_name, "--unit", "城东街道"]
    # A YAML type error names the field and the line's file in Chinese; a NUL is refused.
    refused(["add-petition", *where, sheet("p1.yaml", "渠道: 来信\n内容: [a, b]\n")],
            "登记表中“内容”应为一段文字（不能是列表或多项）：第2行")
    refused(["add-petition", *where, sheet("p2.yaml", '渠道: 来信\n内容: "反映\\x00问题"\n')],
            "信访举报内容不能包含控制字符或不可见字符（第3个字符，U+0000）")
    # The findings sheet with 问题描述 twice: refused, no column silently dropped.
    login("陶文华")
    refused(["import-findings", sheet("问题.csv", "问题类别,问题描述,证据材料,问题描述\n党的建设,会议记录缺失,记录本,另一描述\n"),
             *where], "问题清单的表头中“问题描述”出现了不止一次")
    assert (_count(Petition), _count(Finding)) == (petitions, findings)
    # “举报人: 匿名” is an anonymous petition: no identity encrypted for it.
    login("刘洋")
    code, out = cli(["add-petition", *where, sheet("p3.yaml", "渠道: 来信\n内容: 反映某站所长优亲厚友（测试）\n举报人: 匿名\n")], capsys)
    assert code == 0 and "（匿名）" in out, out
    with session_scope() as s:
        row = s.exec(select(Petition).order_by(col(Petition.id).desc())).first()
        assert row is not None and row.inspection_id == iid and row.anonymous and row.informant_enc == ""
    # Bad settings values in the stack's environment: which variable, in Chinese, exit 2, no trace.
    for variable, value, said in (
            ("XUNCHA_SESSION_IDLE_MINUTES", "abc", "XUNCHA_SESSION_IDLE_MINUTES：应为数字，实为“abc”"),
            ("XUNCHA_CLUE_ROUTES", '{"违纪违法线索": 纪委监委', "XUNCHA_CLUE_ROUTES 的值不是有效的 JSON"),
            ("XUNCHA_CLUE_ROUTES", '["纪委监委"]', "XUNCHA_CLUE_ROUTES：格式不对")):
        monkeypatch.setenv(variable, value)
        get_settings.cache_clear()
        try:
            out = refused(["status"], said)
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()
        assert out.strip().startswith("配置有误（环境变量或 .env）") and len(out.strip().splitlines()) == 1, out
    assert "Traceback" in (Path(stack.home) / "logs" / "cli.log").read_text(encoding="utf-8")  # the trace kept there


# 4. The 国密 switch of the stack's data ----------------------------------------------------------

def _restart(stack: Any, profile: str | None) -> threading.Thread:
    """What an operator does after changing XUNCHA_CRYPTO_PROFILE (`xuncha down`, `xuncha up`):
    the stack's processes that read the settings (gateway, worker, relay) start again under it;
    each reads the profile once, at start (models/settings.py get_settings). Prefect's server and
    database do not read it. Returns the thread that waits for the gateway to answer (join it
    before using the gateway), so the test goes on with the command line meanwhile."""
    if profile is None:
        stack.extra_env.pop("XUNCHA_CRYPTO_PROFILE", None)
    else:
        stack.extra_env["XUNCHA_CRYPTO_PROFILE"] = profile
    procs = {name: stack.procs.pop(name) for name in ("gateway", "relay", "worker") if name in stack.procs}
    for proc in procs.values():  # as `xuncha down` stops them: SIGTERM to each at once
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for name, proc in procs.items():
        try:  # Prefect's worker drains for a while on SIGTERM; it holds nothing (the relay recovers a run)
            proc.wait(timeout=3 if name == "worker" else 20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    stack.start_worker()
    stack.start_relay()
    gateway = threading.Thread(target=stack.start_gateway, name="gateway-restart")
    gateway.start()
    return gateway


def _joined(stack: Any, gateway: threading.Thread) -> None:
    """The restarted gateway answers (start_gateway in its thread waited for it, or failed)."""
    import httpx

    gateway.join(timeout=120)
    assert not gateway.is_alive() and httpx.get(f"{stack.ui_url}/gateway/health", timeout=10).status_code == 200


def _informants(ids: list[int], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Each petition's informant as `show-petition --informant` shows it (the office's audited read)."""
    login("陶文华")
    shown = []
    for pid in ids:
        code, out = cli(["show-petition", str(pid), "--informant"], capsys)
        assert code == 0, out
        m = re.search(r"^举报人：(.*)$", out, re.M)
        shown.append(m.group(1).strip() if m else out)
    return shown


def _profile_everywhere(profile: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`xuncha crypto` names the profile's algorithms for every purpose, and no stored value that
    can be rewritten is left in the other profile; `verify-audit` holds."""
    from models.crypto import GM, INTL
    from tasks.ops.crypto_switch import stored_counts

    code, out = cli(["crypto"], capsys)
    assert code == 0, out
    assert f"当前密码配置：{profile}" in out
    table = out.split("已存数据")[0]
    if profile == GM:
        for purpose in ("举报人身份加密", "动态口令密钥加密", "发件箱验证码加密"):
            assert re.search(purpose + r".*SM4-GCM", table), (purpose, table)
        for purpose in ("一次性验证码校验", "审批凭据校验", "审计日志哈希链", "网络举报查询码校验", "公开页面来源标识", "导出地址指纹"):
            assert re.search(purpose + r".*HMAC-SM3", table), (purpose, table)
        assert re.search(r"登录会话令牌摘要.*SM3", table) and re.search(r"案卷清单摘要.*SM3", table)
        assert not any(w in table for w in ("AES", "Fernet", "HMAC-SHA256", "HKDF-SHA256")), table
    other = {GM: INTL, INTL: GM}[profile]
    with session_scope() as s:
        for label, counts, how in stored_counts(session=s):
            if how:
                assert counts[other] == 0, (label, counts)
    code, out = cli(["verify-audit"], capsys)
    assert code == 0 and "审计日志完整" in out, out


def test_the_crypto_switch_of_the_stack_s_data_both_ways_killed_once(
        stack: Any, stationed: tuple[str, int], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from deployments.ops.stack import free_port
    from models.crypto import GM, INTL, SM3_TAG, SM4_TAG
    from tasks.ops.crypto_switch import KILL_AFTER, stored_counts

    _, iid = stationed
    tag = secrets.token_hex(3)
    named = f"实名举报人{tag}"
    # Reports through the public page the stack starts: one named, one anonymous.
    url = stack.start_public(free_port())
    try:
        with httpx.Client(base_url=url, timeout=60) as public:
            for fields in ({"mode": "named", "name": named, "contact": "13700002222"}, {"mode": "anonymous"}):
                form = public.get("/").text
                signed = re.search(r'name="csrf" value="([0-9]+\.[0-9a-f]+)"', form)
                assert signed is not None and f'<option value="{iid}"' in form
                r = public.post("/report", data={"csrf": signed.group(1), "inspection": str(iid),
                                                 "content": f"反映某站所长优亲厚友（{tag}，{fields['mode']}）", **fields})
                assert r.status_code == 200 and "您反映的问题已收到" in r.text, r.text
    finally:
        stack.kill("public")
    with session_scope() as s:
        ours = s.exec(select(Petition).where(col(Petition.content).contains(tag)).order_by(col(Petition.id))).all()
        assert [p.anonymous for p in ours] == [False, True] and not ours[0].informant_enc.startswith(SM4_TAG)
        informed = [p.id or 0 for p in s.exec(select(Petition).where(col(Petition.informant_enc) != "")
                                                .order_by(col(Petition.id)))]
    start = _last_audit_id()
    before = _informants(informed, capsys)
    assert named in before and all(before)
    assert len([e for e in _audit_since(start) if e.action == "查阅举报人身份" and e.actor == "陶文华"]) == len(informed)

    try:
        # To 国密: the profile set, the stack restarted, the switch killed once in the middle.
        monkeypatch.setenv("XUNCHA_CRYPTO_PROFILE", GM)
        get_settings.cache_clear()
        gateway = _restart(stack, GM)
        with session_scope() as s:
            counts = {label: c for label, c, _ in stored_counts(session=s)}
        to_informants, to_totp = counts["举报人身份"][INTL], counts["动态口令密钥"][INTL]
        assert to_informants and to_totp  # so the kill falls between the informants' batch and the TOTP keys'
        env = dict(os.environ) | {KILL_AFTER: str(to_informants + 1)}
        killed = subprocess.run([sys.executable, "-m", "deployments.cli.main", "crypto-switch", "--to", GM], env=env,
                                cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        with session_scope() as s:
            counts = {label: c for label, c, _ in stored_counts(session=s)}
        assert counts["举报人身份"][INTL] == 0 and counts["动态口令密钥"][INTL] == to_totp  # half way
        assert _informants(informed, capsys) == before
        code, out = cli(["verify-audit"], capsys)
        assert code == 0, out
        code, out = cli(["crypto-switch", "--to", GM], capsys)  # again: it goes on
        assert code == 0 and "已切换到 gm" in out and "举报人身份0条" in out, out
        assert _informants(informed, capsys) == before
        # The restarted gateway writes under 国密: a login's audit record is chained with HMAC-SM3.
        _joined(stack, gateway)
        mark = _last_audit_id()
        http_login(stack.ui_url, ready_account("陶文华")).close()
        logins = [e.hash for e in _audit_since(mark) if e.actor == "陶文华"]
        assert logins and all(h.startswith(SM3_TAG) for h in logins)
        _profile_everywhere(GM, capsys)
    finally:
        # Back to the default, as the stack was for the files after this one.
        monkeypatch.delenv("XUNCHA_CRYPTO_PROFILE")
        get_settings.cache_clear()
        gateway = _restart(stack, None)
        code, out = cli(["crypto-switch", "--to", INTL], capsys)
        assert code == 0 and "已切换到 intl" in out, out
        assert _informants(informed, capsys) == before
        _profile_everywhere(INTL, capsys)
        _joined(stack, gateway)
