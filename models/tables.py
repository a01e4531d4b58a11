"""Application tables. Enum columns store the Chinese value, as VARCHAR (no native enum types)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel, UniqueConstraint

from models.enums import (
    AccessRole,
    AlertStatus,
    ApprovalStatus,
    ClueKind,
    ClueResult,
    ClueStatus,
    CommonProblemStatus,
    ConflictKind,
    FindingScope,
    Gate,
    GroupingStatus,
    ItemStatus,
    LookBackStatus,
    PetitionChannel,
    RoundKind,
    RoundStatus,
    Stage,
    TeamRole,
    UnitKind,
)


def enum_type(enum_cls: type[Enum]) -> Any:
    return sa.Enum(
        enum_cls,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        validate_strings=True,
        length=32,
    )


TZ = sa.DateTime(timezone=True)


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    kind: UnitKind = Field(sa_type=enum_type(UnitKind))
    area: str = Field(default="", max_length=50)
    secretary_name: str = Field(default="", max_length=50)
    secretary_contact: str = Field(default="", max_length=500)
    liaison_leader_id: int | None = Field(default=None, foreign_key="person.id")
    # 重点关注: set by the office (large funds, many petitions...); the scheduler adds what the
    # database knows (petitions received, earlier look-backs) and puts higher values first.
    priority: int = 0


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=50)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    title: str = Field(default="", max_length=100)
    specialties: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    pools: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    contact: str = Field(default="", max_length=500)
    available: bool = True


class Conflict(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "unit_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kind: ConflictKind = Field(sa_type=enum_type(ConflictKind))
    note: str = Field(default="", max_length=200)
    # For a former unit: the year the person left it (recusal lasts `recusal_former_years`);
    # empty means still binding.
    ended_year: int | None = None


class RoleRecipient(SQLModel, table=True):
    """Role-level alert recipients loaded with the org data (settings add more)."""

    __table_args__ = (UniqueConstraint("role", "url"),)
    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(max_length=40, index=True)
    url: str = Field(max_length=500)


class InspectionRound(SQLModel, table=True):
    __tablename__ = "inspection_round"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    kind: RoundKind = Field(sa_type=enum_type(RoundKind))
    start_date: date
    end_date: date
    status: RoundStatus = Field(default=RoundStatus.PLANNING, sa_type=enum_type(RoundStatus))
    flow_run_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=TZ)
    # Teams the system composed for this round: person name -> why they were kept off.
    exclusions: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON))


class TermPlan(SQLModel, table=True):
    """一届任期内全覆盖: the committee's term, its pace, and the per-round mix rule."""

    __tablename__ = "term_plan"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    first_year: int
    last_year: int
    rounds_per_year: int
    units_per_round: int
    mix: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))  # unit kind -> units per round
    approved_at: datetime | None = Field(default=None, sa_type=TZ)
    approved_by: str = Field(default="", max_length=50)
    created_at: datetime = Field(sa_type=TZ)


class PlannedUnit(SQLModel, table=True):
    """A unit placed in a planned round of a term; each unit at most once per term."""

    __tablename__ = "planned_unit"
    __table_args__ = (UniqueConstraint("term_id", "unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    term_id: int = Field(foreign_key="term_plan.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    year: int
    number: int  # round within the year


class Team(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("round_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="inspection_round.id", index=True)
    name: str = Field(max_length=50)


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    role: TeamRole = Field(sa_type=enum_type(TeamRole))


class Inspection(SQLModel, table=True):
    """One inspected unit in one round: the unit of work that moves through the stages."""

    __table_args__ = (UniqueConstraint("round_id", "unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="inspection_round.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    team_id: int = Field(foreign_key="team.id")
    stage: Stage = Field(default=Stage.PREPARATION, sa_type=enum_type(Stage))
    search_count: int = Field(default=1, description="第几次查找问题（报告退回后加一）")
    flow_run_id: str | None = Field(default=None, max_length=40)
    feedback_date: date | None = None
    formal_report_at: datetime | None = Field(default=None, sa_type=TZ)
    plan_submitted_at: datetime | None = Field(default=None, sa_type=TZ)
    plan_approved_at: datetime | None = Field(default=None, sa_type=TZ)
    archived_at: datetime | None = Field(default=None, sa_type=TZ)


class Finding(SQLModel, table=True):
    # One finding per problem per unit: the same sheet imported twice, or two imports at once,
    # cannot store a problem twice (tasks/lifecycle/findings.py finding_hash). Empty for rows kept from
    # before the hash existed that duplicated an earlier row.
    __table_args__ = (UniqueConstraint("inspection_id", "content_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    category: str = Field(max_length=50)
    description: str = Field(max_length=2000)
    evidence: str = Field(default="", max_length=2000)
    scope: FindingScope = Field(default=FindingScope.INDIVIDUAL, sa_type=enum_type(FindingScope))
    fixed_on_site: bool = False
    search_count: int = 1
    created_at: datetime = Field(sa_type=TZ)
    content_hash: str | None = Field(default=None, max_length=64)
    corrected_at: datetime | None = Field(default=None, sa_type=TZ)
    # The confirmed common problem it belongs to, set at confirmation even before the unit has
    # rectification items (they are linked when they are created).
    common_problem_id: int | None = Field(default=None, foreign_key="common_problem.id")


class Account(SQLModel, table=True):
    """A person who acts in the system, with the one role that decides what they may do."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, unique=True)
    role: AccessRole = Field(sa_type=enum_type(AccessRole))
    active: bool = True
    created_at: datetime = Field(sa_type=TZ)


class Credential(SQLModel, table=True):
    """How an account proves who it is at the gateway (tasks/identity): an argon2 password hash,
    the failures since the last good login, and the TOTP secret (encrypted) once enrolled."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", unique=True)
    password_hash: str = Field(max_length=200)
    must_change: bool = True  # set by the office's reset: the person picks their own at first login
    failures: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=TZ)
    totp_secret_enc: str = Field(default="", max_length=500)
    totp_enrolled_at: datetime | None = Field(default=None, sa_type=TZ)
    totp_last_step: int = 0  # the last time step accepted: a code is not taken twice
    updated_at: datetime = Field(sa_type=TZ)


class LoginSession(SQLModel, table=True):
    """One browser's login. Only the SHA-256 of its token is stored; `stage` says how far the
    login got (password, second factor, password change) and only "active" passes the door."""

    __tablename__ = "login_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    stage: str = Field(max_length=20)
    pending_secret_enc: str = Field(default="", max_length=500)  # TOTP secret shown at enrolment
    created_at: datetime = Field(sa_type=TZ)
    last_active_at: datetime = Field(sa_type=TZ)
    ended_at: datetime | None = Field(default=None, sa_type=TZ)
    # Why it ended (tasks/identity/sessions.py Ended's name: "IDLE", "EXPIRED", "LOGGED_OUT", ...),
    # so a later request is told the same reason as the first one after the end.
    end_reason: str = Field(default="", max_length=20)


class GateReceipt(SQLModel, table=True):
    """Written by the gateway before it forwards a resume: who (logged in) answered which asking
    of a gate. Keyed MAC under the identity key, so a row written without the key is refused."""

    __tablename__ = "gate_receipt"
    id: int | None = Field(default=None, primary_key=True)
    approval_id: int = Field(foreign_key="approval.id", index=True)
    flow_run_id: str = Field(max_length=40, index=True)
    pause_key: str = Field(max_length=100)
    person: str = Field(max_length=50)
    at: datetime = Field(sa_type=TZ)
    mac: str = Field(max_length=64)


class Petition(SQLModel, table=True):
    """信访举报 received during stationing. Confidential: the content stays in this database and
    the informant's identity is stored only encrypted (models/crypto.py)."""

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    channel: PetitionChannel = Field(sa_type=enum_type(PetitionChannel))
    content: str = Field(max_length=4000)
    anonymous: bool = False
    informant_enc: str = Field(default="", max_length=2000)  # sealed {"name", "contact"}: Fernet or SM4-GCM (models/crypto.py)
    received_at: datetime = Field(sa_type=TZ)
    recorded_by: str = Field(default="", max_length=50)
    clue_id: int | None = Field(default=None, foreign_key="clue.id")


class PublicReport(SQLModel, table=True):
    """A petition sent through the public reporting page (网络举报): only the keyed hash of the
    query code the reporter was shown once (tasks/clues/public.py)."""

    __tablename__ = "public_report"
    id: int | None = Field(default=None, primary_key=True)
    petition_id: int = Field(foreign_key="petition.id", unique=True)
    code_hash: str = Field(max_length=64, unique=True)


class PublicHit(SQLModel, table=True):
    """One counted request to the public page, for its sliding-window rate limits: the kind, a
    keyed hash of the client's address (never the address) and the time; rows older than the
    window are deleted as new ones come."""

    __tablename__ = "public_hit"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    client: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_type=TZ, index=True)


class Clue(SQLModel, table=True):
    """Confidential: the summary never leaves the application database."""

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    kind: ClueKind = Field(sa_type=enum_type(ClueKind))
    summary: str = Field(max_length=4000)
    urgent: bool = False  # 边巡边移: transferred during stationing, not at the clue-transfer stage
    receiver: str = Field(default="", max_length=40)
    status: ClueStatus = Field(default=ClueStatus.PENDING, sa_type=enum_type(ClueStatus), index=True)
    letter_id: int | None = Field(default=None, foreign_key="clue_letter.id", index=True)
    transferred_at: datetime | None = Field(default=None, sa_type=TZ)
    result: ClueResult | None = Field(default=None, sa_type=enum_type(ClueResult))
    result_note: str = Field(default="", max_length=2000)
    result_at: datetime | None = Field(default=None, sa_type=TZ)
    result_due_on: date | None = None
    closed_at: datetime | None = Field(default=None, sa_type=TZ)
    created_at: datetime = Field(sa_type=TZ)


class ClueLetter(SQLModel, table=True):
    """线索移交函: one per receiver and transfer; the receiver signs for it by a deadline."""

    __tablename__ = "clue_letter"
    __table_args__ = (UniqueConstraint("inspection_id", "receiver", "batch"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    receiver: str = Field(max_length=40)  # models.enums.Role value
    batch: str = Field(max_length=40)  # "stage" for the clue-transfer stage, "urgent-<clue id>" for 边巡边移
    doc_no: str = Field(default="", max_length=80)
    clue_count: int = 0
    sent_at: datetime = Field(sa_type=TZ)
    ack_due_on: date = Field(index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=TZ)
    acknowledged_by: str = Field(default="", max_length=50)
    reminders_sent: int = 0
    # 签收码: a one-time code sent to the receiver with the letter (only its keyed hash is kept).
    code_hash: str = Field(default="", max_length=64)
    code_failures: int = 0


class RectificationItem(SQLModel, table=True):
    __tablename__ = "rectification_item"
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    finding_id: int = Field(foreign_key="finding.id", unique=True)
    measure: str = Field(default="", max_length=2000)
    owner: str = Field(default="", max_length=50)
    responsible_leader_id: int | None = Field(default=None, foreign_key="person.id")
    deadline: date = Field(index=True)
    status: ItemStatus = Field(default=ItemStatus.NOT_STARTED, sa_type=enum_type(ItemStatus))
    closed_at: datetime | None = Field(default=None, sa_type=TZ)
    # 五清单: supervision (who, how often) and effect (evidence, rules made).
    supervisor: str = Field(default="", max_length=50)
    supervise_every_days: int = 30
    evidence: str = Field(default="", max_length=2000)
    rules_made: int = 0
    common_problem_id: int | None = Field(default=None, foreign_key="common_problem.id")
    # The supervision ladder: the next rung to notify and the day it falls due (NULL once
    # closed or past the last rung), so the daily sweep touches only items that need action.
    next_rung: int = 0
    next_action_on: date | None = Field(default=None, index=True)
    # A new deadline (plan, look-back) starts the ladder again as a new cycle.
    ladder_cycle: int = 0
    last_report_at: datetime | None = Field(default=None, sa_type=TZ)


class CommonProblem(SQLModel, table=True):
    """共性问题: the same problem found across units, led by a leader in charge (领办)."""

    __tablename__ = "common_problem"
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="inspection_round.id", index=True)
    category: str = Field(max_length=50)
    title: str = Field(max_length=200)
    leader_in_charge: str = Field(default="", max_length=50)
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    confirmed_by: str = Field(default="", max_length=50)
    created_at: datetime = Field(sa_type=TZ)
    # Supervised until its own close-out by the office, whether or not its units have archived.
    status: CommonProblemStatus = Field(default=CommonProblemStatus.SUPERVISING, sa_type=enum_type(CommonProblemStatus))
    closed_at: datetime | None = Field(default=None, sa_type=TZ)
    closed_by: str = Field(default="", max_length=50)
    # 领办函: written at confirmation; a new version when findings of a later unit join.
    letter_version: int = 1


class CommonGrouping(SQLModel, table=True):
    """共性问题归类: one proposal of a round's common problems and its flow run. The first is
    registered when every unit's report is approved; another when common findings arrive after
    a confirmation (only those, which may join a confirmed common problem)."""

    __tablename__ = "common_grouping"
    __table_args__ = (UniqueConstraint("round_id", "attempt"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="inspection_round.id", index=True)
    attempt: int = 1
    finding_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    status: GroupingStatus = Field(default=GroupingStatus.REGISTERED, sa_type=enum_type(GroupingStatus))
    flow_run_id: str | None = Field(default=None, max_length=40)
    registered_at: datetime = Field(sa_type=TZ)
    confirmed_at: datetime | None = Field(default=None, sa_type=TZ)


class SupervisionNotice(SQLModel, table=True):
    """One rung of the reminder/escalation ladder for one item, written once."""

    __tablename__ = "supervision_notice"
    __table_args__ = (UniqueConstraint("item_id", "ladder_cycle", "rung"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="rectification_item.id")
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    ladder_cycle: int = 0
    rung: int
    due_on: date
    as_of: date = Field(index=True)


class InspectionNotice(SQLModel, table=True):
    """An inspection-level mark, e.g. the formal rectification report is missing, or a pace warning
    (整改进度预警) in force: that one is removed when it no longer holds, so a later slip warns again."""

    __tablename__ = "inspection_notice"
    __table_args__ = (UniqueConstraint("inspection_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    kind: str = Field(max_length=40)
    as_of: date


class LookBack(SQLModel, table=True):
    """回头看: a re-inspection of a unit whose rectification lags; one per unit and cause."""

    __tablename__ = "look_back"
    # One look-back per inspected unit and round, whatever causes hold (the first is kept).
    __table_args__ = (UniqueConstraint("source_inspection_id"),)
    id: int | None = Field(default=None, primary_key=True)
    source_inspection_id: int = Field(foreign_key="inspection.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    cause: str = Field(max_length=40)
    detail: str = Field(default="", max_length=500)
    status: str = Field(default=LookBackStatus.REGISTERED.value, max_length=20)
    team: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    flow_run_id: str | None = Field(default=None, max_length=40)
    triggered_on: date
    finished_at: datetime | None = Field(default=None, sa_type=TZ)


class LookBackCheck(SQLModel, table=True):
    __tablename__ = "look_back_check"
    __table_args__ = (UniqueConstraint("look_back_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    look_back_id: int = Field(foreign_key="look_back.id", index=True)
    item_id: int = Field(foreign_key="rectification_item.id")
    result: str = Field(max_length=20)
    note: str = Field(default="", max_length=2000)


class Accountability(SQLModel, table=True):
    """问责 records fed by a look-back: talk (约谈), notice (通报), handling suggestion."""

    id: int | None = Field(default=None, primary_key=True)
    look_back_id: int = Field(foreign_key="look_back.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    kind: str = Field(max_length=20)
    target: str = Field(max_length=100)
    reason: str = Field(max_length=1000)
    created_at: datetime = Field(sa_type=TZ)


class ProgressReport(SQLModel, table=True):
    __tablename__ = "progress_report"
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="rectification_item.id", index=True)
    reported_at: datetime = Field(sa_type=TZ)
    status: ItemStatus = Field(sa_type=enum_type(ItemStatus))
    measure_taken: str = Field(default="", max_length=2000)
    evidence: str = Field(default="", max_length=2000)
    rules_made: int = 0


class Approval(SQLModel, table=True):
    """One asking of a gate. `attempt` counts askings of the same gate for the same subject."""

    __table_args__ = (UniqueConstraint("round_id", "inspection_id", "gate", "attempt"),)
    id: int | None = Field(default=None, primary_key=True)
    # A term plan's schedule is approved before any round exists: then round_id is empty.
    round_id: int | None = Field(default=None, foreign_key="inspection_round.id", index=True)
    inspection_id: int | None = Field(default=None, foreign_key="inspection.id")
    term_id: int | None = Field(default=None, foreign_key="term_plan.id")
    gate: Gate = Field(sa_type=enum_type(Gate))
    attempt: int = 1
    status: ApprovalStatus = Field(default=ApprovalStatus.PENDING, sa_type=enum_type(ApprovalStatus))
    decision: str = Field(default="", max_length=40)
    approver: str = Field(default="", max_length=50)
    comment: str = Field(default="", max_length=2000)
    flow_run_id: str | None = Field(default=None, max_length=40)
    requested_at: datetime = Field(sa_type=TZ)
    decided_at: datetime | None = Field(default=None, sa_type=TZ)
    reminders_sent: int = 0
    # One-time code sent to the designated approver; only its keyed hash is kept.
    code_hash: str = Field(default="", max_length=64)
    code_expires_at: datetime | None = Field(default=None, sa_type=TZ)
    codes_issued: int = 0
    code_failures: int = 0


class Alert(SQLModel, table=True):
    """The outbox: one row per message and recipient, delivered with retries."""

    __table_args__ = (UniqueConstraint("dedupe_key", "recipient"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, index=True)
    role: str = Field(max_length=40)
    channel: str = Field(default="", max_length=20)
    recipient: str = Field(default="", max_length=500)
    title: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    link: str = Field(default="", max_length=500)
    status: AlertStatus = Field(default=AlertStatus.PENDING, sa_type=enum_type(AlertStatus), index=True)
    attempts: int = 0
    last_error: str = Field(default="", max_length=1000)
    next_attempt_at: datetime = Field(sa_type=TZ, index=True)
    created_at: datetime = Field(sa_type=TZ)
    sent_at: datetime | None = Field(default=None, sa_type=TZ)
    # The first failed send of the current run of failures (retrying stops after a while).
    failing_since: datetime | None = Field(default=None, sa_type=TZ)
    # A one-time code for the body's slot, encrypted under the outbox key; erased once sent.
    secret: str = Field(default="", max_length=500)


class Document(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("inspection_id", "kind", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="inspection_round.id", index=True)
    inspection_id: int | None = Field(default=None, foreign_key="inspection.id")
    kind: str = Field(max_length=50)
    version: int = 1
    title: str = Field(max_length=200)
    path: str = Field(max_length=500)
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=TZ)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=TZ)
    actor: str = Field(max_length=50)
    action: str = Field(max_length=50)
    entity: str = Field(max_length=40)
    entity_id: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class RunRecovery(SQLModel, table=True):
    """A flow run that crashed (its process or machine died) and was started again."""

    __tablename__ = "run_recovery"
    id: int | None = Field(default=None, primary_key=True)
    flow_run_id: str = Field(max_length=40, unique=True)
    flow_run_name: str = Field(default="", max_length=200)
    attempts: int = 0
    last_at: datetime = Field(sa_type=TZ)
    gave_up: bool = False


class HolidayYear(SQLModel, table=True):
    """A year's holidays and adjusted working days (调休) as the State Council's notice gives them,
    entered by the office (tasks/infra/holidays.py); it overrides chinese-calendar for that year.
    `festivals`: [{"name": "春节", "rest": [["2027-02-06", "2027-02-13"]], "working": ["2027-02-14"]}]."""

    __tablename__ = "holiday_year"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    festivals: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    entered_by: str = Field(max_length=50)
    entered_at: datetime = Field(sa_type=TZ)


class ProvisionalDeadline(SQLModel, table=True):
    """A stored deadline counted in working days across a year the calendar did not know (暂按周末计算):
    what it was counted from, so entering the year recomputes it (tasks/infra/holidays.py). One per
    deadline: `entity` is the table, `column` its date column; `due` is the value written then (a
    deadline changed since by someone else is no longer this one)."""

    __tablename__ = "provisional_deadline"
    __table_args__ = (UniqueConstraint("entity", "entity_id", "column"),)
    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=40)
    entity_id: int = Field(index=True)
    column: str = Field(max_length=40)
    start: date
    days: int  # working days
    due: date
    created_at: datetime = Field(sa_type=TZ)


class TalkPlan(SQLModel, table=True):
    """谈话安排 (tasks/stationing/talks.py): who is to be talked to, by which inspector, on which
    day and why. Confidential like a clue: the person talked to and the reason are stored only
    encrypted (models/crypto.py), the inspector and the day in the clear."""

    __tablename__ = "talk_plan"
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    talker: str = Field(max_length=50)
    planned_on: date
    person_enc: str = Field(sa_type=sa.Text)  # Fernet token of {"name", "post"}
    purpose_enc: str = Field(sa_type=sa.Text)  # Fernet token of the reason
    created_by: str = Field(max_length=50)
    created_at: datetime = Field(sa_type=TZ)


class TalkRecord(SQLModel, table=True):
    """谈话记录: who said what about their leaders. Only in this database, the person and the
    content encrypted; read by the team and the office only, every read audited."""

    __tablename__ = "talk_record"
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    plan_id: int | None = Field(default=None, foreign_key="talk_plan.id", unique=True)
    talker: str = Field(max_length=50)
    held_on: date
    person_enc: str = Field(sa_type=sa.Text)  # Fernet token of {"name", "post"}
    content_enc: str = Field(sa_type=sa.Text)  # Fernet token of the record's text
    recorded_by: str = Field(max_length=50)
    created_at: datetime = Field(sa_type=TZ)


class EvaluationResult(SQLModel, table=True):
    """One item of a unit's 民主测评 or 问卷调查 as the office's sheet gives it: the count of each
    answer (好/较好/一般/差, 满意/基本满意/不满意 …), how many took part and the score if any
    (tasks/stationing/evaluations.py)."""

    __tablename__ = "evaluation_result"
    __table_args__ = (UniqueConstraint("inspection_id", "kind", "item"),)
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    kind: str = Field(max_length=20)  # 民主测评 / 问卷调查
    item: str = Field(max_length=200)
    position: int = 0  # the row's order in the sheet
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    respondents: int = 0
    score: float | None = None
    imported_by: str = Field(max_length=50)
    imported_at: datetime = Field(sa_type=TZ)
