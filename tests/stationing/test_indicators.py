"""The health-check indicators (#27): the office's library in and out of Excel with its 示例 sample,
the team's record of what it examined (role table, stage, findings of the unit), the coverage the
team leader reads, and the 巡察组提交报告 gate refusing a gap left unexplained."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from models.enums import Gate, Stage
from models.errors import DomainError
from models.indicator_tables import CoverageGap, Indicator, IndicatorCheck
from models.settings import Settings
from models.tables import Account, Inspection
from tasks.lifecycle import gate_summary
from tasks.lifecycle.findings import record_findings
from tasks.stationing import indicators as ind
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import in_stationing, refused, row_counts, sample_findings, write_xlsx

HEADER = ["指标", "类别", "问题表现", "如何巡察", "有何要求", "适用单位类型"]


def who(s: Session, name: str) -> Account:
    acc = s.exec(select(Account).where(Account.name == name)).one()
    return acc


def test_sample_is_marked_and_round_trips_through_excel(demo_org: Session, tmp_path: Path) -> None:
    counts = ind.load_sample(session=demo_org, by="陶文华", now=NOW)
    sample = ind.sample_rows()  # the shipped workbook, read by the office's import
    assert counts == {"added": len(sample), "updated": 0, "retired": 0} and 8 <= len(sample) <= 12
    assert {r.sample for r in ind.read_indicator_file(ind.SAMPLE_FILE)} == {True}  # marked in the file itself
    rows = ind.library(session=demo_org)
    assert all(i.sample for i in rows) and all(ind.shown_name(i).endswith("（示例）") for i in rows)
    path = tmp_path / "指标库.xlsx"
    assert ind.export_indicators(session=demo_org, path=path) == len(sample)
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == [*HEADER, "示例"]
    assert {sheet.cell(r, 7).value for r in range(2, sheet.max_row + 1)} == {"是"}
    # Edited by the office and imported again: updated by name, still marked 示例, nothing added.
    sheet.cell(2, 3).value = "本地修改的问题表现"
    sheet.parent.save(path)
    again = ind.import_indicators(session=demo_org, rows=ind.read_indicator_file(path), by="陶文华", now=NOW)
    assert again == {"added": 0, "updated": len(sample), "retired": 0}
    assert demo_org.exec(select(Indicator).where(Indicator.symptoms == "本地修改的问题表现")).one().sample
    # The office's own list replaces the sample: the 示例 rows leave the library (their rows stay).
    own = ind.import_indicators(session=demo_org, by="陶文华", now=NOW, replace=True,
                                rows=[ind.IndicatorIn(name="本地指标一", category="党的领导")])
    assert own == {"added": 1, "updated": 0, "retired": len(sample)}
    assert [i.name for i in ind.library(session=demo_org)] == ["本地指标一"]
    assert len(demo_org.exec(select(Indicator)).all()) == len(sample) + 1


def test_a_bad_workbook_is_refused_row_by_row_and_nothing_is_written(demo_org: Session, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "指标.xlsx", [HEADER, ["公车使用", "全面从严治党", "", "", "", "乡镇街道、机关"],
                                              ["", "党的建设"], ["公车使用", "党的领导"]], sheet="巡察指标")
    before = row_counts(demo_org)
    with pytest.raises(DomainError) as err:
        ind.read_indicator_file(path)
    assert "第2行：“适用单位类型”" in str(err.value) and "机关”不是单位类型" in str(err.value)
    assert "第3行：“指标”" in str(err.value)
    assert row_counts(demo_org) == before
    wrong = write_xlsx(tmp_path / "表头.xlsx", [["指标", "分类"], ["x", "y"]])
    with pytest.raises(DomainError, match="缺少列：类别.*不认识的列：分类"):
        ind.read_indicator_file(wrong)


def _library(s: Session) -> None:
    ind.import_indicators(session=s, by="陶文华", now=NOW, rows=[
        ind.IndicatorIn(name="三重一大", category="党的领导"),
        ind.IndicatorIn(name="惠民资金", category="全面从严治党", unit_kinds=["社区村"]),  # not for a 街道
        ind.IndicatorIn(name="基层党建", category="党的建设"),
    ])
    s.commit()


def test_team_records_examinations_within_its_reach(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    iid = in_stationing(demo_org, settings)  # 城东街道, 第一巡察组 (组长 李建国, 组员 刘洋)
    _library(demo_org)
    insp = demo_org.get(Inspection, iid)
    assert insp is not None
    found = record_findings(session=demo_org, inspection=insp, findings=sample_findings(), by="刘洋", now=NOW)
    demo_org.commit()
    f1, f2 = (f.id or 0 for f in found[:2])
    ind.record_check(session=demo_org, account=who(demo_org, "刘洋"), inspection=insp, indicator="三重一大",
                     methods=["个别谈话", "查阅资料"], finding_ids=[f1], note="查阅会议记录", now=NOW)
    # Recorded again by the leader: methods and findings are added, not replaced.
    ind.record_check(session=demo_org, account=who(demo_org, "李建国"), inspection=insp, indicator="三重一大",
                     methods=["暗访"], finding_ids=[f2], note="", now=NOW)
    demo_org.commit()
    check = demo_org.exec(select(IndicatorCheck)).one()
    assert check.methods == ["个别谈话", "暗访", "查阅资料"] and check.finding_ids == sorted([f1, f2])

    cov = ind.coverage(session=demo_org, inspection_id=iid)
    assert cov.applicable == ("三重一大", "基层党建")  # 惠民资金 is for 社区村 only
    assert cov.missing == ("基层党建",) and cov.rate() == "1/2（50%）"
    assert cov.findings_linked == 2 and cov.findings_total == 3
    assert cov.methods_missing == ("问卷调查", "民主测评", "实地考察", "寻找知情人", "信访")
    # The unit's records workbook (巡察记录.xlsx, in the dossier): the examination, the indicator not
    # examined, and each finding's indicator in 问题清单.
    from tasks.records.dossier import write_records

    write_records(session=demo_org, inspection=insp, path=tmp_path / "巡察记录.xlsx")
    wb = load_workbook(tmp_path / "巡察记录.xlsx")
    checks = list(wb["指标核查"].iter_rows(values_only=True))
    assert checks[0] == ("指标", "类别", "核查情况", "巡察方法", "关联问题编号", "核查说明", "登记人", "登记时间")
    assert [r[:6] for r in checks[1:]] == [
        ("三重一大", "党的领导", "已核查", "个别谈话、暗访、查阅资料", "、".join(map(str, sorted([f1, f2]))), "查阅会议记录"),
        ("基层党建", "党的建设", "未核查", None, None, None)]
    problems = list(wb["问题清单"].iter_rows(values_only=True))
    assert problems[0][-1] == "指标"
    assert {r[0]: r[-1] for r in problems[1:]} == {f1: "三重一大", f2: "三重一大", found[2].id: None}
    assert list(wb["指标缺项说明"].iter_rows(values_only=True)) == [
        ("第几次查找", "未核查的指标", "未使用的巡察方法", "缺项说明", "说明人", "说明时间")]

    # Refused, audited, nothing else written: a member of another team, an unknown method, a finding
    # already linked to another indicator, an indicator not for this kind of unit.
    refuse = [("林静", "基层党建", ["个别谈话"], [], "不由您所在的巡察组巡察"),
              ("刘洋", "基层党建", ["掷骰子"], [], "不认识的巡察方法：掷骰子"),
              ("刘洋", "基层党建", ["民主测评"], [f1], "已关联到指标“三重一大”"),
              ("刘洋", "惠民资金", ["暗访"], [], "只适用于社区村"),
              ("刘洋", "不存在的指标", ["暗访"], [], "指标库中没有指标")]
    for name, indicator, methods, fids, message in refuse:
        from tasks.clues.ledger import guarded

        refused(demo_org, lambda n=name, i=indicator, m=methods, f=fids: guarded(
            demo_org, by=n, action="登记指标核查情况", entity="inspection", entity_id=iid, now=NOW,
            work=lambda: ind.record_check(session=demo_org, account=who(demo_org, n), inspection=insp, indicator=i,
                                          methods=m, finding_ids=f, note="", now=NOW)), message)
    # After stationing nothing more is recorded.
    advance(demo_org, settings, iid, Stage.REPORTING)
    with pytest.raises(DomainError, match="只有集中巡察阶段可以登记指标核查情况"):
        ind.record_check(session=demo_org, account=who(demo_org, "李建国"), inspection=insp, indicator="基层党建",
                         methods=["暗访"], finding_ids=[], note="", now=NOW)


def test_report_gate_shows_gaps_and_refuses_them_without_a_reason(demo_org: Session, settings: Settings) -> None:
    iid = in_stationing(demo_org, settings)
    # Without a library the gate asks nothing new (rounds before #27 go on as they did).
    assert ind.settle_gap(session=demo_org, inspection_id=iid, search_count=1, reason_text="", by="李建国", now=NOW) == ""
    _library(demo_org)
    insp = demo_org.get(Inspection, iid)
    assert insp is not None
    ind.record_check(session=demo_org, account=who(demo_org, "李建国"), inspection=insp, indicator="三重一大",
                     methods=["个别谈话", "问卷调查", "民主测评", "实地考察"], finding_ids=[], note="", now=NOW)
    demo_org.commit()
    md = gate_summary.gate_summary(session=demo_org, settings=settings, gate=Gate.STATIONING_DONE, round_id=None,
                                   inspection_id=iid)
    assert md is not None
    text = md.markdown()
    assert "指标覆盖：已核查 1/2（50%）" in text and "**未核查的指标**" in text and "- 基层党建" in text
    assert "**未使用的巡察方法**" in text and "寻找知情人" in text and "缺项说明" in text

    problem = ind.settle_gap(session=demo_org, inspection_id=iid, search_count=1, reason_text=" 无 ", by="李建国", now=NOW)
    assert problem.startswith("未核查的指标 1 项（基层党建）；未使用的巡察方法：寻找知情人、信访、暗访、查阅资料")
    assert "缺项说明" in problem
    assert demo_org.exec(select(CoverageGap)).first() is None
    assert ind.settle_gap(session=demo_org, inspection_id=iid, search_count=1, by="李建国", now=NOW,
                          reason_text="基层党建由组织部专项检查覆盖；本单位无信访件") == ""
    demo_org.commit()
    gap = demo_org.exec(select(CoverageGap)).one()
    assert gap.missing_indicators == ["基层党建"] and gap.reason.startswith("基层党建由组织部")
    assert "缺项说明：基层党建由组织部" in "\n".join(ind.coverage_lines(ind.coverage(session=demo_org, inspection_id=iid)))
    # The leading group reviewing the report reads the coverage and the team's reason.
    advance(demo_org, settings, iid, Stage.REPORTING)
    review = gate_summary.gate_summary(session=demo_org, settings=settings, gate=Gate.REPORT, round_id=None,
                                       inspection_id=iid)
    assert review is not None
    assert "指标覆盖：已核查 1/2（50%），未使用的巡察方法 4 种" in review.markdown()
    assert "**巡察组的缺项说明**" in review.markdown() and "- 未核查：基层党建" in review.markdown()


def test_round_coverage_shows_a_team_role_its_own_units_only(demo_org: Session, settings: Settings) -> None:
    iid = in_stationing(demo_org, settings)
    _library(demo_org)
    insp = demo_org.get(Inspection, iid)
    assert insp is not None
    office = ind.round_coverage(session=demo_org, account=who(demo_org, "陶文华"), round_id=insp.round_id)
    assert len(office) >= 1 and office[0].label.endswith("城东街道")
    mine = ind.round_coverage(session=demo_org, account=who(demo_org, "刘洋"), round_id=insp.round_id)
    assert [c.label for c in mine] == [c.label for c in office]  # the default round has one team
    from models.access import Forbidden

    with pytest.raises(Forbidden, match="不由您所在的巡察组巡察"):
        ind.round_coverage(session=demo_org, account=who(demo_org, "林静"), round_id=insp.round_id)
    with pytest.raises(Forbidden, match="无权查看指标覆盖情况"):
        ind.round_coverage(session=demo_org, account=who(demo_org, "钱正平"), round_id=insp.round_id)
