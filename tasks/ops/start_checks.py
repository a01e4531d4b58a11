"""What a deployment's form must hold before a run of it may exist: the same checks its flow (or
the command line) makes, read-only, so the gateway refuses a bad form in Chinese before Prefect
creates a run that could only fail. Each check lists every problem it finds.

Not checked here: what only the run may decide (a signing code is counted when it is tried, so
it is tried once, by the run) and what changes between the check and the run (the run checks
again and ends with one Chinese line if it must)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from models.access import Action
from models.errors import DomainError, explain
from models.forms import AckParams, FindingsParams, PlanParams, ProgressParams, RoundParams
from models.settings import Settings
from models.tables import ClueLetter, Inspection, InspectionRound
from tasks.clues.ledger import account
from tasks.infra.scope import authorise
from tasks.lifecycle.findings import ensure_may_record, find_inspection
from tasks.lifecycle.rounds import round_problems
from tasks.supervision.rectification import plan_problems, progress_problems

Check = Callable[[Session, Settings, dict[str, Any], datetime], list[str]]


def _form(model: type[BaseModel], parameters: dict[str, Any]) -> BaseModel | list[str]:
    """The form's `params` as `model`, or one Chinese line per field in error."""
    raw = parameters.get("params")
    if not isinstance(raw, dict):
        return ["表单内容为空，请填写后再提交"]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        return explain(exc, model)


def _problems(work: Callable[[], list[str]]) -> list[str]:
    try:
        return work()
    except DomainError as exc:
        return exc.problems


def _round(s: Session, settings: Settings, parameters: dict[str, Any], now: datetime) -> list[str]:
    params = _form(RoundParams, parameters)
    if isinstance(params, list):
        return params
    assert isinstance(params, RoundParams)
    return _problems(lambda: round_problems(session=s, params=params, former_years=settings.recusal_former_years))


def _inspection(s: Session, params: Any) -> Inspection:
    return find_inspection(session=s, round_name=params.round_name.strip(), unit_name=params.unit_name.strip())


def _findings(s: Session, settings: Settings, parameters: dict[str, Any], now: datetime) -> list[str]:
    params = _form(FindingsParams, parameters)
    if isinstance(params, list):
        return params

    def work() -> list[str]:
        ensure_may_record(session=s, inspection=_inspection(s, params))
        return []

    return _problems(work)


def _plan(s: Session, settings: Settings, parameters: dict[str, Any], now: datetime) -> list[str]:
    params = _form(PlanParams, parameters)
    if isinstance(params, list):
        return params
    assert isinstance(params, PlanParams)
    return _problems(lambda: plan_problems(session=s, inspection=_inspection(s, params), items=params.items, now=now))


def _progress(s: Session, settings: Settings, parameters: dict[str, Any], now: datetime) -> list[str]:
    params = _form(ProgressParams, parameters)
    if isinstance(params, list):
        return params
    assert isinstance(params, ProgressParams)
    return _problems(lambda: progress_problems(session=s, inspection=_inspection(s, params), reports=params.items))


def _acknowledge(s: Session, settings: Settings, parameters: dict[str, Any], now: datetime) -> list[str]:
    """The letter exists, is the signer's body's and is not signed yet; the code is the run's to try."""
    params = _form(AckParams, parameters)
    if isinstance(params, list):
        return params
    assert isinstance(params, AckParams)

    def work() -> list[str]:
        letter = s.get(ClueLetter, params.letter_id)
        if letter is None:
            return [f"找不到编号为{params.letter_id}的线索移交函"]
        authorise(session=s, account=account(s, params.signer), action=Action.ACKNOWLEDGE, receiver=letter.receiver)
        if letter.acknowledged_at is not None:
            return [f"移交函{params.letter_id}已由{letter.acknowledged_by}签收，无需再签收"]
        return []

    return _problems(work)


def _common(s: Session, settings: Settings, parameters: dict[str, Any], now: datetime) -> list[str]:
    name = parameters.get("round_name")
    if not isinstance(name, str) or not name.strip():
        return ["巡察轮次名称：必须填写"]
    if s.exec(select(InspectionRound.id).where(InspectionRound.name == name.strip())).first() is None:
        return [f"未知的巡察轮次：{name.strip()}"]
    return []


CHECKS: dict[str, Check] = {
    "发起巡察": _round,
    "登记问题": _findings,
    "报送整改方案": _plan,
    "报送整改进展": _progress,
    "签收线索移交函": _acknowledge,
    "共性问题归类": _common,
}


def start_problems(*, session: Session, settings: Settings, deployment: str, parameters: dict[str, Any],
                   now: datetime) -> list[str]:
    """Every reason, in Chinese, why a run of `deployment` with these parameters would be refused;
    empty when it may start (or when the domain has nothing to check for it). Writes nothing."""
    check = CHECKS.get(deployment)
    return check(session, settings, parameters, now) if check else []


def refusal(deployment: str, problems: list[str]) -> DomainError:
    """The refusal shown in the form: what was not started, then each problem on its own line."""
    numbered = [f"{n}. {p}" for n, p in enumerate(problems, 1)] if len(problems) > 1 else problems
    return DomainError(f"未运行“{deployment}”，请修改表单后再提交", numbered)
