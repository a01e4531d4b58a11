"""Findings sheets (.csv and .xlsx): a bad sheet is refused as a whole with a Chinese reason and
nothing is written; a good sheet imports through record_findings. Clues are checked too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from models.enums import ClueStatus, FindingScope, Stage
from models.errors import DomainError
from models.settings import Settings
from models.tables import AuditEvent, Clue, Finding, Inspection
from tasks.clues.ledger import store_clue
from tasks.lifecycle.findings import find_inspection, parse_sheet, record_findings
from tasks.lifecycle.stages import start_stationing
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import (
    SHEET_HEADER,
    database,
    make_round,
    refused,
    row_counts,
    sample_findings,
    sheet_rows,
    write_sheet,
)

EXTENSIONS = [".csv", ".xlsx"]


@pytest.fixture
def stationed(demo_org: Session, settings) -> Inspection:
    """The first unit of a demo round, with its team on site."""
    _, (insp, *_) = make_round(demo_org)
    assert insp.id is not None
    start_stationing(session=demo_org, settings=settings, inspection_id=insp.id, now=NOW, link="")
    demo_org.commit()
    return insp


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Inspection]]:
    """The same, shared by the sheet tests below (each compares row counts before and after)."""
    home = tmp_path_factory.mktemp("findings")
    with database(home) as s:
        _, (insp, *_) = make_round(s)
        assert insp.id is not None
        start_stationing(session=s, settings=Settings(home=home), inspection_id=insp.id, now=NOW, link="")
        s.commit()
        yield s, insp


def _import(session: Session, insp: Inspection, path: Path) -> list[Finding]:
    """What the CLI does: parse the whole sheet first, write only if it parsed."""
    parsed = parse_sheet(path)
    rows = record_findings(session=session, inspection=insp, findings=parsed, by="巡察组", now=NOW)
    session.commit()
    return rows


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_good_sheet_imports(stationed: Inspection, demo_org: Session, tmp_path: Path, ext: str) -> None:
    parsed = parse_sheet(write_sheet(tmp_path / f"问题清单{ext}", sheet_rows(3)))
    assert [(f.category, f.scope, f.fixed_on_site) for f in parsed] == [
        ("党的建设", "个性问题", False), ("全面从严治党", "共性问题", True), ("选人用人", "个性问题", False)]
    assert parsed[0].evidence == "会议记录本"
    before = row_counts(demo_org)
    rows = _import(demo_org, stationed, tmp_path / f"问题清单{ext}")
    after = row_counts(demo_org)
    assert after["finding"] == before["finding"] + 3
    assert after["audit_event"] == before["audit_event"] + 1
    assert {k: v for k, v in after.items() if k not in ("finding", "audit_event")} == \
        {k: v for k, v in before.items() if k not in ("finding", "audit_event")}
    assert all(r.inspection_id == stationed.id and r.search_count == 1 for r in rows)
    assert rows[1].scope == FindingScope.COMMON and rows[1].fixed_on_site


def test_xlsx_typed_cells(stationed: Inspection, tmp_path: Path) -> None:
    """Excel hands back booleans and numbers for 立行立改; TRUE/1 mean 是, FALSE/0 mean 否."""
    rows: list[list[Any]] = [SHEET_HEADER,
                             ["党的建设", "组织生活会流于形式", None, None, True],
                             ["党的建设", "发展党员程序不规范", None, "共性问题", False],
                             ["党的建设", "党费收缴不及时", None, None, 1],
                             ["党的建设", "支部换届不及时", None, None, 0],
                             [None, None, None, None, None]]  # blank rows are skipped
    parsed = parse_sheet(write_sheet(tmp_path / "typed.xlsx", rows))
    assert [f.fixed_on_site for f in parsed] == [True, False, True, False]


def _missing_column(rows: list[list[Any]]) -> None:
    for row in rows:
        del row[1]


def _bad_fixed_value(rows: list[list[Any]]) -> None:
    rows[2][4] = "差不多"


def _empty_description(rows: list[list[Any]]) -> None:
    rows[1][1] = "  "


def _empty_category(rows: list[list[Any]]) -> None:
    rows[2][0] = ""


def _bad_scope(rows: list[list[Any]]) -> None:
    rows[1][3] = "普遍问题"


def _header_only(rows: list[list[Any]]) -> None:
    del rows[1:]


def _nothing(rows: list[list[Any]]) -> None:
    rows.clear()


BAD_SHEETS = [
    ("missing-column", _missing_column, "问题清单缺少必需的列：问题描述"),
    ("bad-立行立改", _bad_fixed_value, "第3行：“立行立改”应填“是”或“否”，实为“差不多”"),
    ("empty-description", _empty_description, "第2行“问题描述”：不能为空或过短"),
    ("empty-category", _empty_category, "第3行“问题类别”：不能为空或过短"),
    ("bad-scope", _bad_scope, "第2行“问题性质”：应为“个性问题”或“共性问题”"),
    ("header-only", _header_only, "问题清单没有数据行"),
    ("no-rows-at-all", _nothing, "问题清单为空或缺少表头"),
]


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize(("spoil", "phrase"), [(f, p) for _, f, p in BAD_SHEETS], ids=[i for i, _, _ in BAD_SHEETS])
def test_bad_sheet_is_refused_and_nothing_written(
    site: tuple[Session, Inspection], tmp_path: Path, ext: str, spoil: Any, phrase: str,
) -> None:
    demo_org, stationed = site
    rows = sheet_rows(3)
    spoil(rows)
    path = write_sheet(tmp_path / f"问题清单{ext}", rows)
    before = row_counts(demo_org)
    with pytest.raises(DomainError) as exc:
        _import(demo_org, stationed, path)
    assert phrase in str(exc.value), str(exc.value)
    demo_org.commit()
    assert row_counts(demo_org) == before
    # The corrected sheet then imports (its problems new to the unit this module's tests share:
    # the same problem is recorded once per unit).
    fixed = sheet_rows(3)
    for row in fixed[1:]:
        row[1] = f"{row[1]}（{tmp_path.name}）"
    imported = _import(demo_org, stationed, write_sheet(tmp_path / f"改正后{ext}", fixed))
    assert len(imported) == 3
    assert row_counts(demo_org)["finding"] == before["finding"] + 3


def test_one_bad_row_refuses_the_whole_sheet_listing_every_problem(site: tuple[Session, Inspection], tmp_path: Path) -> None:
    demo_org, stationed = site
    rows = sheet_rows(3)
    rows[1][4] = "也许"
    rows[3][1] = ""
    before = row_counts(demo_org)
    with pytest.raises(DomainError) as exc:
        _import(demo_org, stationed, write_sheet(tmp_path / "问题清单.csv", rows))
    assert str(exc.value).startswith("问题清单未导入（整表未写入）")
    assert len(exc.value.problems) == 2
    assert "第2行" in exc.value.problems[0] and "第4行" in exc.value.problems[1]
    demo_org.commit()
    assert row_counts(demo_org) == before


@pytest.mark.parametrize(
    ("name", "content", "phrase"),
    [
        ("问题清单.txt", "问题类别,问题描述\n党的建设,问题", "不支持的文件类型：.txt"),
        ("问题清单.xls", "", "不支持的文件类型：.xls"),
        ("问题清单", "", "不支持的文件类型：无扩展名"),
        ("问题清单.csv", b"", "问题清单为空或缺少表头"),
        ("问题清单.xlsx", b"", "无法读取问题清单"),
        ("问题清单.xlsx", b"this is not a workbook", "无法读取问题清单"),
        # GBK is read now (tests/infra/test_files_in.py); bytes valid in no accepted encoding are not.
        ("问题清单.csv", "问题类别,问题描述\n党的建设,".encode("gbk") + b"\x80\x80", "无法读取问题清单"),
        ("问题清单.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "无法读取问题清单："),
    ],
    ids=["txt", "xls", "no-extension", "empty-csv", "empty-xlsx", "corrupt-xlsx", "undecodable-csv", "binary-csv"],
)
def test_unreadable_file(site: tuple[Session, Inspection], tmp_path: Path, name: str, content: str | bytes, phrase: str) -> None:
    demo_org, stationed = site
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before = row_counts(demo_org)
    with pytest.raises(DomainError) as exc:
        _import(demo_org, stationed, path)
    assert phrase in str(exc.value)
    demo_org.commit()
    assert row_counts(demo_org) == before


def test_missing_file_and_empty_workbook(tmp_path: Path) -> None:
    with pytest.raises(DomainError, match="找不到文件"):
        parse_sheet(tmp_path / "nope.xlsx")
    wb = Workbook()
    wb.save(tmp_path / "blank.xlsx")
    with pytest.raises(DomainError, match="问题清单为空或缺少表头"):
        parse_sheet(tmp_path / "blank.xlsx")


def test_findings_only_while_stationing(demo_org: Session) -> None:
    _, (insp, *_) = make_round(demo_org)
    before = row_counts(demo_org)
    with pytest.raises(DomainError, match="只有集中巡察阶段可以登记问题"):
        record_findings(session=demo_org, inspection=insp, findings=sample_findings(), by="巡察组", now=NOW)
    with pytest.raises(DomainError, match="只有集中巡察和报告阶段可以登记线索"):
        store_clue(session=demo_org, inspection=insp, kind="违纪违法线索", summary="某某收受礼金", by="巡察组", now=NOW)
    demo_org.commit()
    assert row_counts(demo_org) == before


def test_find_inspection(demo_org: Session) -> None:
    _, (insp, *_) = make_round(demo_org)
    assert find_inspection(session=demo_org, round_name="2026年第一轮巡察", unit_name="城东街道").id == insp.id
    with pytest.raises(DomainError, match="未知的巡察轮次：第九轮"):
        find_inspection(session=demo_org, round_name="第九轮", unit_name="城东街道")
    with pytest.raises(DomainError, match="未知的被巡察单位：城南街道"):
        find_inspection(session=demo_org, round_name="2026年第一轮巡察", unit_name="城南街道")
    with pytest.raises(DomainError, match="区财政局 不在 2026年第一轮巡察 的巡察范围内"):
        find_inspection(session=demo_org, round_name="2026年第一轮巡察", unit_name="区财政局")


def test_add_clue(stationed: Inspection, demo_org: Session) -> None:
    before = row_counts(demo_org)
    for kind, summary, phrase in [("举报信", "内容", "未知的线索类型：举报信"), ("违纪违法线索", "   ", "线索内容不能为空")]:
        with pytest.raises(DomainError, match=phrase):
            store_clue(session=demo_org, inspection=stationed, kind=kind, summary=summary, by="巡察组", now=NOW)
    demo_org.commit()
    assert row_counts(demo_org) == before
    clue = store_clue(session=demo_org, inspection=stationed, kind="违纪违法线索", summary=" 某副局长违规收受购物卡 ",
                    by="李建国", now=NOW)
    demo_org.commit()
    assert (clue.summary, clue.status, clue.receiver) == ("某副局长违规收受购物卡", ClueStatus.PENDING, "")
    event = demo_org.exec(select(AuditEvent).where(AuditEvent.entity == "clue")).one()
    assert (event.actor, event.action, event.detail) == ("李建国", "登记线索", {"kind": "违纪违法线索"})
    assert len(demo_org.exec(select(Clue)).all()) == 1
    assert demo_org.get(Inspection, stationed.id).stage == Stage.STATIONING  # type: ignore[union-attr]


# --- idempotent import, corrections during stationing ---------------------------------------

def test_the_same_sheet_twice_stores_nothing_new(stationed: Inspection, demo_org: Session, tmp_path: Path) -> None:
    s = demo_org
    sheet = write_sheet(tmp_path / "问题清单.xlsx", sheet_rows(3))
    assert len(_import(s, stationed, sheet)) == 3
    before = row_counts(s)
    assert _import(s, stationed, sheet) == []
    assert row_counts(s) == before | {"audit_event": before["audit_event"] + 1}  # the attempt is logged, with what it skipped
    last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert last is not None and last.detail == {"count": 0, "already_recorded": 3}
    # Spacing and a changed evidence column do not make it another problem; a new row is added alone.
    rows = sheet_rows(3)
    rows[1][1], rows[1][2] = f"  {rows[1][1]} ", "补充的证据"
    rows.append(["党的建设", "党费收缴不及时", "", "", ""])
    added = _import(s, stationed, write_sheet(tmp_path / "问题清单-第二版.csv", rows))
    assert [f.description for f in added] == ["党费收缴不及时"]
    assert len(s.exec(select(Finding).where(Finding.inspection_id == stationed.id)).all()) == 4


def test_a_sheet_repeating_a_row_stores_it_once(stationed: Inspection, demo_org: Session, tmp_path: Path) -> None:
    rows = sheet_rows(2) + [sheet_rows(1)[1]]
    assert len(_import(demo_org, stationed, write_sheet(tmp_path / "重复.csv", rows))) == 2


def test_the_same_problem_in_another_unit_is_its_own_finding(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    _, insps = make_round(demo_org)
    for insp in insps[:2]:
        start_stationing(session=demo_org, settings=settings, inspection_id=insp.id or 0, now=NOW, link="")
    demo_org.commit()
    sheet = write_sheet(tmp_path / "问题清单.csv", sheet_rows(2))
    assert [len(_import(demo_org, insp, sheet)) for insp in insps[:2]] == [2, 2]


def test_parallel_imports_cannot_duplicate(tmp_path: Path) -> None:
    """Four imports of one sheet at once, each in its own connection to one SQLite file: the
    problems are stored once, every import ends cleanly (stored, or nothing new)."""
    import threading

    from models.db import make_engine

    home = tmp_path / "parallel"
    with database(home) as s:
        _, (insp, *_) = make_round(s)
        start_stationing(session=s, settings=Settings(home=home), inspection_id=insp.id or 0, now=NOW, link="")
        s.commit()
        iid = insp.id
    parsed = parse_sheet(write_sheet(tmp_path / "问题清单.xlsx", sheet_rows(3)))
    engine = make_engine(f"sqlite:///{home / 'xuncha.db'}")
    start, stored, errors = threading.Barrier(4), [], []

    def one() -> None:
        try:
            with Session(engine) as s:
                start.wait()
                target = s.get(Inspection, iid)
                assert target is not None
                stored.append(len(record_findings(session=s, inspection=target, findings=parsed, by="巡察组", now=NOW)))
                s.commit()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with Session(engine) as s:
        found = s.exec(select(Finding.description).where(Finding.inspection_id == iid)).all()
    engine.dispose()
    assert errors == []
    assert sorted(stored) == [0, 0, 0, 3]
    assert sorted(found) == sorted(f.description for f in parsed)


def test_the_unique_constraint_holds_without_the_check(stationed: Inspection, demo_org: Session) -> None:
    """A parallel import that slipped past the read (PostgreSQL, read committed) meets the
    constraint: a Chinese refusal, nothing stored."""
    from tasks.lifecycle.findings import CONCURRENT_IMPORT, add_unique, finding_hash

    s = demo_org
    record_findings(session=s, inspection=stationed, findings=sample_findings()[:1], by="巡察组", now=NOW)
    s.commit()
    before = row_counts(s)
    f = sample_findings()[0]
    twin = Finding(inspection_id=stationed.id or 0, category=f.category, description=f.description, created_at=NOW,
                   content_hash=finding_hash(f.category, f.description))
    with pytest.raises(DomainError, match=CONCURRENT_IMPORT.split("，")[0]):
        add_unique(s, [twin])
    s.rollback()
    assert row_counts(s) == before


def _stationed_finding(s: Session, insp: Inspection) -> int:
    (row,) = record_findings(session=s, inspection=insp, findings=sample_findings()[:1], by="巡察组", now=NOW)
    s.commit()
    return row.id or 0


def test_correct_a_finding_during_stationing(stationed: Inspection, demo_org: Session) -> None:
    from tasks.lifecycle.findings import correct_finding

    s = demo_org
    fid = _stationed_finding(s, stationed)
    row = correct_finding(session=s, by="刘洋", finding_id=fid, now=NOW,
                          changes={"问题描述": "公务接待超标准", "立行立改": "是", "问题性质": "共性问题"})
    s.refresh(row)
    assert (row.description, row.fixed_on_site, row.scope, row.corrected_at is not None) == (
        "公务接待超标准", True, FindingScope.COMMON, True)
    event = s.exec(select(AuditEvent).where(AuditEvent.action == "更正问题")).one()
    assert event.actor == "刘洋" and event.entity_id == fid
    assert event.detail["before"]["问题描述"] == "公务接待超标准，存在违规报销招待费问题"
    assert event.detail["after"]["问题描述"] == "公务接待超标准"
    # The corrected text now counts as recorded: importing it again adds nothing.
    again = sample_findings()[0].model_copy(update={"description": "公务接待超标准"})
    assert record_findings(session=s, inspection=stationed, findings=[again], by="巡察组", now=NOW) == []


@pytest.mark.parametrize(("by", "changes", "message"), [
    ("刘洋", {"问题描述": "  "}, "“问题描述”：不能为空或过短"),
    ("刘洋", {"问题性质": "大问题"}, "“问题性质”：应为“个性问题”或“共性问题”"),
    ("刘洋", {"立行立改": "也许"}, "“立行立改”应填“是”或“否”，实为“也许”"),
    ("刘洋", {"密级": "绝密"}, "无法更正的字段：密级"),
    ("刘洋", {}, "请用 --field"),
    ("刘洋", {"问题类别": "党的建设", "问题描述": "党务公开栏内容长期未更新"}, "更正后与本单位已登记的第"),
    ("林静", {"问题描述": "新描述"}, "该单位不由您所在的巡察组巡察"),  # a 组员 of no team in this round
    ("钱正平", {"问题描述": "新描述"}, "“被巡察单位联络员”无权更正巡察发现的问题"),
    ("冒名者", {"问题描述": "新描述"}, "“冒名者”不是本系统的在册用户"),
])
def test_a_bad_correction_changes_nothing(stationed: Inspection, demo_org: Session, by: str, changes: dict[str, str],
                                          message: str) -> None:
    from tasks.lifecycle.findings import correct_finding

    s = demo_org
    fid = _stationed_finding(s, stationed)
    record_findings(session=s, inspection=stationed, findings=[sample_findings()[2]], by="巡察组", now=NOW)
    s.commit()
    refused(s, lambda: correct_finding(session=s, by=by, finding_id=fid, changes=changes, now=NOW), message)


def test_withdraw_a_finding_during_stationing(stationed: Inspection, demo_org: Session) -> None:
    from tasks.lifecycle.findings import withdraw_finding

    s = demo_org
    fid = _stationed_finding(s, stationed)
    refused(s, lambda: withdraw_finding(session=s, by="刘洋", finding_id=fid, reason="误登", now=NOW),
            "“巡察组组员”无权撤回巡察发现的问题")  # the 组长 or the office withdraws
    refused(s, lambda: withdraw_finding(session=s, by="周卫东", finding_id=fid, reason="误登", now=NOW),
            "该单位不由您所在的巡察组巡察")
    refused(s, lambda: withdraw_finding(session=s, by="李建国", finding_id=fid, reason=" ", now=NOW), "请用 --reason 说明撤回原因")
    refused(s, lambda: withdraw_finding(session=s, by="李建国", finding_id=999, reason="误登", now=NOW), "问题不存在：999")
    withdraw_finding(session=s, by="李建国", finding_id=fid, reason="与第2号重复登记", now=NOW)
    assert s.get(Finding, fid) is None
    event = s.exec(select(AuditEvent).where(AuditEvent.action == "撤回问题")).one()
    assert (event.actor, event.entity_id, event.detail["reason"]) == ("李建国", fid, "与第2号重复登记")
    assert event.detail["description"] == "公务接待超标准，存在违规报销招待费问题"


def test_corrections_only_during_stationing_and_never_once_archived(stationed: Inspection, demo_org: Session,
                                                                   settings: Settings) -> None:
    from tasks.lifecycle.findings import correct_finding, withdraw_finding

    s = demo_org
    fid = _stationed_finding(s, stationed)
    advance(s, settings, stationed.id or 0, Stage.REPORTING)
    s.commit()
    refused(s, lambda: correct_finding(session=s, by="陶文华", finding_id=fid, changes={"证据材料": "补充"}, now=NOW),
            "当前阶段为“报告巡察”，只有集中巡察阶段可以更正问题")
    advance(s, settings, stationed.id or 0, Stage.ARCHIVED)
    s.commit()
    refused(s, lambda: withdraw_finding(session=s, by="陶文华", finding_id=fid, reason="误登", now=NOW),
            "2026年第一轮巡察·城东街道已归档，不能修改（撤回问题）")
