"""Named errors. Messages are Chinese because office staff read them."""

from __future__ import annotations


class DomainError(Exception):
    """Bad input or a forbidden action; never worth a retry."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__(message if not problems else message + "：\n" + "\n".join(problems))


class IllegalTransition(DomainError):
    """A stage change that the transition table does not allow."""


class NotFound(DomainError):
    """A referenced record does not exist."""
