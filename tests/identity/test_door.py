"""Roles at the door, table-driven: which role may start which deployment and answer which gate.
The expected tables are written out here, not derived from models/access.py, so a change of
policy there must be made here too; each cell is checked through the functions the gateway
calls (tasks/identity/door.py) against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from models.access import DEPLOYMENT_ACTIONS, Forbidden
from models.enums import AccessRole, Gate
from models.settings import PROJECT_ROOT, Settings
from models.tables import Account, Person, Unit
from tasks.identity.credentials import find_account
from tasks.identity.door import authorise_answer, authorise_start
from tasks.infra.scope import unit_of
from tasks.lifecycle.approvals import check_approver, open_gate
from tests.conftest import NOW
from tests.support.factories import make_round

R = AccessRole
# One account of each role in the demo county. 李建国 leads the team of tests/support/factories.py's
# round; 周卫东 is a 组长 who is not on it.
ACCOUNT = {R.OFFICE: "陶文华", R.TEAM_LEADER: "李建国", R.TEAM_MEMBER: "刘洋", R.LEADING_GROUP: "张明",
           R.DISCIPLINE_COMMISSION: "郑文斌", R.ORGANISATION_DEPARTMENT: "吴志刚", R.DEPARTMENT: "许丽",
           R.UNIT_CONTACT: "钱正平"}

START = {
    "发起巡察": {R.OFFICE},
    "单位巡察": set(),
    "登记问题": {R.OFFICE, R.TEAM_LEADER, R.TEAM_MEMBER},
    "报送整改进展": {R.OFFICE, R.UNIT_CONTACT},
    "报送整改方案": {R.OFFICE, R.UNIT_CONTACT},
    "每日督办": {R.OFFICE},
    "全覆盖排程": {R.OFFICE},
    "全覆盖进度": {R.OFFICE, R.LEADING_GROUP},
    "签收线索移交函": {R.DISCIPLINE_COMMISSION, R.ORGANISATION_DEPARTMENT, R.DEPARTMENT},
    "回头看": set(),
    "共性问题归类": {R.OFFICE},
}

ANSWER = {
    Gate.PLAN: {R.LEADING_GROUP},
    Gate.STATIONING_DONE: {R.TEAM_LEADER},  # of the team inspecting the unit only
    Gate.REPORT: {R.LEADING_GROUP},
    Gate.CLUE_TRANSFER: {R.LEADING_GROUP},
    Gate.RECT_PLAN: {R.OFFICE},
    Gate.CLOSE_OUT: {R.OFFICE},
    Gate.LOOK_BACK: {R.OFFICE, R.TEAM_LEADER},
    Gate.COMMON: {R.OFFICE},
    Gate.TERM_PLAN: {R.OFFICE},
}


def test_every_deployment_is_in_the_role_table() -> None:
    spec = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    names = {d["name"] for d in spec["deployments"]}
    assert names == set(DEPLOYMENT_ACTIONS) == set(START)


@pytest.mark.parametrize("deployment", list(START))
@pytest.mark.parametrize("role", list(AccessRole))
def test_role_x_deployment(demo_org: Session, deployment: str, role: AccessRole) -> None:
    s = demo_org
    make_round(s)
    account = find_account(s, ACCOUNT[role])
    assert account is not None and account.role == role
    # A team role's form names a unit of its own team (the factory round's 城东街道).
    parameters = {"params": {"round_name": "2026年第一轮巡察", "unit_name": "城东街道"}}
    if role in START[deployment]:
        authorise_start(session=s, account=account, deployment=deployment, parameters=parameters)
    else:
        with pytest.raises(Forbidden) as refused:
            authorise_start(session=s, account=account, deployment=deployment, parameters=parameters)
        assert deployment in str(refused.value)


def test_a_team_role_records_findings_only_for_its_own_units(demo_org: Session) -> None:
    s = demo_org
    make_round(s)
    other = find_account(s, "周卫东")  # a 组长, not on this round's team
    assert other is not None
    with pytest.raises(Forbidden, match="本人所在巡察组负责的被巡察单位"):
        authorise_start(session=s, account=other, deployment="登记问题",
                        parameters={"params": {"round_name": "2026年第一轮巡察", "unit_name": "城东街道"}})


@pytest.mark.parametrize("gate", list(ANSWER))
@pytest.mark.parametrize("role", list(AccessRole))
def test_role_x_gate(demo_org: Session, settings: Settings, gate: Gate, role: AccessRole) -> None:
    s = demo_org
    rnd, insps = make_round(s)
    open_gate(session=s, settings=settings, round_id=rnd.id, inspection_id=insps[0].id, gate=gate, attempt=1,
              flow_run_id="run-at-gate", now=NOW)
    account = find_account(s, ACCOUNT[role])
    assert account is not None
    if role in ANSWER[gate]:
        approval = authorise_answer(session=s, account=account, flow_run_id="run-at-gate")
        assert approval.gate == gate
        # The flow's own check agrees, with the login standing in for the code.
        assert check_approver(session=s, settings=settings, approval_id=approval.id or 0, approver=account.name,
                              code="", now=NOW, logged_in=True) == ""
    else:
        with pytest.raises(Forbidden) as refused:
            authorise_answer(session=s, account=account, flow_run_id="run-at-gate")
        assert gate.value in str(refused.value) and role.value in str(refused.value)


def test_the_stationing_gate_is_for_the_leader_of_its_own_team(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    rnd, insps = make_round(s)
    open_gate(session=s, settings=settings, round_id=rnd.id, inspection_id=insps[0].id, gate=Gate.STATIONING_DONE,
              attempt=1, flow_run_id="run-1", now=NOW)
    other = find_account(s, "周卫东")
    assert other is not None
    with pytest.raises(Forbidden, match="不由您所在的巡察组巡察"):
        authorise_answer(session=s, account=other, flow_run_id="run-1")


def test_a_run_without_a_waiting_gate_cannot_be_resumed(demo_org: Session) -> None:
    account = find_account(demo_org, "张明")
    assert account is not None
    with pytest.raises(Forbidden, match="没有等待办理的审批"):
        authorise_answer(session=demo_org, account=account, flow_run_id="no-such-run")


def test_the_flow_still_refuses_a_login_of_the_wrong_role(demo_org: Session, settings: Settings,
                                                          tmp_path: Path) -> None:
    """A receipt proves the person, not the right: the flow's check of the role stays."""
    s = demo_org
    rnd, _ = make_round(s)
    a = open_gate(session=s, settings=settings, round_id=rnd.id, inspection_id=None, gate=Gate.PLAN, attempt=1,
                  flow_run_id="r", now=NOW)
    assert "无权办理" in check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="林静", code="",
                                      now=NOW, logged_in=True)
    assert check_approver(session=s, settings=settings, approval_id=a.id or 0, approver="张明", code="", now=NOW) \
        == "请填写审批提醒中的验证码"  # without a login the code is still needed


# A unit contact reports for their own unit only. 钱正平 is 城东街道's contact in the demo county;
# 冯建华 (城西街道's contact, not in the round) and 蒋立新 (区财政局's) get accounts here. Written
# out: (contact, unit named in the form) -> allowed.
UNIT_STARTS = [
    ("钱正平", "城东街道", True),
    ("钱正平", "区教育局", False),
    ("钱正平", "区交通投资集团", False),
    ("冯建华", "城东街道", False),
    ("冯建华", "区教育局", False),
    ("蒋立新", "区交通投资集团", False),
    ("钱正平", "不存在的单位", False),
]


@pytest.mark.parametrize("deployment", ["报送整改方案", "报送整改进展"])
@pytest.mark.parametrize(("contact", "unit", "ok"), UNIT_STARTS)
def test_a_unit_contact_reports_only_for_their_own_unit(demo_org: Session, deployment: str, contact: str, unit: str,
                                                        ok: bool) -> None:
    s = demo_org
    make_round(s)
    for name in ("冯建华", "蒋立新"):
        s.add(Account(name=name, role=R.UNIT_CONTACT, created_at=NOW))
    s.commit()
    account = find_account(s, contact)
    assert account is not None
    parameters = {"params": {"round_name": "2026年第一轮巡察", "unit_name": unit}}
    if ok:
        authorise_start(session=s, account=account, deployment=deployment, parameters=parameters)
    else:
        with pytest.raises(Forbidden, match="只能为本人所在的被巡察单位运行"):
            authorise_start(session=s, account=account, deployment=deployment, parameters=parameters)
    # The office reports for any unit of the round.
    office = find_account(s, "陶文华")
    assert office is not None
    if unit != "不存在的单位":
        authorise_start(session=s, account=office, deployment=deployment, parameters=parameters)


def test_unit_of_links_an_account_to_its_unit_through_the_org_data(demo_org: Session) -> None:
    s = demo_org
    qian = find_account(s, "钱正平")  # only the contact (secretary) of 城东街道
    assert qian is not None
    unit = unit_of(session=s, account=qian)
    assert unit is not None and unit.name == "城东街道"
    li = find_account(s, "李建国")  # a person of 区民政局 in the org data
    assert li is not None
    unit = unit_of(session=s, account=li)
    assert unit is not None and unit.name == "区民政局"
    zhang = find_account(s, "张明")  # neither a person with a unit nor any unit's contact
    assert zhang is not None and unit_of(session=s, account=zhang) is None
    # A person's own unit in the org data wins over being named some unit's contact.
    person = Person(name="钱正平", unit_id=s.exec(select(Unit.id).where(Unit.name == "区财政局")).one())
    s.add(person)
    s.commit()
    unit = unit_of(session=s, account=qian)
    assert unit is not None and unit.name == "区财政局"
