"""The calendar as office data (tasks/infra/holidays.py): a year entered in the shape of the State
Council's notice, refused by line and festival when wrong, office only and audited; deadlines
counted over a year not yet entered are provisional (暂按周末计算) and are recomputed, with their
reminders, when the year is entered; from 1 November the office is told to enter next year.

2027 here is tests/support/holidays_2027.yaml, a schedule made up for these tests (not official)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.access import Forbidden
from models.clock import CHINA
from models.db import get_engine
from models.enums import DayCount, Stage
from models.errors import DomainError
from models.forms import FindingIn
from models.settings import Settings, get_settings
from models.tables import (
    AuditEvent,
    ClueLetter,
    HolidayYear,
    ProvisionalDeadline,
    RectificationItem,
)
from tasks.clues import ledger as clues
from tasks.clues.views import letters_for
from tasks.identity.todo import todo_for
from tasks.infra.holidays import enter_year, missing_years, parse_notice, provisional_ids
from tasks.infra.workdays import work_calendar
from tasks.supervision.rectification import restart_ladder, sweep
from tests.conftest import LINK
from tests.support.advance import advance
from tests.support.cli import as_person
from tests.support.factories import in_stationing, make_round

FIXTURE = Path(__file__).resolve().parents[1] / "support" / "holidays_2027.yaml"
NOTICE_2027 = FIXTURE.read_text(encoding="utf-8")
W = DayCount.WORKING


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=CHINA)


def test_the_test_schedule_reads_as_the_notice_gives_it() -> None:
    festivals = parse_notice(NOTICE_2027, 2027)
    assert [f.name for f in festivals] == ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]
    spring = festivals[1]
    assert spring.rest == [(date(2027, 2, 5), date(2027, 2, 13))] and spring.working == [date(2027, 1, 31), date(2027, 2, 20)]
    assert festivals[3].working == [date(2027, 4, 25), date(2027, 5, 8)]  # a YAML list works as well as 、
    assert parse_notice("2027:\n  春节:\n    放假: 2027-02-05~2027-02-13\n", 2027)[0].rest_days() == spring.rest_days()


@pytest.mark.parametrize(("text", "phrase"), [
    ("春节:\n  放假: 2026-12-31 至 2027-01-02\n", "第2行（春节）“放假”中2026-12-31不在2027年内"),
    ("元旦:\n  放假: 2027-01-01\n春节:\n  放假: 2027-02-30\n", "第4行（春节）“放假”中“2027-02-30”不是日期"),
    ("元旦:\n  放假: 2027-01-01 至 2027-01-03\n春节:\n  放假: 2027-01-03 至 2027-01-05\n",
     "第4行（春节）放假日期与第2行（元旦）重叠：2027-01-03"),
    ("春节:\n  放假: 2027-02-05 至 2027-02-13\n  调休上班:\n    - 2027-02-14\n    - 2027-02-15\n",
     "第5行（春节）：调休上班日2027-02-15（周一）不是周六或周日"),
    ("春节:\n  放假: 2027-02-05 至 2027-02-13\n  调休上班: 2027-02-06\n", "2027-02-06既是放假日（春节）又是调休上班日"),
    ("春节:\n  放假: 2027-02-13 至 2027-02-05\n", "起止颠倒"),
    ("春节:\n  休息: 2027-02-05\n", "第2行（春节）：无法识别“休息”"),
    ("春节:\n  调休上班: 2027-02-20\n", "第1行（春节）：没有写放假日期"),
    ("春节:\n  放假: 2027-02-05\n春节:\n  放假: 2027-02-06\n", "第3行（春节）：节日“春节”写了两次"),
    ("2028:\n  春节:\n    放假: 2027-02-05\n", "文件写的是2028年，录入的是2027年"),
    ("春节: [\n", "不是有效的格式"),
    ("", "是空的"),
])
def test_a_wrong_notice_is_refused_naming_the_line_and_festival(text: str, phrase: str) -> None:
    with pytest.raises(DomainError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        parse_notice(text, 2027)


def test_entering_a_year_is_office_only_audited_and_replaces_whole(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    with pytest.raises(Forbidden, match="录入和查看法定节假日安排"):
        enter_year(session=s, settings=settings, by="李建国", year=2027, text=NOTICE_2027, now=at(date(2026, 12, 7)))
    with pytest.raises(DomainError, match="第2行（春节）"):
        enter_year(session=s, settings=settings, by="陶文华", year=2027, text="春节:\n  放假: 2026-02-05\n",
                   now=at(date(2026, 12, 7)))
    s.rollback()
    assert s.get(HolidayYear, 2027) is None  # nothing half written
    done = enter_year(session=s, settings=settings, by="陶文华", year=2027, text=NOTICE_2027, now=at(date(2026, 12, 7)))
    s.commit()
    assert (done.festivals, done.rest_days, done.working_days, done.replaced) == (7, 3 + 9 + 3 + 5 + 1 + 1 + 7, 6, False)
    cal = work_calendar(settings, s)
    assert cal.knows(2027) and not cal.is_working_day(date(2027, 2, 8)) and cal.is_working_day(date(2027, 1, 31))
    again = enter_year(session=s, settings=settings, by="陶文华", year=2027, text="春节:\n  放假: 2027-02-06 至 2027-02-12\n",
                       now=at(date(2026, 12, 8)))
    s.commit()
    assert again.replaced and work_calendar(settings, s).is_working_day(date(2027, 1, 1))  # 元旦 gone with the old entry
    events = s.exec(select(AuditEvent).where(AuditEvent.action == "录入节假日安排").order_by(col(AuditEvent.id))).all()
    assert [(e.actor, e.entity_id, e.detail["replaced"], e.detail["festivals"][:2]) for e in events] == [
        ("陶文华", 2027, False, ["元旦", "春节"]), ("陶文华", 2027, True, ["春节"])]


def test_from_november_the_office_is_told_to_enter_next_year(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    assert missing_years(session=s, settings=settings, today=date(2026, 10, 31)) == []
    (line,) = missing_years(session=s, settings=settings, today=date(2026, 11, 1))
    assert line.startswith("2027年的法定节假日和调休安排尚未录入") and "set-holidays 2027" in line and "暂按周末计算" in line
    office = clues.account(s, "陶文华")
    assert todo_for(session=s, settings=settings, account=office, now=at(date(2026, 12, 7))).calendar == [line]
    assert todo_for(session=s, settings=settings, account=clues.account(s, "李建国"), now=at(date(2026, 12, 7))).calendar == []
    result = sweep(session=s, settings=settings, as_of=date(2026, 12, 7), now=at(date(2026, 12, 7)), link=LINK)
    assert result.calendar_warnings == [line]  # once, however many deadlines fell in 2027
    enter_year(session=s, settings=settings, by="陶文华", year=2027, text=NOTICE_2027, now=at(date(2026, 12, 7)))
    assert missing_years(session=s, settings=settings, today=date(2026, 12, 7)) == []
    assert todo_for(session=s, settings=settings, account=office, now=at(date(2026, 12, 7))).calendar == []


def test_a_signing_deadline_over_the_unknown_spring_festival_is_provisional_then_recomputed(
        demo_org: Session, settings: Settings) -> None:
    s = demo_org
    day = date(2027, 2, 3)  # Wednesday; 2027 not yet entered
    iid = in_stationing(s, settings, now=at(day), link=LINK)
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="x", now=at(day)).id or 0
    letter = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=at(day), link=LINK)
    s.commit()
    assert letter.ack_due_on == date(2027, 2, 8)  # 4, 5 and Monday 8 counting weekends only
    assert provisional_ids(session=s, model=ClueLetter, column="ack_due_on") == {letter.id}
    receiver = clues.account(s, "郑文斌")
    (wait,) = todo_for(session=s, settings=settings, account=receiver, now=at(day)).letters
    assert wait.provisional and wait.ack_due_on == date(2027, 2, 8)
    (line,) = letters_for(session=s, by="郑文斌", now=at(day))  # the receiver's 移交本单位 page
    assert line.provisional
    (row,) = clues.open_clues(session=s, by="陶文华", now=at(day))  # the office's ledger
    assert row["签收期限"] == "2027-02-08（暂按周末计算）"
    done = enter_year(session=s, settings=settings, by="陶文华", year=2027, text=NOTICE_2027, now=at(day))
    s.commit()
    s.refresh(letter)
    assert done.moved == 1 and letter.ack_due_on == date(2027, 2, 16)  # 4, then 春节 5–13 off, Monday 15, 16
    assert s.exec(select(ProvisionalDeadline)).all() == []
    (wait,) = todo_for(session=s, settings=settings, account=receiver, now=at(day)).letters
    assert not wait.provisional and wait.ack_due_on == date(2027, 2, 16)
    assert not letters_for(session=s, by="郑文斌", now=at(day))[0].provisional
    assert clues.open_clues(session=s, by="陶文华", now=at(day))[0]["签收期限"] == "2027-02-16"
    event = s.exec(select(AuditEvent).where(AuditEvent.action == "录入节假日安排")).one()
    assert event.detail["deadlines_moved"] == 1
    # The reminders follow the stored deadline: none from the old day on, the first on the new one.
    for quiet in (date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 15)):
        assert sweep(session=s, settings=settings, as_of=quiet, now=at(quiet), link=LINK).clue_reminders == 0
    assert sweep(session=s, settings=settings, as_of=date(2027, 2, 16), now=at(date(2027, 2, 16)), link=LINK).clue_reminders == 1


def test_an_item_due_on_a_day_that_becomes_a_holiday_moves_and_its_reminder_with_it(
        demo_org: Session, settings: Settings) -> None:
    s = demo_org
    working = settings.model_copy(update={"rectification_count": W, "rectification_days": 10})
    _, insps = make_round(s)
    iid = insps[0].id or 0
    feedback = date(2027, 1, 25)  # Monday
    advance(s, working, iid, Stage.RECTIFICATION, now=at(feedback), link=LINK,
            findings=[FindingIn(category="党的建设", description="会议记录不全"),
                      FindingIn(category="党的建设", description="制度执行不严")])
    s.commit()
    items = s.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid)).all()
    assert {i.deadline for i in items} == {date(2027, 2, 8)}  # ten weekdays, 2027 unknown
    assert {i.next_action_on for i in items} == {date(2027, 2, 1)}  # the reminder 7 days before
    assert provisional_ids(session=s, model=RectificationItem, column="deadline") == {i.id for i in items}
    # A deadline someone changed since is theirs: entering the year leaves it alone.
    changed = items[1]
    restart_ladder(changed, date(2027, 3, 1), settings)  # as a unit's plan does
    s.add(changed)
    s.commit()
    done = enter_year(session=s, settings=working, by="陶文华", year=2027, text=NOTICE_2027, now=at(date(2027, 1, 26)))
    s.commit()
    first = s.get(RectificationItem, items[0].id)
    assert first is not None and s.get(RectificationItem, changed.id).deadline == date(2027, 3, 1)  # type: ignore[union-attr]
    # 8 February became a holiday: the item is due on the next working day after 春节, the 调休
    # Sunday 31 January counted; its reminder moves with it and nothing is provisional any more.
    assert done.moved == 1 and first.deadline == date(2027, 2, 15) and first.next_action_on == date(2027, 2, 8)
    assert provisional_ids(session=s, model=RectificationItem, column="deadline") == set()
    # The ladder runs on the new days: no reminder on the old day, the reminder on the new one.
    assert sweep(session=s, settings=working, as_of=date(2027, 2, 1), now=at(date(2027, 2, 1)), link=LINK).by_rung.get(0) is None
    assert sweep(session=s, settings=working, as_of=date(2027, 2, 8), now=at(date(2027, 2, 8)), link=LINK).by_rung == {0: 1}


def test_an_item_past_its_reminder_keeps_its_rung_relative_to_the_moved_deadline(settings: Settings) -> None:
    from tasks.infra.holidays import replan_ladder

    item = RectificationItem(inspection_id=1, finding_id=1, deadline=date(2027, 2, 15), next_rung=1,
                             next_action_on=date(2027, 2, 8))
    replan_ladder(item, settings)
    assert item.next_action_on == date(2027, 2, 15) + timedelta(days=settings.escalation_offsets_days[0])
    item.next_rung, item.next_action_on = 1 + len(settings.escalation_offsets_days), None
    replan_ladder(item, settings)
    assert item.next_action_on is None


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, as_person(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_the_holidays_commands(cli_home: Path, tmp_path: Path) -> None:
    assert run("load-org")[0] == 0
    code, out = run("holidays", "--as", "陶文华")
    assert code == 0 and "chinese-calendar" in out
    bad = tmp_path / "坏.yaml"
    bad.write_text("元旦:\n  放假: 2027-01-01\n春节:\n  放假: 2027-02-05 至 2027-02-13\n  调休上班: 2027-02-15\n", encoding="utf-8")
    code, out = run("set-holidays", "2027", str(bad))
    assert code == 2 and "第5行（春节）：调休上班日2027-02-15（周一）不是周六或周日" in out and "Traceback" not in out
    code, out = run("set-holidays", "2027", str(FIXTURE))
    assert code == 0 and "已录入2027年节假日安排：7个节日" in out, out
    code, out = run("holidays")
    assert code == 0 and "2027\t巡察办录入\t元旦、春节" in out
    code, out = run("set-holidays", "2028", str(FIXTURE), "--as", "李建国")
    assert code == 2 and "无权" in out
    with Session(get_engine()) as s:
        assert [y.year for y in s.exec(select(HolidayYear))] == [2027]
    get_settings.cache_clear()
