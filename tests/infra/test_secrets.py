"""Secrets stay secret: one key per purpose (rotating the informants' key voids no code), and
one-time codes are never stored in clear — a dump of every table holds no live code after
delivery, nor in clear before it."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing as mp
import re
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import Session, col, select

from models.crypto import (
    GM,
    PURPOSES,
    SM3_TAG,
    configured_keys,
    derived_key,
    key_file,
    master_key,
    master_key_file,
)
from models.enums import Gate
from models.errors import DomainError
from models.settings import Settings
from models.tables import Alert, Approval, ClueLetter, Inspection
from tasks.clues import ledger as clues
from tasks.clues.keys import rotate_informant_key
from tasks.infra import codes
from tasks.infra.alerts import CODE_SLOT, RecordingSender, deliver_due, message_text
from tasks.lifecycle.approvals import check_approver, open_gate, remind_waiting
from tests.conftest import HOUR, LINK, NOW
from tests.support.factories import in_stationing, letter_code, make_round, sent_code

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. Key derivation and settings need no database; the inbox test runs the CLI on its
# own SQLite home (cli_home): SQLite only.


def _gate(s: Session, settings: Settings, round_id: int | None = None) -> tuple[Approval, str]:
    if round_id is None:
        round_id = make_round(s)[0].id or 0
    a = open_gate(session=s, settings=settings, round_id=round_id, inspection_id=None, gate=Gate.PLAN, attempt=1,
                  flow_run_id="abc", now=NOW)
    s.commit()
    return a, sent_code(s, f"gate:{a.id}:", "验证码", settings=settings)


def _letter(s: Session, settings: Settings) -> tuple[ClueLetter, str]:
    """A transfer letter (its round's first unit in 集中巡察) and the code sent with it."""
    iid = in_stationing(s, settings, now=NOW, link=LINK)
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="x", now=NOW).id or 0
    letter = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=NOW, link=LINK)
    return letter, letter_code(s, letter.id or 0)


def _round_of(s: Session, letter: ClueLetter) -> int:
    insp = s.get(Inspection, letter.inspection_id)
    assert insp is not None
    return insp.round_id


# Keys by purpose ----------------------------------------------------------------------------


def test_one_key_per_purpose_from_one_master(settings: Settings) -> None:
    keys = {p: derived_key(settings, p) for p in PURPOSES}
    assert len(set(keys.values())) == len(PURPOSES) and all(len(k) == 32 for k in keys.values())
    master = master_key(settings)
    assert master not in keys.values() and all(master.hex() not in k.hex() for k in keys.values())
    path = master_key_file(settings)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o077 == 0
    assert derived_key(settings, "code") == keys["code"]  # stable: the file is read, not made again
    informant = key_file(settings)
    if informant.exists():  # the informants' key is another file altogether
        assert master.decode() not in informant.read_text()


def test_a_configured_master_key(settings: Settings) -> None:
    configured = settings.model_copy(update={"master_key": SecretStr("m" * 40)})
    assert derived_key(configured, "code") != derived_key(settings, "code")
    assert derived_key(configured, "code") == derived_key(configured.model_copy(), "code")
    short = settings.model_copy(update={"master_key": SecretStr("too short")})
    with pytest.raises(DomainError, match="主密钥 XUNCHA_MASTER_KEY 太短：至少32个字符"):
        derived_key(short, "audit")


def _make_master(home: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    out.put(master_key(Settings(home=Path(home), _env_file=None)).decode())  # type: ignore[call-arg]


def test_processes_starting_together_share_one_master_key(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_make_master, args=(str(tmp_path / "home"), out)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    seen = {out.get(timeout=10) for _ in procs}
    assert len(seen) == 1 and sorted(p.name for p in (tmp_path / "home" / "keys").iterdir()) == ["master.key"]


@pytest.mark.both_databases  # re-encrypted columns stored as bytea on PostgreSQL
def test_rotating_the_informant_key_voids_no_live_code(demo_org: Session, settings: Settings) -> None:
    """The gate's code and the letter's code, both issued before rotation, still work after it."""
    s = demo_org
    letter, sign_code = _letter(s, settings)
    approval, gate_code = _gate(s, settings, _round_of(s, letter))
    tag = SM3_TAG if settings.crypto_profile == GM else codes.PREFIX  # made under the code key, in the profile
    assert approval.code_hash.startswith(tag) and letter.code_hash.startswith(tag)
    assert not key_file(settings).exists()  # codes never needed the informants' key
    old_keys = configured_keys(settings)
    rotate_informant_key(session=s, settings=settings, by="陶文华", now=NOW)
    assert key_file(settings).read_text().split()[0] not in old_keys  # the informants' key did change
    assert check_approver(session=s, settings=settings, approval_id=approval.id or 0, approver="张明", code=gate_code,
                          now=NOW + HOUR) == ""
    signed = clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=letter.id or 0, code=sign_code, now=NOW)
    assert signed.acknowledged_by == "郑文斌"


@pytest.mark.both_databases  # re-encrypted columns stored as bytea on PostgreSQL
def test_configured_informant_keys_rotate_without_voiding_codes(demo_org: Session, settings: Settings) -> None:
    from cryptography.fernet import Fernet

    s = demo_org
    first = settings.model_copy(update={"secret_keys": [SecretStr(Fernet.generate_key().decode())]})
    approval, code = _gate(s, first)
    second = first.model_copy(update={"secret_keys": [SecretStr(Fernet.generate_key().decode()), *first.secret_keys]})
    rotate_informant_key(session=s, settings=second, by="陶文华", now=NOW)
    only_new = second.model_copy(update={"secret_keys": second.secret_keys[:1]})
    assert check_approver(session=s, settings=only_new, approval_id=approval.id or 0, approver="张明", code=code,
                          now=NOW + HOUR) == ""


@pytest.mark.both_databases  # an old row written in raw SQL
def test_a_code_hashed_before_the_keys_were_separated_still_works(demo_org: Session, settings: Settings) -> None:
    """A live code of the release before: its hash is hex under the informants' key; accepted
    until it is spent or replaced, and a new code is hashed under the code key."""
    s = demo_org
    approval, _ = _gate(s, settings)
    legacy = hmac.new(configured_keys(settings)[0].encode(), f"approval:{approval.id}:654321".encode(),
                      hashlib.sha256).hexdigest()
    approval.code_hash = legacy
    s.add(approval)
    s.commit()
    assert codes.matches(settings, "approval", approval.id or 0, "654321", legacy)
    assert not codes.matches(settings, "approval", approval.id or 0, "654320", legacy)
    assert check_approver(session=s, settings=settings, approval_id=approval.id or 0, approver="张明", code="654321",
                          now=NOW + HOUR) == ""


# Codes never stored in clear ----------------------------------------------------------------


def dump(session: Session) -> str:
    """Every row of every table of the application database, as text."""
    from sqlalchemy import text

    session.commit()
    if session.get_bind().dialect.name == "sqlite":
        tables = session.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
        rows = [" ".join(map(str, r)) for t in tables for r in session.execute(text(f'SELECT * FROM "{t}"'))]
    else:
        tables = session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
        rows = [r for t in tables for r in session.execute(text(f'SELECT t::text FROM "{t}" t')).scalars()]
    assert "alert" in tables and "approval" in tables and "clue_letter" in tables
    return "\n".join(rows)


def holds(blob: str, code: str) -> bool:
    """The code as a number of its own (not six digits inside a hex hash or a longer number)."""
    return re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", blob) is not None


@pytest.mark.both_databases  # the dump reads every table as the dialect stores it
def test_a_dump_of_every_table_holds_no_code_before_or_after_delivery(demo_org: Session, settings: Settings) -> None:
    """Codes of an asking, a reminder, a code replaced after wrong entries and a transfer letter:
    none is in clear in the database while it waits (only encrypted, under a key not in the
    database), and after delivery not even that is left. The receivers got every code, and the
    newest of each works."""
    s = demo_org
    letter, _ = _letter(s, settings)
    approval, _ = _gate(s, settings, _round_of(s, letter))
    remind_waiting(session=s, settings=settings, now=NOW + timedelta(hours=settings.gate_reminder_hours))
    s.commit()
    # Wrong entries an hour after the reminder's code (one new code an hour at most): the code is replaced by a new one.
    later = NOW + timedelta(hours=settings.gate_reminder_hours) + HOUR
    for _ in range(codes.MAX_FAILURES):
        check_approver(session=s, settings=settings, approval_id=approval.id or 0, approver="张明", code="x", now=later)
    s.commit()
    waiting = s.exec(select(Alert).where(col(Alert.body).contains(CODE_SLOT))).all()
    sent_later = [m for a in waiting if (m := re.search(r"(验证码|签收码)：(\d{6})", message_text(settings, a)))]
    assert len(sent_later) == len(waiting) >= 4 and all(a.secret for a in waiting)
    before = dump(s)
    assert not re.search(r"(验证码|签收码)：\d", before)
    assert not [m.group(2) for m in sent_later if holds(before, m.group(2))]
    assert master_key(settings).decode() not in before and derived_key(settings, "outbox").hex() not in before

    sender = RecordingSender()
    result = deliver_due(session=s, sender=sender, settings=settings, now=NOW + timedelta(days=3))
    assert result.failed == 0 and result.sent == len(sender.sent) >= len(waiting)
    received = [m.group(2) for _, _, body in sender.sent if (m := re.search(r"(验证码|签收码)：(\d{6})", body))]
    assert sorted(received) == sorted(m.group(2) for m in sent_later)
    after = dump(s)
    assert not [c for c in received if holds(after, c)]
    s.expire_all()
    assert {a.secret for a in s.exec(select(Alert))} == {""}  # nothing left, not even encrypted
    if s.get_bind().dialect.name == "sqlite":  # nor anywhere in the database's files
        raw = b"".join(p.read_bytes() for p in settings.home.glob("xuncha.db*"))
        assert not [c for c in received if f"：{c}".encode() in raw]
    newest = received_code(sender, f"“{Gate.PLAN.value}”")
    assert check_approver(session=s, settings=settings, approval_id=approval.id or 0, approver="张明", code=newest,
                          now=NOW + HOUR) == ""
    signed = clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=letter.id or 0,
                               code=received_code(sender, "签收码"), now=NOW + HOUR)
    assert signed.acknowledged_by == "郑文斌"


def received_code(sender: RecordingSender, marker: str) -> str:
    """The newest code a receiver got in a message that mentions `marker`."""
    for _, _, body in reversed(sender.sent):
        if marker in body and (m := re.search(r"(验证码|签收码)：(\d{6})", body)):
            return m.group(2)
    raise AssertionError(f"no code was received with {marker}")


@pytest.mark.both_databases  # an encrypted outbox column read back per dialect
def test_a_code_whose_key_is_gone_is_not_sent_as_garbage(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    _gate(s, settings)
    other = settings.model_copy(update={"master_key": SecretStr("另一把主密钥" * 8)})
    sender = RecordingSender()
    deliver_due(session=s, sender=sender, settings=other, now=NOW)
    (_, _, body), = sender.sent
    assert "验证码：（无法还原，主密钥已更换；请等待新的验证码）" in body and CODE_SLOT not in body


def test_the_demo_inbox_shows_the_code_after_real_delivery(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's sink: the relay's sender posts to the local inbox over HTTP, `xuncha inbox`
    prints the code from var/inbox.jsonl, and the database keeps none."""
    import json

    from typer.testing import CliRunner

    from deployments.cli.main import app
    from deployments.ops.inbox import Inbox
    from deployments.ops.stack import free_port
    from models.db import session_scope
    from models.settings import get_settings
    from tasks.planning.org import load_org, read_org_file, without_contacts
    from tests.conftest import DEMO_ORG

    box = Inbox(cli_home / "inbox.jsonl", free_port()).start()
    try:
        monkeypatch.setenv("XUNCHA_RECIPIENTS", json.dumps({"leading_group": [f"json://127.0.0.1:{box.port}/leading-group"]}))
        get_settings.cache_clear()
        with session_scope() as s:
            load_org(session=s, data=without_contacts(read_org_file(DEMO_ORG)))
        with session_scope() as s:
            approval, _ = _gate(s, get_settings())
            approval_id = approval.id or 0
        runner = CliRunner()
        delivered = runner.invoke(app, ["deliver"])
        assert delivered.exit_code == 0 and "已发送1条，失败0条" in delivered.output, delivered.output
        shown = runner.invoke(app, ["inbox", "--to", "leading-group"])
        m = re.search(r"验证码：(\d{6})", shown.output)
        assert shown.exit_code == 0 and m, shown.output
        with session_scope() as s:
            assert not holds(dump(s), m.group(1))
            assert check_approver(session=s, settings=get_settings(), approval_id=approval_id, approver="张明",
                                  code=m.group(1), now=NOW + HOUR) == ""
    finally:
        box.stop()


# Alert addresses are shown nowhere ----------------------------------------------------------


class _Refusing:
    """A receiver whose error text repeats the address it was given, as some libraries do."""

    def send(self, url: str, title: str, body: str) -> str | None:
        return f"发送失败：{url}（via https://oapi.dingtalk.com/robot/send?access_token=TOKEN2）"


def test_an_error_text_keeps_no_address(demo_org: Session, settings: Settings) -> None:
    from models.enums import Role
    from tasks.infra.alerts import enqueue_alert

    s = demo_org
    enqueue_alert(session=s, settings=settings.model_copy(update={"recipients": {"office": ["dingtalk://TOKEN1/"]}}),
                  key="k", role=Role.OFFICE, title="t", body="b", link="", now=NOW)
    s.commit()
    result = deliver_due(session=s, sender=_Refusing(), settings=settings, now=NOW)
    rows = s.exec(select(Alert).where(Alert.dedupe_key == "k")).all()
    assert result.failed == len(rows) >= 2
    errors = " ".join(a.last_error for a in rows) + " ".join(result.errors)
    assert "TOKEN" not in errors and "127.0.0.1:8765/office" not in errors and "dingtalk://…" in errors
