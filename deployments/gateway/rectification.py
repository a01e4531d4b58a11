"""整改事项 at /office/rectification: a unit's items, and its plan and progress submitted from the
page (deployments/gateway/office.py routes here). The forms post the same data as the
deployments 报送整改方案 and 报送整改进展, through the same domain functions
(tasks/supervision/by_unit.py); after a plan, the unit run waiting for it is woken as the
deployment's flow does, and if that wake-up fails the relay's next pass does it."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from deployments.gateway.office_forms import PREFIX, after_post, notice_of
from deployments.gateway.web import OFFICE_REFUSED, audit_refused, db
from models.access import Forbidden
from models.clock import now
from models.db import record_id
from models.enums import ItemStatus
from models.errors import DomainError, NotFound
from models.forms import PlanItemIn, ProgressIn
from models.tables import Inspection
from tasks.supervision import by_unit

if TYPE_CHECKING:
    from deployments.gateway.office import Office, Who

log = logging.getLogger("xuncha.gateway")
STATUSES = [s.value for s in ItemStatus if s is not ItemStatus.CLOSED]  # only the office's close-out closes
WAKE_SECONDS = 15.0
T = TypeVar("T")


def wake_plan(upstream: str, inspection_id: int, flow_run_id: str) -> bool:
    """Wake the unit run waiting for this unit's plan or for items to close out (tasks/ops/launch.py,
    as the flows do), through the Prefect server the gateway forwards to (never an ephemeral one)."""
    from prefect.client.orchestration import SyncPrefectClient

    from tasks.ops.launch import wake_unit

    client = SyncPrefectClient(f"{upstream}/api", auth_string=os.environ.get("PREFECT_API_AUTH_STRING"),
                               httpx_settings={"timeout": WAKE_SECONDS})
    with client:
        return wake_unit(inspection_id, flow_run_id, client)


async def _wake(upstream: str, inspection_id: int, flow_run_id: str) -> bool:
    """Never fails the submission: the plan is saved, and the relay wakes what is not woken here."""
    try:
        return await asyncio.wait_for(run_in_threadpool(wake_plan, upstream, inspection_id, flow_run_id),
                                      WAKE_SECONDS * 2)
    except Exception as exc:  # noqa: BLE001 - the relay retries; the plan is already recorded
        log.warning("未能唤醒单位巡察流程（%s），投递进程将稍后唤醒", type(exc).__name__)
        return False


def _ids(form: dict[str, str], prefix: str) -> list[int]:
    out = []
    for key in form:
        head, _, tail = key.partition("-")
        if head == prefix and tail.isdigit():
            out.append(int(tail))
    return sorted(out)


def _build(model: type[BaseModel], item_id: int, data: dict[str, Any], problems: list[str]) -> Any:
    """One line of the form as the deployment's model, or None and the problem in Chinese."""
    try:
        return model.model_validate({"item": str(item_id), **data})
    except ValidationError as exc:
        titles = [str(model.model_fields[str(e["loc"][0])].title or e["loc"][0]) if e["loc"] and str(e["loc"][0])
                  in model.model_fields else "内容" for e in exc.errors()]
        problems.append(f"编号{item_id}：{'、'.join(dict.fromkeys(titles))}填写有误")
        return None


def _all_or_nothing(items: list[Any], problems: list[str], what: str, *, empty: str) -> list[Any]:
    """The form's lines, or the whole form refused: every problem listed, or that it had none."""
    if problems:
        raise DomainError(f"{what}未保存", problems)
    if not items:
        raise DomainError(empty)
    return items


def plan_items(form: dict[str, str]) -> list[PlanItemIn]:
    """The plan's lines (measure-N, owner-N, deadline-N, every-N for item N); DomainError if any is bad."""
    items: list[Any] = []
    problems: list[str] = []
    for n in _ids(form, "measure"):
        try:
            deadline = date.fromisoformat(form.get(f"deadline-{n}", "").strip())
        except ValueError:
            problems.append(f"编号{n}：完成时限填写有误（应为日期，如2027-03-31）")
            continue
        every = form.get(f"every-{n}", "").strip() or "30"
        item = _build(PlanItemIn, n, {"measure": form.get(f"measure-{n}", "").strip(),
                                      "owner": form.get(f"owner-{n}", "").strip(), "deadline": deadline,
                                      "supervise_every_days": every}, problems)
        if item is not None:
            items.append(item)
    return _all_or_nothing(items, problems, "整改方案", empty="整改方案为空")


def progress_items(form: dict[str, str]) -> list[ProgressIn]:
    """The lines whose status was chosen (status-N, taken-N, evidence-N, rules-N); DomainError if any is bad."""
    items: list[Any] = []
    problems: list[str] = []
    for n in _ids(form, "status"):
        status = form.get(f"status-{n}", "").strip()
        if not status:
            continue  # 本次不报送
        item = _build(ProgressIn, n, {"status": status, "measure_taken": form.get(f"taken-{n}", "").strip(),
                                      "evidence": form.get(f"evidence-{n}", "").strip(),
                                      "rules_made": form.get(f"rules-{n}", "").strip() or "0"}, problems)
        if item is not None:
            items.append(item)
    return _all_or_nothing(items, problems, "整改进展", empty="整改进展为空：请至少为一个事项选择整改状态")


def _unit_param(request: Request) -> int | None:
    raw = request.query_params.get("unit", "").strip()
    if not raw:
        return None
    return record_id(raw, "被巡察单位编号")


async def page(office: Office, request: Request, who: Who, *, unit_id: int | None = None, status: int = 200,
               error: str = "", values: dict[str, str] | None = None) -> Response:
    t = now()
    wanted = unit_id if unit_id is not None else _unit_param(request)
    try:
        found = await db(lambda s: by_unit.unit_page(session=s, settings=office.gw.settings, account=who.account,
                                                     unit_id=wanted, now=t))
    except Forbidden as exc:  # another unit's page: refused and recorded
        await audit_refused(who.name, request, str(exc), action=OFFICE_REFUSED, entity="office")
        return office.refusal(request, who, str(exc))
    return office.render(request, who, "rectification.html", status=status, page=found, statuses=STATUSES,
                         error=error, values=values or {},
                         notice="" if error else notice_of(office.gw, who.login, request))


async def view(office: Office, request: Request, who: Who) -> Response:
    return await page(office, request, who)


async def _unit_of_inspection(inspection_id: int) -> int:
    def work(s: Any) -> int:
        insp = s.get(Inspection, inspection_id)
        if insp is None:
            raise NotFound("巡察任务不存在")
        return int(insp.unit_id)

    return await db(work)


async def submit_plan(office: Office, request: Request, who: Who) -> Response:
    iid, form, t = office._int(request.path_params["inspection_id"]), office.form(request), now()
    unit_id = await _unit_of_inspection(iid)

    async def save() -> tuple[int, str | None]:
        items = plan_items(form)
        return await db(lambda s: by_unit.submit_unit_plan(
            session=s, settings=office.gw.settings, account=who.account, inspection_id=iid, items=items, now=t,
            link=office.gw.settings.run_link(None)))

    saved = await _saved(office, request, who, unit_id, form, save)
    if isinstance(saved, Response):
        return saved
    count, run_id = saved
    woken = await _wake(office.gw.upstream, iid, run_id) if run_id else False
    done = f"已报送整改方案（{count}项），待巡察办审核" + ("，已转入整改方案审核" if woken else "")
    return _back(office, who, unit_id, iid, done)


async def _saved(office: Office, request: Request, who: Who, unit_id: int, form: dict[str, str],
                 save: Callable[[], Awaitable[T]]) -> T | Response:
    """What `save` returned; or, with nothing saved, the refusal for another unit's items
    (audited), or the unit's page again with the problem and what was typed."""
    try:
        return await save()
    except Forbidden as exc:
        await audit_refused(who.name, request, str(exc), action=OFFICE_REFUSED, entity="office")
        return office.refusal(request, who, str(exc))
    except NotFound:
        raise
    except DomainError as exc:
        kept = {k: v for k, v in form.items() if k != "csrf"}
        return await page(office, request, who, unit_id=unit_id, status=400, error=str(exc), values=kept)


def _back(office: Office, who: Who, unit_id: int, inspection_id: int, done: str) -> Response:
    """To the unit's page at the round's section, with the confirmation signed for this session."""
    return after_post(office.gw, who.login, f"{PREFIX}/rectification", done, query=f"unit={unit_id}",
                      anchor=f"round-{inspection_id}")


async def report_progress(office: Office, request: Request, who: Who) -> Response:
    iid, form, t = office._int(request.path_params["inspection_id"]), office.form(request), now()
    unit_id = await _unit_of_inspection(iid)

    async def save() -> int:
        reports = progress_items(form)
        return await db(lambda s: by_unit.report_unit_progress(
            session=s, settings=office.gw.settings, account=who.account, inspection_id=iid, reports=reports,
            formal=form.get("formal") == "1", now=t))

    count = await _saved(office, request, who, unit_id, form, save)
    if isinstance(count, Response):
        return count
    done = f"已报送整改进展（{count}项）" + ("，作为正式整改情况报告" if form.get("formal") == "1" else "")
    run_id = await db(lambda s: getattr(s.get(Inspection, iid), "flow_run_id", None))
    if run_id and await _wake(office.gw.upstream, iid, run_id):  # items reported done: 整改销号 opens
        done += "，已转入整改销号"
    return _back(office, who, unit_id, iid, done)
