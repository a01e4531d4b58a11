"""The deployments' forms offer the org data's lists (tasks/ops/forms.py): the schema Prefect
stores for 发起巡察 and 登记问题 gets the leaders, people, units and running rounds as choices."""

from __future__ import annotations

from typing import Any

import jsonschema
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from sqlmodel import Session

from deployments.cli.main import demo_round_params
from models.settings import PROJECT_ROOT
from tasks.ops.forms import FORMS, Choices, choices, with_choices
from tests.support.factories import make_round


def _schema(entrypoint: str) -> dict[str, Any]:
    flow = load_flow_from_entrypoint(str(PROJECT_ROOT / entrypoint))
    return parameter_schema(flow).model_dump_for_openapi()


def test_the_round_form_offers_the_org_data(demo_org: Session) -> None:
    lists = choices(session=demo_org)
    assert "李建国" in lists.leaders and "林静" not in lists.leaders  # 林静 is in 人才库 only
    assert {"林静", "李建国"} <= set(lists.people) and "城东街道" in lists.units
    schema = with_choices(_schema("flows/lifecycle/run_inspection_round.py:run_inspection_round"), FORMS["发起巡察"], lists)
    team = schema["definitions"]["TeamSpec"]["properties"]
    assert team["leader"]["enum"] == lists.leaders
    assert team["deputy"]["enum"] == ["", *lists.people]
    assert team["members"]["items"]["enum"] == lists.people
    assert team["units"]["items"]["enum"] == lists.units
    assert schema["definitions"]["AutoTeams"]["properties"]["units"]["items"]["enum"] == lists.units
    jsonschema.validate({"params": demo_round_params()}, schema)  # what `up` starts is among the choices
    bad = demo_round_params()
    bad["teams"][0]["units"] = ["不存在的单位"]
    try:
        jsonschema.validate({"params": bad}, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a unit that is not in the org data passed the form's schema")
    # Set again with other lists: replaced, not added to; an empty list leaves a text box.
    again = with_choices(schema, FORMS["发起巡察"], Choices(leaders=["甲"], people=[], units=["乙"], rounds=[]))
    assert again["definitions"]["TeamSpec"]["properties"]["leader"]["enum"] == ["甲"]
    assert "enum" not in again["definitions"]["TeamSpec"]["properties"]["members"]["items"]


def test_the_findings_form_offers_running_rounds(demo_org: Session) -> None:
    assert choices(session=demo_org).rounds == []
    make_round(demo_org)
    lists = choices(session=demo_org)
    assert lists.rounds == ["2026年第一轮巡察"]
    schema = with_choices(_schema("flows/lifecycle/record_findings.py:record_findings_flow"), FORMS["登记问题"], lists)
    props = schema["definitions"]["FindingsParams"]["properties"]
    assert props["round_name"]["enum"] == ["2026年第一轮巡察"] and props["unit_name"]["enum"] == lists.units


def test_free_text_of_the_forms_refuses_control_and_bidi_characters() -> None:
    """The deployment and gate forms' texts follow models/text.py, as the org data and findings do."""
    from pydantic import ValidationError

    from models.errors import explain
    from models.forms import AckParams, PlanApproval, PlanParams

    for model, data, where in (
        (PlanApproval, {"decision": "批准", "comment": "同意\u202e"}, "意见"),
        (PlanApproval, {"decision": "批准", "approver": "张\u2066明"}, "审批人（姓名）"),
        (AckParams, {"letter_id": 1, "signer": "郑文斌\x00", "code": "123456"}, "签收人（姓名）"),
        (PlanParams, {"round_name": "2026\u202b", "unit_name": "城东街道", "reporter": "钱正平",
                      "items": [{"item": "1", "measures": "建立制度", "owner": "钱正平", "due": "2026-12-31"}]}, "巡察轮次名称"),
    ):
        try:
            model.model_validate(data)
        except ValidationError as exc:
            lines = explain(exc, model)
            assert any(line.startswith(f"{where}：不能包含控制字符或不可见字符") for line in lines), lines
        else:
            raise AssertionError(f"{model.__name__} took {data}")
    assert PlanApproval.model_validate({"decision": "批准", "comment": "同意。\n请按期完成。"}).comment == "同意。\n请按期完成。"
