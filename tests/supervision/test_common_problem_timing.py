"""共性问题 at the right moment (#12): the grouping is registered once every unit's report is
approved, its form's findings left out become 个性问题, late common findings are proposed again
(joining a confirmed problem of their category), a unit cannot archive before its common findings
are led, and a common problem stays supervised, archived units or not, until the office closes it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from models import tables
from models.clock import CHINA, aware
from models.enums import (
    CommonProblemStatus,
    FindingScope,
    GroupingStatus,
    RoundStatus,
    Stage,
)
from models.errors import DomainError
from models.forms import CommonGroupIn, ProgressIn
from models.settings import Settings
from tasks.lifecycle import stages
from tasks.supervision.common_problems import (
    JOIN_NOTE,
    SINGLE_UNIT_NOTE,
    GroupProposal,
    close_common_problem,
    close_out_refusal,
    grouping_for_run,
    mark_started,
    propose_groups,
    register_due,
    to_start,
    waiting_reason,
)
from tasks.supervision.rectification import report_progress, sweep
from tests.supervision.test_common_problems import (
    DAY,
    LINK,
    NOW,
    UNITS,
    Round,
    _kw,
    archives,
    build,
    confirm,
    item_of,
)
from tests.support.advance import advance
from tests.support.cli import as_person
from tests.support.factories import row_counts

ROUND = "2026年第一轮巡察"  # tests.support.factories' default round name


def party_building(r: Round, **kw: Any) -> CommonGroupIn:
    data = {"category": "党的建设", "title": "贯彻落实上级决策部署不到位（问题1）", "leader_in_charge": "郑文斌",
            "departments": ["区委组织部"], "finding_ids": [r.f("区交通投资集团", 2), r.f("马岙村", 3)]}
    return CommonGroupIn.model_validate({**data, **kw})


def finish_items(s: Session, settings: Settings, iid: int, item_ids: list[int], attempt: int = 1) -> Stage:
    """The unit reports these items done and the office closes them out (the unit archives once all are)."""
    insp = s.get(tables.Inspection, iid)
    assert insp is not None
    report_progress(session=s, settings=settings, inspection=insp, formal=True, by="单位书记", now=NOW,
                    reports=[ProgressIn(item_id=i, status="已完成待核", measure_taken="已整改") for i in item_ids])
    stage = stages.close_out(session=s, approved=True, attempt=attempt, comment="", **_kw(settings, iid))
    s.commit()
    return stage


def open_item_ids(s: Session, iid: int) -> list[int]:
    return [i.id for i in stages.open_items(session=s, inspection_id=iid) if i.id is not None]


def cp_item_ids(s: Session, cp_id: int, iid: int) -> list[int]:
    return [i for i in s.exec(select(tables.RectificationItem.id).where(
        tables.RectificationItem.common_problem_id == cp_id, tables.RectificationItem.inspection_id == iid)) if i is not None]


def close_items_of(s: Session, settings: Settings, r: Round, cp_id: int) -> None:
    """Every unit reports the common problem's items done and the office closes them out."""
    for iid in r.inspections.values():
        if ids := cp_item_ids(s, cp_id, iid):
            finish_items(s, settings, iid, ids)


def late_finding(s: Session, settings: Settings, unit_iid: int, category: str, text: str) -> int:
    """A common finding that arrives after a confirmation, as a look-back records one (with its item)."""
    f = tables.Finding(inspection_id=unit_iid, category=category, description=text, scope=FindingScope.COMMON, created_at=NOW)
    s.add(f)
    s.flush()
    assert f.id is not None
    s.add(tables.RectificationItem(inspection_id=unit_iid, finding_id=f.id, deadline=DAY + timedelta(days=30)))
    s.commit()
    return f.id


# When ---------------------------------------------------------------------------------------


def test_grouping_is_registered_once_every_report_is_approved(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings, rectifying=())
    assert register_due(session=s, now=NOW) == []  # all on site
    assert waiting_reason(session=s, round_id=r.id).startswith("尚有单位未通过报告审议：")
    for unit in UNITS[:3]:
        advance(s, settings, r.inspections[unit], Stage.FEEDBACK, now=NOW, link=LINK)
        s.commit()
        assert register_due(session=s, now=NOW) == []
    assert "马岙村（集中巡察）" in waiting_reason(session=s, round_id=r.id)
    advance(s, settings, r.inspections["城东街道"], Stage.RECTIFICATION, now=NOW, link=LINK)  # one unit already in 督促整改
    s.commit()

    advance(s, settings, r.inspections["马岙村"], Stage.FEEDBACK, now=NOW, link=LINK)  # the last report approved
    s.commit()
    (g,) = register_due(session=s, now=NOW)
    s.commit()
    common = [r.f("城东街道", 0), r.f("城东街道", 2), r.f("区教育局", 0), r.f("区教育局", 1), r.f("区交通投资集团", 0),
              r.f("区交通投资集团", 2), r.f("马岙村", 0), r.f("马岙村", 3)]
    assert (g.round_id, g.attempt, g.finding_ids, g.status) == (r.id, 1, common, GroupingStatus.REGISTERED)
    event = s.exec(select(tables.AuditEvent).where(tables.AuditEvent.action == "发起共性问题归类")).one()
    assert (event.actor, event.entity_id, event.detail["finding_ids"]) == ("系统", g.id, common)
    # Registered once: every unit flow past 报告审议 and the relay ask again.
    before = row_counts(s)
    assert register_due(session=s, now=NOW) == [] and register_due(session=s, now=NOW, round_id=r.id) == []
    assert row_counts(s) == before
    assert to_start(session=s) == [g.id]
    assert g.id is not None
    mark_started(session=s, grouping_id=g.id, flow_run_id="run-a")
    mark_started(session=s, grouping_id=g.id, flow_run_id="run-b")  # a racing starter keeps the first run
    assert to_start(session=s) == [] and (g.status, g.flow_run_id) == (GroupingStatus.STARTED, "run-a")
    # A run started by hand while it waits elsewhere works on the same grouping (it will step aside).
    assert grouping_for_run(session=s, round_name=ROUND, attempt=None, flow_run_id="run-c", now=NOW) == g
    assert g.flow_run_id == "run-a"
    with pytest.raises(DomainError, match="未知的巡察轮次：无此轮次"):
        grouping_for_run(session=s, round_name="无此轮次", attempt=None, flow_run_id="x", now=NOW)


def test_no_grouping_without_common_findings_or_for_a_round_not_under_way(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings, rectifying=())
    rnd = s.get(tables.InspectionRound, r.id)
    assert rnd is not None
    rnd.status = RoundStatus.DONE
    s.add(rnd)
    for unit in UNITS:
        advance(s, settings, r.inspections[unit], Stage.FEEDBACK, now=NOW, link=LINK)
        s.commit()
    assert register_due(session=s, now=NOW) == []
    rnd.status = RoundStatus.ACTIVE
    for f in s.exec(select(tables.Finding).where(tables.Finding.scope == FindingScope.COMMON)):
        f.scope = FindingScope.INDIVIDUAL
        s.add(f)
    s.commit()
    assert register_due(session=s, now=NOW) == []  # nothing the sheet marked common: no form at all
    assert grouping_for_run(session=s, round_name=ROUND, attempt=None, flow_run_id="x", now=NOW) is None


def test_left_out_become_individual_and_late_findings_join_a_confirmed_problem(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)  # every unit in 督促整改
    (g,) = register_due(session=s, now=NOW)
    s.commit()
    # The office confirms two of the four proposed groups and leaves the others out.
    (cp, party) = confirm_groups_for(s, settings, r, 1, [archives(r), party_building(r)])
    assert s.get(tables.CommonGrouping, g.id).status == GroupingStatus.CONFIRMED  # type: ignore[union-attr]
    left = [r.f("城东街道", 2), r.f("区教育局", 1), r.f("马岙村", 0)]
    assert [s.get(tables.Finding, i).scope for i in left] == [FindingScope.INDIVIDUAL] * 3  # type: ignore[union-attr]
    people = {p.name: p.id for p in s.exec(select(tables.Person))}
    # ... supervised by their units' liaison leaders (城东街道、区教育局: 吴志刚; 马岙村: 郑文斌).
    assert [(item_of(s, i).responsible_leader_id, item_of(s, i).supervisor) for i in left] == [  # type: ignore[union-attr]
        (people["吴志刚"], "吴志刚"), (people["吴志刚"], "吴志刚"), (people["郑文斌"], "郑文斌")]
    moved = s.exec(select(tables.AuditEvent).where(tables.AuditEvent.action == "共性问题改为个性问题")).one()
    assert moved.detail["finding_ids"] == left
    assert register_due(session=s, now=NOW) == []  # every common finding is settled
    # Every unit's common findings are led: 区教育局 may archive; its common problem stays open.
    edu = r.inspections["区教育局"]
    assert close_out_refusal(session=s, inspection_id=edu, approved=True) == ""
    assert finish_items(s, settings, edu, open_item_ids(s, edu)) is Stage.ARCHIVING
    stages.archive(session=s, **_kw(settings, edu))
    s.commit()
    assert s.get(tables.CommonProblem, cp.id).status == CommonProblemStatus.SUPERVISING  # type: ignore[union-attr]

    # A look-back finds the same problem in 马岙村 after the confirmation: a new grouping of it only.
    late = late_finding(s, settings, r.inspections["马岙村"], "选人用人", "马岙村干部人事档案不完整")
    (g2,) = register_due(session=s, now=NOW)
    s.commit()
    assert (g2.attempt, g2.finding_ids) == (2, [late])
    (proposal,) = propose_groups(session=s, round_id=r.id, finding_ids=g2.finding_ids)
    assert proposal == GroupProposal(
        category="选人用人", title="干部档案管理不规范", finding_ids=[late], unit_names=["马岙村"], joins=cp.id,
        note=JOIN_NOTE.format(leader="吴志刚"), leader_in_charge="吴志刚", departments=("区委组织部", "区人力社保局"))
    # The form as prefilled is taken: it joins the confirmed problem (one finding is enough).
    (joined,) = confirm_groups_for(s, settings, r, 2, [proposal.to_input()], now=NOW + timedelta(days=20))
    assert joined.id == cp.id and joined.letter_version == 2
    item = item_of(s, late)
    assert item is not None and (item.common_problem_id, item.responsible_leader_id, item.supervisor) == (
        cp.id, people["吴志刚"], "吴志刚")
    assert s.exec(select(tables.AuditEvent).where(tables.AuditEvent.action == "共性问题增补问题")).one().detail["changed"] == [late]
    kinds = [(d.kind, d.version) for d in s.exec(select(tables.Document).where(col(tables.Document.kind).startswith("关于落实巡察整改工作任务的函"))
                                                 .order_by(col(tables.Document.id)))]
    assert kinds == [(f"关于落实巡察整改工作任务的函-{cp.id}", 1), (f"关于落实巡察整改工作任务的函-{party.id}", 1),
                     (f"关于落实巡察整改工作任务的函-{cp.id}", 2)]
    told = {a.dedupe_key: a for a in s.exec(select(tables.Alert).where(col(tables.Alert.dedupe_key).startswith("common-")))}
    assert "第2稿：增补1个问题" in told[f"common-problem:{cp.id}:2"].body and "涉及4个单位" in told[f"common-problem:{cp.id}:2"].body
    assert told[f"common-leader:{cp.id}:2"].recipient == "json://127.0.0.1:8765/leader/wu"  # the leader in charge himself
    # The archived unit's dossier keeps the letter it was archived with (verify-dossier stays clean).
    from tasks.records.common_letter import COMMON_TASK_KIND
    from tasks.records.dossier import (
        dossier_folder,
        registered_hashes,
        verify_dossier,
    )

    names = registered_hashes(session=s, round_id=r.id, inspection_id=edu)
    (letter,) = [n for n in names if COMMON_TASK_KIND in n]
    assert "第2稿" not in letter
    rnd, insp = s.get(tables.InspectionRound, r.id), s.get(tables.Inspection, edu)
    assert rnd is not None and insp is not None
    assert verify_dossier(dossier_folder(settings, rnd, s.get(tables.Unit, insp.unit_id)), registered=names) == []  # type: ignore[arg-type]

    # A late finding of a category found nowhere else: proposed flagged; the office may confirm none.
    lone = late_finding(s, settings, r.inspections["马岙村"], "意识形态", "意识形态工作责任制落实不到位")
    (g3,) = register_due(session=s, now=NOW)
    s.commit()
    assert propose_groups(session=s, round_id=r.id, finding_ids=g3.finding_ids)[0].note == SINGLE_UNIT_NOTE
    assert confirm_groups_for(s, settings, r, 3, []) == []
    assert s.get(tables.Finding, lone).scope == FindingScope.INDIVIDUAL  # type: ignore[union-attr]
    assert item_of(s, lone).supervisor == "郑文斌"  # type: ignore[union-attr]


def confirm_groups_for(s: Session, settings: Settings, r: Round, attempt: int, groups: list[CommonGroupIn],
                       now: datetime = NOW) -> list[tables.CommonProblem]:
    from tasks.supervision.common_problems import confirm_groups

    rows = confirm_groups(session=s, settings=settings, round_id=r.id, groups=groups, confirmed_by="陶文华", now=now,
                          link=LINK, attempt=attempt)
    s.commit()
    return rows


def test_a_closed_problem_takes_no_more_findings(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    (cp,) = confirm(s, settings, r, [archives(r, finding_ids=[r.f("城东街道", 0), r.f("区教育局", 0)])])
    assert cp.id is not None
    close_items_of(s, settings, r, cp.id)
    close_common_problem(session=s, settings=settings, by="陶文华", problem_id=cp.id, comment="", now=NOW, link=LINK)
    with pytest.raises(DomainError) as err:
        confirm(s, settings, r, [archives(r)])
    assert f"第1组“干部档案管理不规范”：共性问题“干部档案管理不规范”已销号，不能再归入问题编号{r.f('区交通投资集团', 0)}" in err.value.problems


# The archive guard --------------------------------------------------------------------------


def test_a_unit_cannot_leave_rectification_before_its_common_findings_are_led(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    edu = r.inspections["区教育局"]
    items = open_item_ids(s, edu)
    insp = s.get(tables.Inspection, edu)
    assert insp is not None
    report_progress(session=s, settings=settings, inspection=insp, formal=True, by="单位书记", now=NOW,
                    reports=[ProgressIn(item_id=i, status="已完成待核", measure_taken="已整改") for i in items[:1]])
    assert close_out_refusal(session=s, inspection_id=edu, approved=True) == ""  # an item stays open: no archiving
    report_progress(session=s, settings=settings, inspection=insp, formal=True, by="单位书记", now=NOW,
                    reports=[ProgressIn(item_id=i, status="已完成待核", measure_taken="已整改") for i in items[1:]])
    reason = close_out_refusal(session=s, inspection_id=edu, approved=True)
    assert reason == (f"该单位有2个共性问题（问题编号{r.f('区教育局', 0)}、{r.f('区教育局', 1)}）尚未归入已确认的共性问题，"
                      "同意销号后即归档；须待巡察办在“共性问题归类”中确认（发出领办函、由分管领导督办）后再同意销号，"
                      "或先选择“暂不销号”")
    assert close_out_refusal(session=s, inspection_id=edu, approved=False) == ""  # 暂不销号 is always an answer
    confirm(s, settings, r, [archives(r)])
    assert "（问题编号" + str(r.f("区教育局", 1)) + "）" in close_out_refusal(session=s, inspection_id=edu, approved=True)
    s.commit()
    from tests.supervision.test_common_problems import finance

    confirm(s, settings, r, [finance(r)])
    s.commit()
    assert close_out_refusal(session=s, inspection_id=edu, approved=True) == ""
    # Fixed on site (no item) and individual findings never hold a unit.
    assert close_out_refusal(session=s, inspection_id=r.inspections["马岙村"], approved=True) == ""  # items open


# Supervision until the common problem's own close-out ------------------------------------


def at(day: date) -> datetime:
    return datetime.combine(day, time(8, 0), tzinfo=CHINA)


def supervision_alerts(s: Session, cp_id: int) -> list[tables.Alert]:
    return list(s.exec(select(tables.Alert).where(col(tables.Alert.dedupe_key).startswith(f"common-supervise:{cp_id}:"))
                       .order_by(col(tables.Alert.id))))


def test_sweep_supervises_an_open_common_problem_weekly_until_its_close_out(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    (cp,) = confirm(s, settings, r, [archives(r)])
    s.commit()
    assert cp.id is not None
    monday = date(2027, 1, 11)
    result = sweep(session=s, settings=settings, as_of=monday, now=at(monday), link=LINK)
    s.commit()
    assert result.common_reminders == 1
    (first,) = supervision_alerts(s, cp.id)
    assert (first.dedupe_key, first.role, first.recipient, first.title) == (
        f"common-supervise:{cp.id}:2027-W02", "leader_in_charge", "json://127.0.0.1:8765/leader/wu", "【共性问题督办】")
    assert "分管领导吴志刚领办）涉及3个单位，整改事项3项，已销号0项" in first.body
    for day in (monday, monday + timedelta(days=2)):  # the same week: once
        assert sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK).common_reminders == 0
    s.commit()
    # A Saturday's word waits for Monday and counts as Monday's week.
    saturday = monday + timedelta(days=5)
    assert sweep(session=s, settings=settings, as_of=saturday, now=at(saturday), link=LINK).common_reminders == 1
    nxt = monday + timedelta(days=7)
    assert sweep(session=s, settings=settings, as_of=nxt, now=at(nxt), link=LINK).common_reminders == 0
    s.commit()
    held = supervision_alerts(s, cp.id)[-1]
    assert held.dedupe_key.endswith("2027-W03") and held.next_attempt_at.date() == nxt

    # One unit archives (its items of it closed): the common problem is still supervised.
    edu = r.inspections["区教育局"]
    from tests.supervision.test_common_problems import finance

    confirm(s, settings, r, [finance(r)])
    s.commit()
    finish_items(s, settings, edu, open_item_ids(s, edu))
    stages.archive(session=s, **_kw(settings, edu))
    s.commit()
    late = date(2027, 3, 15)  # past the items' deadline
    sweep(session=s, settings=settings, as_of=late, now=at(late), link=LINK)
    s.commit()
    overdue = supervision_alerts(s, cp.id)[-1]
    assert overdue.title == "【共性问题整改逾期督办】" and "已销号1项，逾期2项（城东街道1项、区交通投资集团1项）" in overdue.body

    # Every item of it closed in every unit: the leader and the office hear it awaits its close-out.
    for unit in ("城东街道", "区交通投资集团"):
        finish_items(s, settings, r.inspections[unit], cp_item_ids(s, cp.id, r.inspections[unit]))
    after = date(2027, 3, 22)
    sweep(session=s, settings=settings, as_of=after, now=at(after), link=LINK)
    s.commit()
    ready = {a.role: a for a in s.exec(select(tables.Alert).where(col(tables.Alert.dedupe_key).startswith(f"common-ready:{cp.id}:")))}
    assert set(ready) == {"leader_in_charge", "office"} and "已全部销号" in ready["office"].body
    assert f"close-common {cp.id}" in ready["office"].body
    close_common_problem(session=s, settings=settings, by="陶文华", problem_id=cp.id, comment="整改成效明显", now=at(after),
                         link=LINK)
    later = date(2027, 3, 29)
    count = len(supervision_alerts(s, cp.id))
    sweep(session=s, settings=settings, as_of=later, now=at(later), link=LINK)
    assert len(supervision_alerts(s, cp.id)) == count  # closed out: supervision ends


# The common problem's own close-out ------------------------------------------------------


@pytest.mark.parametrize(("actor", "allowed"), [
    ("陶文华", True), ("张明", False), ("李建国", False), ("吴志刚", False), ("许丽", False), ("钱正平", False), ("路人甲", False),
])
def test_only_the_office_closes_out_a_common_problem(demo_org: Session, settings: Settings, actor: str, allowed: bool) -> None:
    s = demo_org
    r = build(s, settings)
    (cp,) = confirm(s, settings, r, [archives(r)])
    s.commit()
    assert cp.id is not None
    close_items_of(s, settings, r, cp.id)
    before = row_counts(s)
    if not allowed:
        with pytest.raises(DomainError, match="无权共性问题销号|不是本系统的在册用户"):
            close_common_problem(session=s, settings=settings, by=actor, problem_id=cp.id, comment="", now=NOW, link=LINK)
        after = row_counts(s)
        assert after.pop("audit_event") == before.pop("audit_event") + 1 and after == before
        assert s.get(tables.CommonProblem, cp.id).status == CommonProblemStatus.SUPERVISING  # type: ignore[union-attr]
        return
    done = close_common_problem(session=s, settings=settings, by=actor, problem_id=cp.id, comment="已建立长效机制", now=NOW,
                                link=LINK)
    assert (done.status, done.closed_by, aware(done.closed_at)) == (CommonProblemStatus.CLOSED, "陶文华", NOW)  # type: ignore[arg-type]
    event = s.exec(select(tables.AuditEvent).where(tables.AuditEvent.action == "共性问题销号")).one()
    assert (event.actor, event.entity_id, event.detail["items"], event.detail["comment"]) == ("陶文华", cp.id, 3, "已建立长效机制")
    told = s.exec(select(tables.Alert).where(tables.Alert.dedupe_key == f"common-closed:{cp.id}")).one()
    assert told.recipient == "json://127.0.0.1:8765/leader/wu" and told.title == "【共性问题已销号】"
    with pytest.raises(DomainError, match="已于2027年01月10日由陶文华销号"):
        close_common_problem(session=s, settings=settings, by=actor, problem_id=cp.id, comment="", now=NOW, link=LINK)


def test_close_out_of_a_common_problem_names_what_is_still_open(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings, rectifying=("城东街道", "区教育局"))
    (cp,) = confirm(s, settings, r, [archives(r)])
    s.commit()
    assert cp.id is not None
    open_items = {u: cp_item_ids(s, cp.id, r.inspections[u]) for u in ("城东街道", "区教育局")}
    before = row_counts(s)
    with pytest.raises(DomainError) as err:
        close_common_problem(session=s, settings=settings, by="陶文华", problem_id=cp.id, comment="", now=NOW, link=LINK)
    assert err.value.problems == [
        "“区交通投资集团”尚未进入督促整改（该单位的问题尚无整改事项）",
        f"“城东街道”整改事项{open_items['城东街道'][0]}尚未销号（未开始）",
        f"“区教育局”整改事项{open_items['区教育局'][0]}尚未销号（未开始）",
    ]
    after = row_counts(s)
    assert after.pop("audit_event") == before.pop("audit_event") + 1 and after == before
    with pytest.raises(DomainError, match="共性问题不存在：999"):
        close_common_problem(session=s, settings=settings, by="陶文华", problem_id=999, comment="", now=NOW, link=LINK)


def test_common_problem_commands(cli_home: Path) -> None:
    from deployments.cli.main import app
    from models.db import get_engine
    from models.settings import get_settings

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, as_person(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    assert run("load-org")[0] == 0
    with Session(get_engine()) as s:
        r = build(s, get_settings())
        (cp,) = confirm(s, get_settings(), r, [archives(r)])
        s.commit()
        cp_id = cp.id
    code, out = run("common-problems", "--round", ROUND, "--as", "陶文华")
    assert code == 0, out
    header, row = out.splitlines()
    assert header.split("\t") == ["编号", "轮次", "问题类别", "共性问题名称", "分管领导", "责任部门", "涉及单位", "整改事项", "已销号",
                                  "逾期", "状态"]
    cells = row.split("\t")
    assert cells[:9] + cells[10:] == [str(cp_id), ROUND, "选人用人", "干部档案管理不规范", "吴志刚", "区委组织部、区人力社保局",
                                      "城东街道、区教育局、区交通投资集团", "3", "0", "督办中"]  # 逾期 depends on today
    assert run("common-problems", "--round", "无此轮次") == (2, "未知的巡察轮次：无此轮次\n")
    code, out = run("close-common", str(cp_id), "--as", "张明")
    assert code == 2 and "“巡察工作领导小组”无权共性问题销号（仅限：巡察办）" in out
    code, out = run("close-common", str(cp_id), "--as", "陶文华")
    assert code == 2 and "不能销号" in out and "尚未销号（未开始）" in out
    with Session(get_engine()) as s:
        close_items_of(s, get_settings(), r, cp_id)
    code, out = run("close-common", str(cp_id), "--as", "陶文华", "--comment", "整改到位")
    assert (code, out) == (0, f"共性问题{cp_id}“干部档案管理不规范”已销号，督办结束。\n")
    assert run("common-problems")[1].splitlines()[1].endswith("\t已销号")
