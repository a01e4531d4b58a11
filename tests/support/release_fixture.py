"""How tests/support/release-0010/ was made: a database written by the release an office runs
today (schema 0010, before the outbox kept undeliverable alerts), by that release's own code.

Run once, from a checkout of that release, and committed as text (`iterdump`), with the audit
chain's head file and the fixed test keys below (test data only, never shipped as keys):

    .venv/bin/python -m tests.support.release_fixture tests/support/release-0010

What it holds: the demo county; 2026年第一轮巡察 approved; 城东街道 in 集中巡察 with findings, a
named petition and the team's report gate waiting (an open approval with its code alert);
区教育局 in 督促整改 with its items, a clue and its letter; a pending alert and one with no
recipient; the audit trail of all of it. tests/infra/test_upgrade.py upgrades it to head.

At each release: run this at the release's checkout into release-<its head revision>/ and point
tests/infra/test_upgrade.py (RELEASE, PREVIOUS) at it, so the test always starts from the database
the offices run. Keep the older folders only while offices still run those releases.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

MASTER_KEY = "release-fixture-master-key-not-a-real-key-0123456789"
SECRET_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # Fernet key of the fixture's informants
INFORMANT = "王建军"
INFORMANT_CONTACT = "13900001111"


def build(out: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="release-fixture-"))
    os.environ.update({"XUNCHA_HOME": str(home), "XUNCHA_MASTER_KEY": MASTER_KEY,
                       "XUNCHA_SECRET_KEYS": f'["{SECRET_KEY}"]',
                       "XUNCHA_AUDIT_HEAD_FILE": str(home / "audit-head")})
    from models.settings import get_settings

    get_settings.cache_clear()

    from sqlmodel import Session

    from models import schema
    from models.db import make_engine
    from models.enums import Gate, Role, Stage
    from tasks.clues.ledger import add_petition
    from tasks.infra.alerts import enqueue_alert
    from tasks.lifecycle.approvals import open_gate
    from tasks.lifecycle.rounds import settle_plan
    from tasks.planning.org import load_org, read_org_file
    from tests.conftest import DEMO_ORG, NOW
    from tests.support.advance import advance
    from tests.support.factories import make_round, sample_findings

    settings = get_settings()
    engine = make_engine(settings.db_url)
    schema.upgrade(engine)
    with Session(engine) as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
        s.commit()
        rnd, insps = make_round(s)
        settle_plan(session=s, round_id=rnd.id or 0, approved=True, now=NOW)
        s.commit()
        east, edu = insps[0].id or 0, insps[1].id or 0
        advance(s, settings, east, Stage.STATIONING, findings=sample_findings())
        s.commit()
        add_petition(session=s, settings=settings, by="李建国", inspection_id=east, channel="来信",
                     content="反映城东街道公务用车私用问题", informant_name=INFORMANT,
                     informant_contact=INFORMANT_CONTACT, now=NOW)
        open_gate(session=s, settings=settings, round_id=rnd.id, inspection_id=east, gate=Gate.STATIONING_DONE,
                  attempt=1, flow_run_id="00000000-0000-4000-8000-000000000001", now=NOW)
        s.commit()
        advance(s, settings, edu, Stage.RECTIFICATION, findings=sample_findings(),
                clues=[("违纪违法线索", "区教育局某科长收受礼金")])
        enqueue_alert(session=s, settings=settings, key="fixture:no-recipient", role=Role.LEADER_IN_CHARGE,
                      title="【共性问题领办】测试", body="领办通知", link="", now=NOW)
        s.commit()
    engine.dispose()
    out.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(home / "xuncha.db") as conn:
        (out / "xuncha.sql").write_text("\n".join(conn.iterdump()) + "\n", encoding="utf-8")
    shutil.copy(home / "audit-head", out / "audit-head")
    shutil.rmtree(home)


if __name__ == "__main__":
    build(Path(sys.argv[1]))
