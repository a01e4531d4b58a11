"""Petitions and clues, from receipt to closure (信访举报 → 问题线索 → 移交 → 签收 → 办理结果).

Every entry point here names the person acting, checks their role against models/access.py,
and owns its transaction: on any refusal it rolls back what it began, appends the refused
attempt to the audit trail, commits that alone and raises the Chinese message. Reads of
confidential records are audited too. Alerts carry counts and links only, never clue text,
petition content or informants."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from models.access import (
    CLUE_READERS,
    RECEIVER_ACCESS,
    RECEIVER_NAMES,
    Action,
    Forbidden,
    Scope,
    can_read_clue,
    require,
)
from models.clock import CHINA, aware
from models.crypto import vault
from models.db import get_or_raise
from models.enums import (
    FINAL_CLUE_RESULTS,
    ClueKind,
    ClueResult,
    ClueStatus,
    LetterStatus,
    PetitionChannel,
    Role,
    Stage,
)
from models.errors import DomainError
from models.paths import document_dir
from models.settings import Settings
from models.tables import Account, Clue, ClueLetter, Inspection, InspectionRound, Petition, Unit
from models.text import checked
from models.transitions import CLUES, LETTERS, letter_status
from tasks.infra import codes
from tasks.infra.alerts import CODE_SLOT, enqueue_alert
from tasks.infra.audit import record_event, record_refusal
from tasks.infra.holidays import note_deadline, provisional_ids
from tasks.infra.scope import authorise, serves_on
from tasks.infra.workdays import WorkCalendar, template_days, work_calendar
from tasks.lifecycle.archived import ensure_not_archived
from tasks.records.documents import DocSpec, cn_date, write_document

T = TypeVar("T")
RECEIVING_STAGES = (Stage.STATIONING, Stage.REPORTING)


def _choices(enum_cls: Iterable[Any]) -> str:
    return "、".join(e.value for e in enum_cls)


def account(session: Session, name: str) -> Account:
    acc = session.exec(select(Account).where(Account.name == name.strip())).first()
    if acc is None or not acc.active:
        raise Forbidden(f"“{name}”不是本系统的在册用户，不能办理此事项")
    return acc


def guarded(session: Session, *, by: str, action: str, entity: str, entity_id: int | None, now: datetime,
            work: Callable[[], T]) -> T:
    """Run `work` for person `by`; a refusal writes nothing but its own audit entry."""
    try:
        return work()
    except DomainError as exc:
        session.rollback()
        try:
            record_refusal(session=session, actor=by, action=f"{action}（被拒绝）", entity=entity,
                           entity_id=entity_id, now=now, detail={"reason": str(exc)[:500]})
            session.commit()
        except DomainError as audit:  # the trail has lost rows: say so as well as the refusal
            session.rollback()
            raise DomainError(f"{exc}\n{audit}") from exc
        raise


def route(settings: Settings, kind: ClueKind) -> Role:
    return Role(settings.clue_routes[kind.value])


def _inspection(session: Session, inspection_id: int) -> Inspection:
    insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
    return insp


def _label(session: Session, insp: Inspection) -> str:
    rnd, unit = session.get(InspectionRound, insp.round_id), session.get(Unit, insp.unit_id)
    return f"{rnd.name if rnd else ''}·{unit.name if unit else ''}"


# --- petitions (信访举报) ---------------------------------------------------------------------

CONTENT_LIMIT = 4000
# What people write in the informant's place when they give no name: not a named informant.
ANONYMOUS_NAMES = frozenset({"匿名", "（匿名）", "(匿名)", "匿名举报", "匿名者", "不愿透露", "不具名"})


def store_petition(*, session: Session, settings: Settings, insp: Inspection, channel: PetitionChannel, content: str,
                   informant_name: str, informant_contact: str, recorded_by: str, now: datetime) -> Petition:
    """A petition on `insp` (at a receiving stage), the informant encrypted; flushed, not
    committed, not audited: the caller checks who acts and writes the audit entry."""
    ensure_not_archived(session=session, inspection=insp, action="受理信访举报")
    if not content.strip():
        raise DomainError("信访举报内容不能为空")
    checked(content, "信访举报内容")
    checked(informant_name, "举报人姓名", multiline=False)
    checked(informant_contact, "联系方式", multiline=False)
    if len(content) > CONTENT_LIMIT:
        raise DomainError(f"信访举报内容超过{CONTENT_LIMIT}字，请精简或作为附件另存")
    if insp.stage not in RECEIVING_STAGES:
        raise DomainError("只有集中巡察和报告阶段可以受理信访举报")
    if informant_name.strip() in ANONYMOUS_NAMES:  # "举报人: 匿名" names no one
        informant_name = ""
    anonymous = not (informant_name.strip() or informant_contact.strip())
    token = "" if anonymous else vault(settings).encrypt(
        json.dumps({"name": informant_name.strip(), "contact": informant_contact.strip()}, ensure_ascii=False))
    assert insp.id is not None
    p = Petition(inspection_id=insp.id, channel=channel, content=content.strip(), anonymous=anonymous,
                 informant_enc=token, received_at=now, recorded_by=recorded_by)
    session.add(p)
    session.flush()
    return p


def add_petition(
    *, session: Session, settings: Settings, by: str, inspection_id: int, channel: str, content: str,
    informant_name: str = "", informant_contact: str = "", now: datetime,
) -> Petition:
    def work() -> Petition:
        acc = account(session, by)
        require(acc.role, Action.ADD_PETITION)
        insp = _inspection(session, inspection_id)
        authorise(session=session, account=acc, action=Action.ADD_PETITION, inspection=insp)
        ensure_not_archived(session=session, inspection=insp, action="受理信访举报")
        try:
            ch = PetitionChannel(channel)
        except ValueError:
            raise DomainError(f"未知的受理渠道：{channel}（可选：{_choices(PetitionChannel)}）") from None
        p = store_petition(session=session, settings=settings, insp=insp, channel=ch, content=content,
                           informant_name=informant_name, informant_contact=informant_contact,
                           recorded_by=by.strip(), now=now)
        record_event(session=session, actor=by.strip(), action="受理信访举报", entity="petition", entity_id=p.id,
                     now=now, detail={"channel": ch.value, "anonymous": p.anonymous})
        session.commit()
        return p

    return guarded(session, by=by, action="受理信访举报", entity="inspection", entity_id=inspection_id, now=now, work=work)


def read_petition(*, session: Session, settings: Settings, by: str, petition_id: int, informant: bool,
                  now: datetime) -> dict[str, Any]:
    """The petition for someone allowed to read it; the informant only for roles allowed that too."""
    def work() -> dict[str, Any]:
        acc = account(session, by)
        require(acc.role, Action.READ_PETITION)
        if informant:
            require(acc.role, Action.READ_INFORMANT)
        p = get_or_raise(session, Petition, petition_id, "信访举报")
        insp = _inspection(session, p.inspection_id)
        authorise(session=session, account=acc, action=Action.READ_PETITION, inspection=insp)
        if informant:
            authorise(session=session, account=acc, action=Action.READ_INFORMANT, inspection=insp)
        out: dict[str, Any] = {"编号": p.id, "渠道": PetitionChannel(p.channel).value, "内容": p.content,
                               "受理时间": f"{aware(p.received_at).astimezone(CHINA):%Y-%m-%d %H:%M}",
                               "匿名": "是" if p.anonymous else "否", "转为线索": p.clue_id}
        if informant:
            who = json.loads(vault(settings).decrypt(p.informant_enc)) if p.informant_enc else {}
            out["举报人"], out["联系方式"] = who.get("name", "（匿名）"), who.get("contact", "")
        record_event(session=session, actor=by.strip(), action="查阅举报人身份" if informant else "查阅信访举报",
                     entity="petition", entity_id=petition_id, now=now)
        session.commit()
        return out

    return guarded(session, by=by, action="查阅信访举报", entity="petition", entity_id=petition_id, now=now, work=work)


def petition_to_clue(*, session: Session, settings: Settings, by: str, petition_id: int, kind: str,
                     summary: str, urgent: bool = False, now: datetime) -> Clue:
    """A petition that holds a problem becomes a clue (its own summary, not the informant)."""
    def work() -> Clue:
        acc = account(session, by)
        require(acc.role, Action.ADD_CLUE)
        p = get_or_raise(session, Petition, petition_id, "信访举报")
        authorise(session=session, account=acc, action=Action.ADD_CLUE, inspection=_inspection(session, p.inspection_id))
        if p.clue_id is not None:
            raise DomainError(f"该信访举报已转为线索（编号{p.clue_id}）")
        clue = store_clue(session=session, inspection=_inspection(session, p.inspection_id), kind=kind, summary=summary,
                          by=by, now=now, urgent=urgent)
        p.clue_id = clue.id
        session.add(p)
        session.commit()
        return clue

    return guarded(session, by=by, action="信访举报转线索", entity="petition", entity_id=petition_id, now=now, work=work)


# --- clues --------------------------------------------------------------------------------

def store_clue(*, session: Session, inspection: Inspection, kind: str, summary: str, by: str, now: datetime,
               urgent: bool = False) -> Clue:
    """The one place a clue is checked and stored: a known kind, a text of 1 to 4000 characters, an
    inspection not archived and at a receiving stage. Flushed and audited, not committed; the
    caller checks who acts (`register_clue`, `petition_to_clue`)."""
    try:
        clue_kind = ClueKind(kind)
    except ValueError:
        raise DomainError(f"未知的线索类型：{kind}（可选：{_choices(ClueKind)}）") from None
    if not summary.strip():
        raise DomainError("线索内容不能为空")
    checked(summary, "线索内容")
    if len(summary) > CONTENT_LIMIT:
        raise DomainError(f"线索内容超过{CONTENT_LIMIT}字")
    ensure_not_archived(session=session, inspection=inspection, action="登记线索")
    if inspection.stage not in RECEIVING_STAGES:
        raise DomainError("只有集中巡察和报告阶段可以登记线索")
    assert inspection.id is not None
    clue = Clue(inspection_id=inspection.id, kind=clue_kind, summary=summary.strip(), urgent=urgent, created_at=now)
    session.add(clue)
    session.flush()
    record_event(session=session, actor=by.strip(), action="登记线索", entity="clue", entity_id=clue.id, now=now,
                 detail={"kind": clue_kind.value} | ({"urgent": True} if urgent else {}))
    return clue


def register_clue(*, session: Session, by: str, inspection_id: int, kind: str, summary: str, urgent: bool = False,
                  now: datetime) -> Clue:
    def work() -> Clue:
        acc = account(session, by)
        require(acc.role, Action.ADD_CLUE)
        insp = _inspection(session, inspection_id)
        authorise(session=session, account=acc, action=Action.ADD_CLUE, inspection=insp)
        clue = store_clue(session=session, inspection=insp, kind=kind, summary=summary, by=by, now=now, urgent=urgent)
        session.commit()
        return clue

    return guarded(session, by=by, action="登记线索", entity="inspection", entity_id=inspection_id, now=now, work=work)


def read_clue(*, session: Session, by: str, clue_id: int, now: datetime) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        acc = account(session, by)
        clue = get_or_raise(session, Clue, clue_id, "线索")
        on_team = serves_on(session=session, name=acc.name, inspection=_inspection(session, clue.inspection_id))
        if not can_read_clue(acc.role, ClueKind(clue.kind), clue.receiver, on_team=on_team):
            out_of_reach = CLUE_READERS[ClueKind(clue.kind)].get(acc.role) is Scope.OWN_TEAM and not on_team
            raise Forbidden(f"“{acc.role.value}”无权查阅该线索" + ("（只能查阅本人所在巡察组负责单位的线索）" if out_of_reach else ""))
        record_event(session=session, actor=by.strip(), action="查阅线索", entity="clue", entity_id=clue_id, now=now)
        session.commit()
        return _clue_row(session, clue) | {"内容": clue.summary, "办理情况": clue.result_note}

    return guarded(session, by=by, action="查阅线索", entity="clue", entity_id=clue_id, now=now, work=work)


def _due(session: Session, row: Clue | ClueLetter, column: str) -> str:
    """A stored deadline as the ledger prints it, marked when counted over a year not yet entered."""
    day = getattr(row, column)
    if day is None:
        return ""
    marked = row.id is not None and row.id in provisional_ids(session=session, model=type(row), column=column, ids=[row.id])
    return f"{day}（暂按周末计算）" if marked else str(day)


def _clue_row(session: Session, clue: Clue) -> dict[str, Any]:
    insp = session.get(Inspection, clue.inspection_id)
    receiver = RECEIVER_NAMES.get(Role(clue.receiver), clue.receiver) if clue.receiver else ""
    letter = session.get(ClueLetter, clue.letter_id) if clue.letter_id else None
    return {
        "编号": clue.id, "巡察": _label(session, insp) if insp else "", "类型": ClueKind(clue.kind).value,
        "边巡边移": "是" if clue.urgent else "", "接收单位": receiver, "状态": ClueStatus(clue.status).value,
        "签收期限": _due(session, letter, "ack_due_on") if letter and not letter.acknowledged_at else "",
        "反馈期限": _due(session, clue, "result_due_on"), "办理结果": ClueResult(clue.result).value if clue.result else "",
    }


def open_clues(*, session: Session, by: str, now: datetime) -> list[dict[str, Any]]:
    """The office's ledger of clues not yet closed, without their text (no read is logged)."""
    def work() -> list[dict[str, Any]]:
        require(account(session, by).role, Action.LIST_CLUES)
        rows = session.exec(select(Clue).where(Clue.status != ClueStatus.CLOSED).order_by(col(Clue.id)))
        return [_clue_row(session, c) for c in rows]

    return guarded(session, by=by, action="查看线索台账", entity="clue", entity_id=None, now=now, work=work)


# --- transfer (线索移交, 边巡边移) ---------------------------------------------------------------

def transfer(*, session: Session, settings: Settings, insp: Inspection, clues: list[Clue], batch: str,
             actor: str, now: datetime, link: str) -> list[ClueLetter]:
    """One letter per receiver for these clues; the receiver signs for it within clue_ack_days.
    Idempotent: a batch already sent is returned, not sent again."""
    by_receiver: dict[Role, list[Clue]] = defaultdict(list)
    for clue in clues:
        by_receiver[route(settings, ClueKind(clue.kind))].append(clue)
    rnd = session.get(InspectionRound, insp.round_id)
    assert rnd is not None and insp.id is not None
    label = _label(session, insp)
    letters: list[ClueLetter] = []
    for receiver, group in sorted(by_receiver.items()):
        letter = session.exec(select(ClueLetter).where(
            ClueLetter.inspection_id == insp.id, ClueLetter.receiver == receiver.value, ClueLetter.batch == batch)).first()
        if letter is None:
            cal, rule, sent_on = work_calendar(settings, session), settings.rule("clue_ack"), now.astimezone(CHINA).date()
            letter = ClueLetter(inspection_id=insp.id, receiver=receiver.value, batch=batch, sent_at=now,
                                ack_due_on=cal.deadline(sent_on, rule), clue_count=len(group))
            session.add(letter)
            session.flush()
            note_deadline(session=session, cal=cal, entity=letter, column="ack_due_on", start=sent_on, days=rule.days,
                          count=rule.count, due=letter.ack_due_on, now=now)
            letter.doc_no = f"巡察〔{rnd.start_date.year}〕移{insp.id}-{letter.id}号"
            code = _issue_letter_code(settings, letter)
            kinds = Counter(ClueKind(c.kind).value for c in group)
            assert rnd.id is not None and insp.id is not None
            write_document(
                session=session, settings=settings, round_id=rnd.id, inspection_id=insp.id, now=now,
                directory=document_dir(settings, rnd.id, insp.id),
                spec=DocSpec(kind=f"线索移交函-{RECEIVER_NAMES[receiver]}" + ("" if batch == "stage" else f"-{batch}"),
                             template="问题线索移交函", title="问题线索移交函", doc_no=letter.doc_no,
                             addressee=RECEIVER_NAMES[receiver],
                             # Kinds, counts and clue numbers only: the clue text goes in a separate confidential file.
                             context={"label": label, "receiver": RECEIVER_NAMES[receiver], "count": len(group),
                                      "kinds": [{"name": k, "count": n} for k, n in sorted(kinds.items())],
                                      "clue_ids": "、".join(f"第{c.id}号" for c in group),
                                      "ack_due": cn_date(letter.ack_due_on),
                                      "result_days": template_days(settings.rule("clue_result"))}),
            )
            enqueue_alert(session=session, settings=settings, key=f"clue-letter:{letter.id}", role=receiver,
                          title="【线索移交】请签收", body=f"您有{len(group)}件新移交线索（{letter.doc_no}，移交函编号{letter.id}），"
                          f"请于{letter.ack_due_on:%m月%d日}前签收办理。\n签收码：{CODE_SLOT}（签收时填写，仅限本单位使用）",
                          secret=code, link=settings.office_link("letters"), now=now, inspection=insp)
            record_event(session=session, actor=actor, action="线索移交", entity="clue_letter", entity_id=letter.id,
                         now=now, detail={"receiver": receiver.value, "clues": sorted(c.id for c in group if c.id), "batch": batch})
        for clue in group:
            if clue.status == ClueStatus.PENDING:
                CLUES.move(clue, ClueStatus.TRANSFERRED)
                clue.receiver, clue.transferred_at, clue.letter_id = receiver.value, now, letter.id
                session.add(clue)
        letters.append(letter)
    session.flush()
    return letters


def transfer_urgent(*, session: Session, settings: Settings, by: str, clue_id: int, now: datetime, link: str) -> ClueLetter:
    """边巡边移: an urgent clue goes to its receiver during stationing, without waiting for the stage."""
    def work() -> ClueLetter:
        require(account(session, by).role, Action.TRANSFER_URGENT)
        clue = get_or_raise(session, Clue, clue_id, "线索")
        if clue.status != ClueStatus.PENDING:
            raise DomainError(f"线索{clue_id}当前为“{ClueStatus(clue.status).value}”，不能再移交")
        insp = ensure_not_archived(session=session, inspection=_inspection(session, clue.inspection_id), action="边巡边移")
        if insp.stage not in RECEIVING_STAGES:
            raise DomainError("边巡边移只适用于集中巡察和报告阶段；其后的线索在线索移交环节统一移交")
        clue.urgent = True
        (letter,) = transfer(session=session, settings=settings, insp=insp, clues=[clue], batch=f"urgent-{clue_id}",
                             actor=by.strip(), now=now, link=link)
        session.commit()
        return letter

    return guarded(session, by=by, action="边巡边移", entity="clue", entity_id=clue_id, now=now, work=work)


def _issue_letter_code(settings: Settings, letter: ClueLetter) -> str:
    assert letter.id is not None
    code = codes.new_code()
    letter.code_hash, letter.code_failures = codes.digest(settings, "clue-letter", letter.id, code), 0
    return code


def _send_new_letter_code(session: Session, settings: Settings, letter: ClueLetter, now: datetime, why: str) -> None:
    code = _issue_letter_code(settings, letter)
    session.add(letter)
    enqueue_alert(session=session, settings=settings, key=f"clue-letter:{letter.id}:code:{now.isoformat()}",
                  role=Role(letter.receiver), title="【线索移交】新的签收码",
                  body=f"移交函{letter.doc_no}（编号{letter.id}）{why}，原签收码已作废。\n签收码：{CODE_SLOT}", secret=code,
                  link=settings.office_link("letters"), now=now)


def acknowledge(*, session: Session, settings: Settings, by: str, letter_id: int, code: str, now: datetime) -> ClueLetter:
    """The receiver signs for a transfer letter with the code it was sent; its clues' result
    deadline starts. Too many wrong codes void the code and send a new one to the receiver."""
    return guarded(session, by=by, action="签收线索移交函", entity="clue_letter", entity_id=letter_id, now=now,
                   work=lambda: _sign_letter(session, settings, by=by, letter_id=letter_id, code=code, now=now))


def acknowledge_signed_in(*, session: Session, settings: Settings, by: str, letter_id: int, now: datetime) -> ClueLetter:
    """The receiver signs for a transfer letter on the gateway's page: the login (password, and
    for the roles that need it a second factor) has proved who `by` is, so no code is asked; the
    role, the receiving body and the letter's state are checked as for `acknowledge`."""
    return guarded(session, by=by, action="签收线索移交函", entity="clue_letter", entity_id=letter_id, now=now,
                   work=lambda: _sign_letter(session, settings, by=by, letter_id=letter_id, code=None, now=now))


def _sign_letter(session: Session, settings: Settings, *, by: str, letter_id: int, code: str | None,
                 now: datetime) -> ClueLetter:
    """Sign for the letter; `code` None: the person is logged in at the gateway."""
    acc = account(session, by)
    # Locked and read afresh: two signings at once sign once, wrong codes entered at once all
    # count and replace the code once.
    letter = get_or_raise(session, ClueLetter, letter_id, "线索移交函", with_for_update=True, populate_existing=True)
    authorise(session=session, account=acc, action=Action.ACKNOWLEDGE, receiver=letter.receiver)
    if letter.acknowledged_at is not None:
        raise DomainError(f"该移交函已于{aware(letter.acknowledged_at).astimezone(CHINA):%Y-%m-%d %H:%M}"
                          f"由{letter.acknowledged_by}签收")
    if code is not None and not codes.matches(settings, "clue-letter", letter_id, code, letter.code_hash):
        letter.code_failures += 1
        voided = letter.code_failures >= codes.MAX_FAILURES
        if voided:
            _send_new_letter_code(session, settings, letter, now, f"签收码连续{codes.MAX_FAILURES}次填写错误")
        session.add(letter)
        session.commit()  # the count (and a new code) stand, though the signing is refused
        raise DomainError(f"签收码连续{codes.MAX_FAILURES}次错误，原签收码已作废，新的签收码已发给接收单位" if voided
                          else "签收码不正确")
    letter.code_hash = ""  # spent (or, signed in, no longer needed)
    LETTERS.check(letter_status(letter.acknowledged_at is not None), LetterStatus.ACKNOWLEDGED)
    letter.acknowledged_at, letter.acknowledged_by = now, by.strip()
    cal, rule, signed_on = work_calendar(settings, session), settings.rule("clue_result"), now.astimezone(CHINA).date()
    due = cal.deadline(signed_on, rule)
    for clue in session.exec(select(Clue).where(Clue.letter_id == letter_id)):
        CLUES.move(clue, ClueStatus.RECEIVED)
        clue.result_due_on = due
        session.add(clue)
        note_deadline(session=session, cal=cal, entity=clue, column="result_due_on", start=signed_on, days=rule.days,
                      count=rule.count, due=due, now=now)
    session.add(letter)
    record_event(session=session, actor=by.strip(), action="签收线索移交函", entity="clue_letter", entity_id=letter_id,
                 now=now, detail={"receiver": letter.receiver, "via": "签收码" if code is not None else "登录"})
    session.commit()
    return letter


def report_result(*, session: Session, settings: Settings, by: str, clue_id: int, result: str, note: str,
                  now: datetime) -> Clue:
    """The receiver reports what it did; a final result closes the clue, an initial check does not."""
    def work() -> Clue:
        acc = account(session, by)
        clue = get_or_raise(session, Clue, clue_id, "线索")
        if not clue.receiver:
            raise DomainError(f"线索{clue_id}尚未移交")
        authorise(session=session, account=acc, action=Action.REPORT_RESULT, receiver=clue.receiver)
        try:
            outcome = ClueResult(result)
        except ValueError:
            raise DomainError(f"未知的办理结果：{result}（可选：{_choices(ClueResult)}）") from None
        if clue.status == ClueStatus.CLOSED:
            raise DomainError(f"线索{clue_id}已办结（{ClueResult(clue.result).value if clue.result else ''}），不能再反馈结果")
        if clue.status != ClueStatus.RECEIVED:
            raise DomainError(f"线索{clue_id}的移交函尚未签收，请先签收")
        checked(note, "办理情况说明")
        clue.result, clue.result_note, clue.result_at = outcome, note.strip(), now
        closed = outcome in FINAL_CLUE_RESULTS
        if closed:
            CLUES.move(clue, ClueStatus.CLOSED)
            clue.closed_at = now
        session.add(clue)
        record_event(session=session, actor=by.strip(), action="反馈线索办理结果", entity="clue", entity_id=clue_id,
                     now=now, detail={"result": outcome.value, "closed": closed})
        session.commit()
        return clue

    return guarded(session, by=by, action="反馈线索办理结果", entity="clue", entity_id=clue_id, now=now, work=work)


# --- deadlines ------------------------------------------------------------------------------

# Days past a deadline at which reminders go out, and to whom besides the receiver.
CLUE_LADDER: list[tuple[int, Role | None]] = [(0, None), (3, Role.OFFICE), (7, Role.LEADING_GROUP)]


def ladder_rung(days_over: int) -> int:
    """The rung of the receivers' reminder ladder (CLUE_LADDER) a deadline `days_over` days past is on:
    shared by clue letters and results letters (tasks/results/use.py)."""
    return max(i for i, (d, _) in enumerate(CLUE_LADDER) if days_over >= d)


def sweep_clue_deadlines(*, session: Session, settings: Settings, as_of: date, now: datetime, link: str,
                         calendar: WorkCalendar | None = None) -> int:
    """Remind receivers of letters not signed for (each rung once) and of results not reported by
    their deadline (once a week), escalating to the office and then the leading group. On a rest
    day the reminders are held to the next working day unless the rule says otherwise."""
    queued = 0
    cal = calendar or work_calendar(settings, session)
    holds = {name: cal.hold_until(as_of, settings.rule(name)) for name in ("clue_ack", "clue_result")}

    def send(key: str, role: Role, title: str, body: str) -> None:
        nonlocal queued
        # A receiving body acts on the office's pages (its letters, its clues); the others in the UI.
        here = settings.office_link("letters") if role in RECEIVER_ACCESS else link
        rows = enqueue_alert(session=session, settings=settings, key=key, role=role, title=title, body=body,
                             link=here, now=now, not_before=holds["clue_result" if key.startswith("clue-result") else "clue_ack"])
        queued += sum(1 for r in rows if r.created_at == now)

    late_letters = session.exec(select(ClueLetter).where(
        col(ClueLetter.acknowledged_at).is_(None), col(ClueLetter.ack_due_on) <= as_of))
    for letter in late_letters:
        rung = ladder_rung((as_of - letter.ack_due_on).days)
        receiver = Role(letter.receiver)
        body = f"线索移交函{letter.doc_no}（{letter.clue_count}件）签收期限为{letter.ack_due_on:%m月%d日}，尚未签收。"
        for role in (receiver, CLUE_LADDER[rung][1]):
            if role is not None:
                send(f"clue-letter:{letter.id}:late:{rung}:{role.value}", role, "【催办】线索移交函逾期未签收", body)
    late: dict[tuple[str, int], int] = defaultdict(int)
    for clue in session.exec(select(Clue).where(Clue.status == ClueStatus.RECEIVED, col(Clue.result_due_on) <= as_of)):
        assert clue.result_due_on is not None
        late[(clue.receiver, ladder_rung((as_of - clue.result_due_on).days))] += 1
    year, week, _ = as_of.isocalendar()
    for (receiver_value, rung), n in sorted(late.items()):
        for role in (Role(receiver_value), CLUE_LADDER[rung][1]):
            if role is not None:
                send(f"clue-result:{year}-w{week}:{receiver_value}:{rung}:{role.value}", role, "【催办】线索办理结果逾期未反馈",
                     f"{RECEIVER_NAMES[Role(receiver_value)]}有{n}件移交线索已过反馈期限，请尽快反馈办理结果。")
    session.flush()
    return queued


def clue_ledger(*, session: Session, as_of: date) -> list[dict[str, Any]]:
    """Counts per receiving body for the office's view (an artifact of the daily sweep): no text,
    no clue identities, only how many are waiting to be signed for, in hand, late or closed."""
    rows: dict[str, dict[str, Any]] = {}
    letters = {lt.id: lt for lt in session.exec(select(ClueLetter))}
    for clue in session.exec(select(Clue).where(col(Clue.receiver) != "")):
        name = RECEIVER_NAMES.get(Role(clue.receiver), clue.receiver)
        row = rows.setdefault(name, {"接收单位": name, "待签收": 0, "办理中": 0, "逾期未签收": 0, "逾期未反馈": 0, "已办结": 0})
        letter = letters.get(clue.letter_id)
        if clue.status == ClueStatus.TRANSFERRED:
            row["待签收"] += 1
            row["逾期未签收"] += int(letter is not None and letter.ack_due_on < as_of)
        elif clue.status == ClueStatus.RECEIVED:
            row["办理中"] += 1
            row["逾期未反馈"] += int(clue.result_due_on is not None and clue.result_due_on < as_of)
        elif clue.status == ClueStatus.CLOSED:
            row["已办结"] += 1
    return [rows[k] for k in sorted(rows)]
