"""Which kind of call each request to Prefect's API is, so the gateway knows what to check.

Reads (GET, and the POSTs that only query: filters, counts, pages, histories) are checked against
the read table below (READ_ROUTES: deny by default, narrowed for the teams). Of the calls that change something, a few are the office's daily business and
are checked against the role table (start a deployment, answer a gate, cancel or retry a run,
delete a run); what only workers, runs and the relay do is refused for everyone (they talk to
the server directly); everything else that writes is platform administration, for 巡察办."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from models.access import uses_platform
from models.enums import AccessRole


class Kind(StrEnum):
    READ = "read"
    START = "start"  # create a run from a deployment
    ANSWER = "answer"  # resume a run waiting at a gate
    RUN_STATE = "run_state"  # set a flow run's state: cancel, retry, force
    DELETE_RUN = "delete_run"
    WORKER = "worker"
    ADMIN = "admin"


UUID = r"[0-9a-fA-F-]{36}"

READ_POSTS = [re.compile(p) for p in (
    r"/(filter|count|paginate|history|lateness)$",
    r"^/events/count-by/[^/]+$",
    r"^/ui/(flows/count-deployments|flows/next-runs|flow_runs/count-task-runs|schemas/validate|task_runs/dashboard/counts)$",
    r"^/(automations/)?templates/validate$",
    r"^/(work_pools|work_queues)/[^/]+/concurrency_status$",
)]

# (method, path) of calls only workers, flow runs and the relay make.
WORKER_CALLS = [(m, re.compile(p)) for m, p in (
    ("POST", r"^/flow_runs/?$"),
    ("PATCH", rf"^/flow_runs/{UUID}$"),
    ("POST", rf"^/flow_runs/{UUID}/input$"),
    ("DELETE", rf"^/flow_runs/{UUID}/input/.+$"),
    ("POST", rf"^/flow_runs/{UUID}/labels$"),
    ("PATCH", rf"^/flow_runs/{UUID}/labels$"),
    ("POST", r"^/task_runs/?$"),
    ("POST", rf"^/task_runs/{UUID}/set_state$"),
    ("PATCH", rf"^/task_runs/{UUID}$"),
    ("POST", r"^/logs/?$"),
    ("POST", r"^/artifacts/?$"),
    ("POST", r"^/events/?$"),
    ("POST", r"^/deployments/get_scheduled_flow_runs$"),
    ("POST", r"^/work_pools/[^/]+/get_scheduled_flow_runs$"),
    ("POST", r"^/work_pools/[^/]+/workers/heartbeat$"),
    ("POST", r"^/work_queues/[^/]+/get_runs$"),
    ("POST", r"^/(v2/)?concurrency_limits/(increment|decrement|increment-with-lease|decrement-with-lease)$"),
    ("POST", r"^/v2/concurrency_limits/leases/[^/]+/renew$"),
)]

# Websockets: the UI may subscribe to events and logs; the rest are for workers and runs.
READ_SOCKETS = [re.compile(p) for p in (r"^/events/out$", r"^/logs/out$")]


@dataclass(frozen=True)
class Call:
    kind: Kind
    target: str = ""  # the deployment or flow run id in the path, where the kind needs one


def classify(method: str, path: str) -> Call:
    """`path` is the API path without its /api prefix, e.g. /flow_runs/<id>/resume."""
    method = method.upper()
    path = "/" + path.lstrip("/")
    if method in ("GET", "HEAD", "OPTIONS"):
        return Call(Kind.READ)
    if method == "POST" and (m := re.fullmatch(rf"/deployments/({UUID})/create_flow_run(/bulk)?", path)):
        return Call(Kind.START, m.group(1))
    if method == "POST" and (m := re.fullmatch(rf"/flow_runs/({UUID})/resume", path)):
        return Call(Kind.ANSWER, m.group(1))
    if method == "POST" and (m := re.fullmatch(rf"/flow_runs/({UUID})/set_state", path)):
        return Call(Kind.RUN_STATE, m.group(1))
    if (method == "DELETE" and re.fullmatch(rf"/flow_runs/{UUID}", path)) or \
            (method == "POST" and path == "/flow_runs/bulk_delete"):
        return Call(Kind.DELETE_RUN)
    if method == "POST" and any(p.search(path) for p in READ_POSTS):
        return Call(Kind.READ)
    if any(method == m and p.search(path) for m, p in WORKER_CALLS):
        return Call(Kind.WORKER)
    return Call(Kind.ADMIN)


def socket_allowed(path: str) -> bool:
    return any(p.search("/" + path.lstrip("/")) for p in READ_SOCKETS)


# Reads ------------------------------------------------------------------------------------------
# Who reads what through the gateway, deny by default: 巡察办 every route; the roles whose work is
# all on the office pages (models/access.uses_platform false) no route of Prefect's at all; the
# leading group and the teams only the routes of READ_ROUTES, the teams each narrowed to their own
# runs as its `team` column says. Everything not listed (work pools, blocks, variables,
# automations, events, concurrency limits, settings and the rest) is the office's engineering.


class Area(StrEnum):
    CONSOLE = "界面运行所需"
    RUNS = "流程运行"
    LOGS = "运行日志"
    ARTIFACTS = "运行工件"
    DEPLOYMENTS = "部署"


class Reach(StrEnum):
    """How far a team role's read reaches on a route (the leading group's is always OPEN)."""

    OPEN = "open"  # nobody's data: forwarded as is
    RUNS_FILTER = "runs_filter"  # a query over runs (their task runs, artifacts): narrowed to the person's runs
    RUN_ID = "run_id"  # the flow run in the path must be the person's
    RUN_QUERY = "run_query"  # the flow run of ?flow_run_id= must be the person's
    RUN_IDS = "run_ids"  # every id of the body's flow_run_ids must be the person's
    TASK_RUN_ID = "task_run_id"  # the task run in the path must belong to one of the person's runs
    TASK_RUN_QUERY = "task_run_query"  # likewise the task run of ?task_run_id=
    LOG_FILTER = "log_filter"  # the body names the runs whose logs it reads: all the person's
    ARTIFACT_ID = "artifact_id"  # the artifact in the path must come from one of the person's runs
    DEPLOYMENTS_FILTER = "deployments_filter"  # narrowed to the deployments the person may run
    DEPLOYMENT_ID = "deployment_id"  # the deployment in the path must be one the person may run
    DEPLOYMENT_NAME = "deployment_name"  # likewise, named in the path
    NONE = "none"  # not for team roles


@dataclass(frozen=True)
class ReadRoute:
    method: str
    pattern: re.Pattern[str]
    area: Area
    team: Reach


def _r(method: str, pattern: str, area: Area, team: Reach) -> ReadRoute:
    return ReadRoute(method, re.compile(pattern.replace("{id}", UUID)), area, team)


A, X = Area, Reach
READ_ROUTES: list[ReadRoute] = [
    _r("GET", r"^/(health|hello|ready|version|csrf-token|admin/version)$", A.CONSOLE, X.OPEN),
    _r("POST", r"^/ui/schemas/validate$", A.CONSOLE, X.OPEN),
    _r("POST", r"^/saved_searches/filter$", A.CONSOLE, X.OPEN),
    # The run page names its work pool and queue and shows their status (the pool is Prefect's
    # default process template: no one's data, no secret): a refusal put an error toast on it.
    _r("GET", r"^/work_pools/[^/]+(/queues/[^/]+)?$", A.CONSOLE, X.OPEN),
    _r("GET", r"^/saved_searches/{id}$", A.CONSOLE, X.OPEN),
    _r("POST", r"^/flow_runs/(filter|count|paginate|history|lateness)$", A.RUNS, X.RUNS_FILTER),
    _r("POST", r"^/ui/flow_runs/history$", A.RUNS, X.RUNS_FILTER),
    _r("POST", r"^/ui/flow_runs/count-task-runs$", A.RUNS, X.RUN_IDS),
    _r("GET", r"^/flow_runs/{id}(/graph|/graph-v2|/input/[^/]+|/logs/download)?$", A.RUNS, X.RUN_ID),
    _r("POST", r"^/flow_runs/{id}/input/filter$", A.RUNS, X.RUN_ID),
    _r("GET", r"^/flow_run_states/?$", A.RUNS, X.RUN_QUERY),
    _r("POST", r"^/task_runs/(filter|count|paginate|history)$", A.RUNS, X.RUNS_FILTER),
    _r("POST", r"^/ui/task_runs/(count|dashboard/counts)$", A.RUNS, X.RUNS_FILTER),
    _r("GET", r"^/(ui/)?task_runs/{id}$", A.RUNS, X.TASK_RUN_ID),
    _r("GET", r"^/task_run_states/?$", A.RUNS, X.TASK_RUN_QUERY),
    _r("POST", r"^/logs/filter$", A.LOGS, X.LOG_FILTER),
    _r("POST", r"^/artifacts/(filter|count|latest/filter|latest/count)$", A.ARTIFACTS, X.RUNS_FILTER),
    _r("GET", r"^/artifacts/{id}$", A.ARTIFACTS, X.ARTIFACT_ID),
    _r("POST", r"^/deployments/(filter|count|paginate)$", A.DEPLOYMENTS, X.DEPLOYMENTS_FILTER),
    _r("GET", r"^/deployments/{id}$", A.DEPLOYMENTS, X.DEPLOYMENT_ID),
    _r("GET", r"^/deployments/name/[^/]+/[^/]+$", A.DEPLOYMENTS, X.DEPLOYMENT_NAME),
    # Flows are names and ids only (a run's data is in its run): open to every reader.
    _r("POST", r"^/flows/(filter|count|paginate)$", A.DEPLOYMENTS, X.OPEN),
    _r("GET", r"^/flows/({id}|name/[^/]+)$", A.DEPLOYMENTS, X.OPEN),
    _r("POST", r"^/ui/flows/count-deployments$", A.DEPLOYMENTS, X.OPEN),
    # The next runs of each flow: runs not narrowed, so not for the teams.
    _r("POST", r"^/ui/flows/next-runs$", A.DEPLOYMENTS, X.NONE),
    _r("GET", r"^/deployments/{id}/schedules$", A.DEPLOYMENTS, X.NONE),
]

# The roles that read through READ_ROUTES, and whether narrowed by its `team` column.
ROUTE_READERS: dict[AccessRole, bool] = {
    AccessRole.LEADING_GROUP: False,
    AccessRole.TEAM_LEADER: True,
    AccessRole.TEAM_MEMBER: True,
}

# Websockets a role may open (the UI's live events and logs): not narrowed, so not for the teams.
SOCKET_READERS: dict[str, frozenset[AccessRole]] = {
    "/events/out": frozenset({AccessRole.OFFICE}),
    "/logs/out": frozenset({AccessRole.OFFICE, AccessRole.LEADING_GROUP}),
}

# A page of Prefect's UI opened by a role with no work there goes to 我的待办.
OFFICE_HOME = "/office/"
# Pages of the UI that show the office's engineering (the dashboard's cards are work pools and
# their queues; the rest are the engineering menus): another role opening one goes to the runs.
OFFICE_PAGES = ("/dashboard", "/work-pools", "/work-queues", "/blocks", "/variables", "/automations", "/events",
                "/concurrency-limits", "/settings", "/integrations")
RUNS_PAGE = "/runs"


def page_for(role: AccessRole, path: str) -> str | None:
    """Where a role that uses the console is sent instead of `path`, if anywhere."""
    if role is AccessRole.OFFICE:
        return None
    if path in ("", "/") or any(path == p or path.startswith(p + "/") for p in OFFICE_PAGES):
        return RUNS_PAGE
    return None


class Refused(Exception):
    """A read this role may not make; `reason` is shown to the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Read:
    reach: Reach
    route: ReadRoute | None = None


def read_rule(role: AccessRole, method: str, path: str) -> Read:
    """How far `role` may read `path` (the API path without /api); Refused when not at all."""
    method = method.upper()
    path = "/" + path.lstrip("/")
    if role is AccessRole.OFFICE:
        return Read(Reach.OPEN)
    if not uses_platform(role):
        raise Refused(NO_PLATFORM.format(role=role.value))
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    route = next((r for r in READ_ROUTES if r.method == method and r.pattern.search(path)), None)
    if route is None or role not in ROUTE_READERS:
        raise Refused(f"“{role.value}”无权查看流程平台的管理配置（工作池、区块、变量、自动化、事件、并发限制、"
                      "设置等，仅限：巡察办）")
    reach = route.team if ROUTE_READERS[role] else Reach.OPEN
    if reach is Reach.NONE:
        raise Refused(f"“{role.value}”无权查看全部流程的{route.area.value}（仅限：巡察办、巡察工作领导小组）")
    return Read(reach, route)


NO_PLATFORM = "“{role}”的工作都在办公页面（我的待办）办理，不能查看或操作流程平台"

# Engineering reads the console makes by itself on every page (the sidebar waits for the server's
# settings; the runs page and the run page ask for work pools and events). For a role that may
# not read them, the gateway answers them empty instead of refusing: nothing of the platform's
# configuration is disclosed, and the page still draws (a refusal left the sidebar out and an
# English "check your connection" toast on every page).
QUIET_READS: dict[tuple[str, str], object] = {
    ("GET", "/admin/settings"): {},
    ("POST", "/work_pools/filter"): [],
    ("POST", "/events/filter"): {"events": [], "total": 0, "next_page": None},
}


def quiet_read(role: AccessRole, method: str, path: str) -> tuple[bool, object]:
    """(True, the empty answer) for an engineering read the console makes unasked, when `role`
    may not read it; (False, None) otherwise."""
    key = (method.upper(), "/" + path.lstrip("/"))
    if role is AccessRole.OFFICE or key not in QUIET_READS:
        return False, None
    return True, QUIET_READS[key]


def socket_reader(role: AccessRole, path: str) -> bool:
    path = "/" + path.lstrip("/")
    return role in SOCKET_READERS.get(path, frozenset())
