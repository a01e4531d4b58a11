"""Search everything Prefect keeps — every table of its database, its result files and the
process logs — for a sentinel string, in the forms it could take there."""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import zipfile
from pathlib import Path
from typing import Any


def forms(sentinel: str) -> list[bytes]:
    """UTF-8, JSON-escaped (\\uXXXX) and UTF-16 forms of the sentinel."""
    escaped = json.dumps(sentinel)[1:-1]
    return [sentinel.encode(), escaped.encode(), escaped.lower().encode(), sentinel.encode("utf-16-le")]


def _in(blob: bytes, needles: list[bytes]) -> bool:
    return any(n in blob for n in needles)


def _decoded(value: str) -> bytes:
    """Base64 text decoded (results are stored as base64 of a pickle), else b""."""
    if len(value) < 16 or len(value) % 4:
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _walk(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _walk(v)]
    if isinstance(node, list):
        return [s for v in node for s in _walk(v)]
    return [node] if isinstance(node, str) else []


def scan_sqlite(db: Path, sentinel: str) -> list[str]:
    needles = forms(sentinel)
    found: list[str] = []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from sqlite_master
                for value in row:
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    if _in(blob, needles) or (isinstance(value, str) and _in(_decoded(value), needles)):
                        found.append(f"{db.name}:{table}")
    finally:
        con.close()
    return sorted(set(found))


def scan_postgres(url: str, sentinel: str) -> list[str]:
    """Tables of a PostgreSQL database in which some row, as text, holds the sentinel (also as
    the hex of a bytea column or base64 of a stored result)."""
    from sqlalchemy import create_engine, text

    needles = forms(sentinel)
    hexes = [n.hex().encode() for n in needles]
    found: list[str] = []
    engine = create_engine(url.replace("+asyncpg", "+psycopg"))
    try:
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
            for table in tables:
                for (row,) in conn.execute(text(f'SELECT t::text FROM "{table}" t')):  # noqa: S608 - names from pg_tables
                    blob = row.encode()
                    if _in(blob, needles) or _in(blob, hexes) or any(_in(_decoded(w), needles) for w in row.split('"')):
                        found.append(f"postgres:{table}")
                        break
    finally:
        engine.dispose()
    return sorted(set(found))


def _in_archive(path: Path, needles: list[bytes]) -> bool:
    """A zip (the dossier's .zip, a .docx or .xlsx): its members decompressed, where a byte scan
    of the file itself sees nothing."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(_in(zf.read(info), needles) for info in zf.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError):
        return False


def scan_files(root: Path, sentinel: str) -> list[str]:
    """Files under `root` holding the sentinel (also inside zip archives: documents and workbooks
    are zips, their text compressed)."""
    needles = forms(sentinel)
    found: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        blob = path.read_bytes()
        hit = _in(blob, needles) or (blob[:4] == b"PK\x03\x04" and _in_archive(path, needles))
        if not hit:
            try:  # a result record: JSON whose payload is base64 of a pickle
                hit = any(_in(_decoded(s), needles) for s in _walk(json.loads(blob)))
            except (ValueError, UnicodeDecodeError):
                pass
        if hit:
            found.append(str(path.relative_to(root)))
    return found


def prefect_leaks(stack_home: Path, sentinel: str, database_url: str = "") -> dict[str, list[str]]:
    """Where the sentinel occurs in the stack's Prefect database (its SQLite file, or the
    PostgreSQL database at `database_url`), Prefect's files and the logs."""
    prefect_home = stack_home / "prefect"
    if database_url:
        hits = scan_postgres(database_url, sentinel)
    else:
        dbs = list(prefect_home.rglob("*.db"))
        assert dbs, f"no Prefect database under {prefect_home}"
        hits = [hit for db in dbs for hit in scan_sqlite(db, sentinel)]
    return {
        "database": hits,
        "files": scan_files(prefect_home, sentinel),
        "logs": scan_files(stack_home / "logs", sentinel),
    }
