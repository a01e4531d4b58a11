"""The read half of the door: what policy.read_rule allows, narrowed for a team role to its own
runs before the call goes on. A query is rewritten (its flow-run filter limited to the ids the
person may read); a read of one thing by id is checked against the thing first. Nothing here
forwards: it returns the body to forward or raises Forbidden with the reason in Chinese."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from deployments.gateway.policy import Reach, Refused, read_rule
from models.access import Forbidden
from models.enums import AccessRole
from models.errors import DomainError
from models.tables import Account
from tasks.identity import door

if TYPE_CHECKING:
    from deployments.gateway.app import Gateway

LOOKUP_LIMIT = 200  # the runs started through the gateway for one person's units, read per query


def _body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise DomainError("请求内容不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise DomainError("请求内容不是有效的 JSON")
    return data


class Reads:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def check(self, request: Request, account: Account, path: str, body: bytes) -> bytes:
        """The body to forward for this read by this person (`path` without /api)."""
        role = AccessRole(account.role)
        try:
            read = read_rule(role, request.method, path)
        except Refused as exc:
            raise Forbidden(exc.reason) from None
        if read.reach is Reach.OPEN:
            return body
        if read.reach in (Reach.DEPLOYMENTS_FILTER, Reach.DEPLOYMENT_ID, Reach.DEPLOYMENT_NAME):
            return await self._deployments(account, read.reach, path, body)
        runs = await self.own_runs(account)
        own = f"“{role.value}”只能查看本人所在巡察组负责单位的流程运行，"
        if read.reach is Reach.RUNS_FILTER:
            data = _body(body)
            data["flow_runs"] = _narrowed(data.get("flow_runs"), runs, role)
            return json.dumps(data, ensure_ascii=False).encode()
        if read.reach is Reach.RUN_ID:
            target = path.strip("/").split("/")[1]
        elif read.reach is Reach.RUN_QUERY:
            target = request.query_params.get("flow_run_id", "")
        elif read.reach is Reach.RUN_IDS:
            ids = _body(body).get("flow_run_ids")
            if not isinstance(ids, list) or not ids or any(str(i) not in runs for i in ids):
                raise Forbidden(own + "所查的运行不在其中")
            return body
        elif read.reach is Reach.LOG_FILTER:
            logs = _body(body).get("logs")
            ids = ((logs or {}).get("flow_run_id") or {}).get("any_") if isinstance(logs, dict) else None
            if not isinstance(ids, list) or not ids or any(str(i) not in runs for i in ids):
                raise Forbidden(own + "只能查看其中某次运行的日志")
            return body
        elif read.reach in (Reach.TASK_RUN_ID, Reach.TASK_RUN_QUERY):
            task_run = path.rstrip("/").split("/")[-1] if read.reach is Reach.TASK_RUN_ID \
                else request.query_params.get("task_run_id", "")
            target = str((await self._get(f"/task_runs/{task_run}")).get("flow_run_id") or "")
        else:  # Reach.ARTIFACT_ID
            target = str((await self._get(path)).get("flow_run_id") or "")
        if not target or target not in runs:
            raise Forbidden(own + "该运行不在其中")
        return body

    async def own_runs(self, account: Account) -> frozenset[str]:
        """The ids of the flow runs this team role may read: known to the application, or tagged
        with one of its units when the gateway forwarded their start."""
        from deployments.gateway.web import db

        scope = await db(lambda s: door.run_scope(session=s, account=account))
        ids = set(scope.run_ids)
        if scope.tags:
            r = await self.gw.client.post(f"{self.gw.upstream}/api/flow_runs/filter", headers=self.gw._auth(), json={
                "flow_runs": {"tags": {"any_": list(scope.tags)}}, "limit": LOOKUP_LIMIT, "sort": "START_TIME_DESC"})
            if r.status_code != 200:
                raise Forbidden("暂时无法核对可查看的流程运行，请稍后再试")
            ids |= {str(run.get("id")) for run in r.json() if isinstance(run, dict)}
        return frozenset(ids)

    async def _runs_of(self, account: Account, path: str) -> bool:
        """Whether the deployment in `path` started one of the runs this person may read (its run
        page shows the deployment it came from)."""
        runs = await self.own_runs(account)
        if not runs:
            return False
        r = await self.gw.client.post(f"{self.gw.upstream}/api/flow_runs/count", headers=self.gw._auth(), json={
            "flow_runs": {"id": {"any_": sorted(runs)}, "deployment_id": {"any_": [path.rstrip("/").split("/")[-1]]}}})
        return r.status_code == 200 and int(r.json() or 0) > 0

    async def _get(self, path: str) -> dict[str, Any]:
        r = await self.gw.client.get(f"{self.gw.upstream}/api/{path.lstrip('/')}", headers=self.gw._auth())
        data = r.json() if r.status_code == 200 else {}
        return data if isinstance(data, dict) else {}

    async def _deployments(self, account: Account, reach: Reach, path: str, body: bytes) -> bytes:
        role = AccessRole(account.role)
        names = door.runnable_deployments(role)
        if reach is Reach.DEPLOYMENTS_FILTER:
            data = _body(body)
            found = data.get("deployments")
            deployments: dict[str, Any] = found if isinstance(found, dict) else {}
            if deployments.get("operator", "and_") != "and_":
                raise Forbidden("不支持这种查询方式")
            wanted = (deployments.get("name") or {}).get("any_") if isinstance(deployments.get("name"), dict) else None
            allowed = [n for n in names if not isinstance(wanted, list) or n in wanted]
            deployments["name"] = {**(deployments.get("name") or {}), "any_": allowed}
            data["deployments"] = deployments
            return json.dumps(data, ensure_ascii=False).encode()
        name = path.rstrip("/").split("/")[-1] if reach is Reach.DEPLOYMENT_NAME \
            else str((await self._get(path)).get("name") or "")
        if name not in names and not (reach is Reach.DEPLOYMENT_ID and await self._runs_of(account, path)):
            raise Forbidden(f"“{role.value}”只能查看本人可以运行的部署（{'、'.join(names) or '无'}）")
        return body


def _narrowed(flow_runs: Any, runs: frozenset[str], role: AccessRole) -> dict[str, Any]:
    """The query's flow-run filter, limited to `runs` (its own id list, if any, intersected)."""
    data: dict[str, Any] = dict(flow_runs) if isinstance(flow_runs, dict) else {}
    if data.get("operator", "and_") != "and_":  # an "or" would widen what we add
        raise Forbidden(f"“{role.value}”查询流程运行时不支持这种查询方式")
    found = data.get("id")
    ids: dict[str, Any] = found if isinstance(found, dict) else {}
    wanted = ids.get("any_")
    keep = sorted(runs if not isinstance(wanted, list) else runs & {str(i) for i in wanted})
    # An empty list matches nothing in Prefect's filter, which is what the person may read then.
    data["id"] = {**ids, "any_": keep}
    return data
