"""The one clock helper: domain code receives `now`, only entry points call this."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(CHINA)


def today() -> date:
    return now().date()


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is China time."""
    return value if value.tzinfo else value.replace(tzinfo=CHINA)
