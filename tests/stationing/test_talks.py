"""个别谈话: the talk plan and records of a unit, kept like clues — encrypted where they name a
person or say what was said, reached only by the unit's own team and the office, every read
audited, counted (never shown) in what goes to Prefect, catalogued in the dossier's confidential
volume and never copied into it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from models.enums import Stage
from models.settings import Settings
from models.tables import Alert, AuditEvent, Document, Inspection, TalkPlan, TalkRecord
from tasks.clues.keys import rotate_informant_key
from tasks.infra.xlsx import read_workbook
from tasks.lifecycle.rounds import units_table
from tasks.records.dossier import CONFIDENTIAL, RECORDS, find_dossier
from tasks.stationing.talks import (
    Person,
    plan_talk,
    read_plan,
    read_talk,
    record_talk,
    talk_overview,
)
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import in_stationing, refused
from tests.support.leaks import scan_files, scan_sqlite

SENTINEL = "哨兵-谈话-9D4B"  # what a person said about their leader
NAMED = "谈话对象-丙丁-3E7A"  # who said it
DAY = date(2026, 12, 1)


def _plan(s: Session, settings: Settings, iid: int, *, by: str = "李建国", talker: str = "刘洋",
          day: date = DAY, purpose: str = f"了解班子成员情况 {SENTINEL}") -> TalkPlan:
    return plan_talk(session=s, settings=settings, by=by, inspection_id=iid, person=Person(NAMED, "财务科科长"),
                     talker=talker, planned_on=day, purpose=purpose, now=NOW)


def _record(s: Session, settings: Settings, iid: int, *, plan_id: int | None = None, by: str = "刘洋",
            content: str = f"反映主要负责人插手工程 {SENTINEL}") -> TalkRecord:
    return record_talk(session=s, settings=settings, by=by, inspection_id=iid, talker="刘洋", held_on=DAY,
                       content=content, plan_id=plan_id, person=None if plan_id else Person(NAMED, "出纳"), now=NOW)


def test_plan_and_record_encrypted_read_by_team_and_office_audited(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    iid = in_stationing(s, settings)
    plan = _plan(s, settings, iid)
    rec = _record(s, settings, iid, plan_id=plan.id)
    extra = _record(s, settings, iid)  # a talk held without a plan
    # Nothing of the person or what was said is stored in the clear, not even in our database.
    db = settings.home / "xuncha.db"
    assert db.exists() and scan_sqlite(db, SENTINEL) == [] and scan_sqlite(db, NAMED) == []
    for row in (plan, rec, extra):
        assert SENTINEL not in str(row.model_dump()) and NAMED not in str(row.model_dump())

    # The overview has numbers, inspectors and days only.
    rows = talk_overview(session=s, by="陈晓梅", inspection_id=iid, now=NOW)
    assert rows == [{"谈话安排": plan.id, "谈话人": "刘洋", "日期": "2026-12-01", "谈话记录": rec.id},
                    {"谈话安排": "（未列入安排）", "谈话人": "刘洋", "日期": "2026-12-01", "谈话记录": extra.id}]
    shown = read_talk(session=s, settings=settings, by="陶文华", record_id=rec.id or 0, now=NOW)
    assert (shown["谈话对象"], shown["职务"]) == (NAMED, "财务科科长")  # from the plan
    assert SENTINEL in shown["谈话记录"] and SENTINEL in shown["谈话事由"]
    assert read_plan(session=s, settings=settings, by="刘洋", plan_id=plan.id or 0, now=NOW)["谈话对象"] == NAMED
    reads = s.exec(select(AuditEvent).where(col(AuditEvent.action).in_(["查阅谈话记录", "查阅谈话安排"]))).all()
    assert [(e.actor, e.action, e.entity_id) for e in reads] == [("陶文华", "查阅谈话记录", rec.id), ("刘洋", "查阅谈话安排", plan.id)]
    # The trail says who planned, recorded and read what, never whom or what about.
    for e in s.exec(select(AuditEvent)):
        assert SENTINEL not in str(e.detail) and NAMED not in str(e.detail)

    # Outside the team and the office no one reaches them, and each refusal is on the trail.
    for who, why in (("周卫东", "该单位不由您所在的巡察组巡察"), ("张明", "无权查阅谈话安排和谈话记录"),
                     ("吴志刚", "无权查阅谈话安排和谈话记录"), ("钱正平", "无权查阅谈话安排和谈话记录")):
        refused(s, lambda who=who: read_talk(session=s, settings=settings, by=who, record_id=rec.id or 0, now=NOW), why)
        refused(s, lambda who=who: talk_overview(session=s, by=who, inspection_id=iid, now=NOW), why)
    refused(s, lambda: _plan(s, settings, iid, by="周卫东"), "该单位不由您所在的巡察组巡察")


def test_bad_input_is_refused_in_chinese_and_nothing_written(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    iid = in_stationing(s, settings)
    plan = _plan(s, settings, iid)
    _record(s, settings, iid, plan_id=plan.id)
    refused(s, lambda: _plan(s, settings, iid, talker="周卫东"), "谈话人“周卫东”不是负责该单位的巡察组成员")
    refused(s, lambda: _plan(s, settings, iid, day=date(2027, 1, 5)), "不在本轮巡察期间")
    refused(s, lambda: _plan(s, settings, iid, purpose="  "), "谈话事由不能为空")
    refused(s, lambda: _record(s, settings, iid, content=""), "谈话记录内容不能为空")
    refused(s, lambda: _record(s, settings, iid, content="字" * 8001), "谈话记录内容超过8000字")
    refused(s, lambda: _record(s, settings, iid, plan_id=plan.id), f"谈话安排{plan.id}已登记谈话记录")
    refused(s, lambda: _record(s, settings, iid, plan_id=999), "该单位没有编号为999的谈话安排")
    refused(s, lambda: record_talk(session=s, settings=settings, by="刘洋", inspection_id=iid, talker="刘洋",
                                   held_on=DAY, content="内容", now=NOW), "未按谈话安排进行的谈话，须填写谈话对象")
    refused(s, lambda: record_talk(session=s, settings=settings, by="刘洋", inspection_id=iid, talker="刘洋",
                                   held_on=DAY + timedelta(days=3), content="内容", person=Person("某人"), now=NOW),
            "晚于今天")


def test_counted_in_the_round_table_rotated_with_the_key_and_kept_out_of_the_dossier(
        demo_org: Session, settings: Settings) -> None:
    s = demo_org
    iid = in_stationing(s, settings)
    plans = [_plan(s, settings, iid), _plan(s, settings, iid)]
    rec = _record(s, settings, iid, plan_id=plans[0].id)
    # What the round's run shows in Prefect: a count, never a person or a word said.
    insp = s.get(Inspection, iid)
    assert insp is not None
    table = units_table(session=s, settings=settings, round_id=insp.round_id)
    mine = next(r for r in table if r["被巡察单位"] == "城东街道")
    assert mine["个别谈话（已谈/安排）"] == "1/2"
    assert SENTINEL not in str(table) and NAMED not in str(table)

    # The informants' key rotation re-encrypts talks too; they still read after the old key goes.
    before = s.get(TalkRecord, rec.id)
    assert before is not None
    token = before.content_enc
    rotate_informant_key(session=s, settings=settings, by="陶文华", now=NOW)
    s.refresh(before)
    assert before.content_enc != token
    assert SENTINEL in read_talk(session=s, settings=settings, by="刘洋", record_id=rec.id or 0, now=NOW)["谈话记录"]

    # Archived: the dossier's confidential volume lists the talks by number, inspector and day;
    # no file of the dossier (or any document written on the way) holds the person or the text.
    advance(s, settings, iid, Stage.ARCHIVED, now=NOW)
    s.commit()
    folder = find_dossier(session=s, settings=settings, round_name="2026年第一轮巡察", unit_name="城东街道")
    volume = read_workbook(folder / CONFIDENTIAL, what="保密卷")
    assert [r[:4] for r in volume["谈话安排"][1:]] == [(plans[0].id, "刘洋", "2026-12-01", rec.id),
                                                       (plans[1].id, "刘洋", "2026-12-01", "（未谈）")]
    assert [r[:4] for r in volume["谈话记录"][1:]] == [(rec.id, plans[0].id, "刘洋", "2026-12-01")]
    audit = read_workbook(folder / RECORDS, what="记录")["审计事件"]
    assert {r[3] for r in audit if r[4] == "talk_record"} >= {"登记谈话记录", "查阅谈话记录"}
    for secret in (SENTINEL, NAMED):
        assert scan_files(folder, secret) == [] and scan_files(folder.parent, secret) == []
        assert scan_files(settings.documents_dir, secret) == []
        assert not [a for a in s.exec(select(Alert)) if secret in a.body + a.title]
    assert s.exec(select(Document).where(Document.inspection_id == iid)).first() is not None


@pytest.mark.parametrize("stage", [Stage.FEEDBACK])
def test_no_talk_recorded_after_the_report(demo_org: Session, settings: Settings, stage: Stage) -> None:
    s = demo_org
    iid = in_stationing(s, settings)
    advance(s, settings, iid, stage, now=NOW)
    s.commit()
    refused(s, lambda: _record(s, settings, iid), "不能登记谈话记录（仅限集中巡察、报告巡察阶段）")
    refused(s, lambda: _plan(s, settings, iid), "不能安排个别谈话")
