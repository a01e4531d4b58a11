"""Tables of the health-check indicators (政治体检指标) that guide stationing (#27): the office's
indicator library, what a team examined per unit (by which methods, with which findings), and the
reason a team gave for gaps when it submitted its report. Kept apart from models/tables.py so the
areas merge cleanly; models/tables.py imports this module, so the metadata holds them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import JSON, Column, Field, SQLModel, UniqueConstraint

from models.tables import TZ


class Indicator(SQLModel, table=True):
    """One indicator: what to look for (问题表现), how (如何巡察), what is required (有何要求), for
    which unit kinds (empty: every kind). `sample` marks the shipped 示例 rows, never an official list."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    category: str = Field(max_length=50)
    symptoms: str = Field(default="", max_length=2000)
    how: str = Field(default="", max_length=2000)
    requirement: str = Field(default="", max_length=2000)
    unit_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    sample: bool = False
    active: bool = True
    updated_at: datetime = Field(sa_type=TZ)


class IndicatorCheck(SQLModel, table=True):
    """A team's record that it examined one indicator at one unit: the methods used and the
    findings it led to (each finding links to at most one indicator of its unit)."""

    __tablename__ = "indicator_check"
    __table_args__ = (UniqueConstraint("inspection_id", "indicator_id"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    methods: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    finding_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    note: str = Field(default="", max_length=2000)
    recorded_by: str = Field(max_length=50)
    recorded_at: datetime = Field(sa_type=TZ)


class CoverageGap(SQLModel, table=True):
    """Why indicators were not examined or methods not used, as the 组长 wrote it at 巡察组提交报告
    (one per search for problems)."""

    __tablename__ = "coverage_gap"
    __table_args__ = (UniqueConstraint("inspection_id", "search_count"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    search_count: int = 1
    missing_indicators: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    missing_methods: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    reason: str = Field(max_length=2000)
    by: str = Field(max_length=50)
    at: datetime = Field(sa_type=TZ)
