"""共性问题 on the domain level: propose groups of findings shared across the units of a round,
then confirm them as common problems led by a leader in charge (分管领导领办制).

Proposing reads only. Confirming validates the whole submission first (nothing is written when
any group is wrong), then creates one `CommonProblem` per group, links the rectification items
of its findings, marks the findings 共性问题, writes the letter 《关于落实巡察整改工作任务的函》 to the
leader in charge (a Word document from the office's template) and tells the responsible departments.
Findings of an archived unit are read-only: a group that would change them is refused. Confirming the same groups again changes nothing; it only links
items that appeared since (a unit that reached 督促整改 after the first confirmation).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher

from sqlmodel import Session, col, select

from models.enums import FindingScope, Role, Stage
from models.errors import DomainError, NotFound
from models.forms import CommonGroupIn
from models.settings import Settings
from models.tables import (
    CommonProblem,
    Finding,
    Inspection,
    InspectionRound,
    Person,
    RectificationItem,
    Unit,
)
from tasks.infra.alerts import enqueue_alert
from tasks.infra.audit import record_event
from tasks.records.dossier import common_task_letter

SIMILARITY = 0.8
LETTER = "【关于落实巡察整改工作任务的函】"
SINGLE_UNIT_NOTE = "仅在一个单位发现：请补充其他单位的同类问题，或改为个性问题"


# Wording ------------------------------------------------------------------------------------


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


def _trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _loose(text[start]):
        start += 1
    while end > start and _loose(text[end - 1]):
        end -= 1
    return text[start:end]


def title_text(description: str, unit_name: str) -> str:
    """A description fit for a common title: without the unit's name and what it leaves dangling
    (empty brackets, edge punctuation, a leading 的)."""
    text = description.replace(unit_name, "") if unit_name else description
    text = " ".join(_EMPTY_BRACKETS.sub("", text).split())
    text = _trim(_trim(text).removeprefix("的"))
    return text or description.strip()


# Proposals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupProposal:
    """A suggested common problem; `flagged` when it spans one unit only (see `note`)."""

    category: str
    title: str
    finding_ids: list[int]
    unit_names: list[str]
    flagged: bool = False
    note: str = ""

    def to_input(self) -> CommonGroupIn:
        """The confirmation form row this proposal prefills (leader and departments left to fill)."""
        return CommonGroupIn(category=self.category, title=self.title, finding_ids=list(self.finding_ids))


@dataclass
class _Row:
    finding: Finding
    unit: str
    inspection_id: int
    key: str = field(default="")


def _round(session: Session, round_id: int) -> InspectionRound:
    rnd = session.get(InspectionRound, round_id)
    if rnd is None:
        raise NotFound(f"巡察轮次不存在：{round_id}")
    return rnd


def _round_rows(session: Session, round_id: int) -> list[_Row]:
    rows = session.exec(
        select(Finding, Unit.name, Inspection.id)
        .join(Inspection, col(Inspection.id) == Finding.inspection_id)
        .join(Unit, col(Unit.id) == Inspection.unit_id)
        .where(Inspection.round_id == round_id)
        .order_by(col(Finding.id))
    ).all()
    out = []
    for f, unit, iid in rows:
        assert iid is not None
        out.append(_Row(finding=f, unit=unit, inspection_id=iid, key=normalise(f.description, unit)))
    return out


def propose_groups(*, session: Session, round_id: int) -> list[GroupProposal]:
    """Group the round's findings that recur in other units with the same category and (nearly)
    the same wording, plus those marked 共性问题. Findings are linked pairwise across units and
    grouped transitively; a group must span two units, except that a finding marked 共性问题 with
    no match elsewhere is proposed on its own, flagged. Ordered: multi-unit groups first, then by
    their first finding."""
    _round(session, round_id)
    rows = _round_rows(session, round_id)
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_category: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_category.setdefault(r.finding.category.strip(), []).append(i)
    for members in by_category.values():
        for n, i in enumerate(members):
            for j in members[n + 1:]:
                a, b = rows[i], rows[j]
                if a.inspection_id == b.inspection_id or find(i) == find(j):
                    continue
                if similar(a.key, b.key):  # rows are in id order: the older finding is compared first
                    parent[find(j)] = find(i)

    components: dict[int, list[int]] = {}
    for i in range(len(rows)):
        components.setdefault(find(i), []).append(i)
    proposals = []
    for members in components.values():
        group = [rows[i] for i in members]
        units = list(dict.fromkeys(r.unit for r in group))
        if len(units) >= 2:
            proposals.append(_proposal(group, units, flagged=False))
        else:
            proposals.extend(_proposal([r], [r.unit], flagged=True) for r in group
                             if r.finding.scope == FindingScope.COMMON)
    return sorted(proposals, key=lambda p: (p.flagged, p.finding_ids[0]))


def _proposal(group: list[_Row], units: list[str], *, flagged: bool) -> GroupProposal:
    titles = [(len(t), r.finding.id or 0, t) for r in group for t in [title_text(r.finding.description, r.unit)]]
    ids = sorted(r.finding.id for r in group if r.finding.id is not None)
    return GroupProposal(category=group[0].finding.category.strip(), title=min(titles)[2], finding_ids=ids,
                         unit_names=units, flagged=flagged, note=SINGLE_UNIT_NOTE if flagged else "")


# Confirmation -------------------------------------------------------------------------------


def _label(n: int, g: CommonGroupIn) -> str:
    return f"第{n}组“{g.title}”" if g.title else f"第{n}组"


def confirm_groups(
    *, session: Session, settings: Settings, round_id: int, groups: list[CommonGroupIn], confirmed_by: str,
    now: datetime, link: str,
) -> list[CommonProblem]:
    """Confirm common problems for a round; any bad group refuses the whole submission, listing
    every problem. Idempotent: a group already confirmed (same category and title) keeps its row
    and its letter; only items created since are linked."""
    rnd = _round(session, round_id)
    problems: list[str] = []
    if not groups:
        raise DomainError("共性问题未确认（未写入任何内容）", ["未填写任何共性问题"])
    if not confirmed_by.strip():
        problems.append("未填写确认人")

    all_ids = sorted({i for g in groups for i in g.finding_ids})
    found = {f.id: (f, unit, rid) for f, unit, rid in session.exec(
        select(Finding, Unit.name, Inspection.round_id)
        .join(Inspection, col(Inspection.id) == Finding.inspection_id)
        .join(Unit, col(Unit.id) == Inspection.unit_id)
        .where(col(Finding.id).in_(all_ids))
    ).all()}
    round_names = dict(session.exec(select(InspectionRound.id, InspectionRound.name)).all())
    archived = set(session.exec(select(Finding.id).join(Inspection, col(Inspection.id) == Finding.inspection_id)
                                .where(col(Finding.id).in_(all_ids), Inspection.stage == Stage.ARCHIVED)).all())
    leaders = {p.name: p for p in session.exec(
        select(Person).where(col(Person.name).in_([g.leader_in_charge for g in groups])))}
    existing = {(c.category, c.title): c for c in session.exec(
        select(CommonProblem).where(CommonProblem.round_id == round_id).order_by(col(CommonProblem.id)))}
    existing_by_id = {c.id: c for c in existing.values()}
    items = {i.finding_id: i for i in session.exec(
        select(RectificationItem).where(col(RectificationItem.finding_id).in_(all_ids)))}
    other_problems = {c.id: c for c in session.exec(select(CommonProblem).where(col(CommonProblem.id).in_(
        [i.common_problem_id for i in items.values() if i.common_problem_id is not None])))}

    first_group: dict[int, int] = {}
    seen_titles: dict[tuple[str, str], int] = {}
    for n, g in enumerate(groups, 1):
        label = _label(n, g)
        prior = existing.get((g.category, g.title))
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
        elif g.leader_in_charge not in leaders:
            problems.append(f"{label}：分管领导“{g.leader_in_charge}”不在人员名单中")
        ids = list(dict.fromkeys(g.finding_ids))
        if len(ids) < len(g.finding_ids):
            repeated = sorted({i for i in g.finding_ids if g.finding_ids.count(i) > 1})
            problems.append(f"{label}：问题编号{'、'.join(map(str, repeated))}重复填写")
        if len(ids) < 2:
            problems.append(f"{label}：共性问题至少应包含两个问题，实为{len(ids)}个")
        units: list[str] = []
        for i in ids:
            if i not in found:
                problems.append(f"{label}：问题编号{i}不存在")
                continue
            _, unit, rid = found[i]
            if rid != round_id:
                problems.append(f"{label}：问题编号{i}不属于本轮巡察（属于“{round_names.get(rid, rid)}”）")
                continue
            units.append(unit)
            if i in first_group:
                problems.append(f"{label}：问题编号{i}已列入第{first_group[i]}组，同一问题不能列入两个共性问题")
            else:
                first_group[i] = n
            item = items.get(i)
            if i in archived and (found[i][0].scope != FindingScope.COMMON or (
                    item is not None and (prior is None or item.common_problem_id != prior.id))):
                problems.append(f"{label}：问题编号{i}所属的“{unit}”已归档，不能修改")
            if item is not None and item.common_problem_id is not None and (
                    prior is None or item.common_problem_id != prior.id):
                other = other_problems.get(item.common_problem_id) or existing_by_id.get(item.common_problem_id)
                problems.append(f"{label}：问题编号{i}已归入共性问题“{other.title if other else item.common_problem_id}”")
        if len(ids) >= 2 and len(units) == len(ids) and len(set(units)) < 2:
            problems.append(f"{label}：所列问题均属于“{units[0]}”，共性问题应涉及两个以上单位")
        if prior is not None and (prior.leader_in_charge, prior.departments) != (g.leader_in_charge, g.departments):
            problems.append(
                f"{label}：该共性问题已确认（分管领导：{prior.leader_in_charge}，责任部门：{'、'.join(prior.departments) or '无'}），"
                "与本次填写不一致")
    if problems:
        raise DomainError("共性问题未确认（未写入任何内容）", problems)

    confirmed = []
    for g in groups:
        leader = leaders[g.leader_in_charge]
        ids = list(dict.fromkeys(g.finding_ids))
        cp = existing.get((g.category, g.title))
        created = cp is None
        if cp is None:
            cp = CommonProblem(round_id=round_id, category=g.category, title=g.title, leader_in_charge=leader.name,
                               departments=list(g.departments), confirmed_by=confirmed_by.strip(), created_at=now)
            session.add(cp)
            session.flush()
        assert cp.id is not None
        changed: list[int] = []
        for i in ids:
            f = found[i][0]
            if f.scope != FindingScope.COMMON:
                f.scope = FindingScope.COMMON
                session.add(f)
                changed.append(i)
            item = items.get(i)
            if item is not None and (item.common_problem_id, item.responsible_leader_id, item.supervisor) != (
                    cp.id, leader.id, leader.name):
                # 领办: the leader in charge supervises the item instead of the unit's liaison leader.
                item.common_problem_id, item.responsible_leader_id, item.supervisor = cp.id, leader.id, leader.name
                session.add(item)
                changed.append(i)
        units = list(dict.fromkeys(found[i][1] for i in ids))
        if created or changed:
            record_event(session=session, actor=confirmed_by.strip(), action="确认共性问题" if created else "共性问题关联整改事项",
                         entity="common_problem", entity_id=cp.id, now=now,
                         detail={"round": round_id, "title": cp.title, "category": cp.category, "finding_ids": ids,
                                 "changed": sorted(set(changed)), "leader": cp.leader_in_charge,
                                 "departments": cp.departments, "units": units})
        common_task_letter(session=session, settings=settings, problem=cp, units=units,
                           findings=[(found[i][1], found[i][0].description) for i in ids], now=now)
        enqueue_alert(
            session=session, settings=settings, key=f"common-problem:{cp.id}", role=Role.RESPONSIBLE_DEPARTMENT,
            title=LETTER, link=link, now=now,
            body=(f"{rnd.name}：共性问题“{cp.title}”（{cp.category}）涉及{len(units)}个单位（{'、'.join(units)}），"
                  f"由分管领导{cp.leader_in_charge}领办，责任部门：{'、'.join(cp.departments) or '待明确'}。"
                  "请按照“谁主管、谁负责”的原则牵头推动整改，并按时报送整改进展。"),
        )
        confirmed.append(cp)
    session.flush()
    return confirmed
