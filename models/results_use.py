"""巡察成果运用 (#27 point 3): the results letter a unit's feedback sends to the organisation
department (and to the discipline commission where the unit has clues for it), and each use
the receiver records of it. Kept in a module of their own (registered with the other tables
by models/db.py and the migrations' env.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import JSON, Column, Field, SQLModel, UniqueConstraint

from models.enums import ResultsLetterStatus
from models.tables import TZ, enum_type

# The letter's status is with the other statuses (models/enums.py) and its moves in their tables
# (models/transitions.py RESULTS_LETTERS); named here too for the readers of this module.
__all__ = ["ResultsLetter", "ResultsLetterStatus", "ResultsUse", "UseKind"]


class UseKind(StrEnum):
    """How a receiver puts the results to use (the reports' 巡察成果综合运用 list)."""

    EVALUATION = "干部考核评价"
    APPOINTMENT = "选拔任用"
    REMINDER_TALK = "提醒谈话"
    ADMONISHING_TALK = "诫勉谈话"
    ANNUAL_ASSESSMENT = "年度考核"
    PARTY_BUILDING = "党建考核"
    INTEGRITY_REVIEW = "党风廉政建设责任制考核"
    DEBRIEF = "党建工作述职评议"
    OTHER = "其他"


class ResultsLetter(SQLModel, table=True):
    """巡察成果运用函: one per inspected unit and receiving body, written at feedback."""

    __tablename__ = "results_letter"
    __table_args__ = (UniqueConstraint("inspection_id", "receiver"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    receiver: str = Field(max_length=40)  # models.enums.Role value
    doc_no: str = Field(default="", max_length=80)
    finding_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))  # the findings it carries
    status: ResultsLetterStatus = Field(default=ResultsLetterStatus.SENT, sa_type=enum_type(ResultsLetterStatus), index=True)
    sent_at: datetime = Field(sa_type=TZ)
    ack_due_on: date
    acknowledged_at: datetime | None = Field(default=None, sa_type=TZ)
    acknowledged_by: str = Field(default="", max_length=50)
    use_due_on: date | None = None  # by when the receiver reports its use (from signing)
    closed_at: datetime | None = Field(default=None, sa_type=TZ)
    closed_by: str = Field(default="", max_length=50)


class ResultsUse(SQLModel, table=True):
    """One use of a results letter: done (done_on), or planned by a date (due_on) and then done."""

    __tablename__ = "results_use"
    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="results_letter.id", index=True)
    kind: UseKind = Field(sa_type=enum_type(UseKind))
    note: str = Field(default="", max_length=2000)
    due_on: date | None = None
    done_on: date | None = None
    recorded_by: str = Field(max_length=50)
    recorded_at: datetime = Field(sa_type=TZ)
