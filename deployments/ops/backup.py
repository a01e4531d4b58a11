"""Backup and restore of a data folder ($XUNCHA_HOME), for `xuncha backup` and `xuncha restore`.

A backup folder holds:
- `app.sqlite` (SQLite's online backup API: a consistent copy while the stack runs) or
  `app.pgdump` (pg_dump, custom format) when the application's data are on a server;
- `prefect.pgdump`: Prefect's own database (the waiting runs), dumped from the private PostgreSQL
  under the data folder (started for the dump if the stack is down) or from the server given in
  PREFECT_API_DATABASE_CONNECTION_URL;
- `home/`: the rest of the data folder (archive, documents, Prefect's result storage the waiting
  runs resume from, holidays.yaml, ...) but not its keys, its databases, logs or PIDs;
- `templates/`: the document templates;
- `manifest.json`: what, when, which versions, and the SHA-256 of every file.

The keys (informant keys, master key, identity keys, the audit chain's head file) go only to a
second folder given on purpose, never inside the backup folder or the data folder, with a manifest
of their own. The head file is copied before the database is, so the copy of the trail holds at
least what the copy of the head says (verify-audit accepts a trail longer than its head, never a
shorter one).

Everything is written to a temporary sibling folder first and renamed at the end: a failed backup
leaves nothing half written. A restore checks every hash before it touches the data folder."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from models.errors import DomainError
from models.settings import Settings
from tasks.records.documents import sha256_of as sha256

FORMAT = 1
MANIFEST = "manifest.json"
KEYS_MANIFEST = "keys-manifest.json"
APP_SQLITE, APP_PGDUMP, PREFECT_DUMP = "app.sqlite", "app.pgdump", "prefect.pgdump"
HOME, TEMPLATES, KEYS, HEAD = "home", "templates", "keys", "audit-head"
# What of the data folder is not copied as files: the keys (their own destination), the databases
# (dumped), what a running stack writes for itself and throws away (logs, PIDs, test faults).
SKIPPED_TOP = {"keys", "prefect-pg", "logs", "pids", "faults"}
SKIPPED_SUFFIXES = (".lock", ".tmp", "-wal", "-shm", "-journal")
PREFECT_URL = "PREFECT_API_DATABASE_CONNECTION_URL"


@dataclass
class Outcome:
    """What a backup or restore did, for the command to print."""

    folder: Path
    files: int = 0
    keys: int = 0
    prefect: bool = True  # Prefect's database was in it
    notes: list[str] = field(default_factory=list)


# --- small helpers ----------------------------------------------------------------------------

def _inside(a: Path, b: Path) -> bool:
    """Whether `a` is `b` or lies inside it (both resolved)."""
    a, b = a.resolve(), b.resolve()
    return a == b or b in a.parents


def _hashes(root: Path, skip: set[str]) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).as_posix() not in skip}


def _empty_or_missing(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise DomainError(f"{what} {path} 已存在且不为空：请指定一个新的（或空的）文件夹，已有的备份不会被覆盖")


@contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A temporary folder beside `final`, renamed to it when the block succeeds, removed otherwise."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            final.rmdir()  # checked empty before
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _run(args: list[str], what: str, timeout: float = 1800) -> str:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise DomainError(f"{what}失败：找不到程序 {args[0]}（Debian 软件包 postgresql，由 scripts/setup.sh 安装）") from None
    except subprocess.TimeoutExpired:
        raise DomainError(f"{what}超时（{timeout:.0f}秒）") from None
    if result.returncode != 0:
        raise DomainError(f"{what}失败：{(result.stderr or result.stdout).strip()[-1200:]}")
    return result.stdout


def _pg_tool(name: str) -> str:
    from deployments.ops.private_pg import PrivatePostgresError, bin_dir

    try:
        return str(bin_dir() / name)
    except PrivatePostgresError as exc:
        raise DomainError(str(exc)) from None


def _libpq(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://, postgresql+asyncpg://) as libpq reads it."""
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:":
        raise DomainError("应用数据库是内存数据库，无法备份")
    return Path(u.database)


# --- the stack --------------------------------------------------------------------------------

def running_processes(home: Path) -> list[str]:
    """The processes of `up` still alive for this data folder (PID files) and its private PostgreSQL."""
    alive = []
    for pidfile in sorted((home / "pids").glob("*.pid")) if (home / "pids").is_dir() else []:
        try:
            os.kill(int(pidfile.read_text().strip()), 0)
            alive.append(pidfile.stem)
        except (ProcessLookupError, ValueError):
            pass
        except PermissionError:  # alive, another user's
            alive.append(pidfile.stem)
    if _private_pg_port(home) is not None:
        alive.append("prefect-pg")
    return alive


def _private_pg_port(home: Path) -> int | None:
    """The port of the private PostgreSQL of this data folder while it runs (from postmaster.pid)."""
    from deployments.ops.private_pg import PrivatePostgres

    pg = PrivatePostgres(home=home, port=0)
    pidfile = pg.data / "postmaster.pid"
    if not pidfile.exists():
        return None
    lines = pidfile.read_text(encoding="ascii", errors="replace").splitlines()
    try:
        os.kill(int(lines[0]), 0)
        return int(lines[3])
    except (IndexError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return int(lines[3])


def _has_private_pg(home: Path) -> bool:
    from deployments.ops.private_pg import PrivatePostgres

    return (PrivatePostgres(home=home, port=0).data / "PG_VERSION").exists()


@contextmanager
def _private_pg(home: Path) -> Iterator[int]:
    """The port of this data folder's private PostgreSQL: the running one, or one started (and
    stopped again) for the duration of the block."""
    from deployments.ops.private_pg import PrivatePostgres, PrivatePostgresError
    from deployments.ops.stack import free_port

    port = _private_pg_port(home)
    if port is not None:
        yield port
        return
    pg = PrivatePostgres(home=home, port=free_port())
    try:
        pg.start()
    except PrivatePostgresError as exc:
        raise DomainError(str(exc)) from None
    try:
        yield pg.port
    finally:
        pg.stop()


def _prefect_libpq(home: Path, port: int | None) -> str:
    from deployments.ops.private_pg import DATABASE, USER

    external = os.environ.get(PREFECT_URL, "")
    if external:
        return _libpq(external)
    return f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"


def _versions(settings: Settings) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("xuncha", "prefect"):
        with suppress(PackageNotFoundError):
            out[dist] = version(dist)
    with suppress(DomainError, OSError, subprocess.SubprocessError):
        out["pg_dump"] = _run([_pg_tool("pg_dump"), "--version"], "pg_dump", timeout=30).strip()
    try:
        from models.db import open_engine
        from models.schema import current_revision

        engine = open_engine(settings.db_url)
        out["schema"] = current_revision(engine) or ""
        engine.dispose()
    except Exception:  # noqa: BLE001 - a version is a note, not a reason to fail the backup
        pass
    return out


# --- backup -----------------------------------------------------------------------------------

def check_destinations(*, settings: Settings, dest: Path, keys_dest: Path | None) -> None:
    """Refuse (DomainError, nothing written) destinations that would put the keys beside the data
    or a backup inside what it backs up."""
    home = settings.home.resolve()
    if _inside(dest, home):
        raise DomainError(f"备份文件夹 {dest} 在数据目录 {home} 之内：数据目录损坏或丢失时备份会一同丢失，请备份到其他磁盘或文件夹")
    if _inside(home, dest):
        raise DomainError(f"数据目录 {home} 在备份文件夹 {dest} 之内，请另选备份文件夹")
    _empty_or_missing(dest, "备份文件夹")
    if keys_dest is None:
        return
    if _inside(keys_dest, dest) or _inside(dest, keys_dest):
        raise DomainError(f"密钥不能与数据放在一起：密钥文件夹 {keys_dest} 与备份文件夹 {dest} 互相包含。"
                          "请把密钥备份到另一个位置（如另一块移动硬盘或单独保管的加密U盘），数据备份丢失时密钥不应一同丢失")
    if _inside(keys_dest, home) or _inside(home, keys_dest):
        raise DomainError(f"密钥文件夹 {keys_dest} 与数据目录 {home} 互相包含：请备份到数据目录以外的单独位置")
    _empty_or_missing(keys_dest, "密钥文件夹")


def key_files(settings: Settings, head: Path | None) -> dict[str, Path]:
    """The key files of this install: name in the key backup -> where it lives."""
    files: dict[str, Path] = {}
    keys = settings.keys_dir
    if keys.is_dir():
        for p in sorted(keys.rglob("*")):
            if p.is_file() and not p.name.endswith(SKIPPED_SUFFIXES):
                files[f"{KEYS}/{p.relative_to(keys).as_posix()}"] = p
    if head is not None and head.exists() and not _inside(head, keys):
        files[HEAD] = head
    return files


def env_keys(settings: Settings) -> list[str]:
    """The keys given as settings (environment or .env) rather than files: not in any backup."""
    named = {"XUNCHA_MASTER_KEY": settings.master_key, "XUNCHA_SECRET_KEYS": settings.secret_keys,
             "XUNCHA_IDENTITY_KEYS": settings.identity_keys}
    return [name for name, value in named.items() if value]


def backup(*, settings: Settings, dest: Path, keys_dest: Path | None, head: Path | None, actor: str,
           now: datetime) -> tuple[Outcome, Outcome | None]:
    """Write a backup of the data folder to `dest` and its keys to `keys_dest`. `head`: where the
    audit chain's head file lives (tasks/infra/audit.py head_file). Both folders appear whole or
    not at all."""
    check_destinations(settings=settings, dest=dest, keys_dest=keys_dest)
    home = settings.home.resolve()
    if not home.is_dir():
        raise DomainError(f"数据目录 {home} 不存在，没有可备份的数据")
    backup_id = hashlib.sha256(f"{now.isoformat()}{os.getpid()}{os.urandom(8).hex()}".encode()).hexdigest()[:16]
    out = Outcome(dest)
    keys_out = Outcome(keys_dest) if keys_dest is not None else None
    with _staging(dest) as tmp, (_staging(keys_dest) if keys_dest is not None else _nothing()) as ktmp:
        # 1. the keys, and the audit head before the database (see the module's note)
        if ktmp is not None and keys_out is not None:
            for name, src in key_files(settings, head).items():
                target = ktmp / name
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.copy2(src, target)
                os.chmod(target, 0o600)
            os.chmod(ktmp, 0o700)
            files = _hashes(ktmp, {KEYS_MANIFEST})
            keys_out.keys = len(files)
            head_name = next((n for n, p in key_files(settings, head).items() if head and p == head), "")
            _write_json(ktmp / KEYS_MANIFEST, {
                "format": FORMAT, "backup_id": backup_id, "created_at": now.isoformat(timespec="seconds"),
                "by": actor, "home": str(home), "keys_dir": str(settings.keys_dir), "audit_head": head_name,
                "audit_head_path": str(head) if head else "", "files": files})
        # 2. the application's database
        sqlite_path = _sqlite_path(settings.db_url)
        if sqlite_path is not None:
            if not sqlite_path.exists():
                raise DomainError(f"应用数据库 {sqlite_path} 不存在")
            _sqlite_copy(sqlite_path, tmp / APP_SQLITE)
            app = {"kind": "sqlite", "file": APP_SQLITE, "path": str(sqlite_path)}
        else:
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp / APP_PGDUMP}",
                  f"--dbname={_libpq(settings.db_url)}"], "备份应用数据库（pg_dump）")
            app = {"kind": "postgresql", "file": APP_PGDUMP,
                   "url": make_url(settings.db_url).render_as_string(hide_password=True)}
        # 3. Prefect's database (the waiting runs)
        external = os.environ.get(PREFECT_URL, "")
        if external and make_url(external).get_backend_name() != "postgresql":
            raise DomainError(f"Prefect 数据库不是 PostgreSQL（{PREFECT_URL}），本命令只能备份 PostgreSQL")
        if external:
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp / PREFECT_DUMP}",
                  f"--dbname={_libpq(external)}"], "备份 Prefect 数据库（pg_dump）")
            prefect = {"kind": "postgresql", "file": PREFECT_DUMP,
                       "url": make_url(external).render_as_string(hide_password=True)}
        elif not _has_private_pg(home):  # `up` never ran on this folder: no runs to keep
            prefect = {"kind": "none"}
            out.prefect = False
            out.notes.append("数据目录中还没有 Prefect 数据库（未运行过 up），未备份")
        else:
            with _private_pg(home) as port:
                _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp / PREFECT_DUMP}",
                      f"--dbname={_prefect_libpq(home, port)}"], "备份 Prefect 数据库（pg_dump）")
            prefect = {"kind": "private", "file": PREFECT_DUMP}
        # 4. the rest of the data folder, the templates
        skip = {p.resolve() for p in (sqlite_path, head) if p is not None}
        _copy_tree(home, tmp / HOME, skip, SKIPPED_TOP)
        if settings.templates_dir.is_dir():
            _copy_tree(settings.templates_dir, tmp / TEMPLATES, set())
        files = _hashes(tmp, {MANIFEST})
        out.files = len(files)
        _write_json(tmp / MANIFEST, {
            "format": FORMAT, "backup_id": backup_id, "created_at": now.isoformat(timespec="seconds"), "by": actor,
            "home": str(home), "templates_dir": str(settings.templates_dir), "app_database": app,
            "prefect_database": prefect, "versions": _versions(settings),
            "keys": ("已另存" if keys_dest is not None else "未备份"), "env_keys": env_keys(settings), "files": files})
    return out, keys_out


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _sqlite_copy(src: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API), checked afterwards."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=60)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
        ok = copy.execute("PRAGMA integrity_check").fetchone()
        if not ok or ok[0] != "ok":
            raise DomainError(f"应用数据库的副本未通过完整性检查：{ok[0] if ok else ''}")
    except sqlite3.Error as exc:
        raise DomainError(f"备份应用数据库失败：{exc}") from None
    finally:
        copy.close()
        source.close()


def _copy_tree(src: Path, target: Path, skip: set[Path], skip_top: set[str] | None = None) -> None:
    """Copy the files under `src` to `target`, but not `skip` (resolved paths), nor what lies under
    the top-level names `skip_top`, nor locks, temporary files and SQLite's side files."""
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src)
        if skip_top and (rel.parts[0] in skip_top or rel.parts[0].startswith("replaced-")):
            continue
        if p.is_symlink() or not p.is_file() or p.name.endswith(SKIPPED_SUFFIXES) or p.resolve() in skip:
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest)


# --- restore ----------------------------------------------------------------------------------

def read_manifest(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        what = "备份文件夹" if name == MANIFEST else "密钥文件夹"
        raise DomainError(f"{folder} 不是本系统的{what}（缺少 {name}）")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise DomainError(f"{path} 已损坏，无法读取") from None
    if data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        raise DomainError(f"{path} 的格式无法识别（本程序读取第{FORMAT}版）")
    return data


def verify(folder: Path, manifest: dict[str, Any], name: str) -> list[str]:
    """Problems, in Chinese: files missing, changed or not listed in the manifest."""
    listed: dict[str, str] = manifest["files"]
    found = _hashes(folder, {name})
    problems = [f"缺少文件：{n}" for n in sorted(set(listed) - set(found))]
    problems += [f"文件已被改动（SHA-256 不符）：{n}" for n in sorted(set(listed) & set(found)) if listed[n] != found[n]]
    problems += [f"清单中没有的文件：{n}" for n in sorted(set(found) - set(listed))]
    return problems


def check_backup(*, dest: Path, keys_src: Path | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Both manifests, every hash checked; DomainError naming what does not match."""
    manifest = read_manifest(dest, MANIFEST)
    problems = verify(dest, manifest, MANIFEST)
    if problems:
        raise DomainError(f"备份文件夹 {dest} 与其清单不符，未恢复任何数据", problems[:20])
    keys = None
    if keys_src is not None:
        keys = read_manifest(keys_src, KEYS_MANIFEST)
        problems = verify(keys_src, keys, KEYS_MANIFEST)
        if problems:
            raise DomainError(f"密钥文件夹 {keys_src} 与其清单不符，未恢复任何数据", problems[:20])
    return manifest, keys


def restore(*, settings: Settings, src: Path, keys_src: Path | None, replace: bool, now: datetime) -> Outcome:
    """Bring the data folder back from a backup (the stack must be down). Every check comes first;
    the folder is then rebuilt beside the data folder and moved into it only when all of it is
    there, so a failure leaves the data folder as it was. What is already there is refused, or
    with `replace` moved aside to home/replaced-<time>/, never deleted."""
    home = settings.home.resolve()
    if _inside(src, home) or (keys_src is not None and _inside(keys_src, home)):
        raise DomainError("备份文件夹或密钥文件夹在数据目录之内，无法从其中恢复：请先把备份复制到数据目录以外")
    manifest, keys = check_backup(dest=src, keys_src=keys_src)
    running = running_processes(home)
    if running:
        raise DomainError(f"系统正在运行（{'、'.join(running)}），不能恢复：请先运行 xuncha down 停止，再恢复")
    if home.exists() and home.stat().st_uid != os.geteuid():
        import pwd

        owner = pwd.getpwuid(home.stat().st_uid).pw_name
        raise DomainError(f"数据目录 {home} 属于操作系统用户 {owner}，请以该用户运行恢复")
    _known_schema(str(manifest.get("versions", {}).get("schema", "")))
    app = manifest["app_database"]
    sqlite_path = _sqlite_path(settings.db_url)
    if (app["kind"] == "sqlite") != (sqlite_path is not None):
        now_kind = "SQLite" if sqlite_path is not None else "PostgreSQL"
        raise DomainError(f"备份中的应用数据库是 {'SQLite' if app['kind'] == 'sqlite' else 'PostgreSQL'}，"
                          f"而当前配置的是 {now_kind}（XUNCHA_DATABASE_URL），请改为一致后再恢复")
    prefect_external = os.environ.get(PREFECT_URL, "")
    prefect_kind = manifest["prefect_database"]["kind"]
    if prefect_kind != "none" and (prefect_kind == "private") == bool(prefect_external):
        raise DomainError("备份中的 Prefect 数据库与当前配置不一致（PREFECT_API_DATABASE_CONNECTION_URL），请改为一致后再恢复")
    if keys is None and not _keys_present(settings):
        raise DomainError(f"数据目录中没有密钥（{settings.keys_dir}），恢复后举报人身份将无法解密、审计日志无法校验："
                          "请用 --keys 指定密钥备份文件夹")
    if sqlite_path is None and _has_tables(settings.db_url) and not replace:
        raise DomainError(f"应用数据库（{make_url(settings.db_url).render_as_string(hide_password=True)}）中已有数据，"
                          "未恢复任何数据。确认要用备份覆盖时加 --replace（该库中的数据将被备份中的替换，请先另行导出）")
    in_the_way = _in_the_way(settings, home, sqlite_path, keys is not None)
    if in_the_way and not replace:
        raise DomainError(f"数据目录 {home} 中已有数据，未恢复任何数据。确认要用备份替换时加 --replace"
                          f"（现有数据会移到 {home / 'replaced-时间'}，不会删除）",
                          [str(p) for p in in_the_way[:10]])
    out = Outcome(home)
    home.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{home.name}.restoring-", dir=home.parent))
    outside: list[tuple[Path, Path]] = []  # (staged file, its place outside the data folder)

    def place(path: Path) -> Path:
        """Where `path` is written now: in the stage when it belongs to the data folder."""
        if _inside(path, home):
            return stage / path.resolve().relative_to(home)
        staged = path.with_name(path.name + ".restoring")
        outside.append((staged, path))
        return staged

    try:
        _copy_back(src / HOME, stage)
        out.files = sum(1 for n in manifest["files"] if n.startswith(HOME + "/"))
        if sqlite_path is not None:
            target = place(sqlite_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / APP_SQLITE, target)
        if prefect_kind == "none":
            out.prefect = False
        elif not prefect_external:
            with _private_pg(stage) as port:  # a new cluster in the stage, stopped before it moves
                _run([_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
                      f"--dbname={_prefect_libpq(stage, port)}", str(src / PREFECT_DUMP)], "恢复 Prefect 数据库（pg_restore）")
        if keys is not None and keys_src is not None:
            out.keys = _restore_keys(keys_src, keys, place(settings.keys_dir),
                                     place(Path(keys["audit_head_path"])) if keys.get("audit_head_path") else None)
        # The servers' databases last, each in one transaction: nothing of theirs is half restored.
        if sqlite_path is None:
            _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--single-transaction",
                  f"--dbname={_libpq(settings.db_url)}", str(src / APP_PGDUMP)], "恢复应用数据库（pg_restore）")
        if prefect_kind != "none" and prefect_external:
            _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--single-transaction",
                  f"--dbname={_libpq(prefect_external)}", str(src / PREFECT_DUMP)], "恢复 Prefect 数据库（pg_restore）")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for staged, _ in outside:
            staged.unlink(missing_ok=True)
        raise
    # Everything is there: move what was in the way aside, then the stage in.
    home.mkdir(parents=True, exist_ok=True)
    if in_the_way:
        aside = home / f"replaced-{now:%Y%m%d-%H%M%S}"
        aside.mkdir()
        for p in in_the_way:
            target = aside / (p.relative_to(home) if _inside(p, home) else p.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(p), str(target))
        out.notes.append(f"原有数据已移到 {aside}")
    for entry in sorted(stage.iterdir()):
        _merge(entry, home / entry.name)
    stage.rmdir()
    for staged, final in outside:
        os.replace(staged, final)
    if (src / TEMPLATES).is_dir():
        changed = _copy_back(src / TEMPLATES, settings.templates_dir, only_changed=True)
        if changed:
            out.notes.append(f"公文模板已恢复{changed}个（{settings.templates_dir}）")
    if keys is not None and keys.get("backup_id") != manifest.get("backup_id"):
        out.notes.append(f"注意：密钥备份（{keys.get('created_at')}）与数据备份（{manifest.get('created_at')}）不是同一次备份，"
                         "请运行 verify-audit 校验审计日志")
    missing_env = [n for n in manifest.get("env_keys", []) if n not in env_keys(settings)]
    if missing_env:
        out.notes.append(f"备份时以下密钥由环境变量提供，未包含在备份中，请重新设置：{'、'.join(missing_env)}")
    return out


def _known_schema(revision: str) -> None:
    """Refuse a backup whose database schema this program does not know (made by a newer version)."""
    if not revision:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from models.schema import alembic_config

    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise DomainError(f"备份中的数据库结构版本 {revision} 是本程序不认识的（备份来自更新版本的程序），"
                          "请先把程序升级到备份时的版本（见备份清单 manifest.json 中的 versions）再恢复")


def _merge(src: Path, dst: Path) -> None:
    """Move `src` to `dst`; folders that exist on both sides are merged entry by entry."""
    if src.is_dir() and dst.is_dir():
        for child in sorted(src.iterdir()):
            _merge(child, dst / child.name)
        src.rmdir()
    else:
        os.replace(src, dst)


def _has_tables(url: str) -> bool:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    except Exception as exc:  # noqa: BLE001 - the operator needs the reason, not a trace
        raise DomainError(f"无法连接应用数据库：{exc}") from None
    finally:
        engine.dispose()


def _keys_present(settings: Settings) -> bool:
    return settings.master_key is not None or (settings.keys_dir / "master.key").exists()


def _in_the_way(settings: Settings, home: Path, sqlite_path: Path | None, with_keys: bool) -> list[Path]:
    """What a restore would overwrite: everything in the data folder but its logs, PIDs and what
    earlier restores moved aside; the SQLite file when it lives elsewhere; the key folder when keys
    are restored (it is in the data folder, so the first rule covers it)."""
    found: list[Path] = []
    if home.is_dir():
        found += [p for p in sorted(home.iterdir())
                  if p.name not in {"logs", "pids"} and not p.name.startswith(("replaced-", "."))]
    if sqlite_path is not None and not _inside(sqlite_path, home):
        found += [p for p in (sqlite_path, *(sqlite_path.with_name(sqlite_path.name + s) for s in ("-wal", "-shm")))
                  if p.exists()]
    if with_keys and not _inside(settings.keys_dir, home) and settings.keys_dir.exists():
        found.append(settings.keys_dir)
    return found


def _copy_back(src: Path, target: Path, only_changed: bool = False) -> int:
    copied = 0
    if not src.is_dir():
        return 0
    for p in sorted(src.rglob("*")):
        if not p.is_file():
            continue
        dest = target / p.relative_to(src)
        if only_changed and dest.exists() and sha256(dest) == sha256(p):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest)
        copied += 1
    return copied


def _restore_keys(keys_src: Path, keys: dict[str, Any], keys_dir: Path, head: Path | None) -> int:
    """The key files into `keys_dir` (0700, files 0600), the audit head (when kept outside the key
    folder) to `head`; how many files."""
    count = 0
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    for name in keys["files"]:
        if name.startswith(KEYS + "/"):
            target = keys_dir / name.removeprefix(KEYS + "/")
        elif name == HEAD and head is not None:
            target = head
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(keys_src / name, target)
        os.chmod(target, 0o600)
        count += 1
    return count
