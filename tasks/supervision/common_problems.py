"""共性问题 on the domain level: when a round's common problems are grouped, what is proposed,
how the office confirms them (分管领导领办制), the guard that keeps a unit from archiving before
its common findings are led, their supervision until their own close-out, and that close-out.

When: once every unit of a round under way has passed 报告审议 (reached 巡察反馈 or later), a
grouping (共性问题归类) is registered for the findings the sheet marked 共性问题 and started by
itself (the unit flow that saw the last report approved, or the relay's housekeeping); units
cannot leave rectification before it (`close_out_refusal`). Common findings that arrive after a
confirmation (a look-back's) register another grouping of those findings only, which may join a
confirmed common problem of the same category. One grouping of a round is open at a time.

What: only findings marked 共性问题 are proposed, one group per category (the grouping key); a
category marked common in one unit only is still proposed, flagged. Titles are whole findings'
wording without the unit's name, brackets balanced, never cut.

Confirming validates the whole submission first (nothing is written when any group is wrong,
departments included: they must be units of kind 部门 in the org data), then creates one
`CommonProblem` per group, links its findings (and their rectification items, now or when they
are created), writes the letter 《关于落实巡察整改工作任务的函》 to the leader in charge, who
supervises the items (督办人), and tells the responsible departments. A proposed finding the
office leaves out of every group becomes 个性问题, supervised by its unit's liaison leader.
Findings of an archived unit are read-only: a group that would change them is refused.
Confirming the same groups again changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from difflib import SequenceMatcher
from typing import Any

from sqlmodel import Session, col, select

from models.access import Action, require
from models.db import get_or_raise
from models.enums import (
    CommonProblemStatus,
    FindingScope,
    GroupingStatus,
    ItemStatus,
    Pool,
    Role,
    RoundStatus,
    Stage,
    UnitKind,
)
from models.errors import DomainError, NotFound
from models.forms import CommonGroupIn
from models.settings import Settings
from models.tables import (
    CommonGrouping,
    CommonProblem,
    Finding,
    Inspection,
    InspectionRound,
    Person,
    RectificationItem,
    Unit,
)
from models.text import SHORT_MAX
from models.transitions import COMMON_PROBLEMS, GROUPINGS, reached
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event
from tasks.lifecycle.rounds import get_round
from tasks.ops.run_names import run_name
from tasks.records.common_letter import common_task_letter

SIMILARITY = 0.8
LETTER = "【关于落实巡察整改工作任务的函】"
SINGLE_UNIT_NOTE = "仅在一个单位发现：请补充其他单位的同类问题，或改为个性问题"
JOIN_NOTE = "并入已确认的共性问题，由分管领导{leader}领办"
GROUPING_KIND = "共性问题归类"  # the run's name: 共性问题归类·<轮次>·第N次 (flows/supervision/group_common_problems.py too)


# Wording ------------------------------------------------------------------------------------

# Opening bracket or quote -> its closing one. A title keeps a bracket that closes one inside it.
PAIRS = {"（": "）", "(": ")", "【": "】", "[": "]", "「": "」", "『": "』", "“": "”", "‘": "’", "《": "》",
         "〈": "〉", "〔": "〕", "{": "}", "［": "］", "｛": "｝"}
CLOSERS = {v: k for k, v in PAIRS.items()}


def _loose(c: str) -> bool:
    return c.isspace() or unicodedata.category(c)[0] in "PS"


def normalise(description: str, unit_name: str) -> str:
    """The wording to compare: without the unit's own name, punctuation, symbols and whitespace."""
    text = unicodedata.normalize("NFKC", description)
    name = unicodedata.normalize("NFKC", unit_name)
    if name:
        text = text.replace(name, "")
    return "".join(c for c in text if not _loose(c)).lower()


def similar(a: str, b: str) -> bool:
    """Same normalised wording, or a difflib ratio of at least 0.8 (cheap upper bounds first)."""
    if a == b:
        return True
    if not a or not b:
        return False
    m = SequenceMatcher(None, a, b, autojunk=False)
    return m.real_quick_ratio() >= SIMILARITY and m.quick_ratio() >= SIMILARITY and m.ratio() >= SIMILARITY


_EMPTY_BRACKETS = re.compile(r"[（(【\[「“\"]\s*[）)】\]」”\"]")


def _balance(text: str) -> str:
    """Every bracket closed: a closer without its opener is dropped, an opener left open is
    closed at the end (a description cut short by whoever typed it still reads whole)."""
    out: list[str] = []
    stack: list[str] = []
    for c in text:
        if c in PAIRS:
            stack.append(c)
        elif c in CLOSERS:
            if CLOSERS[c] not in stack:
                continue
            while stack and stack[-1] != CLOSERS[c]:  # close what was left open inside
                out.append(PAIRS[stack.pop()])
            stack.pop()
        out.append(c)
    out.extend(PAIRS[o] for o in reversed(stack))
    return "".join(out)


def _trim(text: str) -> str:
    """Without punctuation, symbols and spaces at either edge, except the brackets and quotes
    that open or close a part of the text (`…不到位（问题1）` keeps its closing bracket)."""
    text = _balance(text)
    start, end = 0, len(text)
    while start < end and _loose(text[start]) and not (text[start] in PAIRS and PAIRS[text[start]] in text[start + 1:end]):
        start += 1
    while end > start and _loose(text[end - 1]) and not (text[end - 1] in CLOSERS and CLOSERS[text[end - 1]] in text[start:end - 1]):
        end -= 1
    return _balance(text[start:end])


def title_text(description: str, unit_name: str) -> str:
    """A description fit for a common title: without the unit's name and what it leaves dangling
    (empty brackets, edge punctuation, a leading 的), its brackets balanced; never cut."""
    text = description.replace(unit_name, "") if unit_name else description
    text = " ".join(_EMPTY_BRACKETS.sub("", text).split())
    text = _trim(_trim(text).removeprefix("的"))
    return text or _balance(" ".join(description.split()))


def _ratio(a: str, b: str) -> float:
    return 1.0 if a == b else SequenceMatcher(None, a, b, autojunk=False).ratio()


# When: the round's reports are approved ---------------------------------------------------


def reports_approved(*, session: Session, round_id: int) -> bool:
    """Every unit of the round has passed 报告审议 (reached 巡察反馈 or later)."""
    stages = session.exec(select(Inspection.stage).where(Inspection.round_id == round_id)).all()
    return bool(stages) and all(reached(Stage(s), Stage.FEEDBACK) for s in stages)


def pending_common_findings(*, session: Session, round_id: int) -> list[int]:
    """Findings the sheet (or the office) marked 共性问题, to be rectified, in no confirmed common
    problem yet, of the round's units not archived: what a grouping proposes."""
    return [i for i in session.exec(
        select(Finding.id).join(Inspection, col(Inspection.id) == Finding.inspection_id)
        .where(Inspection.round_id == round_id, Inspection.stage != Stage.ARCHIVED,
               Finding.scope == FindingScope.COMMON, col(Finding.fixed_on_site).is_(False),
               col(Finding.common_problem_id).is_(None))
        .order_by(col(Finding.id))) if i is not None]


def register_due(*, session: Session, now: datetime, round_id: int | None = None) -> list[CommonGrouping]:
    """Register the grouping each round under way is due (all its reports approved, common findings
    pending, no grouping of it open); returns those registered now. Idempotent: called by every
    unit flow past 报告审议 and by the relay, it registers a round's grouping once (a racing
    second insert hits the (round, attempt) constraint and its caller retries)."""
    # A finished round (every unit archived, or retired) has nothing left to group.
    q = select(InspectionRound.id).where(InspectionRound.status != RoundStatus.DONE)
    if round_id is not None:
        q = q.where(InspectionRound.id == round_id)
    registered = []
    for rid in [r for r in session.exec(q.order_by(col(InspectionRound.id))) if r is not None]:
        attempts = list(session.exec(select(CommonGrouping).where(CommonGrouping.round_id == rid)))
        if any(a.status != GroupingStatus.CONFIRMED for a in attempts) or not reports_approved(session=session, round_id=rid):
            continue
        ids = pending_common_findings(session=session, round_id=rid)
        if not ids:
            continue
        g = CommonGrouping(round_id=rid, attempt=max((a.attempt for a in attempts), default=0) + 1, finding_ids=ids,
                           registered_at=now)
        session.add(g)
        session.flush()
        record_event(session=session, actor="系统", action="发起共性问题归类", entity="common_grouping", entity_id=g.id,
                     now=now, detail={"round": rid, "attempt": g.attempt, "finding_ids": ids})
        registered.append(g)
    return registered


def to_start(*, session: Session) -> list[int]:
    """Groupings registered whose flow run has not been started yet (the relay starts them)."""
    return [i for i in session.exec(select(CommonGrouping.id).where(CommonGrouping.status == GroupingStatus.REGISTERED)
                                    .order_by(col(CommonGrouping.id))) if i is not None]


def get_grouping(session: Session, grouping_id: int) -> CommonGrouping:
    g = get_or_raise(session, CommonGrouping, grouping_id, "共性问题归类")
    return g


def grouping_run(*, session: Session, grouping_id: int) -> tuple[str, int, str]:
    """(round name, attempt, run name) to start a grouping's run with."""
    g = get_grouping(session, grouping_id)
    rnd = get_round(session=session, round_id=g.round_id)
    return rnd.name, g.attempt, run_name(GROUPING_KIND, rnd.name, f"第{g.attempt}次")


def mark_started(*, session: Session, grouping_id: int, flow_run_id: str) -> None:
    g = get_grouping(session, grouping_id)
    g.flow_run_id = g.flow_run_id or flow_run_id
    if g.status == GroupingStatus.REGISTERED:
        GROUPINGS.move(g, GroupingStatus.STARTED)
    session.add(g)
    session.flush()


def grouping_for_run(*, session: Session, round_name: str, attempt: int | None, flow_run_id: str,
                     now: datetime) -> CommonGrouping | None:
    """The grouping a run of 共性问题归类 works on: the attempt it was started for, or (started
    by hand) the round's open one, registered now if due. None when there is nothing to group."""
    rnd = session.exec(select(InspectionRound).where(InspectionRound.name == round_name)).first()
    if rnd is None or rnd.id is None:
        raise DomainError(f"未知的巡察轮次：{round_name}")
    if attempt is None:
        register_due(session=session, now=now, round_id=rnd.id)
        g = session.exec(select(CommonGrouping).where(CommonGrouping.round_id == rnd.id)
                         .order_by(col(CommonGrouping.attempt).desc())).first()
        if g is None or g.status == GroupingStatus.CONFIRMED:
            return None
    else:
        g = session.exec(select(CommonGrouping).where(CommonGrouping.round_id == rnd.id,
                                                      CommonGrouping.attempt == attempt)).first()
        if g is None:
            raise NotFound(f"{round_name}：第{attempt}次共性问题归类不存在")
    if g.status != GroupingStatus.CONFIRMED and not g.flow_run_id:
        assert g.id is not None
        mark_started(session=session, grouping_id=g.id, flow_run_id=flow_run_id)
    return g


def waiting_reason(*, session: Session, round_id: int) -> str:
    """Why no grouping is proposed yet for this round (for a run started by hand), or empty."""
    rows = session.exec(select(Unit.name, Inspection.stage).join(Inspection, col(Inspection.unit_id) == Unit.id)
                        .where(Inspection.round_id == round_id).order_by(col(Unit.name))).all()
    early = [f"{n}（{Stage(s).value}）" for n, s in rows if not reached(Stage(s), Stage.FEEDBACK)]
    if early:
        return f"尚有单位未通过报告审议：{'、'.join(early)}。全部报告审议通过后自动发起共性问题归类"
    return ""


# Proposals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupProposal:
    """A suggested common problem; `flagged` when it spans one unit only (see `note`); `joins`
    the confirmed common problem its findings are proposed to join (its leader and departments)."""

    category: str
    title: str
    finding_ids: list[int]
    unit_names: list[str]
    flagged: bool = False
    note: str = ""
    joins: int | None = None
    leader_in_charge: str = ""
    departments: tuple[str, ...] = ()

    def to_input(self) -> CommonGroupIn:
        """The confirmation form row this proposal prefills (a new group's leader and departments left to fill)."""
        return CommonGroupIn(category=self.category, title=self.title, leader_in_charge=self.leader_in_charge,
                             departments=list(self.departments), finding_ids=list(self.finding_ids))


@dataclass
class _Row:
    finding: Finding
    unit: str
    key: str = field(default="")


def _best_title(rows: list[_Row], category: str) -> str:
    """The wording closest to all the others (the most shared one), then the shortest, then the
    oldest; each whole. A category whose every wording is too long for a title is named by itself."""
    candidates = [(r, t) for r in rows for t in [title_text(r.finding.description, r.unit)] if len(t) <= SHORT_MAX]
    if not candidates:
        return f"{category}方面的共性问题"[:SHORT_MAX]
    keys = [r.key for r, _ in candidates]
    scored = [(-sum(_ratio(k, other) for other in keys), len(t), r.finding.id or 0, t)
              for (r, t), k in zip(candidates, keys, strict=True)]
    return min(scored)[3]


def propose_groups(*, session: Session, round_id: int, finding_ids: list[int] | None = None) -> list[GroupProposal]:
    """One proposal per category of the findings marked 共性问题 that no confirmed common problem
    holds yet (of `finding_ids` only, when given: a grouping's findings). Findings marked 个性问题
    are never proposed. A category with an open confirmed common problem is proposed to join it;
    otherwise a category found in one unit only is proposed flagged. Ordered: groups that span
    units (or join) first, then by their first finding."""
    get_round(session=session, round_id=round_id)
    pending = pending_common_findings(session=session, round_id=round_id)
    wanted = set(pending if finding_ids is None else finding_ids) & set(pending)
    rows = [
        _Row(finding=f, unit=unit, key=normalise(f.description, unit))
        for f, unit in session.exec(
            select(Finding, Unit.name).join(Inspection, col(Inspection.id) == Finding.inspection_id)
            .join(Unit, col(Unit.id) == Inspection.unit_id)
            .where(col(Finding.id).in_(sorted(wanted))).order_by(col(Finding.id))).all()
    ]
    open_problems: dict[str, CommonProblem] = {}
    for cp in session.exec(select(CommonProblem).where(CommonProblem.round_id == round_id,
                                                       CommonProblem.status == CommonProblemStatus.SUPERVISING)
                           .order_by(col(CommonProblem.id))):
        open_problems.setdefault(cp.category, cp)
    by_category: dict[str, list[_Row]] = {}
    for r in rows:
        by_category.setdefault(r.finding.category.strip(), []).append(r)
    proposals = []
    for category, group in by_category.items():
        ids = [r.finding.id for r in group if r.finding.id is not None]
        units = list(dict.fromkeys(r.unit for r in group))
        joins = open_problems.get(category)
        if joins is not None:
            proposals.append(GroupProposal(
                category=category, title=joins.title, finding_ids=ids, unit_names=units, joins=joins.id,
                note=JOIN_NOTE.format(leader=joins.leader_in_charge), leader_in_charge=joins.leader_in_charge,
                departments=tuple(joins.departments)))
            continue
        flagged = len(units) < 2
        proposals.append(GroupProposal(category=category, title=_best_title(group, category), finding_ids=ids,
                                       unit_names=units, flagged=flagged, note=SINGLE_UNIT_NOTE if flagged else ""))
    return sorted(proposals, key=lambda p: (p.flagged, p.finding_ids[0]))


def leader_choices(*, session: Session) -> dict[str, str]:
    """Who may lead a common problem (the org data's 分管领导), by name, with their own unit ('' for none)."""
    rows = session.exec(select(Person.name, Person.pools, Unit.name).join(
        Unit, col(Unit.id) == Person.unit_id, isouter=True).order_by(col(Person.id))).all()
    return {name: unit or "" for name, pools, unit in rows if Pool.COMMON_LEADER.value in (pools or [])}


def department_choices(*, session: Session) -> list[str]:
    """The units of kind 部门 in the org data: what 责任部门 may name."""
    return list(session.exec(select(Unit.name).where(Unit.kind == UnitKind.DEPARTMENT).order_by(col(Unit.id))))


def default_leader(leaders: dict[str, str], unit_names: list[str]) -> str:
    """The first leader in charge who belongs to none of the group's units ('' when none may)."""
    return next((name for name, own in leaders.items() if own not in unit_names), "")


def proposal_line(p: GroupProposal) -> str:
    """One line of the confirmation form's description."""
    ids = "、".join(map(str, p.finding_ids))
    return f"{p.category}｜{p.title}：{'、'.join(p.unit_names)}（问题{ids}）" + (f"——{p.note}" if p.note else "")


# Confirmation -------------------------------------------------------------------------------


def _label(n: int, g: CommonGroupIn) -> str:
    return f"第{n}组“{g.title}”" if g.title else f"第{n}组"


def _department_problems(label: str, names: list[str], kinds: dict[str, str]) -> list[str]:
    unknown = [d for d in names if d not in kinds]
    problems = []
    if unknown:
        problems.append(f"{label}：责任部门{'、'.join(f'“{d}”' for d in unknown)}不在组织数据中"
                        "（须为组织数据中类型为“部门”的单位，可先用 load-org 导入）")
    problems += [f"{label}：“{d}”是{UnitKind(kinds[d]).value}，不是部门，不能作为责任部门"
                 for d in names if d in kinds and kinds[d] != UnitKind.DEPARTMENT]
    return problems


def _grouping(session: Session, round_id: int, attempt: int | None) -> CommonGrouping | None:
    if attempt is None:
        return None
    g = session.exec(select(CommonGrouping).where(CommonGrouping.round_id == round_id,
                                                  CommonGrouping.attempt == attempt)).first()
    if g is None:
        raise NotFound(f"第{attempt}次共性问题归类不存在")
    return g


@dataclass
class _Known:
    """What the checks of one confirmation read from the database, and its writing uses."""

    existing: dict[tuple[str, str], CommonProblem]  # the round's confirmed problems by (category, title)
    prior_members: dict[int, list[int]]  # confirmed problem id -> its findings (of the groups named again)
    found: dict[Any, tuple[Finding, str, int]]  # finding id -> (finding, unit name, round id)
    round_names: dict[int | None, str]
    archived: set[int | None]  # findings of archived units
    leaders: dict[str, Person]
    kinds: dict[str, str]  # unit name -> kind, of the departments named
    unit_names: dict[int, str]  # unit id -> name, of the leaders' own units
    items: dict[int, RectificationItem]  # finding id -> its item
    other_problems: dict[int | None, CommonProblem]  # problems the findings belong to already

    def prior(self, g: CommonGroupIn) -> CommonProblem | None:
        return self.existing.get((g.category, g.title))

    def problem_title(self, problem_id: int) -> str:
        other = self.other_problems.get(problem_id) or next(
            (c for c in self.existing.values() if c.id == problem_id), None)
        return other.title if other else str(problem_id)


def _read_known(session: Session, round_id: int, groups: list[CommonGroupIn]) -> _Known:
    existing = {(c.category, c.title): c for c in session.exec(
        select(CommonProblem).where(CommonProblem.round_id == round_id).order_by(col(CommonProblem.id)))}
    priors = [existing[(g.category, g.title)] for g in groups if (g.category, g.title) in existing]
    prior_members: dict[int, list[int]] = {}
    for fid, cpid in session.exec(select(Finding.id, Finding.common_problem_id).where(
            col(Finding.common_problem_id).in_([c.id for c in priors])).order_by(col(Finding.id))).all():
        prior_members.setdefault(cpid or 0, []).append(fid or 0)
    all_ids = sorted({i for g in groups for i in g.finding_ids} | {i for ids in prior_members.values() for i in ids})
    found = {f.id: (f, unit, rid) for f, unit, rid in session.exec(
        select(Finding, Unit.name, Inspection.round_id)
        .join(Inspection, col(Inspection.id) == Finding.inspection_id)
        .join(Unit, col(Unit.id) == Inspection.unit_id)
        .where(col(Finding.id).in_(all_ids))
    ).all()}
    other_ids = {f.common_problem_id for f, _, _ in found.values() if f.common_problem_id is not None}
    return _Known(
        existing=existing, prior_members=prior_members, found=found,
        round_names=dict(session.exec(select(InspectionRound.id, InspectionRound.name)).all()),
        archived=set(session.exec(select(Finding.id).join(Inspection, col(Inspection.id) == Finding.inspection_id)
                                  .where(col(Finding.id).in_(all_ids), Inspection.stage == Stage.ARCHIVED)).all()),
        leaders={p.name: p for p in session.exec(
            select(Person).where(col(Person.name).in_([g.leader_in_charge for g in groups])))},
        kinds=dict(session.exec(select(Unit.name, Unit.kind).where(
            col(Unit.name).in_(sorted({d for g in groups for d in g.departments})))).all()),
        unit_names={i or 0: n for i, n in session.exec(select(Unit.id, Unit.name).join(
            Person, col(Person.unit_id) == Unit.id).where(col(Person.name).in_([g.leader_in_charge for g in groups])))},
        items={i.finding_id: i for i in session.exec(
            select(RectificationItem).where(col(RectificationItem.finding_id).in_(all_ids)))},
        other_problems={c.id: c for c in session.exec(select(CommonProblem).where(col(CommonProblem.id).in_(other_ids)))},
    )


def _heading_problems(label: str, n: int, g: CommonGroupIn, prior: CommonProblem | None, known: _Known,
                      seen_titles: dict[tuple[str, str], int]) -> list[str]:
    """The group's name, category, leader in charge and departments."""
    problems = []
    if not g.title:
        problems.append(f"{label}：未填写共性问题名称")
    if not g.category:
        problems.append(f"{label}：未填写问题类别")
    if g.title and g.category:
        if (g.category, g.title) in seen_titles:
            problems.append(f"{label}：与第{seen_titles[(g.category, g.title)]}组的问题类别和名称相同")
        seen_titles.setdefault((g.category, g.title), n)
    if not g.leader_in_charge:
        problems.append(f"{label}：未填写分管领导")
    elif g.leader_in_charge not in known.leaders:
        problems.append(f"{label}：分管领导“{g.leader_in_charge}”不在人员名单中")
    elif prior is None:  # a confirmed problem's leader was checked when it was confirmed
        leader = known.leaders[g.leader_in_charge]
        own = known.unit_names.get(leader.unit_id or 0, "")
        if Pool.COMMON_LEADER.value not in leader.pools:
            problems.append(f"{label}：“{leader.name}”不是组织数据中可领办共性问题的分管领导（人员的“库”须含“分管领导”）")
        elif own and own in {known.found[i][1] for i in g.finding_ids if i in known.found}:
            problems.append(f"{label}：分管领导“{leader.name}”是{own}的人员，不能领办涉及本单位的共性问题")
    if prior is None:  # a confirmed problem's departments were checked when it was confirmed
        problems += _department_problems(label, g.departments, known.kinds)
    return problems


def _finding_problems(label: str, n: int, g: CommonGroupIn, prior: CommonProblem | None, known: _Known,
                      round_id: int, first_group: dict[int, int]) -> list[str]:
    """The group's findings: at least two, of this round, of two units or more, each in one group
    only, none of an archived unit or of another (or closed) common problem."""
    problems = []
    ids = list(dict.fromkeys(g.finding_ids))
    if len(ids) < len(g.finding_ids):
        repeated = sorted({i for i in g.finding_ids if g.finding_ids.count(i) > 1})
        problems.append(f"{label}：问题编号{'、'.join(map(str, repeated))}重复填写")
    members = list(dict.fromkeys((known.prior_members.get(prior.id or 0, []) if prior else []) + ids))
    if len(members) < 2:
        problems.append(f"{label}：共性问题至少应包含两个问题，实为{len(members)}个")
    for i in ids:
        if i not in known.found:
            problems.append(f"{label}：问题编号{i}不存在")
            continue
        f, unit, rid = known.found[i]
        if rid != round_id:
            problems.append(f"{label}：问题编号{i}不属于本轮巡察（属于“{known.round_names.get(rid, rid)}”）")
            continue
        if i in first_group:
            problems.append(f"{label}：问题编号{i}已列入第{first_group[i]}组，同一问题不能列入两个共性问题")
        else:
            first_group[i] = n
        joined = prior is not None and f.common_problem_id == prior.id
        if i in known.archived and not joined:
            problems.append(f"{label}：问题编号{i}所属的“{unit}”已归档，不能修改")
        if f.common_problem_id is not None and not joined:
            problems.append(f"{label}：问题编号{i}已归入共性问题“{known.problem_title(f.common_problem_id)}”")
        elif prior is not None and not joined and prior.status == CommonProblemStatus.CLOSED:
            problems.append(f"{label}：共性问题“{prior.title}”已销号，不能再归入问题编号{i}")
    member_units = [known.found[i][1] for i in members if i in known.found and known.found[i][2] == round_id]
    if len(members) >= 2 and len(member_units) == len(members) and len(set(member_units)) < 2:
        problems.append(f"{label}：所列问题均属于“{member_units[0]}”，共性问题应涉及两个以上单位")
    return problems


def _check_groups(*, session: Session, round_id: int, groups: list[CommonGroupIn], confirmed_by: str,
                  grouping: CommonGrouping | None) -> _Known:
    """Every problem of the submission at once (DomainError listing them), or what was read to
    check it."""
    if not groups and grouping is None:
        raise DomainError("共性问题未确认（未写入任何内容）", ["未填写任何共性问题"])
    problems: list[str] = []
    if not confirmed_by.strip():
        problems.append("未填写确认人")
    known = _read_known(session, round_id, groups)
    first_group: dict[int, int] = {}
    seen_titles: dict[tuple[str, str], int] = {}
    for n, g in enumerate(groups, 1):
        label, prior = _label(n, g), known.prior(g)
        problems += _heading_problems(label, n, g, prior, known, seen_titles)
        problems += _finding_problems(label, n, g, prior, known, round_id, first_group)
        if prior is not None and (prior.leader_in_charge, prior.departments) != (g.leader_in_charge, g.departments):
            problems.append(
                f"{label}：该共性问题已确认（分管领导：{prior.leader_in_charge}，责任部门：{'、'.join(prior.departments) or '无'}），"
                "与本次填写不一致")
    if problems:
        raise DomainError("共性问题未确认（未写入任何内容）", problems)
    return known


def confirm_groups(
    *, session: Session, settings: Settings, round_id: int, groups: list[CommonGroupIn], confirmed_by: str,
    now: datetime, link: str, attempt: int | None = None,
) -> list[CommonProblem]:
    """Confirm common problems for a round; any bad group refuses the whole submission, listing
    every problem. Idempotent: a group already confirmed (same category and title) keeps its row
    and its letter; findings added to it (a later unit's) get a new version of the letter.
    With `attempt` (a grouping's form), no group at all is an answer too, and the grouping's
    findings left out of every group become 个性问题."""
    rnd = get_round(session=session, round_id=round_id)
    grouping = _grouping(session, round_id, attempt)
    known = _check_groups(session=session, round_id=round_id, groups=groups, confirmed_by=confirmed_by,
                          grouping=grouping)
    return _apply_groups(session=session, settings=settings, rnd=rnd, groups=groups, known=known, grouping=grouping,
                         confirmed_by=confirmed_by.strip(), now=now, link=link)


def _apply_groups(
    *, session: Session, settings: Settings, rnd: InspectionRound, groups: list[CommonGroupIn], known: _Known,
    grouping: CommonGrouping | None, confirmed_by: str, now: datetime, link: str,
) -> list[CommonProblem]:
    """Write a checked submission: each group's problem, then the grouping settled."""
    confirmed = [_confirm_one(session=session, settings=settings, rnd=rnd, g=g, prior=known.prior(g),
                              leader=known.leaders[g.leader_in_charge], found=known.found, items=known.items,
                              confirmed_by=confirmed_by, now=now, link=link) for g in groups]
    if grouping is not None:
        grouped = {i for g in groups for i in g.finding_ids}  # all of this round, once checked
        _settle_grouping(session=session, grouping=grouping, grouped=grouped, by=confirmed_by, now=now)
    session.flush()
    return confirmed


def _confirm_one(
    *, session: Session, settings: Settings, rnd: InspectionRound, g: CommonGroupIn, prior: CommonProblem | None,
    leader: Person, found: dict[Any, tuple[Finding, str, int]], items: dict[int, RectificationItem], confirmed_by: str,
    now: datetime, link: str,
) -> CommonProblem:
    """Write one validated group: the common problem (new or confirmed before), its findings and
    items linked to it and led by the leader in charge, its letter, its alerts."""
    ids = list(dict.fromkeys(g.finding_ids))
    created = prior is None
    cp = prior
    if cp is None:
        cp = CommonProblem(round_id=rnd.id or 0, category=g.category, title=g.title, leader_in_charge=leader.name,
                           departments=list(g.departments), confirmed_by=confirmed_by, created_at=now)
        session.add(cp)
        session.flush()
    assert cp.id is not None
    changed: list[int] = []
    joined = [i for i in ids if found[i][0].common_problem_id is None]
    for i in ids:
        f = found[i][0]
        if (f.scope, f.common_problem_id) != (FindingScope.COMMON, cp.id):
            f.scope, f.common_problem_id = FindingScope.COMMON, cp.id
            session.add(f)
            changed.append(i)
        item = items.get(i)
        if item is not None and (item.common_problem_id, item.responsible_leader_id, item.supervisor) != (
                cp.id, leader.id, leader.name):
            # 领办: the leader in charge supervises the item instead of the unit's liaison leader.
            item.common_problem_id, item.responsible_leader_id, item.supervisor = cp.id, leader.id, leader.name
            session.add(item)
            changed.append(i)
    if joined and not created:
        cp.letter_version += 1  # a later unit's findings: the letter is written again with them
        session.add(cp)
    session.flush()
    members = [(f, unit) for f, unit in session.exec(
        select(Finding, Unit.name).join(Inspection, col(Inspection.id) == Finding.inspection_id)
        .join(Unit, col(Unit.id) == Inspection.unit_id).where(Finding.common_problem_id == cp.id)
        .order_by(col(Finding.id))).all()]
    units = list(dict.fromkeys(unit for _, unit in members))
    if created or changed:
        action = "确认共性问题" if created else ("共性问题增补问题" if joined else "共性问题关联整改事项")
        record_event(session=session, actor=confirmed_by, action=action, entity="common_problem", entity_id=cp.id, now=now,
                     detail={"round": rnd.id, "title": cp.title, "category": cp.category, "finding_ids": ids,
                             "changed": sorted(set(changed)), "leader": cp.leader_in_charge,
                             "departments": cp.departments, "units": units, "letter_version": cp.letter_version})
    common_task_letter(session=session, settings=settings, problem=cp, units=units, version=cp.letter_version,
                       findings=[(unit, f.description) for f, unit in members], now=now)
    suffix = "" if cp.letter_version == 1 else f":{cp.letter_version}"
    added = "" if cp.letter_version == 1 else f"（第{cp.letter_version}稿：增补{len(joined)}个问题）"
    enqueue_alert(
        session=session, settings=settings, key=f"common-problem:{cp.id}{suffix}", role=Role.RESPONSIBLE_DEPARTMENT,
        title=LETTER, link=link, now=now,
        body=(f"{rnd.name}：共性问题“{cp.title}”（{cp.category}）涉及{len(units)}个单位（{'、'.join(units)}），"
              f"由分管领导{cp.leader_in_charge}领办，责任部门：{'、'.join(cp.departments) or '待明确'}{added}。"
              "请按照“谁主管、谁负责”的原则牵头推动整改，并按时报送整改进展。"),
    )
    enqueue_alert(
        session=session, settings=settings, key=f"common-leader:{cp.id}:{cp.letter_version}", role=Role.LEADER_IN_CHARGE,
        person=leader, title=LETTER, link=link, now=now,
        body=(f"{rnd.name}：请领办共性问题“{cp.title}”（{cp.category}）{added}，涉及{len(units)}个单位（{'、'.join(units)}）、"
              f"{len(members)}个问题，责任部门：{'、'.join(cp.departments) or '待明确'}。各单位该问题的整改事项由您督办，"
              "直至该共性问题销号。"),
    )
    return cp


def _settle_grouping(*, session: Session, grouping: CommonGrouping, grouped: set[int], by: str, now: datetime) -> None:
    """The grouping's findings the office left out of every group are 个性问题 from now on, supervised
    by their unit's liaison leader; the grouping is confirmed."""
    left = [f for f in session.exec(
        select(Finding).join(Inspection, col(Inspection.id) == Finding.inspection_id)
        .where(col(Finding.id).in_(grouping.finding_ids), Inspection.stage != Stage.ARCHIVED,
               Finding.scope == FindingScope.COMMON, col(Finding.common_problem_id).is_(None))
        .order_by(col(Finding.id))) if f.id not in grouped]
    for f in left:
        f.scope = FindingScope.INDIVIDUAL
        session.add(f)
        item = session.exec(select(RectificationItem).where(RectificationItem.finding_id == f.id)).first()
        insp = session.get(Inspection, f.inspection_id)
        unit = session.get(Unit, insp.unit_id) if insp else None
        liaison = session.get(Person, unit.liaison_leader_id) if unit and unit.liaison_leader_id else None
        if item is not None and item.common_problem_id is None:
            item.responsible_leader_id, item.supervisor = (liaison.id, liaison.name) if liaison else (None, "")
            session.add(item)
    if left:
        record_event(session=session, actor=by, action="共性问题改为个性问题", entity="common_grouping",
                     entity_id=grouping.id, now=now, detail={"finding_ids": [f.id for f in left]})
    if grouping.status != GroupingStatus.CONFIRMED:
        GROUPINGS.move(grouping, GroupingStatus.CONFIRMED)
        grouping.confirmed_at = now
        session.add(grouping)


def settle_empty(*, session: Session, grouping_id: int, now: datetime) -> None:
    """A grouping whose findings were all settled before its run asked (nothing left to propose)."""
    g = get_grouping(session, grouping_id)
    _settle_grouping(session=session, grouping=g, grouped=set(), by="系统", now=now)
    session.flush()


# The archive guard --------------------------------------------------------------------------


def unconfirmed_common_findings(*, session: Session, inspection_id: int) -> list[int]:
    """The unit's findings marked 共性问题, to be rectified, not in a confirmed common problem."""
    return [i for i in session.exec(select(Finding.id).where(
        Finding.inspection_id == inspection_id, Finding.scope == FindingScope.COMMON,
        col(Finding.fixed_on_site).is_(False), col(Finding.common_problem_id).is_(None)).order_by(col(Finding.id)))
        if i is not None]


def close_out_refusal(*, session: Session, inspection_id: int, approved: bool) -> str:
    """Why 同意销号 may not be taken now, or empty: it would close the unit's last items (the unit
    archives) while findings marked 共性问题 have no confirmed common problem, letter and leader."""
    if not approved:
        return ""
    open_statuses = session.exec(select(RectificationItem.status).where(
        RectificationItem.inspection_id == inspection_id, RectificationItem.status != ItemStatus.CLOSED)).all()
    if any(ItemStatus(s) != ItemStatus.PENDING_CHECK for s in open_statuses):
        return ""  # items stay open: the unit stays in rectification
    ids = unconfirmed_common_findings(session=session, inspection_id=inspection_id)
    if not ids:
        return ""
    return (f"该单位有{len(ids)}个共性问题（问题编号{'、'.join(map(str, ids))}）尚未归入已确认的共性问题，"
            "同意销号后即归档；须待巡察办在“共性问题归类”中确认（发出领办函、由分管领导督办）后再同意销号，"
            "或先选择“暂不销号”")


# Supervision until the common problem's own close-out ------------------------------------


@dataclass(frozen=True)
class ProblemState:
    problem: CommonProblem
    units: list[str]
    items: int
    closed: int
    overdue: dict[str, int]  # unit -> overdue items
    not_rectifying: list[str]  # units whose findings of it have no item yet
    open_items: list[tuple[str, int, str]]  # (unit, item id, status)


def problem_state(*, session: Session, problem: CommonProblem, as_of: date) -> ProblemState:
    rows = session.exec(
        select(Finding, Unit.name, RectificationItem)
        .join(Inspection, col(Inspection.id) == Finding.inspection_id).join(Unit, col(Unit.id) == Inspection.unit_id)
        .outerjoin(RectificationItem, col(RectificationItem.finding_id) == Finding.id)
        .where(Finding.common_problem_id == problem.id).order_by(col(Finding.id))).all()
    overdue: dict[str, int] = {}
    open_items: list[tuple[str, int, str]] = []
    waiting: list[str] = []
    for f, unit, item in rows:
        if item is None:
            if not f.fixed_on_site:
                waiting.append(unit)
            continue
        if item.status != ItemStatus.CLOSED:
            open_items.append((unit, item.id or 0, ItemStatus(item.status).value))
            if item.deadline < as_of:
                overdue[unit] = overdue.get(unit, 0) + 1
    items = [i for _, _, i in rows if i is not None]
    return ProblemState(problem=problem, units=list(dict.fromkeys(u for _, u, _ in rows)), items=len(items),
                        closed=sum(i.status == ItemStatus.CLOSED for i in items), overdue=overdue,
                        not_rectifying=list(dict.fromkeys(waiting)), open_items=open_items)


def _leader(session: Session, cp: CommonProblem) -> Person | None:
    return session.exec(select(Person).where(Person.name == cp.leader_in_charge)).first()


def supervise_open(*, session: Session, settings: Settings, as_of: date, now: datetime, link: str,
                   hold: datetime | None) -> int:
    """The daily sweep's part for common problems still under supervision (督办中), archived units or
    not: once a week (周督) their leader in charge hears where rectification stands; once every
    item is closed, the leader and the office hear it awaits its close-out. Returns the alerts
    newly queued (a repeated sweep queues none)."""
    send_day = hold.date() if hold is not None else as_of
    year, week, _ = send_day.isocalendar()
    sent = 0
    for cp in session.exec(select(CommonProblem).where(CommonProblem.status == CommonProblemStatus.SUPERVISING)
                           .order_by(col(CommonProblem.id))):
        rnd = session.get(InspectionRound, cp.round_id)
        st = problem_state(session=session, problem=cp, as_of=as_of)
        name = f"{rnd.name if rnd else ''}：共性问题“{cp.title}”"
        done = st.items > 0 and st.closed == st.items and not st.not_rectifying
        queued = []
        if done:
            body = (f"{name}涉及{len(st.units)}个单位的{st.items}项整改事项已全部销号，请巡察办核实整改成效后办理该共性问题销号"
                    f"（命令 close-common {cp.id}）。")
            for role, person in ((Role.LEADER_IN_CHARGE, _leader(session, cp)), (Role.OFFICE, None)):
                queued += enqueue_alert(session=session, settings=settings, key=f"common-ready:{cp.id}:{role.value}",
                                        role=role, person=person, title="【共性问题待销号】", body=body, link=link, now=now,
                                        not_before=hold)
        else:
            late = "、".join(f"{u}{n}项" for u, n in st.overdue.items())
            waiting = f"；尚未进入督促整改的单位：{'、'.join(st.not_rectifying)}" if st.not_rectifying else ""
            body = (f"{name}（分管领导{cp.leader_in_charge}领办）涉及{len(st.units)}个单位，整改事项{st.items}项，"
                    f"已销号{st.closed}项" + (f"，逾期{sum(st.overdue.values())}项（{late}）" if late else "") + waiting +
                    "。请督促责任部门和各单位推动整改，按时报送进展。")
            queued = enqueue_alert(session=session, settings=settings, key=f"common-supervise:{cp.id}:{year}-W{week:02d}",
                                   role=Role.LEADER_IN_CHARGE, person=_leader(session, cp), link=link, now=now,
                                   title="【共性问题整改逾期督办】" if late else "【共性问题督办】", body=body, not_before=hold)
        sent += int(any(r.created_at == now for r in queued))
    return sent


# The common problem's own close-out ------------------------------------------------------


def close_common_problem(*, session: Session, settings: Settings, by: str, problem_id: int, comment: str,
                         now: datetime, link: str) -> CommonProblem:
    """巡察办 closes out a common problem (共性问题销号) once every item of it, in every unit, is
    closed; audited, and told to its leader in charge. A refusal writes nothing but its audit entry."""
    from tasks.clues.ledger import account, guarded

    def work() -> CommonProblem:
        acc = account(session, by)
        require(acc.role, Action.CLOSE_COMMON_PROBLEM)
        cp = get_or_raise(session, CommonProblem, problem_id, "共性问题")
        if cp.status == CommonProblemStatus.CLOSED:
            raise DomainError(f"共性问题“{cp.title}”已于{cp.closed_at:%Y年%m月%d日}由{cp.closed_by}销号")
        if len(comment) > 2000:
            raise DomainError("销号意见超过2000字")
        st = problem_state(session=session, problem=cp, as_of=now.date())
        problems = [f"“{u}”尚未进入督促整改（该单位的问题尚无整改事项）" for u in st.not_rectifying]
        problems += [f"“{u}”整改事项{i}尚未销号（{s}）" for u, i, s in st.open_items]
        if problems:
            raise DomainError(f"共性问题“{cp.title}”不能销号", problems)
        COMMON_PROBLEMS.move(cp, CommonProblemStatus.CLOSED)
        cp.closed_at, cp.closed_by = now, by.strip()
        session.add(cp)
        rnd = session.get(InspectionRound, cp.round_id)
        record_event(session=session, actor=by.strip(), action="共性问题销号", entity="common_problem", entity_id=cp.id,
                     now=now, detail={"round": cp.round_id, "title": cp.title, "units": st.units, "items": st.items,
                                      "comment": comment.strip()})
        body = (f"{rnd.name if rnd else ''}：共性问题“{cp.title}”（分管领导{cp.leader_in_charge}领办）涉及{len(st.units)}个单位的"
                f"{st.items}项整改事项均已销号，巡察办已办理该共性问题销号，督办结束。" + (f"意见：{comment.strip()}" if comment.strip() else ""))
        enqueue_alert(session=session, settings=settings, key=f"common-closed:{cp.id}", role=Role.LEADER_IN_CHARGE,
                      person=_leader(session, cp), title="【共性问题已销号】", body=body, link=link, now=now)
        session.flush()
        session.commit()
        return cp

    return guarded(session, by=by, action="共性问题销号", entity="common_problem", entity_id=problem_id, now=now, work=work)


def list_common_problems(*, session: Session, round_name: str = "", as_of: date) -> list[dict[str, Any]]:
    """Every common problem (of one round, when named) with its leader, units, items and status."""
    q = select(CommonProblem, InspectionRound.name).join(InspectionRound, col(InspectionRound.id) == CommonProblem.round_id)
    if round_name:
        rnd = session.exec(select(InspectionRound).where(InspectionRound.name == round_name)).first()
        if rnd is None:
            raise DomainError(f"未知的巡察轮次：{round_name}")
        q = q.where(CommonProblem.round_id == rnd.id)
    rows = []
    for cp, rname in session.exec(q.order_by(col(CommonProblem.id))).all():
        st = problem_state(session=session, problem=cp, as_of=as_of)
        rows.append({"编号": cp.id, "轮次": rname, "问题类别": cp.category, "共性问题名称": cp.title,
                     "分管领导": cp.leader_in_charge, "责任部门": "、".join(cp.departments) or "—",
                     "涉及单位": "、".join(st.units), "整改事项": st.items, "已销号": st.closed,
                     "逾期": sum(st.overdue.values()), "状态": CommonProblemStatus(cp.status).value})
    return rows
