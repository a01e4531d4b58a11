"""巡察成果运用 from the terminal: the results letters in the person's reach (tasks/results/use.py).
The receivers sign for them and record their use on the office page (/office/results)."""

from __future__ import annotations

from deployments.cli.common import echo_rows
from deployments.cli.door import actor
from models.clock import now
from models.db import session_scope
from tasks.results import use


def results_letters_cmd() -> None:
    """巡察成果运用函一览：接收单位、状态、签收和运用情况（巡察办、领导小组看全部，组织部、纪委监委看发给本单位的）。"""
    by = actor()
    with session_scope() as s:
        lines = use.letters_in_reach(session=s, by=by, now=now())
    echo_rows([{"编号": ln.id, "文号": ln.doc_no, "巡察": ln.label, "接收单位": ln.receiver, "状态": ln.status,
                "函告问题": len(ln.findings), "签收": ln.acknowledged or f"期限{ln.ack_due_on}",
                "运用": "、".join(f"{u.kind}（{u.done_on or f'计划{u.due_on}'}）" for u in ln.uses) or "—",
                "逾期": "是" if ln.overdue else ""} for ln in lines])
