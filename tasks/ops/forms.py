"""The deployments' forms offer lists, not blanks: teams' leaders, members and units of 发起巡察,
the round and the unit of 登记问题, 报送整改方案 and 报送整改进展 are chosen from the org data
and the running rounds. Prefect's form shows a string with an `enum` in its parameter schema as
a select (a list of them as a multi-select), so the lists are written into each deployment's
stored schema: after `prefect deploy` (which stores the flow's own schema), after `load-org`
and when a round is created. The server does not hold runs to the lists (see refresh_forms).

A list that would be empty is left out (the field stays a text box), so a new install with no
org data still has working forms. Refreshing is best-effort: a list that could not be updated
only stays as it was."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from models.enums import Pool
from models.tables import InspectionRound, Person, Unit
from tasks.lifecycle.rounds import RUNNING

log = logging.getLogger("xuncha.forms")


@dataclass(frozen=True)
class Choices:
    leaders: list[str]  # 组长库
    people: list[str]  # 组长库 and 人才库: deputies and members
    units: list[str]
    rounds: list[str]  # rounds not finished: the ones findings, plans and progress are for


def choices(*, session: Session) -> Choices:
    """The lists the forms offer, from the org data and the rounds."""
    persons = session.exec(select(Person).order_by(col(Person.id))).all()
    return Choices(
        leaders=[p.name for p in persons if Pool.LEADER.value in (p.pools or [])],
        people=[p.name for p in persons if set(p.pools or []) & {Pool.LEADER.value, Pool.TALENT.value}],
        units=list(session.exec(select(Unit.name).order_by(col(Unit.id))).all()),
        rounds=list(session.exec(select(InspectionRound.name).where(col(InspectionRound.status).in_(RUNNING))
                                 .order_by(col(InspectionRound.id).desc())).all()),
    )


# Which list goes where: (definition in the schema, field, list, the field is a list of them).
ROUND_FIELDS = [("TeamSpec", "leader", "leaders", False), ("TeamSpec", "deputy", "people", False),
                ("TeamSpec", "members", "people", True), ("TeamSpec", "units", "units", True),
                ("AutoTeams", "units", "units", True)]
UNIT_FIELDS = [("round_name", "rounds"), ("unit_name", "units")]
FORMS: dict[str, list[tuple[str, str, str, bool]]] = {
    "发起巡察": ROUND_FIELDS,
    "登记问题": [("FindingsParams", f, lst, False) for f, lst in UNIT_FIELDS],
    "报送整改方案": [("PlanParams", f, lst, False) for f, lst in UNIT_FIELDS],
    "报送整改进展": [("ProgressParams", f, lst, False) for f, lst in UNIT_FIELDS],
}
FLOWS = {"发起巡察": "巡察轮次", "登记问题": "登记问题", "报送整改方案": "报送整改方案", "报送整改进展": "报送整改进展"}
OPTIONAL = {("TeamSpec", "deputy")}  # may stay empty: "" is one of its choices


def with_choices(schema: dict[str, Any], fields: list[tuple[str, str, str, bool]], lists: Choices) -> dict[str, Any]:
    """The deployment's parameter schema with each field's list set (replaced when set before)."""
    out = copy.deepcopy(schema)
    definitions = out.get("definitions") or out.get("$defs") or {}
    for definition, field, which, many in fields:
        prop = ((definitions.get(definition) or {}).get("properties") or {}).get(field)
        if not isinstance(prop, dict):
            continue
        target = prop.get("items") if many else prop
        if not isinstance(target, dict):
            continue
        values: list[str] = getattr(lists, which)
        if (definition, field) in OPTIONAL and values:
            values = ["", *values]
        if values:
            target["enum"] = values
        else:
            target.pop("enum", None)
    return out


def refresh_forms(*, session: Session, client: Any = None) -> list[str]:
    """Write the current lists into the deployments' forms; the names of those updated."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import ObjectNotFound

    if client is None:
        with get_client(sync_client=True) as own:
            return refresh_forms(session=session, client=own)
    lists = choices(session=session)
    updated = []
    for name, fields in FORMS.items():
        try:
            deployment = client.read_deployment_by_name(f"{FLOWS[name]}/{name}")
        except ObjectNotFound:
            continue
        schema = with_choices(dict(deployment.parameter_openapi_schema or {}), fields, lists)
        if schema == deployment.parameter_openapi_schema and deployment.enforce_parameter_schema is False:
            continue
        # The lists are the form's choices, not its rules: a list a moment stale (a round created
        # since) must not make the server refuse a run in English. The rules are checked by the
        # gateway and the flow (tasks/ops/start_checks.py, the flows' own models), in Chinese.
        client.update_deployment(deployment.id, DeploymentUpdate(parameter_openapi_schema=schema,
                                                                 enforce_parameter_schema=False))
        updated.append(name)
    return updated


def refresh_quietly(*, session: Session) -> str:
    """refresh_forms when a Prefect server is configured; never raises. A Chinese note of what happened."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():  # no server: get_client would start a temporary one
        return "流程服务未运行，表单中的选择列表将在下次启动（up）时更新"
    try:
        updated = refresh_forms(session=session)
    except Exception:  # noqa: BLE001 - the lists only stay as they were
        log.warning("the deployments' choice lists were not updated", exc_info=True)
        return "表单中的选择列表暂未更新（流程服务无响应），稍后重新导入或重启后更新"
    return "已更新表单中的选择列表：" + "、".join(updated) if updated else "表单中的选择列表无变化"
