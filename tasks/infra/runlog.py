"""What reaches a run's log in Prefect (the API log handler): messages, never tracebacks. Every
logged-in person may read a run's log in the UI, so a traceback (code, paths, values) stays in
the worker's own log file (var/logs/worker.log: the console handler, untouched), and Prefect's
own lines about a refused input (a DomainError, in repr with literal \\n) are left out: the flow
logs one Chinese line for it instead (flows/outcome.py)."""

from __future__ import annotations

import logging

from models.errors import DomainError


def _names(cls: type[BaseException]) -> set[str]:
    return {cls.__name__}.union(*(_names(sub) for sub in cls.__subclasses__()))


def _domain_error(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    args = record.args if isinstance(record.args, tuple) else ()
    if isinstance(exc, DomainError) or any(isinstance(a, DomainError) for a in args):
        return True
    # A task's end, in Prefect's words: "Finished in state Failed('Task run encountered an
    # exception DomainError: …')"; the flow's own line says it in Chinese.
    message = str(record.msg)
    return message.startswith("Finished in state Failed(") and any(
        f"exception {name}: " in message for name in _names(DomainError))


class DropDomainErrors(logging.Filter):
    """Prefect's engine lines about a task or flow that raised a DomainError."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("prefect.") and _domain_error(record))


class WithoutTraceback(logging.Formatter):
    """The handler's formatter, on a copy of the record without exception or stack text (the
    copy leaves the record as the console handler formats it)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return self.inner.format(record)


def install() -> int:
    """Put the filter and formatter on Prefect's API log handlers (idempotent); how many were set."""
    from prefect.logging.handlers import APILogHandler

    done = 0
    for name in ("prefect.flow_runs", "prefect.task_runs", "prefect"):
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler, APILogHandler) or isinstance(handler.formatter, WithoutTraceback):
                continue
            handler.addFilter(DropDomainErrors())
            handler.setFormatter(WithoutTraceback(handler.formatter))
            done += 1
    return done
