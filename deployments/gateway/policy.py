"""Which kind of call each request to Prefect's API is, so the gateway knows what to check.

Reads (GET, and the POSTs that only query: filters, counts, pages, histories) are open to every
logged-in person. Of the calls that change something, a few are the office's daily business and
are checked against the role table (start a deployment, answer a gate, cancel or retry a run,
delete a run); what only workers, runs and the relay do is refused for everyone (they talk to
the server directly); everything else that writes is platform administration, for 巡察办."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


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
