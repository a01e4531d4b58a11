"""The term plan over the database: coverage by unit kind, the pace warning, the scheduler's
proposal and the office's edits, the pools with their history, and rounds whose teams the
system composes with recusal (demo county: 16 units — 4 街道, 7 部门, 3 国企, 2 社区村)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.db import get_engine
from models.enums import Gate, RoundStatus
from models.errors import DomainError
from models.forms import RoundParams
from models.settings import Settings
from models.tables import (
    Alert,
    AuditEvent,
    Conflict,
    InspectionRound,
    Person,
    PlannedUnit,
    TeamMember,
    Unit,
)
from tasks.infra.alerts import message_text
from tasks.lifecycle.approvals import check_approver, open_gate
from tasks.lifecycle.rounds import create_round, settle_plan, teams_markdown, validate_round
from tasks.planning import term_plan
from tests.conftest import NOW
from tests.support.cli import as_person
from tests.support.factories import make_round, round_data, round_in, team_data

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. Composition (OR-Tools), rotation and the forms are Python over rows read alike on
# both databases; the SQL aggregates and the gate also run on PostgreSQL.

KINDS = {"乡镇街道": 4, "部门": 7, "国有企业": 3, "社区村": 2}


def make_term(s: Session, *, first: int = 2026, last: int = 2030, per_year: int = 2, per_round: int = 4,
              mix: dict[str, int] | None = None) -> int:
    term = term_plan.create_term(session=s, name="十五届区委任期", first_year=first, last_year=last,
                                 rounds_per_year=per_year, units_per_round=per_round,
                                 mix=mix if mix is not None else {"部门": 1, "乡镇街道": 1}, actor="陶文华", now=NOW)
    s.commit()
    assert term.id is not None
    return term.id


# People free of the default round's team (a person is on one running round at a time).
OTHER_TEAM: dict[str, Any] = {"leader": "马成功", "deputy": None, "members": ["王海燕"]}
THIRD_TEAM: dict[str, Any] = {"leader": "孙丽娟", "deputy": None, "members": ["黄磊"]}


def approved_round(s: Session, params: RoundParams | None = None) -> InspectionRound:
    """A round whose plan the leading group approved (进行中): its units count as covered."""
    return round_in(s, RoundStatus.ACTIVE, params=params)[0]


@pytest.mark.both_databases  # the coverage aggregates (count/group by over joins) run as SQL
def test_coverage_counts_covered_planned_and_open_by_kind(demo_org: Session) -> None:
    s = demo_org
    tid = make_term(s)
    rnd, _ = make_round(s)  # 2026-12: 城东街道, 区教育局, 区交通投资集团, plan not yet approved
    cov = term_plan.coverage(session=s, term_id=tid, as_of=date(2026, 12, 15))
    assert (cov.covered, cov.planned) == (0, 3)  # waiting for approval: planned, not covered
    assert not {"城东街道", "区教育局", "区交通投资集团"} & {
        u.name for r in term_plan.propose(session=s, term_id=tid, as_of=date(2026, 12, 15)) for u in r.units}
    settle_plan(session=s, round_id=rnd.id or 0, approved=False, now=NOW)  # a plan sent back covers nothing and plans nothing
    s.commit()
    assert (term_plan.coverage(session=s, term_id=tid, as_of=date(2026, 12, 15)).planned) == 0
    approved_round(s, RoundParams.model_validate(round_data(name="2026年第一轮巡察（重报）")))  # started again, approved
    cov = term_plan.coverage(session=s, term_id=tid, as_of=date(2026, 12, 15))
    assert (cov.total, cov.covered, cov.planned) == (16, 3, 0)
    assert cov.rows == [
        {"单位类型": "乡镇街道", "单位总数": 4, "已巡察": 1, "已排入计划": 0, "尚未安排": 3, "覆盖率": "25.00%"},
        {"单位类型": "部门", "单位总数": 7, "已巡察": 1, "已排入计划": 0, "尚未安排": 6, "覆盖率": "14.29%"},
        {"单位类型": "国有企业", "单位总数": 3, "已巡察": 1, "已排入计划": 0, "尚未安排": 2, "覆盖率": "33.33%"},
        {"单位类型": "社区村", "单位总数": 2, "已巡察": 0, "已排入计划": 0, "尚未安排": 2, "覆盖率": "0.00%"},
    ]
    # Capacity is enough (13 left, ~4 years × 8 a year), but 3 units in the first year is too slow.
    assert cov.warnings == ["按当前进度（每年约3.1个单位），任期剩余约4.0年只能再巡察约12个单位，尚有13个未巡察，差约1个，需加快进度"]
    plan = term_plan.propose(session=s, term_id=tid, as_of=date(2026, 12, 15))
    term_plan.save_plan(session=s, term_id=tid, plan=plan, actor="陶文华", now=NOW)
    s.commit()
    cov = term_plan.coverage(session=s, term_id=tid, as_of=date(2026, 12, 15))
    assert (cov.covered, cov.planned) == (3, 13)
    assert [r["尚未安排"] for r in cov.rows] == [0, 0, 0, 0]
    assert "已巡察 **3** 个（18.75%），已排入计划 13 个，尚未安排 0 个" in term_plan.coverage_markdown(cov)


def test_a_round_outside_the_term_or_a_look_back_does_not_cover(demo_org: Session) -> None:
    s = demo_org
    tid = make_term(s, first=2027)
    approved_round(s)  # 2026: before the term
    approved_round(s, RoundParams.model_validate(
        round_data(name="回头看一轮", kind="回头看", start=date(2027, 3, 1), end=date(2027, 3, 20), units=["城西街道"],
                   **OTHER_TEAM)))
    assert term_plan.coverage(session=s, term_id=tid, as_of=date(2027, 6, 1)).covered == 0
    approved_round(s, RoundParams.model_validate(
        round_data(name="2027年第一轮巡察", start=date(2027, 3, 1), end=date(2027, 3, 20), units=["城西街道"],
                   **THIRD_TEAM)))
    assert term_plan.coverage(session=s, term_id=tid, as_of=date(2027, 6, 1)).covered == 1


def test_the_pace_warning_says_by_how_much(demo_org: Session) -> None:
    s = demo_org
    # Two rounds a year of two units: 2026-2027 holds at most 8 of the 16.
    tid = make_term(s, first=2026, last=2027, per_year=2, per_round=2, mix={})
    approved_round(s)
    cov = term_plan.coverage(session=s, term_id=tid, as_of=date(2026, 12, 1))
    (capacity, pace) = cov.warnings
    assert capacity.startswith("按计划容量（每年2轮、每轮2个单位），任期剩余约1.1年最多还能巡察4个单位，尚有13个未巡察，差9个"), capacity
    assert pace.startswith("按当前进度（每年约3.3个单位），任期剩余约1.1年只能再巡察约3个单位，尚有13个未巡察，差约10个"), pace
    # After the term: one plain warning.
    assert term_plan.coverage(session=s, term_id=tid, as_of=date(2028, 1, 2)).warnings == ["任期已于2027年结束，仍有13个单位未巡察"]
    # Covered in full: nothing to warn about.
    assert term_plan.pace_warnings(term=term_plan.get_term(s, tid), total=16, covered=16, as_of=date(2027, 1, 1)) == []


def test_the_proposal_covers_the_rest_once_with_the_mix_and_priority_first(demo_org: Session) -> None:
    s = demo_org
    mabao = s.exec(select(Unit).where(Unit.name == "马岙村")).one()
    mabao.priority = 5  # e.g. large collective funds
    s.add(mabao)
    tid = make_term(s, mix={"部门": 1, "乡镇街道": 1, "社区村": 1})
    make_round(s)
    plan = term_plan.propose(session=s, term_id=tid, as_of=date(2027, 1, 1))
    placed = [u.name for r in plan for u in r.units]
    assert sorted(placed) == sorted(set(placed)) and len(placed) == 13
    assert not {"城东街道", "区教育局", "区交通投资集团"} & set(placed)
    assert (plan[0].year, plan[0].number) == (2027, 1) and "马岙村" in [u.name for u in plan[0].units]
    for r in plan:
        kinds = [u.kind for u in r.units]
        assert len(r.units) <= 4
        if r is plan[0]:
            assert {"部门", "乡镇街道", "社区村"} <= set(kinds)


def test_the_office_edits_the_proposal(demo_org: Session) -> None:
    s = demo_org
    tid = make_term(s)
    plan = term_plan.propose(session=s, term_id=tid, as_of=date(2027, 1, 1))
    first = [u.name for u in plan[0].units]
    moved = [u.name for u in plan[-1].units][:1]
    edited = term_plan.apply_edits(session=s, term_id=tid, plan=plan,
                                   edits=f"2027年第1轮：{'、'.join(first + moved)}")
    assert [u.name for u in edited[0].units] == first + moved
    assert sum(len(r.units) for r in edited) == 16
    assert moved[0] not in [u.name for r in edited[1:] for u in r.units]

    def refused(edits: str) -> list[str]:
        with pytest.raises(DomainError) as exc:
            term_plan.apply_edits(session=s, term_id=tid, plan=plan, edits=edits)
        return exc.value.problems

    assert refused("明年再说") == ["第1行无法识别：“明年再说”（格式如：2027年第2轮：单位甲、单位乙）"]
    assert refused("2027年第1轮：区不存在局") == ["第1行：未知的单位“区不存在局”"]
    assert refused("2035年第1轮：区财政局") == ["第1行：2035年第1轮不在任期计划内（2026—2030年，每年2轮）"]
    assert refused("2027年第1轮：城东街道、城西街道、盐仓街道、临城街道、区财政局") == ["第1行：2027年第1轮有5个单位，超过每轮4个"]
    # Leaving a unit out of its round without placing it elsewhere.
    assert refused(f"2027年第1轮：{first[0]}") == [f"{n}原在2027年第1轮，调整后没有安排到任何轮次" for n in first[1:]]
    twice = refused(f"2027年第1轮：{'、'.join(first)}\n2027年第2轮：{first[0]}")
    assert f"{first[0]}被安排了2次" in twice, twice
    # Nothing was written by any of this.
    assert s.exec(select(PlannedUnit)).all() == []


def test_too_little_capacity_is_said_with_the_shortfall(demo_org: Session) -> None:
    s = demo_org
    tid = make_term(s, first=2026, last=2027, per_year=1, per_round=3, mix={})
    with pytest.raises(DomainError) as exc:
        term_plan.propose(session=s, term_id=tid, as_of=date(2026, 1, 1))
    assert str(exc.value).startswith("剩余任期内容量不足：尚未巡察16个单位，2轮×每轮3个单位共可安排6个，还差10个")


def test_bad_term_is_refused_with_every_reason_and_nothing_written(demo_org: Session) -> None:
    s = demo_org
    with pytest.raises(DomainError) as exc:
        term_plan.create_term(session=s, name="十五届", first_year=2030, last_year=2026, rounds_per_year=0,
                              units_per_round=2, mix={"机关": 1, "部门": 3}, actor="陶文华", now=NOW)
    assert exc.value.problems == [
        "任期结束年份2026早于开始年份2030", "每年轮次数和每轮单位数应至少为1",
        "组合规则中的单位类型未知：机关（可选：乡镇街道、国有企业、社区村、部门）", "组合规则每轮共4个单位，超过每轮单位数2"]
    s.rollback()
    assert s.exec(select(AuditEvent).where(AuditEvent.action == "创建任期计划")).all() == []


@pytest.mark.both_databases  # a gate: row locks (FOR UPDATE) and the outbox's insert-or-ignore differ by dialect
def test_the_schedule_gate_belongs_to_the_term_and_asks_the_office(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    tid = make_term(s)
    a = open_gate(session=s, settings=settings, round_id=None, inspection_id=None, term_id=tid, gate=Gate.TERM_PLAN,
                  attempt=1, flow_run_id="abc", now=NOW)
    s.commit()
    assert open_gate(session=s, settings=settings, round_id=None, inspection_id=None, term_id=tid, gate=Gate.TERM_PLAN,
                     attempt=1, flow_run_id="abc", now=NOW).id == a.id
    asked = s.exec(select(Alert).where(col(Alert.dedupe_key) == f"gate:{a.id}:ask", Alert.role == "office")).all()
    (body,) = [message_text(settings, r) for r in asked] or [""]  # as the office reads it
    m = re.search(r"验证码：(\d{6})", body)
    assert body.startswith("十五届区委任期：“全覆盖排程审批”等待您办理") and m, body
    assert "无权办理“全覆盖排程审批”" in check_approver(session=s, settings=settings, approval_id=a.id or 0,
                                                   approver="张明", code=m.group(1), now=NOW)
    assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="陶文华", code=m.group(1), now=NOW) == ""
    with pytest.raises(DomainError):
        open_gate(session=s, settings=settings, round_id=None, inspection_id=None, gate=Gate.TERM_PLAN, attempt=1,
                  flow_run_id="abc", now=NOW)


# ---------------------------------------------------------------- pools and composition


def test_history_of_rounds_served_drives_rotation(demo_org: Session) -> None:
    s = demo_org
    make_round(s)  # 李建国 leads, 陈晓梅 deputy, 刘洋 member
    history = term_plan.service_history(s)
    li = s.exec(select(Person).where(Person.name == "李建国")).one()
    assert [(h.round, h.year, h.role) for h in history[li.id or 0]] == [("2026年第一轮巡察", 2026, "组长")]
    people = {p.name: p for p in term_plan.person_records(s)}
    assert (people["李建国"].rounds_served, people["李建国"].last_served_year) == (1, 2026)
    assert people["周卫东"].rounds_served == 0
    # Next round: the leader who has not served yet leads (李建国 could, but has served).
    comp = term_plan.compose_for_round(session=s, unit_names=["城西街道"], team_count=1, members_per_team=1,
                                       year=2027, kind="常规巡察", former_years=3)
    assert comp.teams[0].leader.name != "李建国"


def test_former_unit_binds_only_within_the_configured_years(demo_org: Session) -> None:
    s = demo_org
    # 王海燕 left 区财政局 in 2022 (the demo data's note; the year as the org data would give it).
    wang = s.exec(select(Person).where(Person.name == "王海燕")).one()
    c = s.exec(select(Conflict).where(Conflict.person_id == wang.id)).one()
    assert c.ended_year is None  # without the year, the conflict binds whatever the year
    assert "王海燕" in term_plan.compose_for_round(session=s, unit_names=["区财政局"], team_count=1, members_per_team=6,
                                                 year=2040, kind="常规巡察", former_years=3).excluded
    c.ended_year = 2022
    s.add(c)
    s.commit()

    def wang_reasons(year: int, former_years: int) -> list[str]:
        comp = term_plan.compose_for_round(session=s, unit_names=["区财政局"], team_count=1, members_per_team=6,
                                           year=year, kind="常规巡察", former_years=former_years)
        placed = {m.name for t in comp.teams for m in t.members} | {t.leader.name for t in comp.teams}
        reasons = comp.excluded.get("王海燕", [])
        assert ("王海燕" in placed) == (not reasons)
        return reasons

    assert wang_reasons(2024, 3) == ["区财政局是其原工作单位（2022年离开，3年内回避）"]
    assert wang_reasons(2026, 3) == []
    assert wang_reasons(2026, 5) == ["区财政局是其原工作单位（2022年离开，5年内回避）"]
    # The same rule when the office names the team itself.
    for start, bound in ((date(2024, 3, 1), True), (date(2026, 3, 1), False)):
        params = RoundParams.model_validate(round_data(start=start, end=start.replace(day=20), leader="周卫东", deputy=None,
                                                       members=["王海燕"], units=["区财政局"]))
        problems = validate_round(session=s, params=params, former_years=3)
        assert (problems == ["王海燕 须回避 区财政局（原工作单位：2022年前在该局工作）"]) == bound, problems


def test_cross_inspection_keeps_people_out_of_their_area(demo_org: Session) -> None:
    s = demo_org
    # 罗敏 works at 盐仓街道 (北片); 临城街道 is also 北片.
    params = RoundParams.model_validate(round_data(kind="交叉巡察", leader="周卫东", deputy=None, members=["罗敏"],
                                                   units=["临城街道"]))
    assert validate_round(session=s, params=params) == ["罗敏 须回避 临城街道（交叉巡察：同属北片片区）"]
    comp = term_plan.compose_for_round(session=s, unit_names=["临城街道"], team_count=1, members_per_team=3,
                                       year=2027, kind="交叉巡察", former_years=3)
    assert "交叉巡察：与临城街道同属北片片区" in comp.excluded["罗敏"]
    assert "罗敏" not in {m.name for m in comp.teams[0].members}


def test_a_round_composed_by_the_system(demo_org: Session) -> None:
    s = demo_org
    params = RoundParams.model_validate({
        "name": "2027年第一轮巡察", "kind": "常规巡察", "start_date": "2027-03-01", "end_date": "2027-03-31",
        "auto_teams": {"units": ["区财政局", "区卫生健康局", "城西街道", "区水务集团"], "team_count": 2, "members_per_team": 2}})
    rnd = create_round(session=s, params=params, now=NOW, flow_run_id="run-1", former_years=3)
    s.commit()
    members = s.exec(select(Person.name, Person.unit_id, TeamMember.team_id).join(TeamMember, col(TeamMember.person_id) == Person.id)).all()
    assert len(members) == 2 * 3  # a leader and two members per team
    text = teams_markdown(session=s, round_id=rnd.id or 0)
    assert text.count("| 第") == 2 and "回避及未选配说明" in text
    # 赵志强's spouse works at 城西街道 and he works at 区卫生健康局: if kept off, the reason is given.
    stored = s.get(InspectionRound, rnd.id)
    assert stored is not None and stored.exclusions
    assert all(reasons for reasons in stored.exclusions.values())
    # Nobody placed inspects their own unit or a unit they have a conflict with.
    from models.tables import Inspection

    conflicts = {(c.person_id, c.unit_id) for c in s.exec(select(Conflict))}
    pids = {n: pid for n, pid in s.exec(select(Person.name, Person.id))}
    for name, home, team_id in members:
        for uid in s.exec(select(Inspection.unit_id).where(Inspection.team_id == team_id)):
            assert uid != home and (pids[name], uid) not in conflicts, (name, uid)
    # The same flow run creating it again changes nothing.
    assert create_round(session=s, params=params, now=NOW, flow_run_id="run-1").id == rnd.id


def test_the_round_form_asks_for_teams_or_composition() -> None:
    base = {"name": "2027年第一轮巡察", "start_date": "2027-03-01", "end_date": "2027-03-31"}
    with pytest.raises(ValidationError, match="请填写巡察组，或选择由系统组建巡察组"):
        RoundParams.model_validate(base)
    with pytest.raises(ValidationError, match="手工指定巡察组与由系统组建只能选一种"):
        RoundParams.model_validate(base | {"teams": [team_data()], "auto_teams": {"units": ["城西街道"]}})


def test_composition_that_cannot_be_made_says_why_and_writes_nothing(demo_org: Session) -> None:
    s = demo_org
    before = len(s.exec(select(InspectionRound)).all())
    params = RoundParams.model_validate({
        "name": "2027年第二轮巡察", "start_date": "2027-05-01", "end_date": "2027-05-31",
        "auto_teams": {"units": ["区财政局", "区不存在局"], "team_count": 1}})
    with pytest.raises(DomainError) as exc:
        create_round(session=s, params=params, now=NOW, flow_run_id=None)
    assert exc.value.problems == ["未知的被巡察单位：区不存在局"]
    params = RoundParams.model_validate({
        "name": "2027年第二轮巡察", "start_date": "2027-05-01", "end_date": "2027-05-31",
        "auto_teams": {"units": ["区财政局", "城西街道", "区水务集团"], "team_count": 3, "members_per_team": 8}})
    with pytest.raises(DomainError) as exc:
        create_round(session=s, params=params, now=NOW, flow_run_id=None)
    assert any("组员不足：需要8人" in p for p in exc.value.problems), exc.value.problems
    s.rollback()
    assert len(s.exec(select(InspectionRound)).all()) == before


# ---------------------------------------------------------------- command line


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, as_person(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.usefixtures("cli_home")
def test_planning_from_the_command_line() -> None:
    assert run("load-org")[0] == 0
    code, out = run("term-create", "十五届区委任期", "--years", "2026-2030", "--rounds-per-year", "2",
                    "--units-per-round", "4", "--mix", "部门=1,乡镇街道=1", "--as", "李建国")
    assert code == 2 and "“巡察组组长”无权编制全覆盖计划和组建巡察组（仅限：巡察办）" in out, out
    code, out = run("term-create", "十五届区委任期", "--years", "2026-2030", "--rounds-per-year", "2",
                    "--units-per-round", "4", "--mix", "部门=1,乡镇街道=1", "--as", "陶文华")
    assert code == 0 and "已建立任期计划“十五届区委任期”" in out, out
    code, out = run("term-create", "十六届", "--years", "明年", "--as", "陶文华")
    assert code == 2 and "任期年份应写成“2021-2026”，实为“明年”" in out
    code, out = run("coverage", "十五届区委任期", "--as-of", "2026-12-01", "--as", "张明")
    assert code == 0 and "共16个单位，已巡察0个" in out and "部门\t7\t0\t0\t7\t0.00%" in out, out
    assert run("coverage", "十五届区委任期", "--as-of", "2026-13-01", "--as", "张明") == (2, "日期格式应为 YYYY-MM-DD：2026-13-01\n")
    code, out = run("coverage", "十六届区委任期", "--as", "张明")
    assert code == 2 and "任期计划不存在：十六届区委任期" in out
    code, out = run("coverage", "十五届区委任期", "--as", "林静")
    assert code == 2 and "无权查看全覆盖情况" in out
    code, out = run("schedule", "十五届区委任期", "--as-of", "2027-01-01", "--as", "陶文华")
    assert code == 0 and out.startswith("轮次\t单位数\t被巡察单位\n2027年第1轮\t2\t") and out.count("\n") == 9, out
    code, out = run("compose", "--units", "区财政局、临城街道", "--kind", "交叉巡察", "--year", "2027", "--as", "陶文华")
    # Every leader works in the 机关 area, so none may go to 区财政局 on a cross inspection.
    assert code == 2 and "负责临城街道、区财政局的巡察组找不到可任组长的人选" in out, out
    code, out = run("compose", "--units", "区水务集团、临城街道", "--kind", "交叉巡察", "--year", "2027", "--as", "陶文华")
    assert code == 0 and "| 第一巡察组 |" in out and "| 罗敏 | 交叉巡察：与临城街道同属北片片区" in out, out
    assert "| 高峰 | 区水务集团是其本单位" in out, out
    code, out = run("pools", "--as", "陶文华")
    assert code == 0 and out.splitlines()[0] == ("姓名\t组长库\t人才库\t专长\t可用\t参加次数\t最近参加"
                                                   "\t每单位问题数\t指标覆盖\t移交线索\t整改到位率\t报告退回"), out
    with Session(get_engine()) as s:  # nothing the commands only show was written
        assert s.exec(select(PlannedUnit)).all() == []


def test_org_data_carries_priority_and_the_year_left(demo_org: Session) -> None:
    from tasks.planning.org import load_org, parse_org

    s = demo_org
    load_org(session=s, data=parse_org({
        "units": [{"name": "区财政局", "kind": "部门", "area": "机关", "priority": 4}],
        "conflicts": [{"person": "王海燕", "unit": "区财政局", "kind": "原工作单位", "ended_year": 2025}]}))
    s.commit()
    assert s.exec(select(Unit.priority).where(Unit.name == "区财政局")).one() == 4
    assert sorted(c.ended_year or 0 for c in s.exec(select(Conflict).where(Conflict.kind == "原工作单位"))) == [0, 2025]
    (rec,) = [u for u in term_plan.unit_records(s) if u.name == "区财政局"]
    assert rec.priority == 4
    with pytest.raises(DomainError) as exc:
        parse_org({"units": [{"name": "区财政局", "kind": "部门", "priority": -1}]})
    assert any("重点关注程度" in p for p in exc.value.problems), exc.value.problems


def test_rounds_already_held_this_year_are_not_planned_again(demo_org: Session) -> None:
    s = demo_org
    tid = make_term(s, per_year=2)  # 2026–2030
    approved_round(s)  # 2026's first round
    plan = term_plan.propose(session=s, term_id=tid, as_of=date(2026, 12, 15))
    assert (plan[0].year, plan[0].number) == (2026, 2)
    assert len(plan) <= 9  # 2026 round 2 and the 8 rounds of 2027–2030
    # Next year starts again from its first round.
    assert (term_plan.propose(session=s, term_id=tid, as_of=date(2027, 1, 5))[0].number) == 1
    # Both rounds of the term's last year held: nothing left to plan into.
    last = make_term_named(s, "短任期", 2026, 2026)
    approved_round(s, RoundParams.model_validate(round_data(name="2026年第二轮巡察", start=date(2026, 12, 10),
                                                            end=date(2026, 12, 30), units=["城西街道"], **OTHER_TEAM)))
    with pytest.raises(DomainError, match="2026年的2轮均已安排，任期内没有剩余轮次"):
        term_plan.propose(session=s, term_id=last, as_of=date(2026, 12, 15))


def make_term_named(s: Session, name: str, first: int, last: int) -> int:
    term = term_plan.create_term(session=s, name=name, first_year=first, last_year=last, rounds_per_year=2,
                                 units_per_round=4, mix={}, actor="陶文华", now=NOW)
    s.commit()
    assert term.id is not None
    return term.id
