"""The public's own reports (网络举报) through the public reporting page (deployments/public).

Anyone may report a problem about a unit whose inspection is in its stationing period (集中巡察;
the units, the teams and the dates are public, like the 巡察公告). A report is stored exactly as
a petition the team received (ledger.store_petition: channel 网络举报, informant encrypted) and
is audited under a fixed actor that names nobody. The reporter is shown a random query code
once; only its keyed hash is kept, and the code tells only whether the report was received and
whether it has been handled.

Rate limits are sliding windows over a small table (PublicHit): per client address and in all,
so that they hold across restarts and for several processes on one database. A client is kept
only as a keyed hash of its address, and each row is deleted once it has left the window.
Submissions and look-ups count and record one at a time (tasks/infra/locks.py), so reports
sent at once from one address cannot all pass a limit that has room for one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from models.crypto import PROFILES, derived_key, tagged_mac
from models.db import MAX_ID
from models.enums import PetitionChannel, Stage
from models.errors import DomainError
from models.settings import Settings
from models.tables import Inspection, InspectionRound, Petition, PublicHit, PublicReport, Team, Unit
from models.text import checked
from tasks.clues.ledger import store_petition
from tasks.infra.audit import record_event
from tasks.infra.locks import Lock, serialise

ACTOR = "网络举报（公众）"  # the audit trail's actor for the public: no account, no person
CONTENT_LIMIT = 2000
NAME_LIMIT = 50
CONTACT_LIMIT = 100
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 16
WINDOW = timedelta(hours=1)
ALL = "*"  # the client key of the global limits


class RateLimited(DomainError):
    """Too many requests in the window: the page answers 429."""


@dataclass(frozen=True)
class OpenUnit:
    """A unit in its stationing period, as the 巡察公告 makes it public."""

    inspection_id: int
    unit: str
    team: str
    start: date
    end: date


@dataclass(frozen=True)
class Received:
    petition_id: int
    code: str  # shown once to the reporter, never stored


def client_key(settings: Settings, address: str) -> str:
    """A keyed hash of a client's address: counts requests without keeping who sent them (kept an
    hour at most, so a profile switch only restarts the counts)."""
    return tagged_mac(settings.crypto_profile, derived_key(settings, "public-client"), address.encode())


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def code_hash(settings: Settings, code: str, profile: str | None = None) -> str:
    """The stored hash of a query code: HMAC-SHA256 (64 hex digits) or HMAC-SM3 (tagged) by the profile."""
    profile = profile or settings.crypto_profile
    return tagged_mac(profile, derived_key(settings, "public-code", profile), normalise_code(code).encode())


def code_hashes(settings: Settings, code: str) -> list[str]:
    """The hashes a stored query code may have: one per profile (a report keeps the hash it was
    given, which cannot be made again without the code)."""
    return [code_hash(settings, code, p) for p in PROFILES]


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def open_units(*, session: Session) -> list[OpenUnit]:
    """Inspections in their stationing period, by round and unit."""
    rows = session.exec(
        select(Inspection, Unit, Team, InspectionRound)
        .join(Unit, col(Unit.id) == col(Inspection.unit_id))
        .join(Team, col(Team.id) == col(Inspection.team_id))
        .join(InspectionRound, col(InspectionRound.id) == col(Inspection.round_id))
        .where(Inspection.stage == Stage.STATIONING)
        .order_by(col(InspectionRound.start_date), col(Unit.name))
    ).all()
    return [OpenUnit(inspection_id=i.id, unit=u.name, team=t.name, start=r.start_date, end=r.end_date)
            for i, u, t, r in rows if i.id is not None]


def _count(session: Session, kind: str, client: str, now: datetime) -> int:
    n: int = session.exec(select(func.count()).select_from(PublicHit).where(
        PublicHit.kind == kind, PublicHit.client == client, col(PublicHit.at) > now - WINDOW)).one()
    return n


def _prune(session: Session, now: datetime) -> None:
    session.execute(delete(PublicHit).where(col(PublicHit.at) <= now - WINDOW))


def _hit(session: Session, kind: str, client: str, now: datetime, *, everyone: bool = False) -> None:
    session.add(PublicHit(kind=kind, client=client, at=now))
    if everyone:
        session.add(PublicHit(kind=kind, client=ALL, at=now))


def submit_report(*, session: Session, settings: Settings, inspection_id: int, content: str, anonymous: bool,
                  name: str = "", contact: str = "", client: str, now: datetime) -> Received:
    """Store one public report as a petition of channel 网络举报 and return its query code.
    Bad input or a limit reached writes nothing and raises the Chinese message."""
    content, name, contact = content.strip(), name.strip(), contact.strip()
    if not content:
        raise DomainError("请填写反映的问题")
    if len(content) > CONTENT_LIMIT:
        raise DomainError(f"反映的问题不能超过{CONTENT_LIMIT}字（现为{len(content)}字），请精简后再提交")
    if anonymous:
        if name or contact:
            raise DomainError("已选择匿名反映，请不要填写姓名和联系方式")
    else:
        if not name or not contact:
            raise DomainError("实名反映请填写姓名和联系方式；不愿留名的请选择匿名")
        if len(name) > NAME_LIMIT or len(contact) > CONTACT_LIMIT:
            raise DomainError(f"姓名不能超过{NAME_LIMIT}字，联系方式不能超过{CONTACT_LIMIT}字")
    checked(content, "反映的问题")
    checked(name, "姓名", multiline=False)
    checked(contact, "联系方式", multiline=False)
    insp = session.get(Inspection, inspection_id) if 0 < inspection_id <= MAX_ID else None
    if insp is None or insp.stage != Stage.STATIONING:
        raise DomainError("所选单位目前不在巡察进驻期间，请从列表中选择")
    serialise(session, Lock.PUBLIC_LIMITS)  # count, decide and record one submission at a time
    _prune(session, now)
    if _count(session, "report", client, now) >= settings.public_reports_per_ip:
        session.rollback()
        raise RateLimited("提交过于频繁，请一小时后再试")
    if _count(session, "report", ALL, now) >= settings.public_reports_total:
        session.rollback()
        raise RateLimited("当前提交的人数较多，请稍后再试")
    petition = store_petition(session=session, settings=settings, insp=insp, channel=PetitionChannel.ONLINE,
                              content=content, informant_name="" if anonymous else name,
                              informant_contact="" if anonymous else contact, recorded_by=ACTOR, now=now)
    assert petition.id is not None
    code = new_code()
    session.add(PublicReport(petition_id=petition.id, code_hash=code_hash(settings, code)))
    _hit(session, "report", client, now, everyone=True)
    record_event(session=session, actor=ACTOR, action="受理网络举报", entity="petition", entity_id=petition.id, now=now,
                 detail={"channel": PetitionChannel.ONLINE.value, "anonymous": petition.anonymous})
    session.commit()
    return Received(petition_id=petition.id, code=code)


HANDLED = "已处理"
IN_HAND = "已受理，正在处理"


def query_report(*, session: Session, settings: Settings, code: str, client: str, now: datetime) -> str:
    """Whether the report of this code was received and whether it has been handled; a wrong
    code counts against the client, and too many of them are refused before any look-up."""
    serialise(session, Lock.PUBLIC_LIMITS)
    _prune(session, now)
    if _count(session, "wrong-code", client, now) >= settings.public_wrong_codes_per_ip:
        session.commit()
        raise RateLimited("查询码输错次数过多，请一小时后再试")
    wanted = normalise_code(code)
    report = None
    if len(wanted) == CODE_LENGTH and set(wanted) <= set(CODE_ALPHABET):
        report = session.exec(select(PublicReport).where(col(PublicReport.code_hash).in_(code_hashes(settings, wanted)))).first()
    if report is None:
        _hit(session, "wrong-code", client, now)
        session.commit()
        raise DomainError("没有找到这个查询码对应的举报，请核对后重新输入")
    petition = session.get(Petition, report.petition_id)
    session.commit()
    return HANDLED if petition is not None and petition.clue_id is not None else IN_HAND
