"""共性问题 on the domain level: proposals over a round of four units whose findings share wording
(with each unit's own name inside), confirmation with its letter to the responsible departments,
idempotency, and every bad submission refused in Chinese with nothing written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.clock import CHINA
from models.enums import FindingScope, Stage, UnitKind
from models.errors import DomainError, NotFound
from models.forms import FindingIn
from models.settings import Settings
from models.tables import Alert, AuditEvent, CommonProblem, Finding, Person, RectificationItem
from tasks.infra.audit import first_broken_link
from tasks.planning.org import OrgData, UnitIn, load_org
from tasks.supervision.common_problems import (
    LETTER,
    SINGLE_UNIT_NOTE,
    CommonGroupIn,
    GroupProposal,
    confirm_groups,
    normalise,
    propose_groups,
    similar,
    title_text,
)
from tests.support.advance import advance
from tests.support.factories import database, make_round, round_params, row_counts, team_data

LINK = "http://127.0.0.1:4200/runs/flow-run/common"
DAY = date(2027, 1, 10)
NOW = datetime.combine(DAY, time(9, 0), tzinfo=CHINA)
UNITS = ["城东街道", "区教育局", "区交通投资集团", "马岙村"]
# The sheet's marking is the starting point: only 共性问题 rows are proposed, one group per category.
FINDINGS: dict[str, list[FindingIn]] = {
    "城东街道": [
        FindingIn(category="选人用人", description="城东街道干部档案管理不规范", scope="共性问题"),
        FindingIn(category="党的建设", description="城东街道“三会一课”制度落实不到位"),
        FindingIn(category="作风建设", description="公务用车管理不规范", scope="共性问题"),  # nowhere else
    ],
    "区教育局": [
        FindingIn(category="选人用人", description="区教育局干部档案管理不规范。", scope="共性问题"),
        FindingIn(category="全面从严治党", description="区教育局财务报销审核不严", scope="共性问题"),
    ],
    "区交通投资集团": [
        FindingIn(category="选人用人", description="区交通投资集团的干部档案管理不够规范", scope="共性问题"),
        FindingIn(category="选人用人", description="干部选拔任用程序不规范"),  # same category, 个性问题
        FindingIn(category="党的建设", description="贯彻落实上级决策部署不到位（问题1）。", scope="共性问题"),
    ],
    "马岙村": [
        FindingIn(category="全面从严治党", description="马岙村财务报销审核不严格", scope="共性问题"),
        FindingIn(category="党的建设", description="干部档案管理不规范"),  # same wording, other category, 个性问题
        FindingIn(category="党的建设", description="村务公开栏长期未更新", fixed_on_site=True),
        FindingIn(category="党的建设", description="马岙村贯彻落实上级决策部署不到位（问题2）", scope="共性问题"),
    ],
}
# Responsible departments must be units of kind 部门 in the org data: the office registers these.
DEPARTMENTS = ("区委组织部", "区人力社保局")


class Round:
    """The round as built: its id, the inspections and the finding ids per unit, in FINDINGS order."""

    def __init__(self, round_id: int, inspections: dict[str, int], findings: dict[str, list[int]]) -> None:
        self.id, self.inspections, self.findings = round_id, inspections, findings

    def f(self, unit: str, n: int) -> int:
        return self.findings[unit][n]


def _kw(settings: Settings, iid: int) -> dict[str, Any]:
    return {"settings": settings, "inspection_id": iid, "now": NOW, "link": LINK}


def add_departments(s: Session, *names: str) -> None:
    """Departments as the office loads them with its org data (units of kind 部门)."""
    load_org(session=s, data=OrgData(units=[UnitIn(name=n, kind=UnitKind.DEPARTMENT) for n in names or DEPARTMENTS]))
    s.commit()


def build(s: Session, settings: Settings, *, rectifying: tuple[str, ...] = tuple(UNITS)) -> Round:
    """The four units with their findings; those in `rectifying` are brought to 督促整改, the
    others stay on site (their findings have no rectification item yet)."""
    add_departments(s)
    rnd, inspections = make_round(s, round_params(teams=[team_data(units=UNITS, members=("刘洋",))]))
    assert rnd.id is not None
    ids, findings = {}, {}
    for unit, insp in zip(UNITS, inspections, strict=True):
        assert insp.id is not None
        target = Stage.RECTIFICATION if unit in rectifying else Stage.STATIONING
        findings[unit] = advance(s, settings, insp.id, target, findings=FINDINGS[unit], now=NOW, link=LINK).finding_ids
        ids[unit] = insp.id
    s.commit()
    return Round(rnd.id, ids, findings)  # type: ignore[arg-type]


def archives(r: Round, **kw: Any) -> CommonGroupIn:
    data = {"category": "选人用人", "title": "干部档案管理不规范", "leader_in_charge": "吴志刚",
            "departments": ["区委组织部", "区人力社保局"],
            "finding_ids": [r.f("城东街道", 0), r.f("区教育局", 0), r.f("区交通投资集团", 0)]}
    return CommonGroupIn.model_validate({**data, **kw})


def finance(r: Round, **kw: Any) -> CommonGroupIn:
    data = {"category": "全面从严治党", "title": "财务报销审核不严", "leader_in_charge": "郑文斌",
            "departments": ["区财政局"], "finding_ids": [r.f("区教育局", 1), r.f("马岙村", 0)]}
    return CommonGroupIn.model_validate({**data, **kw})


def confirm(s: Session, settings: Settings, r: Round, groups: list[CommonGroupIn], by: str = "巡察办张主任") -> list[CommonProblem]:
    return confirm_groups(session=s, settings=settings, round_id=r.id, groups=groups, confirmed_by=by, now=NOW, link=LINK)


def item_of(s: Session, finding_id: int) -> RectificationItem | None:
    return s.exec(select(RectificationItem).where(RectificationItem.finding_id == finding_id)).first()


def letters(s: Session) -> list[Alert]:
    return list(s.exec(select(Alert).where(col(Alert.dedupe_key).startswith("common-problem:")).order_by(col(Alert.id))))


def snapshot(s: Session) -> tuple[Any, ...]:
    """Rows per table plus the columns a confirmation updates."""
    return (row_counts(s),
            [(f.id, f.scope, f.common_problem_id) for f in s.exec(select(Finding).order_by(col(Finding.id)))],
            [(c.id, c.status, c.letter_version) for c in s.exec(select(CommonProblem).order_by(col(CommonProblem.id)))],
            [(i.id, i.common_problem_id, i.responsible_leader_id, i.supervisor)
             for i in s.exec(select(RectificationItem).order_by(col(RectificationItem.id)))])


# Wording --------------------------------------------------------------------------------------


def test_normalised_wording() -> None:
    assert normalise("城东街道干部档案管理不规范", "城东街道") == "干部档案管理不规范"
    assert normalise(" 区教育局：干部档案管理不规范。 ", "区教育局") == "干部档案管理不规范"
    assert normalise("干部档案管理不规范（马岙村）", "马岙村") == "干部档案管理不规范"
    assert normalise("ＡＢＣ　台账", "") == "abc台账"  # full-width folded, ideographic space dropped
    assert similar("干部档案管理不规范", "的干部档案管理不够规范")  # ratio 0.9
    assert similar("财务报销审核不严", "财务报销审核不严格")
    assert not similar("干部档案管理不规范", "干部选拔任用程序不规范")  # ratio 0.5
    assert not similar("", "干部档案管理不规范")
    assert title_text("区交通投资集团的干部档案管理不够规范", "区交通投资集团") == "干部档案管理不够规范"
    assert title_text("干部档案管理不规范（马岙村）", "马岙村") == "干部档案管理不规范"
    assert title_text("区教育局干部档案管理不规范。", "区教育局") == "干部档案管理不规范"


# Proposals ------------------------------------------------------------------------------------


def test_titles_are_whole_with_balanced_brackets() -> None:
    # The closing bracket that ends a part of the text is not punctuation to trim (#12).
    assert title_text("贯彻落实上级决策部署不到位（问题1）。", "") == "贯彻落实上级决策部署不到位（问题1）"
    assert title_text("马岙村贯彻落实上级决策部署不到位（问题1）", "马岙村") == "贯彻落实上级决策部署不到位（问题1）"
    assert title_text("“三会一课”制度落实不到位", "") == "“三会一课”制度落实不到位"
    assert title_text("未认真学习《中国共产党章程》", "") == "未认真学习《中国共产党章程》"
    assert title_text("《党章》学习不深入；", "") == "《党章》学习不深入"
    assert title_text("落实“第一议题”制度不到位（城东街道）", "城东街道") == "落实“第一议题”制度不到位"
    # A description cut short by whoever typed it still reads whole; a stray closer goes.
    assert title_text("贯彻落实上级决策部署不到位（问题1", "") == "贯彻落实上级决策部署不到位（问题1）"
    assert title_text("问题1）贯彻落实不到位", "") == "问题1贯彻落实不到位"
    assert title_text("（一）“三会一课”（含主题党日）落实不到位", "") == "（一）“三会一课”（含主题党日）落实不到位"


def test_proposals_follow_the_sheet_marking_by_category(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    before = row_counts(s)
    proposals = propose_groups(session=s, round_id=r.id)
    assert proposals == [
        GroupProposal(category="选人用人", title="干部档案管理不规范",
                      finding_ids=[r.f("城东街道", 0), r.f("区教育局", 0), r.f("区交通投资集团", 0)],
                      unit_names=["城东街道", "区教育局", "区交通投资集团"]),
        GroupProposal(category="全面从严治党", title="财务报销审核不严",
                      finding_ids=[r.f("区教育局", 1), r.f("马岙村", 0)], unit_names=["区教育局", "马岙村"]),
        # Grouped by category although worded differently; the title is whole.
        GroupProposal(category="党的建设", title="贯彻落实上级决策部署不到位（问题1）",
                      finding_ids=[r.f("区交通投资集团", 2), r.f("马岙村", 3)], unit_names=["区交通投资集团", "马岙村"]),
        # A category marked common in one unit only is still proposed, flagged.
        GroupProposal(category="作风建设", title="公务用车管理不规范", finding_ids=[r.f("城东街道", 2)],
                      unit_names=["城东街道"], flagged=True, note=SINGLE_UNIT_NOTE),
    ]
    proposed = {i for p in proposals for i in p.finding_ids}
    individual = {f.id for f in s.exec(select(Finding).where(Finding.scope == FindingScope.INDIVIDUAL))}
    assert individual and not proposed & individual  # 个性问题 never, even with the same wording or category
    assert propose_groups(session=s, round_id=r.id) == proposals  # deterministic
    assert propose_groups(session=s, round_id=r.id, finding_ids=[r.f("马岙村", 0), r.f("城东街道", 1)]) == [
        GroupProposal(category="全面从严治党", title="财务报销审核不严格", finding_ids=[r.f("马岙村", 0)],
                      unit_names=["马岙村"], flagged=True, note=SINGLE_UNIT_NOTE)]  # a grouping's own findings only
    assert row_counts(s) == before  # proposing writes nothing
    form = proposals[0].to_input()
    assert (form.category, form.title, form.finding_ids, form.leader_in_charge) == (
        "选人用人", "干部档案管理不规范", proposals[0].finding_ids, "")
    with pytest.raises(NotFound, match="巡察轮次不存在"):
        propose_groups(session=s, round_id=999999)


def test_title_prefers_the_shared_wording_and_never_cuts(demo_org: Session, settings: Settings) -> None:
    from tasks.supervision.common_problems import _best_title, _Row

    def row(n: int, unit: str, text: str) -> _Row:
        return _Row(finding=Finding(id=n, inspection_id=1, category="党的建设", description=text, created_at=NOW),
                    unit=unit, key=normalise(text, unit))

    shared = [row(1, "甲", "甲支部会议记录不全"), row(2, "乙", "三会一课制度落实不到位"), row(3, "丙", "丙三会一课制度落实不到位"),
              row(4, "丁", "“三会一课”制度落实不够到位")]
    assert _best_title(shared, "党的建设") == "三会一课制度落实不到位"
    long = "长" * 250
    assert _best_title([row(1, "甲", long), row(2, "乙", "短问题")], "党的建设") == "短问题"
    assert _best_title([row(1, "甲", long)], "党的建设") == "党的建设方面的共性问题"  # too long for a title: not cut


def test_form_titles_are_chinese() -> None:
    titles = {name: f["title"] for name, f in CommonGroupIn.model_json_schema()["properties"].items()}
    assert titles == {"category": "问题类别", "title": "共性问题名称", "leader_in_charge": "分管领导",
                      "departments": "责任部门", "finding_ids": "问题编号"}
    # The confirmation form prefilled with the proposals keeps its Chinese titles (Prefect's
    # with_initial_data alone would show the groups as "Groups").
    from flows.lifecycle.gates import prefilled
    from models.forms import CommonProblemsConfirm

    form = prefilled(CommonProblemsConfirm, "说明", {"groups": [{"category": "选人用人", "title": "干部档案管理不规范",
                                                                "finding_ids": [1, 2]}]})
    schema = form.model_json_schema()["properties"]
    assert schema["groups"]["title"] == "共性问题（每组填写分管领导和责任部门）" and schema["groups"]["position"] == 3
    assert schema["groups"]["default"][0]["title"] == "干部档案管理不规范"
    assert {k: v["title"] for k, v in schema.items()} == {
        k: v["title"] for k, v in CommonProblemsConfirm.model_json_schema()["properties"].items()}
    g = CommonGroupIn(category=" 选人用人 ", title=" 干部档案管理不规范 ", leader_in_charge=" 吴志刚 ",
                      departments=[" 区委组织部 ", "", "区委组织部"], finding_ids=[1, 2])
    assert (g.category, g.title, g.leader_in_charge, g.departments) == ("选人用人", "干部档案管理不规范", "吴志刚", ["区委组织部"])


# Confirmation ---------------------------------------------------------------------------------


def test_confirm_links_items_marks_findings_and_sends_the_letter(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    wu = s.exec(select(Person).where(Person.name == "吴志刚")).one()
    rows = confirm(s, settings, r, [archives(r), finance(r)])
    s.commit()
    assert [(c.round_id, c.category, c.title, c.leader_in_charge, c.departments, c.confirmed_by) for c in rows] == [
        (r.id, "选人用人", "干部档案管理不规范", "吴志刚", ["区委组织部", "区人力社保局"], "巡察办张主任"),
        (r.id, "全面从严治党", "财务报销审核不严", "郑文斌", ["区财政局"], "巡察办张主任"),
    ]
    for group, cp in zip([archives(r), finance(r)], rows, strict=True):
        for fid in group.finding_ids:
            assert s.get(Finding, fid).scope == FindingScope.COMMON  # type: ignore[union-attr]
            item = item_of(s, fid)
            assert item is not None and item.common_problem_id == cp.id
            assert item.supervisor == cp.leader_in_charge  # 领办: the leader in charge supervises it
    assert item_of(s, r.f("区交通投资集团", 0)).responsible_leader_id == wu.id  # type: ignore[union-attr]
    # Findings outside the groups keep their scope and their items stay unlinked.
    assert s.get(Finding, r.f("区交通投资集团", 1)).scope == FindingScope.INDIVIDUAL  # type: ignore[union-attr]
    assert item_of(s, r.f("区交通投资集团", 1)).common_problem_id is None  # type: ignore[union-attr]
    assert item_of(s, r.f("马岙村", 2)) is None  # fixed on site: no item

    sent = letters(s)
    assert [(a.dedupe_key, a.role, a.recipient, a.title) for a in sent] == [
        (f"common-problem:{rows[0].id}", "responsible_department", "json://127.0.0.1:8765/department", LETTER),
        (f"common-problem:{rows[1].id}", "responsible_department", "json://127.0.0.1:8765/department", LETTER),
    ]
    assert LETTER == "【关于落实巡察整改工作任务的函】"
    assert "共性问题“干部档案管理不规范”" in sent[0].body and "涉及3个单位" in sent[0].body
    assert "由分管领导吴志刚领办" in sent[0].body and "区委组织部、区人力社保局" in sent[0].body
    assert "涉及2个单位（区教育局、马岙村）" in sent[1].body and "由分管领导郑文斌领办" in sent[1].body
    assert sent[0].body.endswith(LINK)

    events = s.exec(select(AuditEvent).where(AuditEvent.action == "确认共性问题").order_by(col(AuditEvent.id))).all()
    assert [(e.actor, e.entity, e.entity_id, e.detail["finding_ids"]) for e in events] == [
        ("巡察办张主任", "common_problem", rows[0].id, archives(r).finding_ids),
        ("巡察办张主任", "common_problem", rows[1].id, finance(r).finding_ids),
    ]
    assert first_broken_link(session=s) is None


def test_confirming_again_changes_nothing(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    first = [c.id for c in confirm(s, settings, r, [archives(r), finance(r)])]
    s.commit()
    before = snapshot(s)
    again = confirm(s, settings, r, [archives(r), finance(r)], by="另一位工作人员")
    s.commit()
    assert [c.id for c in again] == first
    assert snapshot(s) == before  # same rows, no second letter, no audit event
    # One of the groups alone, in another order of findings: still nothing new.
    confirm(s, settings, r, [finance(r, finding_ids=list(reversed(finance(r).finding_ids)))])
    s.commit()
    assert snapshot(s) == before
    assert len(letters(s)) == 2


def test_unit_reaching_rectification_later_is_led_from_its_first_item(demo_org: Session, settings: Settings) -> None:
    """A unit not yet in rectification has no items: its finding is linked to the common problem at
    confirmation, and the item created when the unit reaches 督促整改 is led by the leader in charge
    from the start (it used to wait for the group to be confirmed again); confirming again changes nothing."""
    s = demo_org
    r = build(s, settings, rectifying=("城东街道", "区教育局", "马岙村"))
    late = r.f("区交通投资集团", 0)
    (cp,) = confirm(s, settings, r, [archives(r)])
    s.commit()
    assert item_of(s, late) is None
    assert (s.get(Finding, late).scope, s.get(Finding, late).common_problem_id) == (FindingScope.COMMON, cp.id)  # type: ignore[union-attr]
    assert "涉及3个单位" in letters(s)[0].body

    advance(s, settings, r.inspections["区交通投资集团"], Stage.RECTIFICATION, now=NOW, link=LINK)
    s.commit()
    item = item_of(s, late)
    wu = s.exec(select(Person).where(Person.name == "吴志刚")).one()
    assert item is not None and (item.common_problem_id, item.responsible_leader_id, item.supervisor) == (cp.id, wu.id, "吴志刚")
    other = item_of(s, r.f("区交通投资集团", 1))  # its 个性问题 stays with the liaison leader
    assert other is not None and other.common_problem_id is None and other.supervisor == "郑文斌"
    before = snapshot(s)
    (again,) = confirm(s, settings, r, [archives(r)])
    s.commit()
    assert again.id == cp.id and s.exec(select(CommonProblem)).all() == [cp]
    assert snapshot(s) == before and len(letters(s)) == 1


# Bad submissions ------------------------------------------------------------------------------


def _other_round_finding(s: Session, settings: Settings) -> int:
    rnd, (insp,) = make_round(s, round_params(name="2026年第二轮巡察", teams=[team_data(  # people free of the first round
        leader="马成功", deputy=None, members=["王海燕"], units=["城西街道"])]))
    assert insp.id is not None
    (fid,) = advance(s, settings, insp.id, Stage.STATIONING, now=NOW, link=LINK, findings=[
        FindingIn(category="选人用人", description="城西街道干部档案管理不规范")]).finding_ids
    s.commit()
    return fid


Case = Callable[[Round, int], list[CommonGroupIn]]
BAD: dict[str, tuple[Case, str]] = {
    "unknown finding": (lambda r, other: [archives(r, finding_ids=[r.f("城东街道", 0), 999999])],
                        "第1组“干部档案管理不规范”：问题编号999999不存在"),
    "finding of another round": (
        lambda r, other: [archives(r, finding_ids=[r.f("城东街道", 0), r.f("区教育局", 0), other])],
        "不属于本轮巡察（属于“2026年第二轮巡察”）"),
    "finding in two groups": (lambda r, other: [archives(r), finance(r, finding_ids=[r.f("区教育局", 1), r.f("城东街道", 0)])],
                              "已列入第1组，同一问题不能列入两个共性问题"),
    "empty leader": (lambda r, other: [archives(r, leader_in_charge="  ")], "第1组“干部档案管理不规范”：未填写分管领导"),
    "unknown leader": (lambda r, other: [archives(r, leader_in_charge="张三")], "分管领导“张三”不在人员名单中"),
    "one finding": (lambda r, other: [archives(r, finding_ids=[r.f("城东街道", 0)])], "共性问题至少应包含两个问题，实为1个"),
    "no findings": (lambda r, other: [archives(r, finding_ids=[])], "共性问题至少应包含两个问题，实为0个"),
    "repeated finding": (lambda r, other: [archives(r, finding_ids=[r.f("城东街道", 0), r.f("城东街道", 0)])], "重复填写"),
    "one unit only": (lambda r, other: [archives(r, finding_ids=[r.f("城东街道", 0), r.f("城东街道", 1)])],
                      "所列问题均属于“城东街道”，共性问题应涉及两个以上单位"),
    "empty title": (lambda r, other: [archives(r, title="")], "第1组：未填写共性问题名称"),
    "empty category": (lambda r, other: [archives(r, category="")], "未填写问题类别"),
    "same title twice": (lambda r, other: [archives(r), archives(r, finding_ids=finance(r).finding_ids)],
                         "与第1组的问题类别和名称相同"),
    "no groups": (lambda r, other: [], "未填写任何共性问题"),
    # Departments are checked against the org data, every unknown name listed at once.
    "unknown departments": (lambda r, other: [archives(r, departments=["区委组织部", "区档案局", "区机要局"])],
                            "第1组“干部档案管理不规范”：责任部门“区档案局”、“区机要局”不在组织数据中"
                            "（须为组织数据中类型为“部门”的单位，可先用 load-org 导入）"),
    "not a department": (lambda r, other: [finance(r, departments=["区财政局", "城东街道"])],
                         "第1组“财务报销审核不严”：“城东街道”是乡镇街道，不是部门，不能作为责任部门"),
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Settings, Round, int]]:
    """One built round (and a finding of a second round) for the cases that must write nothing."""
    home = tmp_path_factory.mktemp("common-problems")
    settings = Settings(home=home, ui_url="http://127.0.0.1:4200")
    with database(home) as s:
        r = build(s, settings)
        yield s, settings, r, _other_round_finding(s, settings)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_submission_writes_nothing(shared: tuple[Session, Settings, Round, int], case: str) -> None:
    s, settings, r, other = shared
    make, phrase = BAD[case]
    before = snapshot(s)
    with pytest.raises(DomainError) as err:
        confirm(s, settings, r, make(r, other))
    assert "共性问题未确认（未写入任何内容）" in str(err.value)
    assert any(phrase in p for p in err.value.problems), err.value.problems
    assert snapshot(s) == before
    s.rollback()


def test_every_problem_is_listed_at_once(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    before = snapshot(s)
    groups = [archives(r, leader_in_charge="", finding_ids=[r.f("城东街道", 0), 999999]),
              finance(r, leader_in_charge="张三", finding_ids=[r.f("城东街道", 0)])]
    with pytest.raises(DomainError) as err:
        confirm(s, settings, r, groups, by=" ")
    assert err.value.problems == [
        "未填写确认人",
        "第1组“干部档案管理不规范”：未填写分管领导",
        "第1组“干部档案管理不规范”：问题编号999999不存在",
        "第2组“财务报销审核不严”：分管领导“张三”不在人员名单中",
        "第2组“财务报销审核不严”：共性问题至少应包含两个问题，实为1个",
        "第2组“财务报销审核不严”：问题编号" + str(r.f("城东街道", 0)) + "已列入第1组，同一问题不能列入两个共性问题",
    ]
    assert snapshot(s) == before
    with pytest.raises(NotFound, match="巡察轮次不存在"):
        confirm_groups(session=s, settings=settings, round_id=999999, groups=[archives(r)], confirmed_by="甲",
                       now=NOW, link=LINK)


def test_confirmed_group_cannot_be_changed_or_reused(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    r = build(s, settings)
    (cp,) = confirm(s, settings, r, [archives(r)])
    s.commit()
    before = snapshot(s)
    with pytest.raises(DomainError) as err:
        confirm(s, settings, r, [archives(r, leader_in_charge="郑文斌")])
    assert "该共性问题已确认（分管领导：吴志刚，责任部门：区委组织部、区人力社保局），与本次填写不一致" in str(err.value)
    with pytest.raises(DomainError) as err:
        confirm(s, settings, r, [archives(r, title="干部人事档案问题")])
    assert f"问题编号{r.f('城东街道', 0)}已归入共性问题“干部档案管理不规范”" in str(err.value)
    assert snapshot(s) == before
    assert s.exec(select(CommonProblem)).all() == [cp]
