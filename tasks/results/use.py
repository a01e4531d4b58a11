"""巡察成果运用: at feedback, a results letter per unit (巡察成果运用函) to the organisation department,
and to the discipline commission where the unit has clues for it, with the unit's findings about
leadership and cadres (the categories in `settings.results_categories`; never a clue's text). The
receiver signs for it on the office page, records each use (干部考核评价、选拔任用、提醒谈话 …), done or
planned by a date, and closes it; the daily sweep reminds late receivers like late clue results.

Every entry point names the person acting and checks their role against models/access.py (the
receiving bodies only their own letters); a refusal writes nothing but its audit entry
(tasks/clues/ledger.guarded)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.access import (
    PERMISSIONS,
    RECEIVER_ACCESS,
    RECEIVER_NAMES,
    Action,
    Forbidden,
    Scope,
    require,
)
from models.clock import CHINA, aware
from models.db import get_or_raise
from models.enums import AccessRole, ClueKind, ResultsLetterStatus, Role
from models.errors import DomainError
from models.paths import document_dir
from models.results_use import ResultsLetter, ResultsUse, UseKind
from models.settings import PROJECT_ROOT, Settings
from models.tables import Clue, Finding, Inspection, InspectionRound, Team, Unit
from models.transitions import RESULTS_LETTERS
from tasks.clues.ledger import CLUE_LADDER, account, guarded, ladder_rung, route
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event
from tasks.infra.workdays import WorkCalendar, span_text, template_days, work_calendar
from tasks.records.documents import LEADING_GROUP, DocSpec, cn_date, template_path, write_document

TEMPLATE = "巡察成果运用函"
NOTE_LIMIT = 2000
# Days past a deadline at which reminders go out, and to whom besides the receiver (as for clues).


def _choices() -> str:
    return "、".join(k.value for k in UseKind)


def _label(session: Session, insp: Inspection) -> str:
    rnd, unit = session.get(InspectionRound, insp.round_id), session.get(Unit, insp.unit_id)
    return f"{rnd.name if rnd else ''}·{unit.name if unit else ''}"


def _receivers(session: Session, settings: Settings, insp: Inspection) -> list[Role]:
    """The organisation department always; the discipline commission where the unit has a clue routed to it."""
    kinds = {ClueKind(k) for k in session.exec(select(Clue.kind).where(Clue.inspection_id == insp.id)).all()}
    clued = any(route(settings, k) is Role.DISCIPLINE_COMMISSION for k in kinds)
    return [Role.ORGANISATION_DEPARTMENT] + ([Role.DISCIPLINE_COMMISSION] if clued else [])


def leadership_findings(*, session: Session, settings: Settings, inspection_id: int) -> list[Finding]:
    """The unit's findings of the categories about leadership and cadres, in the order recorded."""
    wanted = [c.strip() for c in settings.results_categories]
    return list(session.exec(select(Finding).where(Finding.inspection_id == inspection_id,
                                                   col(Finding.category).in_(wanted)).order_by(col(Finding.id))))


def issue_letters(*, session: Session, settings: Settings, inspection_id: int, now: datetime) -> list[ResultsLetter]:
    """At feedback: one results letter per receiver, with its document and its alert. Idempotent
    (one letter per unit and receiver); none when the unit has no finding of those categories.
    Flushed, not committed: the feedback stage's transaction holds it."""
    insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
    findings = leadership_findings(session=session, settings=settings, inspection_id=inspection_id)
    if not findings:
        return []
    rnd, unit, team = session.get(InspectionRound, insp.round_id), session.get(Unit, insp.unit_id), session.get(Team, insp.team_id)
    assert rnd is not None and rnd.id is not None and unit is not None and team is not None
    label, cal = _label(session, insp), work_calendar(settings, session)
    # An office's own templates folder made before this kind existed: the standard letter until it adds its own.
    doc_settings = settings if template_path(settings, TEMPLATE).is_file() else settings.model_copy(
        update={"templates_dir": PROJECT_ROOT / "templates"})
    by_cat = Counter(f.category for f in findings)
    out = []
    for receiver in _receivers(session, settings, insp):
        letter = session.exec(select(ResultsLetter).where(ResultsLetter.inspection_id == inspection_id,
                                                          ResultsLetter.receiver == receiver.value)).first()
        if letter is not None:
            out.append(letter)
            continue
        sent_on = now.astimezone(CHINA).date()
        letter = ResultsLetter(inspection_id=inspection_id, receiver=receiver.value, sent_at=now,
                               finding_ids=[f.id for f in findings if f.id is not None],
                               ack_due_on=cal.deadline(sent_on, settings.rule("results_ack")))
        session.add(letter)
        session.flush()
        name = RECEIVER_NAMES[receiver]
        letter.doc_no = f"巡察〔{rnd.start_date.year}〕成果{inspection_id}-{letter.id}号"
        write_document(
            session=session, settings=doc_settings, round_id=rnd.id, inspection_id=inspection_id, now=now,
            directory=document_dir(settings, rnd.id, inspection_id),
            spec=DocSpec(kind=f"巡察成果运用函-{name}", template=TEMPLATE, title="巡察成果运用函",
                         doc_no=letter.doc_no, addressee=name, signature=LEADING_GROUP, issuer=LEADING_GROUP,
                         context={"label": label, "unit": unit.name, "team": team.name, "round_name": rnd.name,
                                  "total": len(findings),
                                  "categories": [{"name": c, "count": n} for c, n in sorted(by_cat.items())],
                                  "findings": [{"no": n, "category": f.category, "description": f.description}
                                               for n, f in enumerate(findings, 1)],
                                  "uses": "、".join(k.value for k in UseKind if k is not UseKind.OTHER),
                                  "ack_due": cn_date(letter.ack_due_on),
                                  "use_days": template_days(settings.rule("results_use")),
                                  # Clues go by their own transfer letters: only that they exist, never what they say.
                                  "clues_apart": receiver is Role.DISCIPLINE_COMMISSION}),
        )
        enqueue_alert(session=session, settings=settings, key=f"results-letter:{letter.id}", role=receiver,
                      title="【巡察成果运用】请签收",
                      body=f"{label}的巡察成果运用函（{letter.doc_no}）已印发，列有领导班子和干部方面的问题{len(findings)}个。"
                           f"请于{letter.ack_due_on:%m月%d日}前签收，并在签收后{span_text(settings.rule('results_use'))}内"
                           "反馈运用情况（干部考核评价、选拔任用、提醒谈话、诫勉谈话、年度考核、党建考核等）。",
                      link=settings.office_link(f"results#results-{letter.id}"), now=now, inspection=insp)
        record_event(session=session, actor="系统", action="印发巡察成果运用函", entity="results_letter",
                     entity_id=letter.id, now=now, detail={"receiver": receiver.value, "findings": len(findings)})
        out.append(letter)
    session.flush()
    return out


# --- the receiver's steps -----------------------------------------------------------------------

def _own(role: AccessRole, action: Action, letter: ResultsLetter) -> None:
    """`role` may do `action`, and for a receiving body only on a letter sent to it."""
    if require(role, action) is Scope.OWN_RECEIVER and RECEIVER_ACCESS.get(Role(letter.receiver)) is not role:
        name = RECEIVER_NAMES.get(Role(letter.receiver), letter.receiver)
        raise Forbidden(f"该巡察成果运用函发给{name}，“{role.value}”无权{action.value}")


def _letter(session: Session, letter_id: int, *, lock: bool = False) -> ResultsLetter:
    return get_or_raise(session, ResultsLetter, letter_id, "巡察成果运用函", with_for_update=lock, populate_existing=lock)


def acknowledge(*, session: Session, settings: Settings, by: str, letter_id: int, now: datetime) -> ResultsLetter:
    """签收 on the office page (the login proved who `by` is): the use deadline starts."""
    def work() -> ResultsLetter:
        acc = account(session, by)
        letter = _letter(session, letter_id, lock=True)  # two signings at once sign once
        _own(acc.role, Action.ACKNOWLEDGE_RESULTS, letter)
        if letter.acknowledged_at is not None:
            raise DomainError(f"该巡察成果运用函已于{aware(letter.acknowledged_at).astimezone(CHINA):%Y-%m-%d %H:%M}"
                              f"由{letter.acknowledged_by}签收")
        RESULTS_LETTERS.move(letter, ResultsLetterStatus.IN_USE)
        signed_on = now.astimezone(CHINA).date()
        letter.acknowledged_at, letter.acknowledged_by = now, by.strip()
        letter.use_due_on = work_calendar(settings, session).deadline(signed_on, settings.rule("results_use"))
        session.add(letter)
        record_event(session=session, actor=by.strip(), action="签收巡察成果运用函", entity="results_letter",
                     entity_id=letter_id, now=now, detail={"receiver": letter.receiver})
        session.commit()
        return letter

    return guarded(session, by=by, action="签收巡察成果运用函", entity="results_letter", entity_id=letter_id, now=now,
                   work=work)


def _open_letter(session: Session, acc_role: AccessRole, letter_id: int) -> ResultsLetter:
    letter = _letter(session, letter_id, lock=True)
    _own(acc_role, Action.RECORD_RESULTS_USE, letter)
    if letter.status == ResultsLetterStatus.SENT:
        raise DomainError("该巡察成果运用函尚未签收，请先签收")
    if letter.status == ResultsLetterStatus.CLOSED:
        raise DomainError("该巡察成果运用函已办结，不能再登记运用情况")
    return letter


def record_use(*, session: Session, by: str, letter_id: int, kind: str, note: str, on: date, done: bool,
               now: datetime) -> ResultsUse:
    """One use of the letter: done on `on` (not later than today), or planned to be done by `on`
    (not earlier than today)."""
    def work() -> ResultsUse:
        acc = account(session, by)
        _open_letter(session, acc.role, letter_id)
        try:
            use_kind = UseKind(kind.strip())
        except ValueError:
            raise DomainError(f"请选择运用方式（可选：{_choices()}）") from None
        text = note.strip()
        if len(text) > NOTE_LIMIT:
            raise DomainError(f"情况说明超过{NOTE_LIMIT}字，请精简")
        if use_kind is UseKind.OTHER and not text:
            raise DomainError("运用方式为“其他”时，请在情况说明中写明如何运用")
        today = now.astimezone(CHINA).date()
        if done and on > today:
            raise DomainError(f"运用日期{on}晚于今天，尚未运用的请选“计划运用”并填写完成时限")
        if not done and on < today:
            raise DomainError(f"完成时限{on}早于今天；已经运用的请选“已运用”并填写运用日期")
        use = ResultsUse(letter_id=letter_id, kind=use_kind, note=text, due_on=None if done else on,
                         done_on=on if done else None, recorded_by=by.strip(), recorded_at=now)
        session.add(use)
        session.flush()
        record_event(session=session, actor=by.strip(), action="登记巡察成果运用", entity="results_use",
                     entity_id=use.id, now=now, detail={"letter": letter_id, "kind": use_kind.value, "done": done})
        session.commit()
        return use

    return guarded(session, by=by, action="登记巡察成果运用", entity="results_letter", entity_id=letter_id, now=now,
                   work=work)


def complete_use(*, session: Session, by: str, use_id: int, on: date, now: datetime) -> ResultsUse:
    """A planned use is done (on `on`, not later than today)."""
    def work() -> ResultsUse:
        acc = account(session, by)
        use = get_or_raise(session, ResultsUse, use_id, "成果运用记录")
        _open_letter(session, acc.role, use.letter_id)
        if use.done_on is not None:
            raise DomainError(f"该项运用已于{use.done_on}完成")
        if on > now.astimezone(CHINA).date():
            raise DomainError(f"运用日期{on}晚于今天")
        use.done_on = on
        session.add(use)
        record_event(session=session, actor=by.strip(), action="巡察成果运用完成", entity="results_use", entity_id=use_id,
                     now=now, detail={"letter": use.letter_id, "kind": UseKind(use.kind).value})
        session.commit()
        return use

    return guarded(session, by=by, action="巡察成果运用完成", entity="results_use", entity_id=use_id, now=now, work=work)


def close_letter(*, session: Session, by: str, letter_id: int, now: datetime) -> ResultsLetter:
    """办结: at least one use recorded, and every planned use done."""
    def work() -> ResultsLetter:
        acc = account(session, by)
        letter = _open_letter(session, acc.role, letter_id)
        uses = session.exec(select(ResultsUse).where(ResultsUse.letter_id == letter_id)).all()
        if not uses:
            raise DomainError("尚未登记任何运用情况，不能办结；请先登记如何运用（干部考核评价、选拔任用、提醒谈话等）")
        pending = [u for u in uses if u.done_on is None]
        if pending:
            raise DomainError(f"还有{len(pending)}项计划运用尚未完成（" + "、".join(
                f"{UseKind(u.kind).value}，时限{u.due_on}" for u in pending) + "），完成后才能办结")
        RESULTS_LETTERS.move(letter, ResultsLetterStatus.CLOSED)
        letter.closed_at, letter.closed_by = now, by.strip()
        session.add(letter)
        record_event(session=session, actor=by.strip(), action="巡察成果运用办结", entity="results_letter",
                     entity_id=letter_id, now=now, detail={"uses": len(uses)})
        session.commit()
        return letter

    return guarded(session, by=by, action="巡察成果运用办结", entity="results_letter", entity_id=letter_id, now=now,
                   work=work)


# --- what a person sees -------------------------------------------------------------------------

@dataclass(frozen=True)
class UseLine:
    id: int
    kind: str
    note: str
    due_on: date | None
    done_on: date | None
    recorded_by: str
    overdue: bool


@dataclass(frozen=True)
class LetterLine:
    id: int
    doc_no: str
    label: str
    receiver: str
    status: str
    sent_on: date
    ack_due_on: date
    acknowledged: str  # "2026-12-02 10:00，王某" or ""
    use_due_on: date | None
    closed: str
    findings: list[tuple[str, str]]  # (category, description)
    uses: list[UseLine]
    overdue: bool  # not signed, or not reported and closed, by its deadline
    mine: bool  # the person's body received it: they may sign, record and close


def letters_in_reach(*, session: Session, by: str, now: datetime) -> list[LetterLine]:
    """Every letter for the office and the leading group; a receiving body only those sent to it."""
    def work() -> list[LetterLine]:
        acc = account(session, by)
        scope = require(acc.role, Action.VIEW_RESULTS_USE)
        today = now.astimezone(CHINA).date()
        rows = session.exec(select(ResultsLetter).order_by(col(ResultsLetter.id).desc())).all()
        mine = [lt for lt in rows if RECEIVER_ACCESS.get(Role(lt.receiver)) is acc.role]
        letters = mine if scope is Scope.OWN_RECEIVER else rows
        return [_line(session, lt, today, lt in mine) for lt in letters]

    return guarded(session, by=by, action="查看巡察成果运用函", entity="results_letter", entity_id=None, now=now, work=work)


def _line(session: Session, lt: ResultsLetter, today: date, mine: bool) -> LetterLine:
    assert lt.id is not None
    insp = session.get(Inspection, lt.inspection_id)
    findings = session.exec(select(Finding).where(col(Finding.id).in_(lt.finding_ids)).order_by(col(Finding.id))).all()
    uses = session.exec(select(ResultsUse).where(ResultsUse.letter_id == lt.id).order_by(col(ResultsUse.id))).all()
    status = ResultsLetterStatus(lt.status)
    overdue = (status is ResultsLetterStatus.SENT and lt.ack_due_on < today) or (
        status is ResultsLetterStatus.IN_USE and _use_late(lt, uses, today - timedelta(days=1)) is not None)
    return LetterLine(
        id=lt.id, doc_no=lt.doc_no, label=_label(session, insp) if insp else "",
        receiver=RECEIVER_NAMES.get(Role(lt.receiver), lt.receiver), status=status.value,
        sent_on=aware(lt.sent_at).astimezone(CHINA).date(), ack_due_on=lt.ack_due_on,
        acknowledged=f"{aware(lt.acknowledged_at).astimezone(CHINA):%Y-%m-%d %H:%M}，{lt.acknowledged_by}" if lt.acknowledged_at else "",
        use_due_on=lt.use_due_on,
        closed=f"{aware(lt.closed_at).astimezone(CHINA):%Y-%m-%d %H:%M}，{lt.closed_by}" if lt.closed_at else "",
        findings=[(f.category, f.description) for f in findings],
        uses=[UseLine(id=u.id or 0, kind=UseKind(u.kind).value, note=u.note, due_on=u.due_on, done_on=u.done_on,
                      recorded_by=u.recorded_by, overdue=u.done_on is None and u.due_on is not None and u.due_on < today)
              for u in uses],
        overdue=overdue, mine=mine)


def _use_late(letter: ResultsLetter, uses: Sequence[ResultsUse], as_of: date) -> date | None:
    """The deadline an open, signed letter has passed (or reaches) on `as_of`, if any: the earliest
    planned use not done by its date; else, with no planned use still in time, the letter's own
    deadline for reporting its use. None when nothing is due."""
    pending = [u.due_on for u in uses if u.done_on is None and u.due_on is not None]
    late = [d for d in pending if d <= as_of]
    if late:
        return min(late)
    if not pending and letter.use_due_on is not None and letter.use_due_on <= as_of:
        return letter.use_due_on
    return None


# --- the daily sweep ------------------------------------------------------------------------------

def sweep_results(*, session: Session, settings: Settings, as_of: date, now: datetime,
                  calendar: WorkCalendar | None = None) -> int:
    """Remind receivers of letters not signed for (each rung once) and of uses not reported or not
    done by their deadline (once a week), escalating to the office and then the leading group.
    On a rest day the reminders are held to the next working day. Returns the alerts queued."""
    cal = calendar or work_calendar(settings, session)
    queued = 0

    def send(key: str, role: Role, title: str, body: str, rule: str, letter_id: int) -> None:
        nonlocal queued
        here = settings.office_link(f"results#results-{letter_id}")
        rows = enqueue_alert(session=session, settings=settings, key=key, role=role, title=title, body=body, link=here,
                             now=now, not_before=cal.hold_until(as_of, settings.rule(rule)))
        queued += sum(1 for r in rows if r.created_at == now)

    year, week, _ = as_of.isocalendar()
    for letter in session.exec(select(ResultsLetter).where(ResultsLetter.status != ResultsLetterStatus.CLOSED)
                               .order_by(col(ResultsLetter.id))):
        assert letter.id is not None
        receiver = Role(letter.receiver)
        if letter.status == ResultsLetterStatus.SENT:
            if letter.ack_due_on > as_of:
                continue
            rung = ladder_rung((as_of - letter.ack_due_on).days)
            body = f"巡察成果运用函{letter.doc_no}签收期限为{letter.ack_due_on:%m月%d日}，{RECEIVER_NAMES[receiver]}尚未签收。"
            for role in (receiver, CLUE_LADDER[rung][1]):
                if role is not None:
                    send(f"results-letter:{letter.id}:late:{rung}:{role.value}", role, "【催办】巡察成果运用函逾期未签收",
                         body, "results_ack", letter.id)
            continue
        uses = session.exec(select(ResultsUse).where(ResultsUse.letter_id == letter.id)).all()
        due = _use_late(letter, uses, as_of)
        if due is None:
            continue
        rung = ladder_rung((as_of - due).days)
        body = (f"巡察成果运用函{letter.doc_no}：{RECEIVER_NAMES[receiver]}的运用情况应于{due:%m月%d日}前"
                + ("完成并登记" if uses else "反馈") + "，请登记运用情况（干部考核评价、选拔任用、提醒谈话等）并办结。")
        for role in (receiver, CLUE_LADDER[rung][1]):
            if role is not None:
                send(f"results-use:{year}-w{week}:{letter.id}:{rung}:{role.value}", role, "【催办】巡察成果运用情况逾期未反馈",
                     body, "results_use", letter.id)
    session.flush()
    return queued


# --- statistics ---------------------------------------------------------------------------------

FIGURES: dict[str, str] = {"letters": "成果运用函", "signed": "已签收", "uses": "运用次数", "used_letters": "已运用",
                           "closed": "已办结", "kinds": "运用方式"}


LEVELS = ("轮次", "单位", "巡察组", "年度")


def _group(by: str, rnd: InspectionRound, unit: Unit, team: Team) -> tuple[tuple[Any, ...], str]:
    """(sort key, name) of the row a letter counts in, ordered as `stats` orders its rows."""
    if by == "轮次":
        return (rnd.start_date, rnd.id or 0), rnd.name
    if by == "单位":
        return (unit.name,), unit.name
    if by == "巡察组":
        return (rnd.start_date, team.id or 0), f"{rnd.name}·{team.name}"
    return (rnd.start_date.year,), str(rnd.start_date.year)


def figures(*, session: Session, by: str, round_id: int | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Per 轮次, 单位, 巡察组 or 年度 (as `xuncha stats`): letters sent, signed, uses done, letters
    with a use done, letters closed, and the uses by kind. Counts only."""
    if by not in LEVELS:
        raise DomainError(f"统计口径应为：{'、'.join(LEVELS)}，实为“{by}”")
    q = (select(ResultsLetter, InspectionRound, Unit, Team)
         .join(Inspection, col(Inspection.id) == ResultsLetter.inspection_id)
         .join(InspectionRound, col(InspectionRound.id) == Inspection.round_id)
         .join(Unit, col(Unit.id) == Inspection.unit_id).join(Team, col(Team.id) == Inspection.team_id))
    if round_id is not None:
        q = q.where(Inspection.round_id == round_id)
    done = {int(i): int(n) for i, n in session.execute(
        sa_select(col(ResultsUse.letter_id), func.count()).where(col(ResultsUse.done_on).is_not(None))
        .group_by(col(ResultsUse.letter_id))).all()}
    kinds: dict[int, Counter[str]] = {}
    for letter_id, kind in session.execute(sa_select(col(ResultsUse.letter_id), col(ResultsUse.kind))
                                           .where(col(ResultsUse.done_on).is_not(None))).all():
        kinds.setdefault(int(letter_id), Counter())[UseKind(kind).value] += 1
    rows: dict[Any, dict[str, Any]] = {}
    for lt, rnd, unit, team in session.exec(q).all():
        if year is not None and rnd.start_date.year != year:
            continue
        sort, name = _group(by, rnd, unit, team)
        row = rows.setdefault((sort, name), {"name": name, "letters": 0, "signed": 0, "uses": 0, "used_letters": 0,
                                             "closed": 0, "_kinds": Counter()})
        n = done.get(lt.id or 0, 0)
        row["letters"] += 1
        row["signed"] += int(lt.acknowledged_at is not None)
        row["uses"] += n
        row["used_letters"] += int(n > 0)
        row["closed"] += int(lt.status == ResultsLetterStatus.CLOSED)
        row["_kinds"].update(kinds.get(lt.id or 0, Counter()))
    out = []
    for _, row in sorted(rows.items(), key=lambda kv: kv[0]):
        counts: Counter[str] = row.pop("_kinds")
        row["kinds"] = "、".join(f"{k}{counts[k]}" for k in (u.value for u in UseKind) if counts[k]) or "—"
        out.append(row)
    return out


# --- 我的待办 -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultsWait:
    """A results letter waiting for the person's body: to be signed for, or its use reported and closed."""

    id: int
    doc_no: str
    label: str
    step: str
    due_on: date | None
    overdue: bool


def waiting_for(*, session: Session, role: AccessRole, today: date) -> list[ResultsWait]:
    """The open letters sent to the body `role` acts for (none for any other role)."""
    if PERMISSIONS[Action.RECORD_RESULTS_USE].get(role) is not Scope.OWN_RECEIVER:
        return []
    out = []
    for lt in session.exec(select(ResultsLetter).where(ResultsLetter.status != ResultsLetterStatus.CLOSED)
                           .order_by(col(ResultsLetter.id))):
        if RECEIVER_ACCESS.get(Role(lt.receiver)) is not role:
            continue
        insp = session.get(Inspection, lt.inspection_id)
        signed = lt.status == ResultsLetterStatus.IN_USE
        due = lt.use_due_on if signed else lt.ack_due_on
        out.append(ResultsWait(id=lt.id or 0, doc_no=lt.doc_no, label=_label(session, insp) if insp else "",
                               step="登记运用情况并办结" if signed else "签收", due_on=due,
                               overdue=due is not None and due < today))
    return out
