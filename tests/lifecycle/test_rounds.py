"""Creating a round: the team is checked against the pools and the recusal rules; a bad form
gives a Chinese reason and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.enums import RoundStatus, Stage, TeamRole
from models.errors import DomainError
from models.forms import RoundParams
from models.settings import Settings
from models.tables import Inspection, InspectionRound, Person, Team, TeamMember, Unit
from tasks.lifecycle.rounds import create_round, recusal_problems, validate_round
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import (
    DEMO_UNITS,
    END,
    START,
    database,
    make_round,
    round_in,
    round_params,
    row_counts,
    team_data,
    unvalidated_params,
)


def test_create_round_of_three_units(demo_org: Session) -> None:
    s = demo_org
    assert validate_round(session=s, params=round_params()) == []
    rnd, inspections = make_round(s, flow_run_id="run-1")
    assert (rnd.name, rnd.kind, rnd.status) == ("2026年第一轮巡察", "常规巡察", RoundStatus.PLANNING)
    assert (rnd.start_date, rnd.end_date) == (START, END)
    team = s.exec(select(Team).where(Team.round_id == rnd.id)).one()
    members = s.exec(
        select(Person.name, TeamMember.role).join(TeamMember, col(TeamMember.person_id) == Person.id)
        .where(TeamMember.team_id == team.id)
    ).all()
    assert sorted(members) == sorted([("李建国", TeamRole.LEADER), ("陈晓梅", TeamRole.DEPUTY), ("刘洋", TeamRole.MEMBER)])
    assert len(inspections) == 3
    for insp, unit_name in zip(inspections, DEMO_UNITS, strict=True):
        assert s.get(Unit, insp.unit_id).name == unit_name  # type: ignore[union-attr]
        assert (insp.stage, insp.search_count, insp.team_id) == (Stage.PREPARATION, 1, team.id)


def test_create_round_is_reentrant_for_the_same_flow_run(demo_org: Session) -> None:
    rnd, _ = make_round(demo_org, flow_run_id="run-1")
    before = row_counts(demo_org)
    again = create_round(session=demo_org, params=round_params(), now=NOW, flow_run_id="run-1")
    demo_org.commit()
    assert again.id == rnd.id
    assert row_counts(demo_org) == before
    # The same name from another run is a duplicate.
    elsewhere = round_params(leader="马成功", deputy=None, members=["王海燕"], units=["区卫生健康局"])  # not double booked
    assert validate_round(session=demo_org, params=elsewhere, flow_run_id="run-2") == ["巡察轮次名称已存在：2026年第一轮巡察"]


def test_two_teams(demo_org: Session) -> None:
    params = round_params(teams=[
        team_data(name="第一巡察组", units=["城东街道", "区教育局"]),
        team_data(name="第二巡察组", leader="马成功", deputy=None, members=["罗敏"], units=["区卫生健康局"]),
    ])
    rnd, inspections = make_round(demo_org, params)
    teams = {t.id: t.name for t in demo_org.exec(select(Team).where(Team.round_id == rnd.id))}
    assert [teams[i.team_id] for i in inspections] == ["第一巡察组", "第一巡察组", "第二巡察组"]


@pytest.fixture(scope="module")
def shared_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """The demo county, shared by the refused forms below (each shows it wrote nothing)."""
    with database(tmp_path_factory.mktemp("rounds")) as s:
        yield s


# Each bad form: keyword arguments for round_data, and the Chinese phrase that names the problem.
BAD_FORMS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown-unit", {"units": ["城东街道", "城南街道"]}, "未知的被巡察单位：城南街道"),
    ("recuse-former-unit", {"members": ["王海燕"], "units": ["区财政局", "城东街道"]},
     "王海燕 须回避 区财政局（原工作单位：2022年前在该局工作）"),
    ("recuse-relative", {"members": ["赵志强"], "units": ["城西街道"]}, "赵志强 须回避 城西街道（亲属任职：配偶在该街道任职）"),
    ("recuse-declared", {"members": ["黄磊"], "units": ["区城市建设投资公司"]}, "黄磊 须回避 区城市建设投资公司（申报回避：本人申报）"),
    ("recuse-deputy", {"deputy": "赵志强", "members": [], "units": ["城西街道"]}, "赵志强 须回避 城西街道（亲属任职"),
    ("recuse-current-unit", {"units": ["区民政局"]}, "李建国 须回避 区民政局（现工作单位）"),
    ("recuse-current-unit-member", {"members": ["罗敏"], "units": ["盐仓街道"]}, "罗敏 须回避 盐仓街道（现工作单位）"),
    ("leader-not-in-pool", {"leader": "王海燕"}, "王海燕 不在巡察组长库中，不能担任组长"),
    ("unknown-person", {"members": ["张三丰"]}, "未知的人员：张三丰"),
    ("unit-in-two-teams", {"teams": [team_data(name="第一巡察组", units=["城东街道"]),
                                     team_data(name="第二巡察组", leader="马成功", deputy=None, members=[], units=["城东街道"])]},
     "单位“城东街道”同时分配给了 第一巡察组 和 第二巡察组"),
    ("person-in-two-teams", {"teams": [team_data(name="第一巡察组", units=["城东街道"]),
                                       team_data(name="第二巡察组", leader="马成功", deputy=None, units=["区教育局"])]},
     "刘洋 同时在 第一巡察组 和 第二巡察组 中"),
    ("duplicate-team-name", {"teams": [team_data(units=["城东街道"]),
                                       team_data(leader="马成功", deputy=None, members=[], units=["区教育局"])]},
     "巡察组名称重复：第一巡察组"),
]


@pytest.mark.parametrize(("form", "phrase"), [(f, p) for _, f, p in BAD_FORMS], ids=[i for i, _, _ in BAD_FORMS])
def test_bad_form_is_refused_and_writes_nothing(shared_org: Session, form: dict[str, Any], phrase: str) -> None:
    params = round_params(**form)
    problems = validate_round(session=shared_org, params=params)
    assert any(phrase in p for p in problems), problems
    before = row_counts(shared_org)
    with pytest.raises(DomainError) as exc:
        create_round(session=shared_org, params=params, now=NOW, flow_run_id="run-1")
    assert str(exc.value).startswith("巡察轮次未创建")
    assert phrase in str(exc.value)
    shared_org.commit()
    assert row_counts(shared_org) == before


def test_recusal_names_exactly_the_reason(demo_org: Session) -> None:
    s = demo_org
    person = s.exec(select(Person).where(Person.name == "高峰")).one()
    jiaotou = s.exec(select(Unit).where(Unit.name == "区交通投资集团")).one()
    shuiwu = s.exec(select(Unit).where(Unit.name == "区水务集团")).one()
    chengdong = s.exec(select(Unit).where(Unit.name == "城东街道")).one()
    assert recusal_problems(session=s, person=person, unit=jiaotou) == ["高峰 须回避 区交通投资集团（原工作单位）"]
    assert recusal_problems(session=s, person=person, unit=shuiwu) == ["高峰 须回避 区水务集团（现工作单位）"]
    assert recusal_problems(session=s, person=person, unit=chengdong) == []


def test_end_before_start(demo_org: Session) -> None:
    with pytest.raises(ValidationError) as exc:
        round_params(start=END, end=START)
    assert "进驻结束日期早于开始日期" in str(exc.value)
    params = unvalidated_params(start=END, end=START)
    assert validate_round(session=demo_org, params=params) == ["进驻结束日期早于开始日期"]
    before = row_counts(demo_org)
    with pytest.raises(DomainError, match="进驻结束日期早于开始日期"):
        create_round(session=demo_org, params=params, now=NOW, flow_run_id=None)
    demo_org.commit()
    assert row_counts(demo_org) == before


def test_duplicate_round_name(demo_org: Session) -> None:
    make_round(demo_org, flow_run_id="run-1")
    before = row_counts(demo_org)
    other = round_params(name=" 2026年第一轮巡察 ", units=["区卫生健康局"],  # the form strips the name
                         leader="马成功", deputy=None, members=["王海燕"])  # people free of the first round
    assert validate_round(session=demo_org, params=other) == ["巡察轮次名称已存在：2026年第一轮巡察"]
    with pytest.raises(DomainError, match="巡察轮次名称已存在：2026年第一轮巡察"):
        create_round(session=demo_org, params=other, now=NOW, flow_run_id="run-2")
    demo_org.commit()
    assert row_counts(demo_org) == before
    assert len(demo_org.exec(select(InspectionRound)).all()) == 1
    assert len(demo_org.exec(select(Inspection)).all()) == 3


@pytest.mark.parametrize(
    ("form", "phrase"),
    [({"name": "x"}, "name"), ({"kind": "随便巡察"}, "kind"), ({"teams": []}, "teams"),
     ({"units": []}, "units"), ({"leader": ""}, "leader")],
    ids=["short-name", "bad-kind", "no-team", "no-unit", "no-leader"],
)
def test_form_validation(form: dict[str, Any], phrase: str) -> None:
    with pytest.raises(ValidationError) as exc:
        round_params(**form)
    assert phrase in str(exc.value)


# --- no double booking: a unit or a person is in one running round at a time -------------------

def _second(**team: Any) -> Any:
    return round_params(name="2027年第一轮巡察", teams=[team_data(**team)])


@pytest.mark.parametrize(("team", "expected"), [
    ({"leader": "马成功", "deputy": None, "members": ["王海燕"], "units": ["城东街道"]},
     ["单位“城东街道”正在“2026年第一轮巡察”中接受巡察，不能同时编入两轮巡察（回头看除外）"]),
    ({"leader": "李建国", "deputy": None, "members": ["王海燕"], "units": ["区卫生健康局"]},
     ["李建国 正在参加“2026年第一轮巡察”，不能同时参加两轮巡察"]),
    ({"leader": "马成功", "deputy": "陈晓梅", "members": ["刘洋"], "units": ["区卫生健康局"]},
     ["陈晓梅 正在参加“2026年第一轮巡察”，不能同时参加两轮巡察", "刘洋 正在参加“2026年第一轮巡察”，不能同时参加两轮巡察"]),
], ids=["unit", "leader", "deputy-and-member"])
@pytest.mark.parametrize("status", [RoundStatus.PLANNING, RoundStatus.ACTIVE])
def test_a_unit_or_person_is_in_one_running_round(demo_org: Session, team: dict[str, Any], expected: list[str],
                                                  status: RoundStatus) -> None:
    s = demo_org
    round_in(s, status)
    params = _second(**team)
    assert validate_round(session=s, params=params) == expected
    before = row_counts(s)
    with pytest.raises(DomainError, match="巡察轮次未创建") as refused:
        create_round(session=s, params=params, now=NOW, flow_run_id="run-2")
    s.rollback()
    assert refused.value.problems == expected  # type: ignore[attr-defined]
    assert row_counts(s) == before


@pytest.mark.parametrize("status", [RoundStatus.RETURNED, RoundStatus.DONE])
def test_a_returned_or_finished_round_books_nobody(demo_org: Session, settings: Settings, status: RoundStatus) -> None:
    s = demo_org
    first, _ = round_in(s, status, settings)
    second, insps = make_round(s, round_params(name="2027年第一轮巡察"))  # the same units and people
    assert second.id != first.id and len(insps) == 3


def test_an_archived_unit_is_free_though_its_round_runs_on(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    _, insps = round_in(s, RoundStatus.ACTIVE)
    advance(s, settings, insps[0].id or 0, Stage.ARCHIVED)
    s.commit()
    params = _second(leader="马成功", deputy=None, members=["王海燕"], units=["城东街道"])
    assert validate_round(session=s, params=params) == []


def test_a_look_back_round_may_return_to_a_unit_but_not_take_its_people(demo_org: Session) -> None:
    s = demo_org
    make_round(s)
    look_back = round_params(name="2027年回头看", kind="回头看", leader="马成功", deputy=None, members=["王海燕"],
                             units=["城东街道"])
    assert validate_round(session=s, params=look_back) == []
    make_round(s, look_back)
    # and, in turn, does not block that unit for a regular round
    assert validate_round(session=s, params=_second(leader="孙丽娟", deputy=None, members=["黄磊"], units=["区卫生健康局"])) == []
    again = round_params(name="2027年回头看二", kind="回头看", leader="李建国", deputy=None, members=["黄磊"], units=["马岙村"])
    assert validate_round(session=s, params=again) == ["李建国 正在参加“2026年第一轮巡察”，不能同时参加两轮巡察"]


def test_a_composed_round_leaves_out_people_on_a_running_round(demo_org: Session) -> None:
    from tasks.lifecycle.rounds import compose_params

    s = demo_org
    make_round(s)
    auto = RoundParams.model_validate({"name": "2027年第一轮巡察", "start_date": START, "end_date": END,
                                       "auto_teams": {"units": ["区卫生健康局"], "team_count": 1, "members_per_team": 1}})
    composed, excluded = compose_params(session=s, params=auto)
    people = {composed.teams[0].leader, *composed.teams[0].members}
    assert not people & {"李建国", "陈晓梅", "刘洋"}
    assert excluded["李建国"] == ["正在参加“2026年第一轮巡察”"]
    assert validate_round(session=s, params=composed) == []
