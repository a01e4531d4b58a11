"""个别谈话: the talk plan of a unit (谈话安排: who is talked to, by whom, when, why) and the talk
records (谈话记录), kept like clues.

Talk records name who said what about their leaders, so they stay in the application database
only: the person talked to, the reason for the talk and the record's text are stored encrypted
under the informants' keys (models/crypto.py, rotated with them: tasks/clues/keys.py); the
inspector and the day are kept in the clear. Only the office and the team inspecting the unit
plan, record or read them (models/access.py RECORD_TALKS, READ_TALKS); every read of a name or
a text is on the audit chain, and audit details, alerts and Prefect get numbers and counts only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, func, select

from models.access import Action
from models.clock import CHINA
from models.crypto import Vault, vault
from models.db import get_or_raise
from models.enums import Stage
from models.errors import DomainError
from models.settings import Settings
from models.tables import Inspection, InspectionRound, TalkPlan, TalkRecord
from tasks.clues.ledger import account, guarded
from tasks.infra.audit import record_event
from tasks.infra.scope import authorise, serves_on
from tasks.lifecycle.archived import ensure_not_archived

NAME_LIMIT = 50
POST_LIMIT = 100
PURPOSE_LIMIT = 1000
CONTENT_LIMIT = 8000
# A talk is planned before or during stationing; it is recorded while the team is on site or
# writing its report (a returned report sends the unit back to stationing for a second search).
PLANNING_STAGES = (Stage.PREPARATION, Stage.STATIONING, Stage.REPORTING)
RECORDING_STAGES = (Stage.STATIONING, Stage.REPORTING)


@dataclass(frozen=True)
class Person:
    """The person talked to: name and post (职务), encrypted together."""

    name: str
    post: str = ""


def _person(p: Person) -> Person:
    name, post = p.name.strip(), p.post.strip()
    if not name:
        raise DomainError("谈话对象的姓名不能为空")
    if len(name) > NAME_LIMIT:
        raise DomainError(f"谈话对象的姓名超过{NAME_LIMIT}字")
    if len(post) > POST_LIMIT:
        raise DomainError(f"谈话对象的职务超过{POST_LIMIT}字")
    return Person(name, post)


def _seal(v: Vault, p: Person) -> str:
    return v.encrypt(json.dumps({"name": p.name, "post": p.post}, ensure_ascii=False))


def _open(v: Vault, token: str) -> Person:
    raw = json.loads(v.decrypt(token))
    return Person(str(raw.get("name", "")), str(raw.get("post", "")))


def _talker(session: Session, insp: Inspection, talker: str) -> str:
    """谈话人: a member of the team inspecting the unit."""
    name = talker.strip()
    if not name:
        raise DomainError("谈话人不能为空（应为该单位巡察组的成员）")
    if not serves_on(session=session, name=name, inspection=insp):
        raise DomainError(f"谈话人“{name}”不是负责该单位的巡察组成员")
    return name


def _within_round(session: Session, insp: Inspection, day: date, what: str) -> date:
    rnd = get_or_raise(session, InspectionRound, insp.round_id, "巡察轮次")
    if not rnd.start_date <= day <= rnd.end_date:
        raise DomainError(f"{what}{day:%Y年%m月%d日}不在本轮巡察期间（{rnd.start_date:%Y年%m月%d日}至{rnd.end_date:%Y年%m月%d日}）")
    return day


def _text(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise DomainError(f"{what}不能为空")
    if len(text) > limit:
        raise DomainError(f"{what}超过{limit}字，请精简")
    return text


def _at_stage(insp: Inspection, stages: tuple[Stage, ...], what: str) -> None:
    if insp.stage not in stages:
        allowed = "、".join(s.value for s in stages)
        raise DomainError(f"该单位处于“{Stage(insp.stage).value}”阶段，不能{what}（仅限{allowed}阶段）")


def plan_talk(*, session: Session, settings: Settings, by: str, inspection_id: int, person: Person, talker: str,
              planned_on: date, purpose: str, now: datetime) -> TalkPlan:
    """One line of the unit's 谈话安排; the person and the reason encrypted."""
    def work() -> TalkPlan:
        acc = account(session, by)
        insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
        authorise(session=session, account=acc, action=Action.RECORD_TALKS, inspection=insp)
        ensure_not_archived(session=session, inspection=insp, action="安排个别谈话")
        _at_stage(insp, PLANNING_STAGES, "安排个别谈话")
        who, reason = _person(person), _text(purpose, "谈话事由", PURPOSE_LIMIT)
        v = vault(settings)
        plan = TalkPlan(inspection_id=inspection_id, talker=_talker(session, insp, talker),
                        planned_on=_within_round(session, insp, planned_on, "谈话日期"), person_enc=_seal(v, who),
                        purpose_enc=v.encrypt(reason), created_by=acc.name, created_at=now)
        session.add(plan)
        session.flush()
        record_event(session=session, actor=acc.name, action="安排个别谈话", entity="talk_plan", entity_id=plan.id,
                     now=now, detail={"inspection": inspection_id, "talker": plan.talker, "planned_on": planned_on.isoformat()})
        session.commit()
        return plan

    return guarded(session, by=by, action="安排个别谈话", entity="inspection", entity_id=inspection_id, now=now, work=work)


def record_talk(*, session: Session, settings: Settings, by: str, inspection_id: int, talker: str, held_on: date,
                content: str, now: datetime, person: Person | None = None, plan_id: int | None = None) -> TalkRecord:
    """A 谈话记录, for a planned talk (its person taken from the plan unless given) or one held
    without a plan (the person required). The person and the text are encrypted."""
    def work() -> TalkRecord:
        acc = account(session, by)
        insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
        authorise(session=session, account=acc, action=Action.RECORD_TALKS, inspection=insp)
        ensure_not_archived(session=session, inspection=insp, action="登记谈话记录")
        _at_stage(insp, RECORDING_STAGES, "登记谈话记录")
        v = vault(settings)
        if plan_id is not None:
            plan = session.get(TalkPlan, plan_id)
            if plan is None or plan.inspection_id != inspection_id:
                raise DomainError(f"该单位没有编号为{plan_id}的谈话安排")
            done = session.exec(select(TalkRecord.id).where(TalkRecord.plan_id == plan_id)).first()
            if done is not None:
                raise DomainError(f"谈话安排{plan_id}已登记谈话记录（编号{done}）")
            who = _person(person) if person is not None else _open(v, plan.person_enc)
        elif person is None:
            raise DomainError("未按谈话安排进行的谈话，须填写谈话对象")
        else:
            who = _person(person)
        text = _text(content, "谈话记录内容", CONTENT_LIMIT)
        if held_on > now.astimezone(CHINA).date():
            raise DomainError(f"谈话日期{held_on:%Y年%m月%d日}晚于今天，谈话尚未进行")
        rec = TalkRecord(inspection_id=inspection_id, plan_id=plan_id, talker=_talker(session, insp, talker),
                         held_on=_within_round(session, insp, held_on, "谈话日期"), person_enc=_seal(v, who),
                         content_enc=v.encrypt(text), recorded_by=acc.name, created_at=now)
        session.add(rec)
        session.flush()
        record_event(session=session, actor=acc.name, action="登记谈话记录", entity="talk_record", entity_id=rec.id,
                     now=now, detail={"inspection": inspection_id, "plan": plan_id, "talker": rec.talker,
                                      "held_on": held_on.isoformat()})
        session.commit()
        return rec

    return guarded(session, by=by, action="登记谈话记录", entity="inspection", entity_id=inspection_id, now=now, work=work)


def talk_overview(*, session: Session, by: str, inspection_id: int, now: datetime) -> list[dict[str, Any]]:
    """The unit's talk plan and records for its team and the office: numbers, inspectors, days
    and whether each planned talk was held; no person talked to and no text (show them with
    `read_talk`, which is audited)."""
    def work() -> list[dict[str, Any]]:
        acc = account(session, by)
        insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
        authorise(session=session, account=acc, action=Action.READ_TALKS, inspection=insp)
        records = list(session.exec(select(TalkRecord).where(TalkRecord.inspection_id == inspection_id)
                                    .order_by(col(TalkRecord.id))))
        by_plan: dict[int | None, TalkRecord] = {r.plan_id: r for r in records if r.plan_id is not None}
        rows: list[dict[str, Any]] = []
        for plan in session.exec(select(TalkPlan).where(TalkPlan.inspection_id == inspection_id).order_by(col(TalkPlan.id))):
            rec = by_plan.get(plan.id)
            rows.append({"谈话安排": plan.id, "谈话人": plan.talker, "日期": f"{plan.planned_on:%Y-%m-%d}",
                         "谈话记录": rec.id if rec else "（尚未谈话）"})
        rows += [{"谈话安排": "（未列入安排）", "谈话人": r.talker, "日期": f"{r.held_on:%Y-%m-%d}", "谈话记录": r.id}
                 for r in records if r.plan_id is None]
        return rows

    return guarded(session, by=by, action="查看谈话安排和谈话记录", entity="inspection", entity_id=inspection_id, now=now,
                   work=work)


def read_talk(*, session: Session, settings: Settings, by: str, record_id: int, now: datetime) -> dict[str, Any]:
    """A talk record with the person talked to and its text, for the unit's team and the office; audited."""
    def work() -> dict[str, Any]:
        acc = account(session, by)
        rec = get_or_raise(session, TalkRecord, record_id, "谈话记录")
        insp = get_or_raise(session, Inspection, rec.inspection_id, "巡察任务")
        authorise(session=session, account=acc, action=Action.READ_TALKS, inspection=insp)
        v = vault(settings)
        who = _open(v, rec.person_enc)
        out: dict[str, Any] = {"编号": rec.id, "谈话安排": rec.plan_id or "（未列入安排）", "谈话人": rec.talker,
                               "谈话日期": f"{rec.held_on:%Y-%m-%d}", "谈话对象": who.name, "职务": who.post,
                               "谈话记录": v.decrypt(rec.content_enc)}
        if rec.plan_id is not None:
            plan = session.get(TalkPlan, rec.plan_id)
            out["谈话事由"] = v.decrypt(plan.purpose_enc) if plan else ""
        record_event(session=session, actor=acc.name, action="查阅谈话记录", entity="talk_record", entity_id=record_id, now=now)
        session.commit()
        return out

    return guarded(session, by=by, action="查阅谈话记录", entity="talk_record", entity_id=record_id, now=now, work=work)


def read_plan(*, session: Session, settings: Settings, by: str, plan_id: int, now: datetime) -> dict[str, Any]:
    """One planned talk with its person and reason, for the unit's team and the office; audited."""
    def work() -> dict[str, Any]:
        acc = account(session, by)
        plan = get_or_raise(session, TalkPlan, plan_id, "谈话安排")
        insp = get_or_raise(session, Inspection, plan.inspection_id, "巡察任务")
        authorise(session=session, account=acc, action=Action.READ_TALKS, inspection=insp)
        v = vault(settings)
        who = _open(v, plan.person_enc)
        record_event(session=session, actor=acc.name, action="查阅谈话安排", entity="talk_plan", entity_id=plan_id, now=now)
        session.commit()
        return {"编号": plan.id, "谈话人": plan.talker, "日期": f"{plan.planned_on:%Y-%m-%d}", "谈话对象": who.name,
                "职务": who.post, "谈话事由": v.decrypt(plan.purpose_enc)}

    return guarded(session, by=by, action="查阅谈话安排", entity="talk_plan", entity_id=plan_id, now=now, work=work)


def talk_counts(*, session: Session, inspection_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{inspection: (talks planned, talk records)}: the only figures of talks that leave this
    database (the round's table of units in Prefect, statistics)."""
    planned = dict(session.exec(select(TalkPlan.inspection_id, func.count()).where(
        col(TalkPlan.inspection_id).in_(inspection_ids)).group_by(col(TalkPlan.inspection_id))).all())
    held = dict(session.exec(select(TalkRecord.inspection_id, func.count()).where(
        col(TalkRecord.inspection_id).in_(inspection_ids)).group_by(col(TalkRecord.inspection_id))).all())
    return {i: (int(planned.get(i, 0)), int(held.get(i, 0))) for i in inspection_ids}


def rotate_tokens(*, session: Session, v: Vault) -> int:
    """Re-encrypt every talk plan and record under the newest key (tasks/clues/keys.py); not committed."""
    n = 0
    for plan in session.exec(select(TalkPlan)):
        plan.person_enc, plan.purpose_enc = v.rotate(plan.person_enc), v.rotate(plan.purpose_enc)
        session.add(plan)
        n += 1
    for rec in session.exec(select(TalkRecord)):
        rec.person_enc, rec.content_enc = v.rotate(rec.person_enc), v.rotate(rec.content_enc)
        session.add(rec)
        n += 1
    return n
