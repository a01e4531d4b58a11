"""The seven stages of one inspected unit, as plain keyword-only functions.

Each function is idempotent: it acts only when the inspection is in the stage it handles
(and, where a stage can repeat, in the same search round), so re-running it after a crash
adds no row and queues no second alert.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.db import get_or_raise
from models.enums import (
    ClueKind,
    ClueStatus,
    FindingScope,
    ItemStatus,
    Role,
    RoundStatus,
    Stage,
    TeamRole,
)
from models.errors import DomainError
from models.paths import document_dir
from models.settings import Settings
from models.tables import (
    Clue,
    CommonProblem,
    Document,
    Finding,
    Inspection,
    InspectionRound,
    Person,
    RectificationItem,
    Team,
    TeamMember,
    Unit,
)
from models.transitions import CLUES, ITEMS, ROUNDS, InspectionState, check_transition
from tasks.clues.ledger import transfer
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event
from tasks.infra.holidays import note_deadline
from tasks.infra.workdays import span_text, template_days, work_calendar
from tasks.records.documents import LEADING_GROUP, DocSpec, cn_date, ordinal, write_document
from tasks.records.dossier import archive_inspection, archive_round, dossier_folder
from tasks.results.use import issue_letters as issue_results_letters
from tasks.stationing.evaluations import evaluation_charts, result_lines
from tasks.supervision.close_out import items_to_close
from tasks.supervision.rectification import first_action_on, plan_notice


class Ctx:
    """What every stage needs: the inspection with its unit, round and team, and where files go."""

    def __init__(self, session: Session, settings: Settings, inspection_id: int) -> None:
        insp = get_or_raise(session, Inspection, inspection_id, "巡察任务")
        self.session, self.settings, self.insp = session, settings, insp
        unit, rnd = session.get(Unit, insp.unit_id), session.get(InspectionRound, insp.round_id)
        team = session.get(Team, insp.team_id)
        assert unit and rnd and team and rnd.id and insp.id
        self.unit: Unit = unit
        self.round: InspectionRound = rnd
        self.team: Team = team
        self.round_id: int = rnd.id
        self.inspection_id: int = insp.id

    @property
    def stage(self) -> Stage:
        return Stage(self.insp.stage)

    def in_search(self, stage: Stage, search_count: int) -> bool:
        """Still at `stage` in the same search: an answer to an earlier search's gate does nothing."""
        return self.stage is stage and self.insp.search_count == search_count

    @property
    def label(self) -> str:
        return f"{self.round.name}·{self.unit.name}"

    @property
    def doc_dir(self) -> Path:
        return document_dir(self.settings, self.round_id, self.inspection_id)

    def move(self, target: Stage, now: datetime, actor: str = "系统") -> None:
        check_transition(self.stage, target)
        before = self.stage
        self.insp.stage = target
        self.session.add(self.insp)
        record_event(session=self.session, actor=actor, action="阶段变更", entity="inspection",
                     entity_id=self.inspection_id, now=now, detail={"from": before.value, "to": target.value})

    def alert(self, key: str, role: Role, title: str, body: str, link: str, now: datetime) -> None:
        enqueue_alert(session=self.session, settings=self.settings, key=f"insp:{self.inspection_id}:{key}",
                      role=role, title=title, body=body, link=link, now=now, inspection=self.insp)

    def findings(self) -> list[Finding]:
        return list(self.session.exec(select(Finding).where(Finding.inspection_id == self.inspection_id).order_by(col(Finding.id))))

    def member_names(self) -> list[str]:
        rows = self.session.exec(
            select(Person.name, TeamMember.role).join(TeamMember, col(TeamMember.person_id) == Person.id)
            .where(TeamMember.team_id == self.insp.team_id).order_by(col(TeamMember.id))
        ).all()
        return [f"{TeamRole(r).value}：{n}" for n, r in rows]


def _doc_no(ctx: Ctx, short: str) -> str:
    return f"巡察〔{ctx.round.start_date.year}〕{short}{ctx.round_id}-{ctx.inspection_id}号"


def _fields(ctx: Ctx) -> dict[str, Any]:
    """What every template of one inspection may use."""
    r, unit, team = ctx.round, ctx.unit, ctx.team
    assert r and unit and team
    return {"round_name": r.name, "round_kind": r.kind, "start": cn_date(r.start_date), "end": cn_date(r.end_date),
            "unit": unit.name, "team": team.name}


def _write(ctx: Ctx, spec: DocSpec, now: datetime, version: int = 1) -> Document:
    return write_document(session=ctx.session, settings=ctx.settings, directory=ctx.doc_dir, round_id=ctx.round_id,
                          inspection_id=ctx.inspection_id, spec=spec, now=now, version=version)


def prepare(*, session: Session, settings: Settings, inspection_id: int, now: datetime, link: str) -> Document:
    """巡察准备: the announcement (巡察公告) and a notice to the team leader."""
    ctx = Ctx(session, settings, inspection_id)
    doc = _write(ctx, DocSpec(
        kind="巡察公告", template="巡察公告", title=f"关于对{ctx.unit.name}党组织开展巡察的公告",
        doc_no=_doc_no(ctx, "公告"), signature=ctx.team.name, issuer=LEADING_GROUP,
        context={**_fields(ctx), "members": ctx.member_names()},
    ), now)
    ctx.alert("prepare", Role.TEAM_LEADER, "【巡察准备】组成人员已拟定",
              f"{ctx.label}：巡察工作方案和组成人员已报领导小组审批。", link, now)
    return doc


def start_stationing(*, session: Session, settings: Settings, inspection_id: int, now: datetime, link: str) -> Stage:
    """集中巡察 begins once the plan is approved."""
    ctx = Ctx(session, settings, inspection_id)
    if ctx.stage is Stage.PREPARATION:
        ctx.move(Stage.STATIONING, now)
        ctx.alert("station", Role.TEAM_LEADER, "【进驻】巡察组进驻",
                  f"{ctx.label}：方案已批准，巡察组进驻开展集中巡察。请在系统中登记发现的问题。", link, now)
        ctx.alert("station-unit", Role.UNIT_SECRETARY, "【巡察进驻通知】",
                  f"{ctx.label}：巡察组将于{ctx.round.start_date:%Y年%m月%d日}进驻，请做好配合工作。", link, now)
    return ctx.stage


def conclude_stationing(
    *, session: Session, settings: Settings, inspection_id: int, search_count: int, by: str, summary: str,
    now: datetime, link: str,
) -> Stage:
    """报告巡察: the team's report (one version per search) goes to the leading group."""
    ctx = Ctx(session, settings, inspection_id)
    if not ctx.in_search(Stage.STATIONING, search_count):
        return ctx.stage
    findings = ctx.findings()
    by_cat = Counter(f.category for f in findings)
    _write(ctx, DocSpec(
        kind="巡察报告", template="巡察报告", title=f"关于巡察{ctx.unit.name}党组织的情况报告",
        doc_no=_doc_no(ctx, "报"), addressee=LEADING_GROUP, signature=ctx.team.name,
        context={**_fields(ctx), "total": len(findings), "fixed": sum(f.fixed_on_site for f in findings),
                 "categories": [{"name": c, "count": n} for c, n in sorted(by_cat.items())],
                 "findings": [{"category": f.category, "description": f.description} for f in findings],
                 "evaluations": result_lines(session=session, inspection_id=inspection_id),
                 "summary": summary or "无"},
        charts=evaluation_charts(session=session, inspection_id=inspection_id, label=ctx.unit.name,
                                 directory=ctx.doc_dir / "charts"),
    ), now, version=search_count)
    ctx.move(Stage.REPORTING, now, actor=by)
    ctx.alert(f"report:{search_count}", Role.LEADING_GROUP, "【待审议】巡察报告",
              f"{ctx.label}：巡察组已提交巡察报告（共{len(findings)}个问题），请审议。", link, now)
    return ctx.stage


def review_report(
    *, session: Session, settings: Settings, inspection_id: int, search_count: int, approved: bool, comment: str,
    now: datetime, link: str,
) -> Stage:
    """Approve the report, or return it for a second search (退回重新查找)."""
    ctx = Ctx(session, settings, inspection_id)
    if not ctx.in_search(Stage.REPORTING, search_count):
        return ctx.stage
    if approved:
        ctx.move(Stage.FEEDBACK, now, actor="领导小组")
    else:
        ctx.move(Stage.STATIONING, now, actor="领导小组")
        ctx.insp.search_count = search_count + 1
        ctx.alert(f"returned:{search_count}", Role.TEAM_LEADER, "【报告退回】请重新查找问题",
                  f"{ctx.label}：领导小组退回巡察报告，要求二次查找问题。意见：{comment}", link, now)
    session.add(ctx.insp)
    return ctx.stage


def issue_feedback(*, session: Session, settings: Settings, inspection_id: int, now: datetime, link: str) -> Stage:
    """巡察反馈: feedback opinions to the unit, listing problems by category."""
    ctx = Ctx(session, settings, inspection_id)
    if ctx.stage is not Stage.FEEDBACK:
        return ctx.stage
    findings = ctx.findings()
    cats: dict[str, list[Finding]] = {}
    for f in findings:
        cats.setdefault(f.category, []).append(f)
    fixed = sum(f.fixed_on_site for f in findings)
    _write(ctx, DocSpec(
        kind="巡察反馈意见", template="巡察反馈意见", title=f"关于巡察{ctx.unit.name}党组织的反馈意见",
        doc_no=_doc_no(ctx, "反馈"), addressee=f"中共{ctx.unit.name}委员会", signature=ctx.team.name,
        issuer=LEADING_GROUP,
        context={**_fields(ctx), "total": len(findings), "fixed": fixed, "to_rectify": len(findings) - fixed,
                 "categories": [{"ordinal": ordinal(i), "name": c, "count": len(fs), "problems": [f.description for f in fs]}
                                for i, (c, fs) in enumerate(sorted(cats.items()), 1)],
                 "rectification_days": template_days(settings.rule("report")),
                 "plan_due_days": template_days(settings.rule("plan"))},
    ), now)
    ctx.insp.feedback_date = now.date()
    # 巡察成果运用函 to the organisation department (and the discipline commission), in the same transaction.
    issue_results_letters(session=session, settings=settings, inspection_id=inspection_id, now=now)
    ctx.move(Stage.CLUE_TRANSFER, now)
    ctx.alert("feedback", Role.UNIT_SECRETARY, "【巡察反馈】请抓好整改",
              f"{ctx.label}：巡察反馈意见已印发，共{len(findings)}个问题，请{span_text(settings.rule('report'))}内报送整改情况。", link, now)
    return ctx.stage


def pending_clue_count(*, session: Session, inspection_id: int) -> int:
    return len(session.exec(select(Clue.id).where(Clue.inspection_id == inspection_id, Clue.status == ClueStatus.PENDING)).all())


def transfer_clues(
    *, session: Session, settings: Settings, inspection_id: int, approved: bool, now: datetime, link: str,
) -> Stage:
    """线索移交: route each pending clue to its receiver; alerts carry counts only, never clue text."""
    ctx = Ctx(session, settings, inspection_id)
    if ctx.stage is not Stage.CLUE_TRANSFER:
        return ctx.stage
    clues = list(session.exec(select(Clue).where(Clue.inspection_id == inspection_id, Clue.status == ClueStatus.PENDING)
                              .order_by(col(Clue.id))))
    if approved:
        transfer(session=session, settings=settings, insp=ctx.insp, clues=clues, batch="stage", actor="领导小组",
                 now=now, link=link)
    else:
        for clue in clues:
            CLUES.move(clue, ClueStatus.HELD)
            session.add(clue)
            record_event(session=session, actor="领导小组", action="线索暂缓移交", entity="clue", entity_id=clue.id,
                         now=now, detail={"kind": ClueKind(clue.kind).value})
    ctx.move(Stage.RECTIFICATION, now)
    return ctx.stage


def start_rectification(*, session: Session, settings: Settings, inspection_id: int, now: datetime, link: str) -> int:
    """督促整改 begins: one item per problem not fixed on site, with owner and deadline."""
    ctx = Ctx(session, settings, inspection_id)
    if ctx.stage is not Stage.RECTIFICATION:
        return 0
    feedback = ctx.insp.feedback_date or now.date()
    cal, rule = work_calendar(settings, session), settings.rule("rectification")
    deadline = cal.deadline(feedback, rule)
    liaison = session.get(Person, ctx.unit.liaison_leader_id) if ctx.unit.liaison_leader_id else None
    liaison_name = liaison.name if liaison else ""
    have = set(session.exec(select(RectificationItem.finding_id).where(RectificationItem.inspection_id == inspection_id)).all())
    created = individual = 0
    for f in ctx.findings():
        if not f.fixed_on_site and f.scope == FindingScope.INDIVIDUAL:
            individual += 1  # the liaison leader supervises individual problems only (共性问题 go to 分管领导)
        if f.fixed_on_site or f.id in have:
            continue
        assert f.id is not None
        leader_id, supervisor = (ctx.unit.liaison_leader_id, liaison_name) if f.scope == FindingScope.INDIVIDUAL else (None, "")
        if f.common_problem_id is not None:  # confirmed before the unit got here: led by its leader in charge
            leader_id, supervisor = _leader_in_charge(session, f.common_problem_id)
        session.add(RectificationItem(
            inspection_id=inspection_id, finding_id=f.id, owner=ctx.unit.secretary_name,
            responsible_leader_id=leader_id, common_problem_id=f.common_problem_id,
            deadline=deadline, measure="", supervisor=supervisor,
            next_rung=0, next_action_on=first_action_on(deadline, settings),
        ))
        created += 1
    session.flush()
    if cal.provisional(feedback, deadline, rule.count):
        for item in session.exec(select(RectificationItem).where(RectificationItem.inspection_id == inspection_id,
                                                                  col(RectificationItem.finding_id).not_in(list(have)))):
            note_deadline(session=session, cal=cal, entity=item, column="deadline", start=feedback, days=rule.days,
                          count=rule.count, due=deadline, now=now)
    total = len(have) + created
    _rectification_documents(ctx, deadline=deadline, plan_due=cal.deadline(feedback, settings.rule("plan")),
                              liaison=liaison, individual=individual, now=now)
    ctx.alert("rectify", Role.UNIT_SECRETARY, "【整改通知】",
              f"{ctx.label}：共{total}项整改任务，整改期限至{deadline:%Y年%m月%d日}，请按时报送整改进展。", link, now)
    ctx.alert("rectify-liaison", Role.LIAISON_LEADER, "【落实巡察整改工作责任建议书】",
              f"{ctx.label}：请对{individual}项个性问题整改进行跟踪督办，定期听取整改推进情况。", link, now)
    if open_items(session=session, inspection_id=inspection_id):
        # The first step of rectification is the unit's plan; the unit run waits for it.
        ctx.alert("plan-notice", Role.UNIT_SECRETARY, "【请报送整改方案】",
                  plan_notice(session=session, settings=settings, inspection=ctx.insp), link, now)
    session.flush()
    return created


def _leader_in_charge(session: Session, common_problem_id: int) -> tuple[int | None, str]:
    """(person id, name) of a confirmed common problem's leader in charge."""
    cp = session.get(CommonProblem, common_problem_id)
    leader = session.exec(select(Person).where(Person.name == cp.leader_in_charge)).first() if cp else None
    return (leader.id, leader.name) if leader else (None, cp.leader_in_charge if cp else "")


def _rectification_documents(ctx: Ctx, *, deadline: date, plan_due: date, liaison: Person | None, individual: int,
                              now: datetime) -> None:
    """整改通知书 to the unit, and 《落实巡察整改工作责任建议书》 to its liaison leader (when it has
    individual problems to supervise)."""
    items = ctx.session.exec(select(RectificationItem, Finding).join(Finding, col(Finding.id) == RectificationItem.finding_id)
                             .where(RectificationItem.inspection_id == ctx.inspection_id).order_by(col(RectificationItem.id))).all()
    rows = [{"no": n, "item_no": i.id, "category": f.category, "description": f.description, "owner": i.owner, "supervisor": i.supervisor,
             "deadline": cn_date(i.deadline), "individual": f.scope == FindingScope.INDIVIDUAL}
            for n, (i, f) in enumerate(items, 1)]
    unit = ctx.unit
    assert unit is not None
    _write(ctx, DocSpec(
        kind="整改通知书", template="整改通知书", title=f"关于{unit.name}巡察整改工作的通知书", doc_no=_doc_no(ctx, "整改"),
        addressee=f"中共{unit.name}委员会",
        context={**_fields(ctx), "total": len(rows), "deadline": cn_date(deadline), "plan_due": cn_date(plan_due),
                 "items": rows},
    ), now)
    if individual:
        mine = [r for r in rows if r["individual"]]
        _write(ctx, DocSpec(
            kind="落实巡察整改工作责任建议书", template="落实巡察整改工作责任建议书", title="落实巡察整改工作责任建议书",
            doc_no=_doc_no(ctx, "建议"), addressee=f"{liaison.name}同志" if liaison else "联系领导", signature=LEADING_GROUP,
            context={**_fields(ctx), "liaison": liaison.name if liaison else "", "total": len(ctx.findings()),
                     "individual": individual, "deadline": cn_date(deadline),
                     "items": [r | {"no": n} for n, r in enumerate(mine, 1)]},
        ), now)


def open_items(*, session: Session, inspection_id: int) -> list[RectificationItem]:
    return list(session.exec(select(RectificationItem).where(
        RectificationItem.inspection_id == inspection_id, RectificationItem.status != ItemStatus.CLOSED)))


def inspection_state(*, session: Session, settings: Settings, inspection_id: int) -> InspectionState:
    """The inspection as the unit flow needs it, read in the caller's transaction (读取巡察状态, and
    each stage task after its work: tasks/lifecycle/prefect.py STAGE)."""
    insp = session.get(Inspection, inspection_id)
    if insp is None:
        raise DomainError(f"巡察任务不存在：{inspection_id}")
    unit = session.get(Unit, insp.unit_id)
    rnd = session.get(InspectionRound, insp.round_id)
    assert unit and rnd
    return InspectionState(
        round_id=insp.round_id, stage=Stage(insp.stage), search_count=insp.search_count,
        label=f"{rnd.name}·{unit.name}", pending_clues=pending_clue_count(session=session, inspection_id=inspection_id),
        findings=len(Ctx(session, settings, inspection_id).findings()),
        open_items=len(open_items(session=session, inspection_id=inspection_id)),
        plan_submitted=insp.plan_submitted_at is not None, plan_approved=insp.plan_approved_at is not None,
        items_to_close=items_to_close(session=session, inspection_id=inspection_id),
    )


def close_out(
    *, session: Session, settings: Settings, inspection_id: int, approved: bool, attempt: int, comment: str,
    now: datetime, link: str,
) -> Stage:
    """整改销号: the office closes the items reported done (已完成待核), or sends them back.

    The unit moves on to archiving once every item is closed."""
    ctx = Ctx(session, settings, inspection_id)
    if ctx.stage is not Stage.RECTIFICATION:
        return ctx.stage
    if not approved:
        ctx.alert(f"closeout-refused:{attempt}", Role.UNIT_SECRETARY, "【暂不销号】请继续整改",
                  f"{ctx.label}：巡察办暂不同意销号。意见：{comment}", link, now)
        return ctx.stage
    for item in open_items(session=session, inspection_id=inspection_id):
        if item.status == ItemStatus.PENDING_CHECK:
            ITEMS.move(item, ItemStatus.CLOSED)
            item.closed_at, item.next_action_on = now, None
            session.add(item)
            record_event(session=session, actor="巡察办", action="整改销号", entity="rectification_item",
                         entity_id=item.id, now=now)
    session.flush()
    if not open_items(session=session, inspection_id=inspection_id):
        ctx.move(Stage.ARCHIVING, now, actor="巡察办")
    return ctx.stage


def archive(*, session: Session, settings: Settings, inspection_id: int, now: datetime, link: str) -> str:
    """立卷归档: the unit's documents and records into its dossier folder with catalogues, a SHA-256
    manifest and a zip; when it is the round's last unit, the round's summary report and dossier too.
    From then on the unit's records are read-only (tasks/lifecycle/archived.py)."""
    ctx = Ctx(session, settings, inspection_id)
    folder = dossier_folder(settings, ctx.round, ctx.unit)
    if ctx.stage is Stage.ARCHIVED:
        return str(folder)
    if ctx.stage is not Stage.ARCHIVING:
        raise DomainError(f"{ctx.label} 尚未完成整改销号，不能归档（当前阶段：{ctx.stage.value}）")
    catalogued = archive_inspection(session=session, settings=settings, inspection_id=inspection_id, folder=folder, now=now)
    ctx.insp.archived_at = now
    ctx.move(Stage.ARCHIVED, now)
    remaining = session.exec(select(Inspection.id).where(
        Inspection.round_id == ctx.round_id, Inspection.stage != Stage.ARCHIVED, Inspection.id != inspection_id)).all()
    if not remaining:
        ROUNDS.move(ctx.round, RoundStatus.DONE)
        session.add(ctx.round)
        session.flush()
        archive_round(session=session, settings=settings, round_id=ctx.round_id, now=now)
    ctx.alert("archived", Role.OFFICE, "【已归档】", f"{ctx.label}：巡察材料已立卷归档，共{catalogued}份文件。", link, now)
    return str(folder)
