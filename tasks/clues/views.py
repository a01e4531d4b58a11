"""What each person sees of petitions, clues and transfer letters in lists: numbers, kinds,
states and deadlines, never a clue's text, a petition's content or an informant. Every list is
narrowed by the role table (models/access.py); the texts themselves are read one record at a
time through tasks/clues/ledger.py, which audits each read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from models.access import (
    RECEIVER_ACCESS,
    RECEIVER_NAMES,
    Action,
    Scope,
    allowed,
    can_read_clue,
    require,
)
from models.clock import CHINA, aware
from models.enums import AccessRole, ClueKind, ClueResult, ClueStatus, PetitionChannel, Role, Stage
from models.tables import (
    Account,
    Clue,
    ClueLetter,
    Inspection,
    InspectionRound,
    Person,
    Petition,
    TeamMember,
    Unit,
)
from tasks.clues.ledger import RECEIVING_STAGES, account, guarded
from tasks.infra.holidays import provisional_ids
from tasks.infra.scope import serves_on


@dataclass(frozen=True)
class ClueLine:
    id: int
    label: str  # round · unit
    kind: str
    status: str
    receiver: str
    urgent: bool
    result: str
    result_due_on: date | None
    readable: bool  # the person may open its text (ledger.read_clue, audited)


@dataclass(frozen=True)
class LetterLine:
    id: int
    doc_no: str
    label: str
    receiver: str
    clue_count: int
    sent_on: date
    ack_due_on: date
    acknowledged_at: str
    acknowledged_by: str
    clues: list[ClueLine]
    provisional: bool = False  # the signing deadline counted over a year not yet entered (暂按周末计算)


@dataclass(frozen=True)
class PetitionLine:
    id: int
    label: str
    channel: str
    received_at: str
    anonymous: bool
    clue_id: int | None


@dataclass(frozen=True)
class Choice:
    """An inspection a person may register a petition or a clue for."""

    id: int
    label: str


def _labels(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Inspection.id, InspectionRound.name, Unit.name)
                        .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
                        .join(Unit, col(Unit.id) == Inspection.unit_id)
                        .where(col(Inspection.id).in_(ids))).all()
    return {i: f"{r}·{u}" for i, r, u in rows if i is not None}


def _teams(session: Session, name: str) -> set[int]:
    """Inspections whose team the person serves on (in any team role), as tasks/infra/scope.serves_on."""
    rows = session.exec(select(Inspection.id).join(TeamMember, col(TeamMember.team_id) == Inspection.team_id)
                        .join(Person, col(Person.id) == TeamMember.person_id)
                        .where(Person.name == name.strip())).all()
    return {i for i in rows if i is not None}


def receives(role: AccessRole, receiver: str) -> bool:
    """The account's role acts for the body a clue or letter was routed to."""
    return bool(receiver) and RECEIVER_ACCESS.get(Role(receiver)) is role


def _line(clue: Clue, label: str, role: AccessRole, on_team: bool) -> ClueLine:
    assert clue.id is not None
    return ClueLine(
        id=clue.id, label=label, kind=ClueKind(clue.kind).value, status=ClueStatus(clue.status).value,
        receiver=RECEIVER_NAMES.get(Role(clue.receiver), clue.receiver) if clue.receiver else "",
        urgent=clue.urgent, result=ClueResult(clue.result).value if clue.result else "",
        result_due_on=clue.result_due_on,
        readable=can_read_clue(role, ClueKind(clue.kind), clue.receiver, on_team=on_team))


def letters_for(*, session: Session, by: str, now: datetime) -> list[LetterLine]:
    """The transfer letters routed to the person's body, newest first, with their clues' states."""
    def work() -> list[LetterLine]:
        acc = account(session, by)
        require(acc.role, Action.ACKNOWLEDGE)
        letters = [lt for lt in session.exec(select(ClueLetter).order_by(col(ClueLetter.id).desc()))
                   if receives(acc.role, lt.receiver)]
        labels = _labels(session, {lt.inspection_id for lt in letters})
        guessed = provisional_ids(session=session, model=ClueLetter, column="ack_due_on")
        out = []
        for lt in letters:
            assert lt.id is not None
            clues = session.exec(select(Clue).where(Clue.letter_id == lt.id).order_by(col(Clue.id))).all()
            label = labels.get(lt.inspection_id, "")
            out.append(LetterLine(
                id=lt.id, doc_no=lt.doc_no, label=label,
                receiver=RECEIVER_NAMES.get(Role(lt.receiver), lt.receiver), clue_count=lt.clue_count,
                sent_on=aware(lt.sent_at).astimezone(CHINA).date(), ack_due_on=lt.ack_due_on,
                acknowledged_at=f"{aware(lt.acknowledged_at).astimezone(CHINA):%Y-%m-%d %H:%M}" if lt.acknowledged_at else "",
                acknowledged_by=lt.acknowledged_by,
                clues=[_line(c, label, acc.role, False) for c in clues], provisional=lt.id in guessed))
        return out

    return guarded(session, by=by, action="查看移交本单位的线索", entity="clue_letter", entity_id=None, now=now, work=work)


def clue_line(*, session: Session, by: str, clue_id: int) -> ClueLine | None:
    """One clue's line (no text) if it is within the person's reach: the ledger's readers, a team
    role's own units, or the body it was routed to. None otherwise."""
    acc = account(session, by)
    clue = session.get(Clue, clue_id)
    if clue is None:
        return None
    insp = session.get(Inspection, clue.inspection_id)
    on_team = insp is not None and serves_on(session=session, name=acc.name, inspection=insp)
    line = _line(clue, _labels(session, {clue.inspection_id}).get(clue.inspection_id, ""), acc.role, on_team)
    if allowed(acc.role, Action.LIST_CLUES) or line.readable or receives(acc.role, clue.receiver):
        return line
    return None


def clues_in_reach(*, session: Session, by: str, now: datetime) -> list[ClueLine]:
    """The clues a person may see in the list: every clue for the ledger's readers (巡察办, 领导小组),
    for a team role the clues of its own team's units whose text it may read."""
    def work() -> list[ClueLine]:
        acc = account(session, by)
        scope = require(acc.role, Action.BROWSE_CLUES)
        clues = session.exec(select(Clue).order_by(col(Clue.id).desc())).all()
        mine = _teams(session, acc.name) if scope is Scope.OWN_TEAM else set()
        labels = _labels(session, {c.inspection_id for c in clues})
        lines = [_line(c, labels.get(c.inspection_id, ""), acc.role, c.inspection_id in mine) for c in clues]
        if allowed(acc.role, Action.LIST_CLUES):
            return lines
        return [ln for ln, c in zip(lines, clues, strict=True) if c.inspection_id in mine and ln.readable]

    return guarded(session, by=by, action="查看问题线索清单", entity="clue", entity_id=None, now=now, work=work)


def petitions_in_reach(*, session: Session, by: str, now: datetime) -> list[PetitionLine]:
    """The petitions a person may read, without their content or informant: all for 巡察办, a team
    role's own team's units only."""
    def work() -> list[PetitionLine]:
        acc = account(session, by)
        scope = require(acc.role, Action.READ_PETITION)
        rows = session.exec(select(Petition).order_by(col(Petition.id).desc())).all()
        if scope is Scope.OWN_TEAM:
            mine = _teams(session, acc.name)
            rows = [p for p in rows if p.inspection_id in mine]
        labels = _labels(session, {p.inspection_id for p in rows})
        return [PetitionLine(id=p.id or 0, label=labels.get(p.inspection_id, ""), channel=PetitionChannel(p.channel).value,
                             received_at=f"{aware(p.received_at).astimezone(CHINA):%Y-%m-%d %H:%M}",
                             anonymous=p.anonymous, clue_id=p.clue_id) for p in rows]

    return guarded(session, by=by, action="查看信访举报清单", entity="petition", entity_id=None, now=now, work=work)


def receiving_inspections(*, session: Session, by: str, action: Action) -> list[Choice]:
    """The inspections in stationing or reporting that the person may register for (`action`:
    ADD_PETITION or ADD_CLUE): all for 巡察办, their own team's for a team role."""
    acc: Account = account(session, by)
    scope = require(acc.role, action)
    rows = session.exec(select(Inspection).where(col(Inspection.stage).in_(list(RECEIVING_STAGES)))
                        .order_by(col(Inspection.id))).all()
    if scope is Scope.OWN_TEAM:
        rows = [i for i in rows if serves_on(session=session, name=acc.name, inspection=i)]
    labels = _labels(session, {i.id for i in rows if i.id is not None})
    return [Choice(i.id, labels.get(i.id, "")) for i in rows if i.id is not None and i.stage != Stage.ARCHIVED]
