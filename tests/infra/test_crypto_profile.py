"""The 国密 profile (models/crypto.py): every stored secret sealed or keyed under the configured
profile and readable under the other; a trail of both profiles verifies; `crypto-switch` rewrites
existing data both ways without loss, also when killed in the middle and run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from models.crypto import GM, INTL, SM3_TAG, SM4_TAG, token_profile, vault
from models.db import get_engine
from models.enums import Gate, PetitionChannel, Role, Stage
from models.errors import DomainError
from models.settings import Settings, get_settings
from models.tables import Account, Alert, Approval, AuditEvent, Credential, Inspection, Petition
from tasks.clues.ledger import store_petition
from tasks.clues.public import code_hash, code_hashes
from tasks.identity import credentials, receipts
from tasks.infra import codes
from tasks.infra.alerts import CODE_SLOT, enqueue_alert, message_text
from tasks.infra.audit import first_broken_link, record_event, verify_trail
from tasks.lifecycle.approvals import open_gate
from tasks.ops.crypto_switch import KILL_AFTER, stored_counts, switch_profile
from tasks.records.dossier import MANIFEST_SM3, _manifest, verify_dossier
from tests.conftest import NOW, ROOT
from tests.support.cli import as_person
from tests.support.factories import in_stationing

OTHER = {INTL: GM, GM: INTL}


def use_profile(settings: Settings, monkeypatch: pytest.MonkeyPatch, profile: str) -> Settings:
    """`settings` under `profile`, and the global settings (the audit chain's) too."""
    monkeypatch.setenv("XUNCHA_CRYPTO_PROFILE", profile)
    get_settings.cache_clear()
    return settings.model_copy(update={"crypto_profile": profile})


@pytest.fixture(params=[INTL, GM])
def profiled(request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The key crypto tests run under both profiles."""
    yield use_profile(settings, monkeypatch, str(request.param))
    get_settings.cache_clear()


def _petition(s: Session, settings: Settings, iid: int, name: str) -> Petition:
    insp = s.get(Inspection, iid)
    assert insp is not None
    return store_petition(session=s, settings=settings, insp=insp, channel=PetitionChannel.LETTER, content="反映某事",
                          informant_name=name, informant_contact=f"{name}的电话", recorded_by="刘洋", now=NOW)


def test_each_secret_is_protected_under_the_profile_and_read_under_either(demo_org: Session, profiled: Settings) -> None:
    s, gm = demo_org, profiled.crypto_profile == GM
    other = profiled.model_copy(update={"crypto_profile": OTHER[profiled.crypto_profile]})
    iid = in_stationing(s, profiled)
    # Informants: SM4-GCM under gm, Fernet under intl; a record of either opens under either setting.
    p = _petition(s, profiled, iid, "赵某")
    assert p.informant_enc.startswith(SM4_TAG) is gm and "赵某" not in p.informant_enc
    assert json.loads(vault(other).decrypt(p.informant_enc))["name"] == "赵某"
    sealed_twice = vault(profiled).encrypt("x")
    assert sealed_twice != vault(profiled).encrypt("x")  # a fresh nonce each time
    tampered = sealed_twice[:-2] + ("A" if sealed_twice[-2] != "A" else "B") + sealed_twice[-1]
    with pytest.raises(DomainError, match="无法解密"):
        vault(profiled).decrypt(tampered)
    # TOTP secrets at rest.
    token = credentials.seal_secret(profiled, "JBSWY3DPEHPK3PXP")
    assert token_profile(token) == profiled.crypto_profile
    assert credentials.open_secret(other, token) == "JBSWY3DPEHPK3PXP"
    # A one-time code waiting in the outbox.
    rows = enqueue_alert(session=s, settings=profiled, key="crypto-test", role=Role.OFFICE, title="验证码",
                         body=f"您的验证码：{CODE_SLOT}", link="", now=NOW, secret="482913")
    assert rows and all(r.secret.startswith(SM4_TAG) is gm and "482913" not in r.secret for r in rows)
    assert "482913" in message_text(other, rows[0])
    # One-time codes and query codes: HMAC-SM3 under gm, checked in the profile they were made under.
    digest = codes.digest(profiled, "approval", 7, "482913")
    assert digest.startswith(SM3_TAG) is gm and len(digest) <= 64
    assert codes.matches(other, "approval", 7, "482913", digest)
    assert not codes.matches(other, "approval", 7, "482914", digest)
    query = code_hash(profiled, "ABCD-EFGH")
    assert query.startswith(SM3_TAG) is gm and len(query) <= 64 and query in code_hashes(other, "abcdefgh")
    # Gate receipts.
    approval = _approval(s, profiled, iid)
    row = receipts.write_receipt(session=s, settings=profiled, approval_id=approval.id or 0, flow_run_id="run-c",
                                 pause_key="k", person="张明", now=NOW)
    assert row.mac.startswith(SM3_TAG) is gm and len(row.mac) <= 64
    assert receipts.check_receipt(session=s, settings=other, approval_id=approval.id or 0, flow_run_id="run-c",
                                  pause_key="k").person == "张明"
    row.person = "陶文华"
    assert not receipts.receipt_valid(other, row)
    # The audit chain.
    ev = record_event(session=s, actor="陶文华", action="测试", entity="crypto", entity_id=None, now=NOW)
    s.commit()
    assert ev.hash.startswith(SM3_TAG) is gm
    assert verify_trail(session=s) == []


@pytest.mark.both_databases
def test_a_trail_of_both_profiles_verifies_and_a_changed_row_breaks_it(
        session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for profile in (INTL, INTL, GM, GM, INTL):
        use_profile(settings, monkeypatch, profile)
        record_event(session=session, actor="陶文华", action=f"按{profile}记录", entity="crypto", entity_id=None, now=NOW)
        session.commit()
    hashes = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id))).all()
    assert [h.startswith(SM3_TAG) for h in hashes] == [False, False, True, True, False]
    assert verify_trail(session=session) == []
    session.execute(text("UPDATE audit_event SET actor = '他人' WHERE id = 3"))
    session.commit()
    broken = first_broken_link(session=session)
    assert broken is not None and broken.id == 3


def test_the_dossier_manifest_has_sm3_beside_sha256(tmp_path: Path) -> None:
    folder = tmp_path / "unit-1"
    folder.mkdir()
    (folder / "巡察报告.docx").write_bytes(b"report")
    (folder / "sub").mkdir()
    (folder / "sub" / "表.xlsx").write_bytes(b"sheet")
    _manifest(folder, sm3=True)
    lines = (folder / MANIFEST_SM3).read_text(encoding="utf-8").splitlines()
    # GB/T 32905-2016 example 1: SM3("abc").
    assert len(lines) == 2 and all(len(line.split("  ")[0]) == 64 for line in lines)
    from tasks.records.dossier import sm3_of

    (tmp_path / "abc").write_bytes(b"abc")
    assert sm3_of(tmp_path / "abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert verify_dossier(folder) == []
    (folder / "sub" / "表.xlsx").write_bytes(b"changed")
    problems = verify_dossier(folder)
    assert "文件已被改动（SM3 不一致）：sub/表.xlsx" in problems and "文件已被改动（SHA-256 不一致）：sub/表.xlsx" in problems


def _approval(s: Session, settings: Settings, iid: int) -> Approval:
    insp = s.get(Inspection, iid)
    assert insp is not None
    return open_gate(session=s, settings=settings, round_id=insp.round_id, inspection_id=None, gate=Gate.PLAN,
                     attempt=5, flow_run_id="run-c", now=NOW)


def _populate(s: Session, settings: Settings, names: list[str]) -> int:
    """Informants, a TOTP secret, an outbox code, a receipt and an audit row; the approval's id."""
    iid = in_stationing(s, settings)
    for name in names:
        _petition(s, settings, iid, name)
    account = s.exec(select(Account)).first()
    assert account is not None and account.id is not None
    s.add(Credential(account_id=account.id, password_hash="-", updated_at=NOW,
                     totp_secret_enc=credentials.seal_secret(settings, "JBSWY3DPEHPK3PXP")))
    enqueue_alert(session=s, settings=settings, key="switch-test", role=Role.OFFICE, title="验证码",
                  body=f"验证码：{CODE_SLOT}", link="", now=NOW, secret="135790")
    approval = _approval(s, settings, iid)
    receipts.write_receipt(session=s, settings=settings, approval_id=approval.id or 0, flow_run_id="run-c",
                           pause_key="k", person="张明", now=NOW)
    record_event(session=s, actor="陶文华", action="测试", entity="crypto", entity_id=None, now=NOW)
    s.commit()
    return approval.id or 0


def _readable(s: Session, settings: Settings, names: list[str], approval_id: int) -> None:
    """Every informant, the TOTP secret, the outbox code and the receipt read back as written; the trail holds."""
    s.expire_all()
    got = [json.loads(vault(settings).decrypt(p.informant_enc))["name"]
           for p in s.exec(select(Petition).where(col(Petition.informant_enc) != "").order_by(col(Petition.id)))]
    assert got == names
    cred = s.exec(select(Credential).where(col(Credential.totp_secret_enc) != "")).one()
    assert credentials.open_secret(settings, cred.totp_secret_enc) == "JBSWY3DPEHPK3PXP"
    alert = s.exec(select(Alert).where(Alert.dedupe_key == "switch-test")).first()
    assert alert is not None and "135790" in message_text(settings, alert)
    assert receipts.check_receipt(session=s, settings=settings, approval_id=approval_id, flow_run_id="run-c",
                                  pause_key="k").person == "张明"
    assert verify_trail(session=s) == []


def _all_in(s: Session, profile: str) -> None:
    for label, counts, how in stored_counts(session=s):
        if how:
            assert counts[OTHER[profile]] == 0, label


@pytest.mark.both_databases
def test_switch_both_ways_in_process(demo_org: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    s, names = demo_org, ["赵某", "钱某", "孙某"]
    intl = use_profile(settings, monkeypatch, INTL)
    aid = _populate(s, intl, names)
    with pytest.raises(DomainError, match="请先把它改为 gm"):
        switch_profile(session=s, settings=intl, to=GM, by="陶文华", now=NOW)
    gm = use_profile(settings, monkeypatch, GM)
    counts = switch_profile(session=s, settings=gm, to=GM, by="陶文华", now=NOW)
    assert counts["举报人身份"] == 3 and counts["动态口令密钥"] == 1 and counts["审批凭据"] == 1
    _all_in(s, GM)
    _readable(s, gm, names, aid)
    assert switch_profile(session=s, settings=gm, to=GM, by="陶文华", now=NOW)["举报人身份"] == 0  # nothing left
    intl = use_profile(settings, monkeypatch, INTL)
    switch_profile(session=s, settings=intl, to=INTL, by="陶文华", now=NOW)
    _all_in(s, INTL)
    _readable(s, intl, names, aid)
    actions = [e.action for e in s.exec(select(AuditEvent))]
    assert actions.count("切换密码配置") == 3


SWITCH = """
import sys
from sqlmodel import Session
from models.clock import now
from models.db import make_engine
from models.settings import get_settings
from tasks.ops.crypto_switch import switch_profile
settings = get_settings()
engine = make_engine(settings.db_url)
with Session(engine) as s:
    print(switch_profile(session=s, settings=settings, to=sys.argv[1], by="陶文华", now=now(), batch=2))
"""


def _run_switch(settings: Settings, to: str, kill_after: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUNCHA_")}
    env.update(XUNCHA_HOME=str(settings.home), XUNCHA_CRYPTO_PROFILE=to,
               XUNCHA_CLI_SESSION_DIR=str(settings.home / "cli-session"))
    if kill_after:
        env[KILL_AFTER] = str(kill_after)
    return subprocess.run([sys.executable, "-c", SWITCH, to], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_switch_killed_in_the_middle_goes_on_when_run_again(
        demo_org: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    s, names = demo_org, [f"举报人{i}" for i in range(9)]
    aid = _populate(s, use_profile(settings, monkeypatch, INTL), names)
    for to, kill_after in ((GM, 5), (INTL, 3)):
        here = use_profile(settings, monkeypatch, to)
        s.close()  # SQLite: a transaction here (BEGIN IMMEDIATE) would hold the write lock
        killed = _run_switch(settings, to, kill_after)
        assert killed.returncode == -9, killed.stderr
        s.expire_all()
        sealed = [p.informant_enc for p in s.exec(select(Petition).order_by(col(Petition.id)))]
        done = sum(token_profile(t) == to for t in sealed)
        assert done == (kill_after - 1) // 2 * 2  # the batches committed before the kill, no more
        _readable(s, here, names, aid)  # half switched: every record still readable, the trail intact
        s.close()
        finished = _run_switch(settings, to)
        assert finished.returncode == 0, finished.stderr
        _all_in(s, to)
        _readable(s, here, names, aid)


def test_crypto_commands_are_the_office_s_and_name_sm4_and_sm3_under_gm(
        cli_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home as a deployment holds it, filled through the command line under intl (the org, a unit
    in 集中巡察, petitions by named and anonymous informants, their reading audited); the operator
    sets XUNCHA_CRYPTO_PROFILE=gm: `crypto` names SM4 and SM3 for every stored secret,
    `crypto-switch --to gm` re-encrypts and re-chains, every informant still reads back through
    `show-petition`, and `verify-audit` finds the trail intact."""
    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, as_person(args))
        return result.exit_code, result.output

    from deployments.cli.main import app
    from tests.conftest import LINK
    from tests.support.advance import advance
    from tests.support.factories import make_round

    monkeypatch.setenv("XUNCHA_CRYPTO_PROFILE", INTL)  # a deployment begun before the profile (also under
    get_settings.cache_clear()                        # XUNCHA_TEST_CRYPTO_PROFILE=gm)
    assert run("load-org")[0] == 0
    with Session(get_engine()) as s:
        rnd, insps = make_round(s)
        advance(s, get_settings(), insps[0].id or 0, Stage.STATIONING, link=LINK)
        s.commit()
        where = ["--round", rnd.name, "--unit", "城东街道"]
    informants = {"赵某": "13700000001", "钱某": "13700000002", "孙某": "13700000003"}
    for n, (name, phone) in enumerate([*informants.items(), ("", "")]):
        form = tmp_path / f"来信{n}.yaml"
        form.write_text(f"渠道: 来信\n内容: 反映某站所长优亲厚友{n}\n" + (f"举报人: {name}\n联系方式: {phone}\n" if name else ""),
                        encoding="utf-8")
        code, out = run("add-petition", *where, str(form), "--as", "刘洋")
        assert code == 0 and f"编号 {n + 1}" in out, out
    code, out = run("show-petition", "1", "--informant", "--as", "李建国")  # an audited reading
    assert code == 0 and "举报人：赵某" in out
    with Session(get_engine()) as s:
        sealed = [p.informant_enc for p in s.exec(select(Petition).where(col(Petition.informant_enc) != ""))]
        assert len(sealed) == 3 and {token_profile(t) for t in sealed} == {INTL}

    monkeypatch.setenv("XUNCHA_CRYPTO_PROFILE", GM)
    get_settings.cache_clear()
    code, out = run("crypto", "--as", "刘洋")
    assert code == 2 and "无权查看密码配置" in out
    code, out = run("crypto", "--as", "陶文华")
    assert code == 0, out
    assert "当前密码配置：gm" in out
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines() if "\t" in line}
    for purpose in ("举报人身份加密", "动态口令密钥加密", "发件箱验证码加密"):
        assert rows[purpose][1].startswith("SM4-GCM") and len(rows[purpose][3]) == 16
    for purpose in ("一次性验证码校验", "审批凭据校验", "审计日志哈希链", "网络举报查询码校验", "公开页面来源标识", "导出地址指纹"):
        assert rows[purpose][1] == "HMAC-SM3"
    assert "SM3" in rows["案卷清单摘要"][1] and rows["密钥派生"][1] == "HKDF-SM3" and rows["登录会话令牌摘要"][1] == "SM3"
    listed = [rows[p][1] for p in rows if p in {"举报人身份加密", "动态口令密钥加密", "发件箱验证码加密", "一次性验证码校验",
                                                 "审批凭据校验", "审计日志哈希链", "网络举报查询码校验", "公开页面来源标识",
                                                 "导出地址指纹", "案卷清单摘要", "密钥派生", "登录会话令牌摘要"}]
    assert len(listed) == 12 and not any("AES" in a or "Fernet" in a or a == "SHA-256" or "SHA256" in a for a in listed)
    assert "尚有数据不是按当前配置保护的" in out and rows["举报人身份"][1:3] == ["3", "0"], out
    master = (get_settings().keys_dir / "master.key").read_text().strip()
    informant = (get_settings().keys_dir / "informant.keys").read_text().strip()
    assert master not in out and informant not in out
    code, out = run("crypto-switch", "--to", "gm", "--as", "刘洋")
    assert code == 2 and "无权切换密码配置" in out
    code, out = run("crypto-switch", "--to", "gm", "--as", "陶文华")
    assert code == 0 and "已切换到 gm" in out and "举报人身份3条" in out, out
    code, out = run("crypto", "--as", "陶文华")
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines() if "\t" in line}
    assert rows["动态口令密钥"][1:3] == ["0", "1"] and rows["审计日志"][1] == "0", out
    assert rows["举报人身份"][1:3] == ["0", "3"], out
    for n, (name, phone) in enumerate(informants.items(), start=1):
        code, out = run("show-petition", str(n), "--informant", "--as", "李建国")
        assert code == 0 and f"举报人：{name}" in out and f"联系方式：{phone}" in out, out
    code, out = run("show-petition", "4", "--informant", "--as", "李建国")
    assert code == 0 and "匿名：是" in out, out
    with Session(get_engine()) as s:
        assert {token_profile(p.informant_enc) for p in s.exec(select(Petition).where(col(Petition.informant_enc) != ""))} == {GM}
        readings = s.exec(select(AuditEvent.entity_id).where(AuditEvent.action == "查阅举报人身份")
                          .order_by(col(AuditEvent.id))).all()
        assert readings == [1, 1, 2, 3, 4]  # the reading before the switch kept, those after added
        assert all(h.startswith(SM3_TAG) for h in s.exec(select(AuditEvent.hash)))  # the whole trail re-chained
    code, out = run("verify-audit", "--as", "陶文华")
    assert code == 0 and "审计日志完整" in out, out


def test_a_switch_that_died_before_moving_the_audit_head_is_still_intact(
        demo_org: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-chained trail committed, the process died before the head file moved: the head
    waiting beside it (.next) matches the database exactly and is taken; nothing else is."""
    from tasks.infra import audit

    s = demo_org
    aid = _populate(s, use_profile(settings, monkeypatch, INTL), ["赵某"])
    head = audit.head_file(s)
    before = head.read_text()
    gm = use_profile(settings, monkeypatch, GM)
    with monkeypatch.context() as m:
        m.setattr(audit, "_move_head", lambda *a: None)  # the process dies after the commit
        switch_profile(session=s, settings=gm, to=GM, by="陶文华", now=NOW)
    assert head.read_text() == before and audit._next_file(head).exists()
    _readable(s, gm, ["赵某"], aid)  # verify_trail: intact, the head moved
    assert head.read_text() != before and not audit._next_file(head).exists()
    # A .next file that does not match the database exactly is not taken.
    audit._next_file(head).write_text("1 " + "0" * 64 + " 1 1\n")
    s.execute(text("UPDATE audit_event SET hash = 'x' WHERE id = (SELECT max(id) FROM audit_event)"))
    s.commit()
    assert verify_trail(session=s) != []


def test_an_unknown_profile_is_refused_in_chinese(tmp_path: Path) -> None:
    from pydantic import ValidationError

    assert Settings(home=tmp_path, crypto_profile=" GM ", _env_file=None).crypto_profile == GM  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="只能是 intl（国际通用算法）或 gm（国密算法）"):
        Settings(home=tmp_path, crypto_profile="sm4", _env_file=None)  # type: ignore[arg-type]


def test_rotating_the_informant_key_keeps_the_profile(demo_org: Session, profiled: Settings) -> None:
    from tasks.clues.keys import rotate_informant_key

    s = demo_org
    iid = in_stationing(s, profiled)
    _petition(s, profiled, iid, "赵某")
    s.commit()
    assert rotate_informant_key(session=s, settings=profiled, by="陶文华", now=NOW) == 1
    token = s.exec(select(Petition.informant_enc)).one()
    assert token_profile(token) == profiled.crypto_profile
    assert json.loads(vault(profiled).decrypt(token))["name"] == "赵某"


def test_the_login_waits_count_under_keyed_hashes_of_the_profile(profiled: Settings) -> None:
    """The throttle's rows (tasks/identity/throttle.py) are keyed as `crypto` lists 公开页面来源标识:
    HMAC-SHA256 under intl, HMAC-SM3 under gm; never the name or the address itself."""
    import re

    from tasks.identity import throttle

    got = throttle.key(profiled, throttle.Kind.LOGIN_NAME, "张明")
    form = re.escape(SM3_TAG) + r"[A-Za-z0-9_-]{43}" if profiled.crypto_profile == GM else r"[0-9a-f]{64}"
    assert re.fullmatch(form, got) and got == throttle.key(profiled, throttle.Kind.LOGIN_NAME, " 张明 ")
    other = profiled.model_copy(update={"crypto_profile": OTHER[profiled.crypto_profile]})
    assert throttle.key(other, throttle.Kind.LOGIN_NAME, "张明") != got
