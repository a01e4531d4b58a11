"""The plan step of rectification (整改方案), on the domain level: the unit is told to submit its
plan with the rules' deadline and its items; the plan's own reminder and escalation ladder in
the daily sweep; items named by number or description in the plan and progress forms; and the
wake-up of the unit run waiting for its plan, including a lost wake-up the relay recovers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect.client.schemas import OrchestrationResult
from prefect.client.schemas.responses import SetStateStatus, StateAcceptDetails, StateRejectDetails
from prefect.states import Running, Scheduled, State, Suspended
from sqlmodel import Session, col, select

from models.clock import CHINA
from models.enums import DayCount, Gate, Role, Stage
from models.errors import DomainError
from models.forms import FindingIn, PlanItemIn, ProgressIn
from models.settings import Settings
from models.tables import Alert, Inspection, InspectionNotice, ProgressReport, RectificationItem
from tasks.lifecycle import approvals, stages
from tasks.ops.launch import plan_wait_key, wake, wake_for_plan
from tasks.supervision.items import ItemChoice, list_line, resolve_item, unit_items
from tasks.supervision.rectification import (
    plan_step,
    plans_to_review,
    report_progress,
    review_plan,
    submit_plan,
    sweep,
)
from tests.support.advance import advance
from tests.support.factories import make_round, round_params, row_counts, team_data

LINK = "http://127.0.0.1:4200/runs/flow-run/plan"
UNITS = ["城东街道", "区教育局", "区交通投资集团"]
SENTINEL = "哨兵-线索-9D1B"
PROBLEMS = ["“三会一课”制度落实不到位，支部会议记录缺失", "公务用车管理不规范，派车单填写不全", "干部档案材料不完整"]


def at(day: date) -> datetime:
    return datetime.combine(day, time(8, 0), tzinfo=CHINA)


def to_rectification(s: Session, settings: Settings, feedback: date, units: list[str] = UNITS) -> dict[str, int]:
    """The units fed back on `feedback` and in rectification: three problems each (the last one
    fixed on site, so two items), and a confidential clue for the first unit."""
    _, inspections = make_round(s, round_params(teams=[team_data(units=units, members=("刘洋",))]))
    ids = {}
    for unit, insp in zip(units, inspections, strict=True):
        assert insp.id is not None
        clues = [("违纪违法线索", f"反映某站长收受礼金 {SENTINEL}")] if unit == units[0] else []
        advance(s, settings, insp.id, Stage.RECTIFICATION, now=at(feedback), link=LINK, clues=clues, findings=[
            *(problem(p) for p in PROBLEMS[:2]), problem(PROBLEMS[2], fixed=True)])
        ids[unit] = insp.id
    s.commit()
    return ids


def problem(description: str, fixed: bool = False) -> FindingIn:
    return FindingIn(category="党的建设", description=description, fixed_on_site=fixed)


def items(s: Session, iid: int) -> list[RectificationItem]:
    return list(s.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid).order_by(col(RectificationItem.id))))


def plan_rows(s: Session, iid: int, deadline: date, refs: list[str] | None = None) -> list[PlanItemIn]:
    refs = refs or [str(i.id) for i in items(s, iid)]
    return [PlanItemIn(item=r, measure="建立台账，逐项整改", owner="钱正平", deadline=deadline) for r in refs]


# The notice -------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "days", "feedback", "due", "span"), [
    (DayCount.NATURAL, 15, date(2026, 3, 2), "2026年03月17日", "15日"),
    # 春节 2026: 2月15—23日放假, 2月14日（周六）上班: five working days from 2月13日 end on 2月27日.
    (DayCount.WORKING, 5, date(2026, 2, 13), "2026年02月27日", "5个工作日"),
])
def test_unit_is_told_to_submit_its_plan_by_the_rules_deadline(
        demo_org: Session, settings: Settings, count: DayCount, days: int, feedback: date, due: str, span: str) -> None:
    s = demo_org
    settings = settings.model_copy(update={"plan_count": count, "plan_due_days": days})
    iid = to_rectification(s, settings, feedback)["城东街道"]
    notice = s.exec(select(Alert).where(Alert.dedupe_key == f"insp:{iid}:plan-notice")).one()
    assert (notice.title, notice.role, notice.recipient) == ("【请报送整改方案】", Role.UNIT_SECRETARY.value,
                                                             "json://127.0.0.1:8765/unit/chengdong")
    assert f"请于{due}前（反馈后{span}内）报送整改方案" in notice.body and "部署“报送整改方案”" in notice.body
    # The link is the unit's own page on the office's site (its contact works there, not in the UI).
    unit_id = s.get(Inspection, iid).unit_id  # type: ignore[union-attr]
    assert notice.link == f"{settings.ui_url}/office/rectification?unit={unit_id}" and notice.body.endswith(notice.link)
    assert "本单位的“整改事项”页面" in notice.body
    # The items by number and problem, as the forms take them back; not the problem fixed on site.
    first, second = items(s, iid)
    assert "整改事项共2项" in notice.body
    assert f"\n{first.id} {PROBLEMS[0]}\n{second.id} {PROBLEMS[1]}" in notice.body
    assert PROBLEMS[2] not in notice.body
    assert all(SENTINEL not in a.body and SENTINEL not in a.title for a in s.exec(select(Alert)))
    # Starting rectification again (a re-run) tells nobody twice.
    stages.start_rectification(session=s, settings=settings, inspection_id=iid, now=at(feedback + timedelta(days=1)), link=LINK)
    s.commit()
    assert len(s.exec(select(Alert).where(Alert.dedupe_key == f"insp:{iid}:plan-notice")).all()) == 1
    step = plan_step(session=s, settings=settings, inspection_id=iid)
    assert step.due == due and [i.no for i in step.items] == [str(first.id), str(second.id)]


def test_long_item_list_fits_an_alert(demo_org: Session, settings: Settings) -> None:
    from tasks.supervision.rectification import listed_items

    many = [ItemChoice(i, f"问题{i}：" + "落实不到位" * 30, "未开始") for i in range(1, 201)]  # type: ignore[arg-type]
    text = listed_items(many)
    assert len(text) < 3100 and text.splitlines()[0] == list_line(many[0]) and text.endswith("项，见整改通知书")
    assert text.splitlines()[0].endswith("…")


# The plan's ladder in the daily sweep ----------------------------------------------------


@pytest.mark.both_databases  # SQLite and the local PostgreSQL
def test_plan_ladder_once_per_rung_merged_per_unit_held_over_rest_days(demo_org: Session, settings: Settings) -> None:
    """Fed back on Saturday 2026-03-07, the plan is due Sunday 03-22 (15 自然日). 城东街道 never
    submits; 区教育局 submits on day 3; 区交通投资集团 submits, and is sent back on day 10."""
    s = demo_org
    feedback = date(2026, 3, 7)
    ids = to_rectification(s, settings, feedback)
    a, b, c = (ids[u] for u in UNITS)
    first_b = items(s, b)
    seen: dict[int, list[tuple[str, date]]] = {a: [], b: [], c: []}
    for n in range(0, 50):
        day = feedback + timedelta(days=n)
        if n == 3:
            for unit in (b, c):
                insp = s.get(Inspection, unit)
                assert insp is not None
                submit_plan(session=s, settings=settings, inspection=insp, items=plan_rows(s, unit, day + timedelta(days=30)),
                            by="书记", now=at(day), link=LINK)
        if n == 10:
            approvals.open_gate(session=s, settings=settings, round_id=s.get(Inspection, c).round_id,  # type: ignore[union-attr]
                                inspection_id=c, gate=Gate.RECT_PLAN, attempt=1, flow_run_id=None, now=at(day))
            assert not review_plan(session=s, settings=settings, inspection_id=c, approved=False, attempt=1,
                                   comment="措施不具体", now=at(day), link=LINK)
        result = sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)
        s.commit()
        again = sweep(session=s, settings=settings, as_of=day, now=at(day), link=LINK)  # the same day twice: nothing new
        s.commit()
        assert again.plan_notices == {}, (day, again.plan_notices)
        assert result.missing_plans == result.plan_notices.get(1, 0)
    for m in s.exec(select(InspectionNotice).order_by(col(InspectionNotice.id))):
        seen[m.inspection_id].append((m.kind, m.as_of))
    due = date(2026, 3, 22)
    ladder = [("整改方案报送提醒", due - timedelta(days=7)), ("未按期报送整改方案", due),
              ("整改方案逾期督办", due + timedelta(days=7)), ("整改方案逾期（巡察办）", due + timedelta(days=14)),
              ("整改方案严重逾期（领导小组）", due + timedelta(days=30))]
    assert seen[a] == ladder
    assert seen[b] == []  # submitted in time: never reminded
    # Sent back on day 10 (after the reminder's day): reminded that day, then the ladder goes on.
    assert seen[c] == [("整改方案报送提醒", feedback + timedelta(days=10)), *ladder[1:]]
    assert first_b and all(i.deadline == feedback + timedelta(days=33) for i in items(s, b))

    # Alerts: one per unit and rung (per person), to the ladder's people.
    plan_alerts = [x for x in s.exec(select(Alert).order_by(col(Alert.id)))
                   if x.dedupe_key.startswith((f"plan-ladder:{a}:", f"missing-plan:{a}:"))]
    assert [(x.title, x.role) for x in plan_alerts] == [
        ("【整改方案报送提醒】", "unit_secretary"), ("【未按期报送整改方案】", "unit_secretary"), ("【未按期报送整改方案】", "office"),
        ("【整改方案逾期督办】", "liaison_leader"), ("【整改方案逾期（巡察办）】", "office"),
        ("【整改方案严重逾期（领导小组）】", "leading_group")]
    assert "应于2026年03月22日前报送" in plan_alerts[0].body and "整改事项2项" in plan_alerts[0].body
    assert "反馈后15日内应报送整改方案，至今未报送" in plan_alerts[1].body
    assert "整改方案逾期7天未报送" in plan_alerts[3].body and "逾期30天" in plan_alerts[5].body
    # Rest days: the reminder (Sunday 03-15) and the deadline (Sunday 03-22) go out on Monday at
    # 8:30; +14 (Sunday 04-05, 清明 04-04—06) on Tuesday 04-07; +7 is a Sunday too; +30 a Tuesday.
    sent_on = [x.next_attempt_at.replace(tzinfo=CHINA) if x.next_attempt_at.tzinfo is None else x.next_attempt_at
               for x in plan_alerts]
    opening = time(8, 30)
    assert sent_on[0] == datetime.combine(date(2026, 3, 16), opening, tzinfo=CHINA)
    assert sent_on[1] == sent_on[2] == datetime.combine(date(2026, 3, 23), opening, tzinfo=CHINA)
    assert sent_on[3] == datetime.combine(date(2026, 3, 30), opening, tzinfo=CHINA)
    assert sent_on[4] == datetime.combine(date(2026, 4, 7), opening, tzinfo=CHINA)
    assert sent_on[5] == at(due + timedelta(days=30))
    assert all(SENTINEL not in x.body for x in plan_alerts)


def test_rest_day_rule_sends_the_plan_ladder_on_rest_days(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    settings = settings.model_copy(update={"rest_day_alerts": ["plan"]})
    a = to_rectification(s, settings, date(2026, 3, 7), units=["城东街道"])["城东街道"]
    due = date(2026, 3, 22)  # a Sunday
    sweep(session=s, settings=settings, as_of=due, now=at(due), link=LINK)
    rows = s.exec(select(Alert).where(col(Alert.dedupe_key).startswith(f"missing-plan:{a}:"))).all()
    assert rows and {x.next_attempt_at.replace(tzinfo=CHINA) if x.next_attempt_at.tzinfo is None else x.next_attempt_at
                     for x in rows} == {at(due)}


# Items by number and description ----------------------------------------------------------

CHOICES = [
    ItemChoice(12, "“三会一课”制度落实不到位，支部会议记录缺失", "未开始"),  # type: ignore[arg-type]
    ItemChoice(13, "公务用车管理不规范", "未开始"),  # type: ignore[arg-type]
    ItemChoice(14, "公务用车管理不规范，派车单填写不全", "未开始"),  # type: ignore[arg-type]
    ItemChoice(15, "2023年以来" + "工程项目未按规定招投标" * 5, "未开始"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("ref", "expected"), [
    ("12", 12), (" １２ ", 12), ("编号12", 12),
    ("“三会一课”制度落实不到位，支部会议记录缺失", 12),
    ("支部会议记录", 12),                       # a part that names one item
    ("公务用车管理不规范", 13),                  # exact wins over the longer description containing it
    ("12 “三会一课”制度落实不到位，支部会议记录缺失", 12),
    ("12、“三会一课”制度落实不到位", 12), ("12．支部会议", 12),
    (list_line(CHOICES[3]), 15),                # a cut list line copied back
    (list_line(CHOICES[3]).split(" ", 1)[1], 15),  # the cut description alone
    ("2023年以来工程项目", 15),                  # a description that starts with digits is not a number
])
def test_item_is_named_by_number_or_description(ref: str, expected: int) -> None:
    assert resolve_item(ref, CHOICES) == (expected, "")


@pytest.mark.parametrize(("ref", "why"), [
    ("99", "整改事项99不存在或不属于该单位"),
    ("公务用车", "“公务用车”对应多项整改事项（编号13、14），请改填编号"),
    ("13 “三会一课”制度落实不到位", "的编号与描述不符：编号13是“公务用车管理不规范”"),
    ("99 干部档案", "整改事项99不存在或不属于该单位"),
    ("财务报销不规范", "未找到整改事项“财务报销不规范”"),
    ("   ", "整改事项未填写"),
])
def test_item_reference_that_names_none_or_several_is_refused_in_chinese(ref: str, why: str) -> None:
    item_id, reason = resolve_item(ref, CHOICES)
    assert item_id is None and why in reason


@pytest.mark.both_databases  # SQLite and the local PostgreSQL
def test_forms_take_items_by_number_or_description(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    feedback = date(2026, 3, 2)
    ids = to_rectification(s, settings, feedback)
    a, b = ids["城东街道"], ids["区教育局"]
    first, second = items(s, a)
    insp = s.get(Inspection, a)
    assert insp is not None
    listed = [list_line(c) for c in unit_items(session=s, inspection_id=a)]
    # The plan as listed in the notice ("编号 描述"), and the progress by description.
    submit_plan(session=s, settings=settings, inspection=insp, by="书记", now=at(feedback), link=LINK,
                items=plan_rows(s, a, feedback + timedelta(days=40), refs=listed))
    report_progress(session=s, settings=settings, inspection=insp, by="书记", now=at(feedback), formal=False, reports=[
        ProgressIn(item="派车单填写不全", status="整改中"), ProgressIn(item=str(first.id), status="已完成待核")])
    s.commit()
    assert {r.item_id: r.status for r in s.exec(select(ProgressReport))} == {first.id: "已完成待核", second.id: "整改中"}
    # Another unit's number, an unknown problem, or one item twice: the whole report is refused, nothing written.
    other = items(s, b)[0]
    before = row_counts(s)
    for reports, why in [
        ([ProgressIn(item=str(other.id), status="整改中")], f"整改事项{other.id}不存在或不属于该单位"),
        ([ProgressIn(item="食堂管理混乱", status="整改中")], "未找到整改事项“食堂管理混乱”"),
        ([ProgressIn(item=str(first.id), status="整改中"), ProgressIn(item=PROBLEMS[0], status="整改中")],
         "同一整改事项在本次报送中出现多次"),
    ]:
        with pytest.raises(DomainError) as err:
            report_progress(session=s, settings=settings, inspection=insp, by="书记", now=at(feedback), formal=False,
                            reports=reports)
        s.rollback()
        assert "整改进展未保存" in str(err.value) and why in str(err.value)
    assert row_counts(s) == before
    # The plan form too, for a unit that has not submitted yet.
    other_insp = s.get(Inspection, b)
    assert other_insp is not None
    with pytest.raises(DomainError) as err:
        submit_plan(session=s, settings=settings, inspection=other_insp, by="书记", now=at(feedback), link=LINK,
                    items=plan_rows(s, b, feedback + timedelta(days=40), refs=["公务用车", "不存在的问题"]))
    s.rollback()
    assert "整改方案未保存" in str(err.value) and "未找到整改事项“不存在的问题”" in str(err.value)
    assert row_counts(s) == before
    # Code that names items by their number the old way still works.
    assert ProgressIn(item_id=7, status="整改中").item == "7" and PlanItemIn(item=8, measure="措施", owner="某",  # type: ignore[arg-type]
                                                                             deadline=feedback).item == "8"


# The wake-up ------------------------------------------------------------------------------


@dataclass
class Run:
    id: UUID
    state: State[Any] | None


@dataclass
class ServerDouble:
    """Flow runs as a Prefect server holds them, for the wake-up's decisions: real Prefect
    states, and resuming moves a suspended run on as the server does (to Scheduled)."""

    runs: dict[str, State[Any]] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    refuse: bool = False

    def read_flow_run(self, run_id: UUID) -> Run:
        from prefect.exceptions import ObjectNotFound

        if str(run_id) not in self.runs:
            raise ObjectNotFound(http_exc=Exception("404"))
        return Run(run_id, self.runs[str(run_id)])

    def resume_flow_run(self, run_id: UUID, run_input: dict[str, Any] | None = None) -> OrchestrationResult[Any]:
        state = self.runs[str(run_id)]
        if self.refuse or not state.is_paused():
            return OrchestrationResult(state=state, status=SetStateStatus.REJECT,
                                       details=StateRejectDetails(reason="Run input schema not found."))
        assert run_input == {}  # the waiting form has no fields
        self.runs[str(run_id)] = Scheduled()
        self.resumed.append(str(run_id))
        return OrchestrationResult(state=self.runs[str(run_id)], status=SetStateStatus.ACCEPT, details=StateAcceptDetails())


def test_wake_only_a_run_waiting_for_its_plan() -> None:
    server = ServerDouble()
    waiting, at_gate, running, other = (str(uuid4()) for _ in range(4))
    server.runs = {waiting: Suspended(pause_key=f"{plan_wait_key(1, 2)}-0"), at_gate: Suspended(pause_key="rect-plan-1-1-0"),
                   running: Running(), other: Suspended(pause_key=f"{plan_wait_key(12, 1)}-0")}
    assert not wake_for_plan(1, at_gate, server)   # waiting at the review gate: left alone
    assert not wake_for_plan(1, running, server)
    assert not wake_for_plan(1, other, server)     # inspection 12's wait is not inspection 1's
    assert not wake_for_plan(1, str(uuid4()), server)  # a run the server no longer has
    server.refuse = True
    assert not wake_for_plan(1, waiting, server)   # refused (e.g. its form not stored yet): a later pass tries again
    server.refuse = False
    assert wake_for_plan(1, waiting, server) and server.resumed == [waiting]
    assert not wake_for_plan(1, waiting, server)   # woken once: now Scheduled
    assert wake(other, "awaiting-plan-12-", server)


@pytest.fixture
def relay_db(cli_home: Path) -> Iterator[Settings]:
    """The relay reads the application's database through session_scope (the CLI's data home)."""
    from models.db import get_engine
    from models.settings import get_settings
    from tasks.planning.org import load_org, read_org_file
    from tests.conftest import DEMO_ORG

    get_engine()
    from models.db import session_scope

    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    yield get_settings()


def test_lost_wake_up_is_recovered_by_the_relay(relay_db: Settings) -> None:
    """The plan came in while the unit run was on its way to wait, so nobody resumed it: the
    relay's pass finds the unit (plan in, review not open) and wakes its run, once. Units whose
    review is open, whose plan is approved or not in are not touched."""
    from deployments.ops.relay import Relay, TickResult
    from models.db import session_scope

    settings = relay_db
    feedback = date(2026, 3, 2)
    run_of: dict[str, str] = {u: str(uuid4()) for u in UNITS}
    with session_scope() as s:
        ids = to_rectification(s, settings, feedback)
        for unit, iid in ids.items():
            insp = s.get(Inspection, iid)
            assert insp is not None
            insp.flow_run_id = run_of[unit]
            s.add(insp)
    a, b, c = (ids[u] for u in UNITS)
    server = ServerDouble(runs={run_of[u]: Suspended(pause_key=f"{plan_wait_key(ids[u], 1)}-0") for u in UNITS})
    relay = Relay(settings=settings)
    with session_scope() as s:
        assert plans_to_review(session=s) == []  # no plan yet: everyone keeps waiting
    result = TickResult()
    relay.wake_plans(result, server)
    assert result.woken == [] and server.resumed == []

    with session_scope() as s:  # 城东街道 and 区教育局 submit; 区交通投资集团 does not
        for iid in (a, b):
            insp = s.get(Inspection, iid)
            assert insp is not None
            submit_plan(session=s, settings=settings, inspection=insp, items=plan_rows(s, iid, feedback + timedelta(days=30)),
                        by="书记", now=at(feedback), link=LINK)
        # 区教育局's run did wake and opened its review already.
        approvals.open_gate(session=s, settings=settings, round_id=s.get(Inspection, b).round_id,  # type: ignore[union-attr]
                            inspection_id=b, gate=Gate.RECT_PLAN, attempt=1, flow_run_id=run_of["区教育局"], now=at(feedback))
        assert plans_to_review(session=s) == [(a, run_of["城东街道"])]
    server.runs[run_of["区教育局"]] = Suspended(pause_key=f"rect-plan-{b}-1-0")
    result = TickResult()
    relay.wake_plans(result, server)
    assert result.woken == [a] and server.resumed == [run_of["城东街道"]]
    again = TickResult()
    relay.wake_plans(again, server)  # it moved on: nothing more to wake
    assert again.woken == [] and server.resumed == [run_of["城东街道"]]


@pytest.mark.both_databases  # SQLite and the local PostgreSQL
def test_a_returned_plan_waits_for_resubmission_and_a_replay_does_not_clear_it(demo_org: Session, settings: Settings) -> None:
    """退回修改 clears the plan (the unit run waits again); the unit run started again from the top
    replays that decision, which must leave the re-submitted plan alone."""
    s = demo_org
    feedback = date(2026, 3, 2)
    a = to_rectification(s, settings, feedback, units=["城东街道"])["城东街道"]
    insp = s.get(Inspection, a)
    assert insp is not None
    insp.flow_run_id = "run-a"
    submit_plan(session=s, settings=settings, inspection=insp, items=plan_rows(s, a, feedback + timedelta(days=30)),
                by="书记", now=at(feedback), link=LINK)
    gate = approvals.open_gate(session=s, settings=settings, round_id=insp.round_id, inspection_id=a, gate=Gate.RECT_PLAN,
                               attempt=1, flow_run_id="run-a", now=at(feedback))
    assert gate.id is not None
    approvals.record_decision(session=s, approval_id=gate.id, decision="退回修改", approver="陶文华", comment="措施不具体",
                              now=at(feedback + timedelta(days=1)))
    assert not review_plan(session=s, settings=settings, inspection_id=a, approved=False, attempt=1, comment="措施不具体",
                           now=at(feedback + timedelta(days=1)), link=LINK)
    assert insp.plan_submitted_at is None and plans_to_review(session=s) == []
    step = plan_step(session=s, settings=settings, inspection_id=a)
    assert step.returned == "措施不具体" and [i.measure for i in step.items] == ["建立台账，逐项整改"] * 2
    day = feedback + timedelta(days=2)
    submit_plan(session=s, settings=settings, inspection=insp, items=plan_rows(s, a, feedback + timedelta(days=40)),
                by="书记", now=at(day), link=LINK)
    assert plans_to_review(session=s) == [(a, "run-a")]  # the run waiting for attempt 2 is to be woken
    assert not review_plan(session=s, settings=settings, inspection_id=a, approved=False, attempt=1, comment="措施不具体",
                           now=at(day), link=LINK)  # the replay
    assert insp.plan_submitted_at is not None
    returned = s.exec(select(Alert).where(col(Alert.dedupe_key).startswith(f"plan-returned:{a}:"))).all()
    assert len({x.dedupe_key for x in returned}) == 1
