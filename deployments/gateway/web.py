"""What the gateway's own pages and the office's pages share to answer a request: one database
transaction per piece of work, the audit record of a refusal, reading a form within its limit, the
same-origin check and the refusal the Prefect UI shows. A leaf below app.py and office.py, so the
page modules import it and not the app that mounts them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from models.access import Forbidden
from models.clock import now
from models.db import get_engine
from tasks.identity import credentials
from tasks.infra.audit import record_refusal

T = TypeVar("T")
FORM_LIMIT = 16_384


def _db(work: Callable[[Session], T]) -> T:
    """Run `work` in one transaction; commit even when it raises a refusal (a failed login is
    counted and audited), roll back on anything else."""
    with Session(get_engine(), expire_on_commit=False) as s:
        try:
            result = work(s)
        except (credentials.LoginRefused, Forbidden):
            s.commit()
            raise
        except BaseException:
            s.rollback()
            raise
        s.commit()
        return result


async def db(work: Callable[[Session], T]) -> T:
    return await run_in_threadpool(_db, work)


OFFICE_REFUSED = "办公页面（被拒绝）"  # the audit name of a refusal on the office's own pages


async def audit_refused(actor: str, request: Request, reason: str, *, action: str, entity: str) -> None:
    """The audit record of a request the gateway refused: who, which call, why."""
    t = now()
    await db(lambda s: record_refusal(session=s, actor=actor, action=action, entity=entity, entity_id=None, now=t,
                                      detail={"method": request.method, "path": request.url.path[:200],
                                              "reason": reason[:300]}))


class FormTooLong(Exception):
    """A form longer than its limit: refused whole (413), never cut and used."""


def parse_form(body: bytes, limit: int = FORM_LIMIT) -> dict[str, str]:
    if len(body) > limit:
        raise FormTooLong
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def same_origin(request: Request | WebSocket) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def refused(reason: str, status: int = 403) -> JSONResponse:
    return JSONResponse({"detail": reason, "exception_message": reason}, status_code=status,
                        headers={"X-Xuncha-Refused": quote(reason)})
