"""What an approval is about, read from the database when it is asked: the one text the Resume
form's description (stored in Prefect) and the gateway's phone page (/approve/<id>) both show.

A leaf: it reads tables and settings only. Nothing confidential goes in: for 线索移交审批 the
counts and the receiving bodies, never a clue's text; petitions are counted, never quoted.
Finding descriptions, plan measures and names of people are not confidential (the feedback
opinions and the rectification notice print them)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, func, select

from models.enums import ClueKind, ClueStatus, Gate, ItemStatus, Role, TeamRole
from models.settings import Settings
from models.tables import (
    Clue,
    Finding,
    Inspection,
    InspectionRound,
    Person,
    Petition,
    RectificationItem,
    Team,
    TeamMember,
    Unit,
)
from tasks.stationing import indicators

LINE_WIDTH = 80  # a problem's description in a list; the full text is on the office pages
RECEIVERS: dict[str, str] = {Role.DISCIPLINE_COMMISSION.value: "纪委监委", Role.ORGANISATION_DEPARTMENT.value: "组织部",
                             Role.RESPONSIBLE_DEPARTMENT.value: "信访事项责任部门",
                             Role.FUNCTIONAL_DEPARTMENT.value: "行业主管部门"}
# What the approver decides, said under the heading (the figures follow).
INTRO: dict[Gate, str] = {
    Gate.PLAN: "请领导小组审批巡察工作方案及组成人员（组成人员已按回避制度核查）。",
    Gate.STATIONING_DONE: ("问题清单登记完毕后，由组长确认进驻结束并提交巡察报告。"
                           "有未核查的巡察指标或未使用的巡察方法时，须在“缺项说明”中写明原因。"),
    Gate.REPORT: "通过后进入反馈阶段；退回则巡察组重新查找问题（须填写意见）。",
    Gate.CLUE_TRANSFER: "同意后按线索类别移交接收单位；线索内容仅在巡察办系统内查阅，此处只列件数和接收单位。",
    Gate.RECT_PLAN: "审核结论：通过，或退回修改（须填写意见，单位修改后重新报送，再次审核）。",
    Gate.CLOSE_OUT: ("核实整改到位后同意销号；否则选择暂不销号并写明理由。"
                     "标为共性问题的问题须先经“共性问题归类”确认，单位才能销号归档。"),
}


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """A gate's subject: a heading, what is decided, the figures, then groups of short lines."""

    heading: str
    intro: str = ""
    facts: tuple[str, ...] = ()
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def markdown(self) -> str:
        """Headings, short paragraphs and lists only: no table to scroll sideways on a phone."""
        out = [f"## {_md(self.heading)}", ""]
        if self.intro:
            out += [_md(self.intro), ""]
        out += [f"- {_md(f)}" for f in self.facts]
        for s in self.sections:
            out += ["", f"**{_md(s.title)}**", ""] + [f"- {_md(line)}" for line in s.lines or ("无",)]
        return "\n".join(out).strip() + "\n"


def _md(text: str) -> str:
    """Typed text shown as written: Markdown's own characters escaped, one line."""
    flat = " ".join(text.split())
    return "".join("\\" + c if c in "\\`*_[]<>#|~" else c for c in flat)


def _cut(text: str, width: int = LINE_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width] + "…"


def _cn(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def _names(names: list[str]) -> str:
    return "、".join(names) or "—"


def _label(session: Session, inspection_id: int) -> tuple[Inspection, str]:
    insp = session.get(Inspection, inspection_id)
    assert insp is not None
    rnd, unit = session.get(InspectionRound, insp.round_id), session.get(Unit, insp.unit_id)
    assert rnd and unit
    return insp, f"{rnd.name}·{unit.name}"


def plan(*, session: Session, round_id: int) -> Summary:
    """方案及组成人员审批: dates, each team with its members by role and its units, recusal notes."""
    rnd = session.get(InspectionRound, round_id)
    assert rnd is not None
    teams = list(session.exec(select(Team).where(Team.round_id == round_id).order_by(col(Team.id))))
    sections, unit_count = [], 0
    for team in teams:
        people = session.exec(select(Person.name, TeamMember.role).join(TeamMember, col(TeamMember.person_id) == Person.id)
                              .where(TeamMember.team_id == team.id).order_by(col(TeamMember.id))).all()
        by_role: dict[TeamRole, list[str]] = {r: [] for r in TeamRole}
        for name, role in people:
            by_role[TeamRole(role)].append(name)
        units = list(session.exec(select(Unit.name).join(Inspection, col(Inspection.unit_id) == Unit.id)
                                  .where(Inspection.team_id == team.id).order_by(col(Inspection.id))))
        unit_count += len(units)
        sections.append(Section(team.name, (
            f"被巡察单位：{_names(units)}", *(f"{role.value}：{_names(by_role[role])}" for role in TeamRole))))
    notes = tuple(f"{name}：{'；'.join(why)}" for name, why in sorted(rnd.exclusions.items()))
    sections.append(Section("回避及未选配说明", notes or ("组成人员与被巡察单位之间无须回避的关系（已按回避制度核查）",)))
    return Summary(
        heading=f"{rnd.name}：{Gate.PLAN.value}", intro=INTRO[Gate.PLAN],
        facts=(f"巡察类型：{rnd.kind}", f"进驻时间：{_cn(rnd.start_date)} 至 {_cn(rnd.end_date)}",
               f"巡察组 {len(teams)} 个，被巡察单位 {unit_count} 个"),
        sections=tuple(sections))


def _findings(session: Session, inspection_id: int) -> list[Finding]:
    return list(session.exec(select(Finding).where(Finding.inspection_id == inspection_id).order_by(col(Finding.id))))


def _by_category(findings: list[Finding], *, listed: bool) -> tuple[Section, ...]:
    cats: dict[str, list[Finding]] = {}
    for f in findings:
        cats.setdefault(f.category, []).append(f)
    if not listed:
        return (Section("按问题类别", tuple(f"{c}：{len(fs)} 个" for c, fs in sorted(cats.items()))),) if cats else ()
    return tuple(Section(f"{c}（{len(fs)} 个）", tuple(
        _cut(f.description) + ("（已立行立改）" if f.fixed_on_site else "") + ("（共性问题）" if f.scope == "共性问题" else "")
        for f in fs)) for c, fs in sorted(cats.items()))


def _count(session: Session, model: type[Clue] | type[Petition], inspection_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(model.inspection_id == inspection_id)).one())


def _coverage(session: Session, inspection_id: int) -> tuple[tuple[str, ...], tuple[Section, ...]]:
    """The health-check indicators' coverage (#27): a fact and, when the library applies, what was
    examined and what was not (indicator names and methods: guidance, not confidential)."""
    cov = indicators.coverage(session=session, inspection_id=inspection_id)
    if not cov.has_library:
        return (), ()
    facts = (f"指标覆盖：已核查 {cov.rate()}，关联问题 {cov.findings_linked}/{cov.findings_total} 个",)
    sections: tuple[Section, ...] = (Section("已核查的指标", tuple(f"{name}：{'、'.join(methods)}（问题 {n} 个）" for name, methods, n in cov.examined)),
                Section("未核查的指标", cov.missing), Section("未使用的巡察方法", cov.methods_missing))
    if cov.gaps:
        sections += (Section("缺项说明", ("有未核查的指标或未使用的巡察方法：请在表单“缺项说明”中写明原因，否则不能提交",)),)
    return facts, sections


def stationing_done(*, session: Session, inspection_id: int) -> Summary:
    """巡察组提交报告: the findings registered so far, by category, and the indicators' coverage."""
    insp, label = _label(session, inspection_id)
    findings = _findings(session, inspection_id)
    fixed = sum(f.fixed_on_site for f in findings)
    cov_facts, cov_sections = _coverage(session, inspection_id)
    return Summary(heading=f"{label}：集中巡察（第{insp.search_count}次查找问题）", intro=INTRO[Gate.STATIONING_DONE],
                   facts=(f"已登记问题 {len(findings)} 个（其中立行立改 {fixed} 个）", *cov_facts),
                   sections=_by_category(findings, listed=False) + cov_sections)


def _coverage_for_review(session: Session, inspection_id: int) -> tuple[tuple[str, ...], tuple[Section, ...]]:
    """What the leading group weighs besides the figures: the indicators' coverage and the team's reason for gaps."""
    cov = indicators.coverage(session=session, inspection_id=inspection_id)
    if not cov.has_library:
        return (), ()
    facts = (f"指标覆盖：已核查 {cov.rate()}，未使用的巡察方法 {len(cov.methods_missing)} 种",)
    if not cov.gaps:
        return facts, ()
    return facts, (Section("巡察组的缺项说明", (cov.gap_reason or "（未填写）",
                                          *(f"未核查：{n}" for n in cov.missing),
                                          *([f"未使用：{'、'.join(cov.methods_missing)}"] if cov.methods_missing else []))),)


def report(*, session: Session, inspection_id: int) -> Summary:
    """报告审议: the report's figures (problems by category, clues, petitions) and its problems by category."""
    insp, label = _label(session, inspection_id)
    findings = _findings(session, inspection_id)
    counts = Counter(f.category for f in findings)
    fixed = sum(f.fixed_on_site for f in findings)
    cov_facts, cov_sections = _coverage_for_review(session, inspection_id)
    return Summary(
        heading=f"{label}：巡察报告审议（第{insp.search_count}次查找问题）", intro=INTRO[Gate.REPORT],
        facts=(f"发现问题 {len(findings)} 个（其中立行立改 {fixed} 个）",
               *([f"按类别：{'，'.join(f'{c} {n} 个' for c, n in sorted(counts.items()))}"] if counts else []),
               f"问题线索 {_count(session, Clue, inspection_id)} 件（内容不在此显示）",
               f"信访举报 {_count(session, Petition, inspection_id)} 件（内容不在此显示）", *cov_facts),
        sections=_by_category(findings, listed=True) + cov_sections)


def clue_transfer(*, session: Session, settings: Settings, inspection_id: int) -> Summary:
    """线索移交审批: how many clues wait and which bodies would receive how many. Counts only."""
    _, label = _label(session, inspection_id)
    kinds = list(session.exec(select(Clue.kind).where(Clue.inspection_id == inspection_id,
                                                      Clue.status == ClueStatus.PENDING)))
    to = Counter(RECEIVERS.get(settings.clue_routes.get(ClueKind(k).value, ""), "（未配置接收单位）") for k in kinds)
    urgent = int(session.exec(select(func.count()).select_from(Clue).where(
        Clue.inspection_id == inspection_id, col(Clue.urgent).is_(True), Clue.status != ClueStatus.PENDING)).one())
    return Summary(
        heading=f"{label}：{Gate.CLUE_TRANSFER.value}", intro=INTRO[Gate.CLUE_TRANSFER],
        facts=(f"待移交问题线索 {len(kinds)} 件", f"集中巡察期间已边巡边移 {urgent} 件"),
        sections=(Section("接收单位及件数", tuple(f"{r}：{n} 件" for r, n in sorted(to.items()))),))


def _items(session: Session, inspection_id: int, *statuses: ItemStatus) -> list[tuple[RectificationItem, Finding]]:
    q = (select(RectificationItem, Finding).join(Finding, col(Finding.id) == RectificationItem.finding_id)
         .where(RectificationItem.inspection_id == inspection_id).order_by(col(RectificationItem.id)))
    if statuses:
        q = q.where(col(RectificationItem.status).in_(statuses))
    return list(session.exec(q).all())


def rect_plan(*, session: Session, inspection_id: int) -> Summary:
    """整改方案审核: each open item with the plan's measure, owner and deadline."""
    _, label = _label(session, inspection_id)
    rows = _items(session, inspection_id, ItemStatus.NOT_STARTED, ItemStatus.IN_PROGRESS, ItemStatus.PENDING_CHECK)
    return Summary(
        heading=f"{label}：{Gate.RECT_PLAN.value}", intro=INTRO[Gate.RECT_PLAN],
        facts=(f"单位已报送整改方案，整改事项 {len(rows)} 项",),
        sections=tuple(Section(f"{i.id}号 {_cut(f.description, 60)}", (
            f"整改措施：{_cut(i.measure, 200) or '（未填写）'}", f"责任人：{i.owner or '—'}", f"完成时限：{_cn(i.deadline)}"))
            for i, f in rows))


def close_out(*, session: Session, inspection_id: int) -> Summary:
    """整改销号: the items the unit reports done (已完成待核), with what it did; the rest counted."""
    _, label = _label(session, inspection_id)
    ready = _items(session, inspection_id, ItemStatus.PENDING_CHECK)
    still = len(_items(session, inspection_id, ItemStatus.NOT_STARTED, ItemStatus.IN_PROGRESS))
    return Summary(
        heading=f"{label}：{Gate.CLOSE_OUT.value}", intro=INTRO[Gate.CLOSE_OUT],
        facts=(f"申请销号（已完成待核）{len(ready)} 项", f"仍在整改 {still} 项"),
        sections=tuple(Section(f"{i.id}号 {_cut(f.description, 60)}", (
            f"采取的措施：{_cut(i.measure, 200) or '（未填写）'}", f"佐证材料：{_cut(i.evidence, 200) or '（未填写）'}",
            f"新建制度：{i.rules_made} 项")) for i, f in ready))


def gate_summary(*, session: Session, settings: Settings, gate: Gate, round_id: int | None,
                 inspection_id: int | None) -> Summary | None:
    """The summary of a round's or a unit's gate as the database says now; None for gates it
    does not describe (their flows write their own forms)."""
    if gate is Gate.PLAN and round_id is not None:
        return plan(session=session, round_id=round_id)
    if inspection_id is None:
        return None

    match gate:
        case Gate.STATIONING_DONE:
            return stationing_done(session=session, inspection_id=inspection_id)
        case Gate.REPORT:
            return report(session=session, inspection_id=inspection_id)
        case Gate.CLUE_TRANSFER:
            return clue_transfer(session=session, settings=settings, inspection_id=inspection_id)
        case Gate.RECT_PLAN:
            return rect_plan(session=session, inspection_id=inspection_id)
        case Gate.CLOSE_OUT:
            return close_out(session=session, inspection_id=inspection_id)
    return None


def gate_text(*, session: Session, settings: Settings, gate: Gate, round_id: int | None,
              inspection_id: int | None) -> str:
    """The Resume form's description: the summary in Markdown (empty for gates it does not describe)."""
    summary = gate_summary(session=session, settings=settings, gate=gate, round_id=round_id, inspection_id=inspection_id)
    return summary.markdown() if summary else ""
