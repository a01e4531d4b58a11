"""`xuncha backup` and `xuncha restore` on a data folder without a running stack (the private
PostgreSQL of the folder is started for the dump and the restore): who may back up, where the keys
may go, the manifest's hashes, and a destroyed folder brought back whole. The drill on the running
stack, with a gate waiting, is tests/e2e/test_backup_drill.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.clock import now
from models.db import get_engine, session_scope
from models.settings import get_settings
from models.tables import AuditEvent, Person
from tasks.clues.ledger import read_petition
from tasks.infra.audit import verify_trail
from tests.conftest import DEMO_ORG
from tests.support.accounts import ready_account
from tests.support.cli import login


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def audit_rows() -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(AuditEvent)).one())


def reopen() -> None:
    """The data folder changed under this process: connect afresh."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def county(cli_home: Path) -> Path:
    code, out = cli("load-org", str(DEMO_ORG))
    assert code == 0, out
    ready_account("陶文华")
    return cli_home


def test_backup_is_the_offices_or_the_owners_on_purpose(county: Path, tmp_path: Path) -> None:
    code, out = cli("backup", str(tmp_path / "b"))
    assert code == 2 and out.startswith("尚未登录"), out
    login("李建国")
    code, out = cli("backup", str(tmp_path / "b"))
    assert code == 2 and "“巡察组组长”无权备份数据" in out, out
    assert not (tmp_path / "b").exists()
    with session_scope() as s:
        refused = s.exec(select(AuditEvent).where(AuditEvent.action == "备份数据（被拒绝）")).all()
        assert [e.actor for e in refused] == ["李建国"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the data folder to another OS user needs root")
def test_operator_is_the_data_folders_owner_only(county: Path, tmp_path: Path) -> None:
    before = audit_rows()
    owner = county.stat()
    os.chown(county, 65534, 65534)  # the folder is nobody's: root is not its owner
    try:
        code, out = cli("backup", str(tmp_path / "b"), "--operator")
    finally:
        os.chown(county, owner.st_uid, owner.st_gid)
    assert code == 2 and "--operator 只限数据目录" in out and "nobody" in out, out
    assert not (tmp_path / "b").exists() and audit_rows() == before


@pytest.mark.parametrize("where", ["keys inside", "data inside keys", "inside home", "keys in home", "not empty"])
def test_keys_never_beside_the_data_and_nothing_written(county: Path, tmp_path: Path, where: str) -> None:
    login("陶文华")
    data, keys = tmp_path / "备份", tmp_path / "密钥"
    args, message = {
        "keys inside": ([str(data), "--keys", str(data / "keys")], "密钥不能与数据放在一起"),
        "data inside keys": ([str(keys / "data"), "--keys", str(keys)], "密钥不能与数据放在一起"),
        "inside home": ([str(county / "backup"), "--keys", str(keys)], "在数据目录"),
        "keys in home": ([str(data), "--keys", str(county / "keys-copy")], "与数据目录"),
        "not empty": ([str(tmp_path / "旧备份"), "--keys", str(keys)], "已存在且不为空"),
    }[where]
    (tmp_path / "旧备份").mkdir()
    (tmp_path / "旧备份" / "manifest.json").write_text("{}", encoding="utf-8")
    before = audit_rows()
    listing = sorted(p.name for p in tmp_path.iterdir())
    code, out = cli("backup", *args)
    assert code == 2 and message in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # nothing written anywhere
    assert not (county / "backup").exists() and not (county / "keys-copy").exists()
    assert audit_rows() == before


def test_backup_without_keys_says_so_and_how(county: Path, tmp_path: Path) -> None:
    login("陶文华")
    code, out = cli("backup", str(tmp_path / "b"))
    assert code == 0, out
    assert "注意：密钥未备份" in out and "--keys 密钥文件夹" in out
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["keys"] == "未备份"
    assert not any("keys/" in name for name in manifest["files"])
    assert not list((tmp_path / "b").rglob("master.key")) and not list((tmp_path / "b").rglob("informant.keys"))


def test_destroyed_folder_comes_back_whole(county: Path, tmp_path: Path) -> None:
    """The data folder's owner backs up without a login (a nightly job); the folder is destroyed;
    a tampered backup is refused, a restore over a running system is refused; the restore gives
    back the data, the keys (an informant's identity reads again) and an intact audit trail."""
    from tasks.clues.ledger import add_petition
    from tests.support.factories import in_stationing

    with session_scope() as s:
        iid = in_stationing(s, get_settings())
        petition_id = add_petition(session=s, settings=get_settings(), by="陶文华", inspection_id=iid, channel="来信",
                                   content="反映某事", informant_name="举报人-丙丁", informant_contact="138-0000-0001",
                                   now=now()).id
    (county / "archive").mkdir(exist_ok=True)
    (county / "archive" / "卷宗.txt").write_text("卷宗内容", encoding="utf-8")
    data, keys = tmp_path / "backup", tmp_path / "keys"
    code, out = cli("backup", str(data), "--keys", str(keys), "--operator")
    assert code == 0, out
    assert "密钥已备份到" in out
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    assert {"app.sqlite", "home/archive/卷宗.txt"} <= set(manifest["files"])
    assert manifest["prefect_database"] == {"kind": "none"}  # `up` never ran here (its dump: the e2e drill)
    assert any(n.startswith("templates/") for n in manifest["files"])
    assert {"prefect", "schema", "sqlite"} <= set(manifest["versions"])
    key_manifest = json.loads((keys / "keys-manifest.json").read_text(encoding="utf-8"))
    assert {"keys/master.key", "keys/informant.keys", "keys/xuncha.audit-head"} <= set(key_manifest["files"])
    assert key_manifest["backup_id"] == manifest["backup_id"]
    assert oct(keys.stat().st_mode & 0o777) == "0o700"
    with session_scope() as s:
        done = s.exec(select(AuditEvent).where(AuditEvent.action == "备份数据")).one()
        assert done.actor.startswith("数据目录所有者（操作系统用户")
    people = _people()

    reopen()
    shutil.rmtree(county)
    # a changed byte in the backup: refused, nothing restored
    dump = data / "app.sqlite"
    original = dump.read_bytes()
    dump.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    code, out = cli("restore", str(data), "--keys", str(keys))
    assert code == 2 and "与其清单不符" in out and "app.sqlite" in out, out
    assert not county.exists()
    dump.write_bytes(original)
    # no keys anywhere: refused
    code, out = cli("restore", str(data))
    assert code == 2 and "请用 --keys 指定密钥备份文件夹" in out, out
    assert not county.exists()
    # the system running (a live PID file of `up`): refused
    (county / "pids").mkdir(parents=True)
    (county / "pids" / "server.pid").write_text(str(os.getpid()))
    code, out = cli("restore", str(data), "--keys", str(keys))
    assert code == 2 and "系统正在运行（server）" in out and "down" in out, out
    shutil.rmtree(county)

    code, out = cli("restore", str(data), "--keys", str(keys))
    assert code == 0, out
    assert "已恢复到" in out and "审计日志已接续" in out, out
    reopen()
    assert _people() == people
    assert (county / "archive" / "卷宗.txt").read_text(encoding="utf-8") == "卷宗内容"
    assert oct((county / "keys" / "master.key").stat().st_mode & 0o777) == "0o600"
    with session_scope() as s:
        assert verify_trail(session=s) == []
        shown = read_petition(session=s, settings=get_settings(), by="陶文华", petition_id=petition_id or 0,
                              informant=True, now=now())
        assert shown["举报人"] == "举报人-丙丁"
    # again over the restored folder: refused without --replace, moved aside with it
    code, out = cli("restore", str(data), "--keys", str(keys))
    assert code == 2 and "--replace" in out, out
    code, out = cli("restore", str(data), "--keys", str(keys), "--replace")
    assert code == 0 and "原有数据已移到" in out, out
    reopen()
    assert _people() == people


def _people() -> list[str]:
    with session_scope() as s:
        return sorted(p.name for p in s.exec(select(Person)))


def test_a_restore_that_fails_half_way_leaves_the_data_folder_as_it_was(county: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from deployments.ops import backup

    data, keys = tmp_path / "backup", tmp_path / "keys"
    code, out = cli("backup", str(data), "--keys", str(keys), "--operator")
    assert code == 0, out
    reopen()
    before = {p.relative_to(county): p.read_bytes() for p in county.rglob("*") if p.is_file()}

    # a backup of a newer program (a schema revision this one does not know): refused
    manifest = data / "manifest.json"
    text = manifest.read_text(encoding="utf-8")
    newer = json.loads(text)
    newer["versions"]["schema"] = "ffffffffffff"
    manifest.write_text(json.dumps(newer, ensure_ascii=False), encoding="utf-8")
    from models.errors import DomainError

    with pytest.raises(DomainError, match="ffffffffffff 是本程序不认识的"):
        backup.restore(settings=get_settings(), src=data, keys_src=keys, replace=True, now=now())
    manifest.write_text(text, encoding="utf-8")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_restore_keys", disk_full)  # the last step before anything moves in
    with pytest.raises(OSError):
        backup.restore(settings=get_settings(), src=data, keys_src=keys, replace=True, now=now())
    after = {p.relative_to(county): p.read_bytes() for p in county.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in county.parent.iterdir() if ".restoring-" in p.name] == []
