"""民主测评 and 问卷调查 from the office's sheets: per unit and item, checked as a whole (every
problem named in Chinese, nothing written from a half-right sheet), within the team's reach, and
drawn in the unit's report and dossier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docx import Document as Docx
from openpyxl import Workbook
from sqlmodel import Session, select

from models.enums import Stage
from models.errors import DomainError
from models.settings import Settings
from models.tables import Document, EvaluationResult
from tasks.infra.xlsx import read_workbook
from tasks.records.dossier import RECORDS, find_dossier
from tasks.stationing.evaluations import import_evaluations, parse_evaluation_sheet
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import in_stationing, refused, row_counts

ROUND = "2026年第一轮巡察"


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


# As offices keep them: the evaluation on its own sheet (its type from the sheet's name), the
# questionnaire with a type column, a count of participants and a score.
GOOD = {
    "民主测评": [["被巡察单位", "测评项目", "好", "较好", "一般", "差"],
             ["城东街道", "领导班子总体评价", 30, 12, 3, 1],
             ["城东街道", "落实全面从严治党主体责任", 25, 15, 5, 1],
             ["区教育局", "领导班子总体评价", 20, 10, 2, None]],
    "问卷调查": [["单位", "类型", "题目", "满意", "基本满意", "不满意", "参评人数", "得分"],
             ["城东街道", "问卷调查", "对选人用人工作的评价", 40, 8, 2, 52, 88.5]],
}


def test_import_replaces_an_item_and_draws_it_in_report_and_dossier(demo_org: Session, settings: Settings,
                                                                     tmp_path: Path) -> None:
    s = demo_org
    iid = in_stationing(s, settings)
    rows = parse_evaluation_sheet(workbook(tmp_path / "测评.xlsx", GOOD))
    assert import_evaluations(session=s, by="刘洋", round_name=ROUND, rows=rows, now=NOW) == {"城东街道": 3, "区教育局": 1}
    stored = {(r.kind, r.item): r for r in s.exec(select(EvaluationResult).where(EvaluationResult.inspection_id == iid))}
    overall = stored[("民主测评", "领导班子总体评价")]
    assert (overall.counts, overall.respondents, overall.score) == ({"好": 30, "较好": 12, "一般": 3, "差": 1}, 46, None)
    survey = stored[("问卷调查", "对选人用人工作的评价")]
    assert (survey.respondents, survey.score) == (52, 88.5)  # two abstained
    # A corrected sheet replaces the item; the others stay.
    fixed = workbook(tmp_path / "更正.xlsx", {"民主测评": [GOOD["民主测评"][0], ["城东街道", "领导班子总体评价", 31, 12, 3, 0]]})
    import_evaluations(session=s, by="陶文华", round_name=ROUND, rows=parse_evaluation_sheet(fixed), now=NOW)
    s.expire_all()
    again = s.exec(select(EvaluationResult).where(EvaluationResult.inspection_id == iid)).all()
    assert len(again) == 3 and next(r for r in again if r.item == "领导班子总体评价").counts["差"] == 0

    # The team's report shows the results and one chart per kind; the dossier keeps both.
    advance(s, settings, iid, Stage.REPORTING, now=NOW)
    s.commit()
    report = s.exec(select(Document).where(Document.inspection_id == iid, Document.kind == "巡察报告")).one()
    doc = Docx(report.path)
    text = "\n".join(p.text for p in doc.paragraphs) + "".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "三、民主测评和问卷调查" in text and "对选人用人工作的评价" in text and "好31人，较好12人，一般3人，差0人" in text
    assert len(doc.inline_shapes) == 2
    advance(s, settings, iid, Stage.ARCHIVED, now=NOW)
    s.commit()
    folder = find_dossier(session=s, settings=settings, round_name=ROUND, unit_name="城东街道")
    assert len(list(folder.glob("*-统计图-evaluation-*.png"))) == 2
    sheet = read_workbook(folder / RECORDS, what="记录")["民主测评和问卷调查"]
    assert ("问卷调查", "对选人用人工作的评价", 52, "满意40人，基本满意8人，不满意2人", "88.5") in sheet


def test_a_report_without_results_says_so(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    iid = in_stationing(s, settings)
    advance(s, settings, iid, Stage.REPORTING, now=NOW)
    s.commit()
    report = s.exec(select(Document).where(Document.inspection_id == iid, Document.kind == "巡察报告")).one()
    doc = Docx(report.path)
    assert "未导入民主测评和问卷调查结果。" in [p.text for p in doc.paragraphs] and len(doc.inline_shapes) == 0


def test_every_problem_of_a_bad_sheet_is_named_and_nothing_is_read(tmp_path: Path) -> None:
    bad = workbook(tmp_path / "错.xlsx", {
        "民主测评": [["被巡察单位", "测评项目", "好", "差", ""],
                 ["城东街道", "领导班子总体评价", -1, "三", None],
                 ["", "", 0, 0, "多余"],
                 ["城东街道", "领导班子总体评价", 1, 1]],
        "问卷调查": [["单位", "类型", "题目", "满意", "参评人数", "得分"],
                 ["城东街道", "座谈", "评价", 1, 1, 50],
                 ["城东街道", "问卷调查", "评价", 5, 3, 120]],
        "汇总": [["单位", "题目", "满意"]],
    })
    with pytest.raises(DomainError) as err:
        parse_evaluation_sheet(bad)
    lines = str(err.value).splitlines()
    assert lines[0] == "民主测评和问卷调查结果表有误，整表未导入："
    assert lines[1:] == [
        "工作表“民主测评”第2行：“好”的人数“-1”应为不小于0的整数",
        "工作表“民主测评”第2行：“差”的人数“三”应为不小于0的整数",
        "工作表“民主测评”第3行：第5列有内容但没有列名",
        "工作表“民主测评”第3行：被巡察单位不能为空",
        "工作表“民主测评”第3行：项目不能为空",
        "工作表“民主测评”第3行：没有任何人数",
        "工作表“问卷调查”第2行：类型“座谈”无法识别（应为民主测评或问卷调查）",
        "工作表“问卷调查”第3行：参评人数3少于各答案人数之和5",
        "工作表“问卷调查”第3行：得分120应在0到100之间",
        "工作表“汇总”第1行：表头缺少类型",
        "工作表“民主测评”第4行：城东街道的民主测评项目“领导班子总体评价”与工作表“民主测评”第2行重复",
    ]
    with pytest.raises(DomainError, match=r"应为 Excel 工作簿（\.xlsx）"):
        parse_evaluation_sheet(tmp_path / "测评.csv")


def test_units_outside_the_round_or_the_team_are_refused_whole(demo_org: Session, settings: Settings,
                                                                tmp_path: Path) -> None:
    s = demo_org
    in_stationing(s, settings)
    rows = parse_evaluation_sheet(workbook(tmp_path / "测评.xlsx", GOOD))
    stray = parse_evaluation_sheet(workbook(tmp_path / "外.xlsx", {"民主测评": [
        GOOD["民主测评"][0], ["城东街道", "总体评价", 1, 0, 0, 0], ["区水务集团", "总体评价", 1, 0, 0, 0]]}))
    before = row_counts(s)
    refused(s, lambda: import_evaluations(session=s, by="陶文华", round_name=ROUND, rows=stray, now=NOW),
            f"区水务集团不在{ROUND}的巡察范围内，整表未导入")
    refused(s, lambda: import_evaluations(session=s, by="周卫东", round_name=ROUND, rows=rows, now=NOW),
            "该单位不由您所在的巡察组巡察")
    refused(s, lambda: import_evaluations(session=s, by="吴志刚", round_name=ROUND, rows=rows, now=NOW),
            "无权导入民主测评和问卷调查结果")
    refused(s, lambda: import_evaluations(session=s, by="刘洋", round_name="无此轮次", rows=rows, now=NOW),
            "未知的巡察轮次")
    after = row_counts(s)
    assert after["evaluation_result"] == before["evaluation_result"] == 0
