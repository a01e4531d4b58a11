"""共性问题归类's choices come from the org data: who may lead a common problem (the people whose
库 holds 分管领导), which units are departments; nobody leads a problem about their own unit; the
form offers these as selects and comes prefilled with valid choices."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models.enums import Pool
from models.errors import DomainError
from models.forms import CommonProblemsConfirm, common_form
from models.settings import Settings
from models.tables import Person, Unit
from tasks.supervision.common_problems import (
    default_leader,
    department_choices,
    leader_choices,
    propose_groups,
)
from tests.supervision.test_common_problems import archives, build, confirm


def test_choices_come_from_the_org_data(demo_org: Session) -> None:
    leaders = leader_choices(session=demo_org)
    assert leaders == {"吴志刚": "", "郑文斌": ""}  # the demo's 分管领导, of no inspected unit
    departments = department_choices(session=demo_org)
    assert "区民政局" in departments and "城东街道" not in departments and "区交通投资集团" not in departments
    # The first leader who belongs to none of the group's units.
    assert default_leader({"甲": "城东街道", "乙": "区教育局"}, ["城东街道", "马岙村"]) == "乙"
    assert default_leader({"甲": "城东街道"}, ["城东街道"]) == ""


def test_the_form_offers_selects_and_its_prefill_is_accepted(demo_org: Session, settings: Settings) -> None:
    r = build(demo_org, settings)
    leaders, departments = leader_choices(session=demo_org), department_choices(session=demo_org)
    form = common_form(list(leaders), departments)
    row = form.model_json_schema()["$defs"]["CommonGroupIn"]["properties"]
    assert row["leader_in_charge"]["enum"] == ["吴志刚", "郑文斌"]
    assert set(row["departments"]["items"]["enum"]) == set(departments)
    # The rows as the flow prefills them (tasks/supervision/prefect.py propose_common_task).
    rows = []
    for p in propose_groups(session=demo_org, round_id=r.id):
        data = p.to_input().model_dump()
        data["leader_in_charge"] = data["leader_in_charge"] or default_leader(leaders, p.unit_names)
        rows.append(data)
    answer = form.model_validate({"decision": "确认归类", "approver": "巡察办", "groups": rows})
    assert isinstance(answer, CommonProblemsConfirm) and all(g.leader_in_charge for g in answer.groups)
    # A name outside the org data's leaders is refused by the form's schema itself.
    with pytest.raises(ValueError):
        form.model_validate({"decision": "确认归类", "groups": [rows[0] | {"leader_in_charge": "钱正平"}]})


def test_a_leader_in_charge_must_be_one_and_not_of_the_units_concerned(demo_org: Session, settings: Settings) -> None:
    r = build(demo_org, settings)
    # In the people list but not a leader in charge (a team leader): refused.
    with pytest.raises(DomainError) as refused:
        confirm(demo_org, settings, r, [archives(r, leader_in_charge="李建国")])
    assert "“李建国”不是组织数据中可领办共性问题的分管领导" in str(refused.value.problems)
    # A leader in charge who belongs to one of the units concerned: refused.
    unit_id = demo_org.exec(select(Unit.id).where(Unit.name == "区教育局")).one()
    demo_org.add(Person(name="区教育局分管领导", unit_id=unit_id, pools=[Pool.COMMON_LEADER.value]))
    demo_org.commit()
    with pytest.raises(DomainError) as refused:
        confirm(demo_org, settings, r, [archives(r, leader_in_charge="区教育局分管领导")])
    assert "分管领导“区教育局分管领导”是区教育局的人员，不能领办涉及本单位的共性问题" in str(refused.value.problems)
    (cp,) = confirm(demo_org, settings, r, [archives(r, leader_in_charge="郑文斌")])
    assert cp.leader_in_charge == "郑文斌"
