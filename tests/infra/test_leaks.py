"""The leak scanner itself: it must find a secret in each form Prefect could store it in,
or the end-to-end "found 0 times" would prove nothing."""

from __future__ import annotations

import base64
import json
import pickle
import sqlite3
import zipfile
from pathlib import Path

from tests.support.leaks import scan_files, scan_postgres, scan_sqlite

SECRET = "哨兵-自检-0B1D"


def test_finds_the_secret_in_every_form(tmp_path: Path) -> None:
    db = tmp_path / "prefect.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE log (message TEXT)")
    con.execute("CREATE TABLE flow_run (parameters TEXT)")
    con.execute("CREATE TABLE artifact (data BLOB)")
    con.execute("CREATE TABLE clean (x TEXT)")
    con.execute("INSERT INTO log VALUES (?)", (f"线索：{SECRET}",))
    con.execute("INSERT INTO flow_run VALUES (?)", (json.dumps({"summary": SECRET}),))  # \\u-escaped
    con.execute("INSERT INTO artifact VALUES (?)", (SECRET.encode("utf-16-le"),))
    con.execute("INSERT INTO clean VALUES ('nothing here')")
    con.commit()
    con.close()
    assert scan_sqlite(db, SECRET) == ["prefect.db:artifact", "prefect.db:flow_run", "prefect.db:log"]

    store = tmp_path / "storage"
    store.mkdir()
    record = {"metadata": {}, "result": base64.b64encode(pickle.dumps({"summary": SECRET})).decode()}
    (store / "result-1").write_text(json.dumps(record), encoding="utf-8")
    (store / "result-2").write_text(json.dumps({"result": base64.b64encode(pickle.dumps(42)).decode()}), encoding="utf-8")
    (tmp_path / "worker.log").write_text(f"INFO 线索内容 {SECRET}\n", encoding="utf-8")
    # A document or workbook is a zip: the text inside is compressed, found only once unpacked.
    with zipfile.ZipFile(tmp_path / "报告.docx", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", f"<w:t>{SECRET}</w:t>" * 50)
    with zipfile.ZipFile(tmp_path / "clean.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "nothing here")
    assert SECRET.encode() not in (tmp_path / "报告.docx").read_bytes()
    assert scan_files(tmp_path, SECRET) == ["prefect.db", "storage/result-1", "worker.log", "报告.docx"]


def test_finds_the_secret_in_a_postgres_database(pg_database: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_database)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        conn.execute(text("CREATE TABLE log (message text); CREATE TABLE event (payload jsonb); "
                          "CREATE TABLE blob (data bytea); CREATE TABLE clean (x text)"))
        conn.execute(text("INSERT INTO log VALUES (:m)"), {"m": f"线索：{SECRET}"})
        conn.execute(text("INSERT INTO event VALUES (CAST(:p AS jsonb))"), {"p": json.dumps({"summary": SECRET})})
        conn.execute(text("INSERT INTO blob VALUES (:b)"), {"b": SECRET.encode()})
        conn.execute(text("INSERT INTO clean VALUES ('nothing here')"))
    engine.dispose()
    assert scan_postgres(pg_database, SECRET) == ["postgres:blob", "postgres:event", "postgres:log"]
