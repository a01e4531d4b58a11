"""立卷归档: the dossier of a finished unit verifies clean, a changed byte or a missing or extra
file is reported by name (also by `verify-dossier`), and archived records are read-only."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.enums import Stage
from models.errors import DomainError
from models.forms import CommonGroupIn, FindingIn, ItemCheckIn, ProgressIn
from models.settings import Settings, get_settings
from models.tables import Inspection, LookBack, RectificationItem
from tasks.clues import ledger as clues
from tasks.lifecycle.findings import record_findings
from tasks.lifecycle.rounds import settle_plan
from tasks.records.dossier import find_dossier, verify_dossier
from tasks.supervision.common_problems import confirm_groups
from tasks.supervision.look_back import record_results
from tasks.supervision.rectification import report_progress
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.cli import login
from tests.support.factories import finding, make_round, round_params, row_counts, sample_findings

LINK = "http://127.0.0.1:4200/runs/flow-run/test"
SENTINEL = "哨兵-绝密-A2C1"


def dossier_of(s: Session, settings: Settings, unit: str | None = None) -> Path:
    """The dossier folder of the default round's unit (its 综合卷 without one), by names (models/paths.py builds it)."""
    folder = find_dossier(session=s, settings=settings, round_name="2026年第一轮巡察", unit_name=unit)
    s.commit()  # lets go of the database (SQLite: BEGIN IMMEDIATE), which the CLI may open next
    return folder


def archived_unit(s: Session, settings: Settings, units: tuple[str, ...] = ("城东街道",),
                  before: Callable[[Session, list[int]], None] | None = None,
                  findings: list[FindingIn] | None = None) -> list[int]:
    """Units through every stage to 已归档, with a confidential clue; returns the inspection ids.
    `before(session, ids)` runs once the round is created (to change its data behind the forms)."""
    rnd, inspections = make_round(s, round_params(units=units))
    settle_plan(session=s, round_id=rnd.id or 0, approved=True, now=NOW)  # as the round flow does first
    ids = [i.id for i in inspections if i.id]
    if before is not None:
        before(s, ids)
    for iid in ids:
        advance(s, settings, iid, Stage.ARCHIVED, findings=findings or sample_findings(), reported_by="李建国",
                clues=[("违纪违法线索", f"{SENTINEL}：收受购物卡")], link=LINK)
        s.commit()
    return ids


def test_dossier_of_a_finished_unit(demo_org: Session, settings: Settings) -> None:
    (iid,) = archived_unit(demo_org, settings)
    folder = dossier_of(demo_org, settings, "城东街道")
    assert verify_dossier(folder) == []
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["01-巡察公告.docx", "02-巡察报告.docx", "03-巡察反馈意见.docx", "04-巡察成果运用函-组织部.docx",
                     "05-巡察成果运用函-纪委监委.docx", "06-线索移交函-纪委监委.docx",
                     "07-整改通知书.docx", "08-落实巡察整改工作责任建议书.docx", "manifest.sha256", "保密卷目录（个别谈话）.xlsx",
                     "卷内目录.tsv", "卷内目录.xlsx", "巡察记录.xlsx"]
    # The catalogue: 序号/文件名称/形成日期/大小 for every catalogued file.
    ws = load_workbook(folder / "卷内目录.xlsx").active
    rows = list(ws.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0] == ("序号", "文件名称", "形成日期", "大小", "文件")
    assert [r[4] for r in rows[1:]] == [n for n in names if n[0].isdigit()] + ["巡察记录.xlsx", "保密卷目录（个别谈话）.xlsx"]
    assert all(r[2] == "2026-12-01" and r[3] for r in rows[1:])
    # The records: one sheet per kind, without clue text.
    wb = load_workbook(folder / "巡察记录.xlsx")
    assert wb.sheetnames == ["问题清单", "整改事项", "整改进展", "审批记录", "线索移交函", "线索台账", "信访举报", "回头看",
                             "回头看核查与问责", "民主测评和问卷调查", "指标核查", "指标缺项说明", "审计事件"]
    assert wb["问题清单"].max_row == 1 + 3 and wb["整改事项"].max_row == 1 + 2
    assert [c.value for c in wb["整改事项"][2]][6] == "已销号"
    assert [c.value for c in wb["线索台账"][2]][1:5] == ["违纪违法线索", None, "纪委监委", "已移交"]
    actions = [row[3] for row in wb["审计事件"].iter_rows(min_row=2, values_only=True)]
    assert "登记问题" in actions and "线索移交" in actions and "整改销号" in actions
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(SENTINEL in str(v) for v in row if v is not None), ws.title
    # The zip beside the folder holds the same files.
    with zipfile.ZipFile(folder.with_name(folder.name + ".zip")) as zf:
        assert sorted(n.split("/", 1)[1] for n in zf.namelist()) == names
    # The round finished with its only unit: its 综合卷 verifies too.
    combined = dossier_of(demo_org, settings)
    assert verify_dossier(combined) == []
    assert "01-巡察工作总结报告.docx" in {p.name for p in combined.iterdir()}
    assert len(list(combined.glob("*.png"))) == 3


def test_changes_are_reported_by_name(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    archived_unit(demo_org, settings)
    folder = tmp_path / "城东街道"
    shutil.copytree(dossier_of(demo_org, settings, "城东街道"), folder)
    assert verify_dossier(folder) == []
    report = folder / "02-巡察报告.docx"
    data = bytearray(report.read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte
    report.write_bytes(bytes(data))
    (folder / "07-整改通知书.docx").unlink()
    (folder / "说明.txt").write_text("后来放进去的", encoding="utf-8")
    assert verify_dossier(folder) == [
        "文件已被改动（SHA-256 不一致）：02-巡察报告.docx", "缺少文件：07-整改通知书.docx", "多出文件：说明.txt"]
    (folder / "manifest.sha256").unlink()
    assert verify_dossier(folder) == ["缺少文件：manifest.sha256（无法核验）"]
    assert verify_dossier(tmp_path / "没有这个目录") == [f"案卷目录不存在：{tmp_path / '没有这个目录'}"]


def stamp(s: Session) -> None:
    """Mark the test database (made by create_all) as at the head revision, as the CLI requires."""
    from sqlalchemy import text

    from models.schema import head_revision

    s.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    s.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head_revision()})
    s.commit()


@pytest.fixture
def cli_on_test_db(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI on this test's database (not an engine cached by an earlier test)."""
    from models.db import get_engine

    monkeypatch.setenv("XUNCHA_HOME", str(settings.home))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


def test_verify_dossier_command(demo_org: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    archived_unit(demo_org, settings, units=("城东街道", "区教育局"))
    stamp(demo_org)  # verify-dossier compares with the documents registered in the database
    monkeypatch.setenv("XUNCHA_HOME", str(settings.home))
    get_settings.cache_clear()
    from models.db import get_engine

    get_engine.cache_clear()
    login("陶文华")  # the office's clerk at the terminal
    runner = CliRunner()
    folder = dossier_of(demo_org, settings, "城东街道")
    ok = runner.invoke(app, ["verify-dossier", str(folder)])
    assert ok.exit_code == 0 and "案卷完整" in ok.output, ok.output
    whole = runner.invoke(app, ["verify-dossier", "--round", "2026年第一轮巡察"])
    assert whole.exit_code == 0 and whole.output.count("案卷完整") == 3, whole.output  # two units and 综合卷
    (dossier_of(demo_org, settings, "区教育局") / "03-巡察反馈意见.docx").write_bytes(b"changed")
    bad = runner.invoke(app, ["verify-dossier", "--round", "2026年第一轮巡察", "--unit", "区教育局"])
    assert bad.exit_code == 1
    assert "文件已被改动（SHA-256 不一致）：03-巡察反馈意见.docx" in bad.output
    assert runner.invoke(app, ["verify-dossier"]).exit_code == 2
    get_settings.cache_clear()


def test_archived_records_are_read_only(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    (iid,) = archived_unit(s, settings)
    insp = s.get(Inspection, iid)
    assert insp is not None and insp.stage == Stage.ARCHIVED
    item = s.exec(select(RectificationItem).where(RectificationItem.inspection_id == iid)).first()
    assert item is not None and item.id is not None
    lb = LookBack(source_inspection_id=iid, unit_id=insp.unit_id, cause="逾期未整改", triggered_on=NOW.date())
    s.add(lb)
    s.commit()
    before = row_counts(s)
    refusals = {
        "登记问题": lambda: record_findings(session=s, inspection=insp, findings=[finding()], by="组长", now=NOW),
        "报送整改进展": lambda: report_progress(session=s, settings=settings, inspection=insp, by="单位书记", now=NOW,
                                          formal=False, reports=[ProgressIn(item_id=item.id, status="整改中")]),
        "登记线索": lambda: clues.store_clue(session=s, inspection=insp, kind="违纪违法线索", summary="新线索", by="组长", now=NOW),
        "记录回头看核查结果": lambda: record_results(
            session=s, settings=settings, look_back_id=lb.id, by="回头看组", as_of=NOW.date(), now=NOW, link=LINK,  # type: ignore[arg-type]
            checks=[ItemCheckIn(item_id=i.id, result="未整改") for i in s.exec(  # type: ignore[arg-type]
                select(RectificationItem).where(RectificationItem.inspection_id == iid))], new_findings=[]),
    }
    for action, attempt in refusals.items():
        with pytest.raises(DomainError, match=f"2026年第一轮巡察·城东街道已归档，不能修改（{action}）"):
            attempt()
        s.rollback()
    assert row_counts(s) == before
    # Through the audited entry point a refusal writes its own audit entry and nothing else.
    with pytest.raises(DomainError, match="已归档，不能修改（登记线索）"):
        clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="又一条", now=NOW)
    assert row_counts(s) == before | {"audit_event": before["audit_event"] + 1}


def test_common_problem_cannot_change_an_archived_unit(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    ids = archived_unit(s, settings, units=("城东街道", "区教育局"))
    found = [s.exec(select(RectificationItem.finding_id).where(RectificationItem.inspection_id == iid)).first() for iid in ids]
    round_id = s.get(Inspection, ids[0]).round_id  # type: ignore[union-attr]
    before = row_counts(s)
    with pytest.raises(DomainError) as refused:
        confirm_groups(session=s, settings=settings, round_id=round_id, confirmed_by="巡察办张主任", now=NOW, link=LINK,
                       groups=[CommonGroupIn(category="全面从严治党", title="公务接待超标准", leader_in_charge="郑文斌",
                                             finding_ids=found)])  # type: ignore[arg-type]
    assert refused.value.problems == [f"第1组“公务接待超标准”：问题编号{found[0]}所属的“城东街道”已归档，不能修改",
                                      f"第1组“公务接待超标准”：问题编号{found[1]}所属的“区教育局”已归档，不能修改"]
    s.rollback()
    assert row_counts(s) == before


def test_no_look_back_is_started_for_an_archived_unit(demo_org: Session, settings: Settings) -> None:
    """Its records are read-only, so a look-back could never record its results there."""
    from datetime import timedelta

    from models.tables import InspectionNotice
    from tasks.supervision.rectification import detect_look_backs

    s = demo_org
    (iid,) = archived_unit(s, settings)
    s.add(InspectionNotice(inspection_id=iid, kind="未报送整改报告", as_of=NOW.date()))
    s.commit()
    later = NOW.date() + timedelta(days=200)
    assert detect_look_backs(session=s, settings=settings, as_of=later, now=NOW) == []
    insp = s.get(Inspection, iid)
    assert insp is not None
    insp.stage = Stage.RECTIFICATION  # the same unit not yet archived does get one
    s.add(insp)
    s.commit()
    assert len(detect_look_backs(session=s, settings=settings, as_of=later, now=NOW)) == 1


def test_formula_text_in_the_dossier_workbooks_stays_text(demo_org: Session, settings: Settings) -> None:
    """Findings typed as formulas are text cells in 巡察记录.xlsx (and no workbook of the
    dossier holds a formula)."""
    from tests.records.test_exports import HOSTILE, assert_text_cells

    archived_unit(demo_org, settings, findings=[finding(HOSTILE[0], evidence=HOSTILE[1]),
                                                finding(HOSTILE[2], evidence=HOSTILE[3]), finding(HOSTILE[4])])
    folder = dossier_of(demo_org, settings, "城东街道")
    assert verify_dossier(folder) == []
    assert_text_cells(folder / "巡察记录.xlsx", HOSTILE)
    assert_text_cells(folder / "卷内目录.xlsx", ())


# --- end to end: the database's hashes, the zip, a junk manifest --------------------------------

def _rewrite_manifest_line(folder: Path, name: str) -> None:
    """Edit `name` and put its new SHA-256 into the manifest, as a careful forger would."""
    from tasks.records.documents import sha256_of

    manifest = folder / "manifest.sha256"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    fixed = [f"{sha256_of(folder / name)}  {name}" if line.endswith(f"  {name}") else line for line in lines]
    manifest.write_text("\n".join(fixed) + "\n", encoding="utf-8")


def test_a_file_edited_with_its_manifest_line_is_found(demo_org: Session, settings: Settings) -> None:
    from tasks.records.dossier import dossier_owner, registered_hashes

    (iid,) = archived_unit(demo_org, settings)
    folder = dossier_of(demo_org, settings, "城东街道")
    owner = dossier_owner(session=demo_org, settings=settings, folder=folder)
    assert owner is not None and owner[1] == iid
    registered = registered_hashes(session=demo_org, round_id=owner[0], inspection_id=iid)
    assert set(registered) == {n for n in (p.name for p in folder.iterdir()) if n[0].isdigit()} | {"manifest.sha256"}
    assert verify_dossier(folder, registered=registered, zip_required=True) == []
    report = folder / "02-巡察报告.docx"
    report.write_bytes(report.read_bytes() + b"\0")
    _rewrite_manifest_line(folder, "02-巡察报告.docx")
    assert verify_dossier(folder, registered={k: v for k, v in registered.items() if k != "manifest.sha256"}) == [
        "文件与数据库登记的 SHA-256 不一致：02-巡察报告.docx",
        f"压缩包{folder.name}.zip中的文件与目录中的不同：02-巡察报告.docx",
        f"压缩包{folder.name}.zip中的文件与目录中的不同：manifest.sha256"]
    problems = verify_dossier(folder, registered=registered)
    assert "manifest.sha256 与归档时登记的 SHA-256 不一致（清单在归档后被改动）" in problems
    # A file the database holds no hash for (the records workbook) is caught by the manifest's registered hash.
    combined = dossier_of(demo_org, settings)
    owner = dossier_owner(session=demo_org, settings=settings, folder=combined)
    assert owner is not None and owner[1] is None
    registered = registered_hashes(session=demo_org, round_id=owner[0], inspection_id=None)
    assert verify_dossier(combined, registered=registered, zip_required=True) == []
    (combined / "统计数据.xlsx").write_bytes(b"forged")
    _rewrite_manifest_line(combined, "统计数据.xlsx")
    problems = verify_dossier(combined, registered=registered)
    assert problems[0] == "manifest.sha256 与归档时登记的 SHA-256 不一致（清单在归档后被改动）", problems


def test_the_zip_is_checked_against_the_folder(demo_org: Session, settings: Settings) -> None:
    archived_unit(demo_org, settings)
    folder = dossier_of(demo_org, settings, "城东街道")
    target = folder.with_name(f"{folder.name}.zip")
    original = target.read_bytes()
    with zipfile.ZipFile(target) as src:
        members = {i.filename: src.read(i.filename) for i in src.infolist()}
    forged = dict(members)
    forged[f"{folder.name}/03-巡察反馈意见.docx"] = b"changed"
    del forged[f"{folder.name}/卷内目录.tsv"]
    forged[f"{folder.name}/附件.txt"] = b"extra"
    with zipfile.ZipFile(target, "w") as dst:
        for name, data in forged.items():
            dst.writestr(name, data)
    assert verify_dossier(folder) == [f"压缩包{folder.name}.zip缺少文件：卷内目录.tsv", f"压缩包{folder.name}.zip多出文件：附件.txt",
                                      f"压缩包{folder.name}.zip中的文件与目录中的不同：03-巡察反馈意见.docx"]
    target.write_bytes(original[: len(original) // 2])
    (problem,) = verify_dossier(folder)
    assert problem.startswith(f"压缩包已损坏：{folder.name}.zip")
    target.unlink()
    assert verify_dossier(folder) == []
    assert verify_dossier(folder, zip_required=True) == [f"缺少压缩包：{folder.name}.zip"]


@pytest.mark.parametrize(("junk", "phrase"), [
    (b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary", "manifest.sha256 已损坏（不是 UTF-8 文本）"),
    (("0" * 64 + "  a\x00b\n").encode(), "manifest.sha256 第1行格式有误：" + "0" * 64 + "  a?b"),
    (("z" * 64 + "  02-巡察报告.docx\n").encode(), "manifest.sha256 第1行格式有误"),
    (("0" * 64 + "  " + "长" * 5000 + "\n").encode(), "manifest.sha256 第1行格式有误"),
], ids=["binary", "nul-name", "not-hex", "long-name"])
def test_a_junk_manifest_gets_a_chinese_message(demo_org: Session, settings: Settings, tmp_path: Path,
                                                junk: bytes, phrase: str, cli_on_test_db: None) -> None:
    archived_unit(demo_org, settings)
    stamp(demo_org)
    folder = tmp_path / "城东街道"
    shutil.copytree(dossier_of(demo_org, settings, "城东街道"), folder)
    (folder / "manifest.sha256").write_bytes(junk)
    problems = verify_dossier(folder)
    assert problems and problems[0].startswith(phrase), problems
    login("陶文华")
    runner = CliRunner()
    result = runner.invoke(app, ["verify-dossier", str(folder)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert phrase.split("：")[0] in result.output


def test_verify_dossier_command_uses_the_database(demo_org: Session, settings: Settings, cli_on_test_db: None) -> None:
    archived_unit(demo_org, settings)
    stamp(demo_org)
    login("陶文华")
    runner = CliRunner()
    folder = dossier_of(demo_org, settings, "城东街道")
    ok = runner.invoke(app, ["verify-dossier", "--round", "2026年第一轮巡察", "--unit", "城东街道"])
    assert ok.exit_code == 0 and "公文与数据库登记的 SHA-256 一致，压缩包与目录一致" in ok.output, ok.output
    notice = folder / "01-巡察公告.docx"
    notice.write_bytes(notice.read_bytes()[:-1])
    _rewrite_manifest_line(folder, "01-巡察公告.docx")
    bad = runner.invoke(app, ["verify-dossier", str(folder)])
    assert bad.exit_code == 1, bad.output
    assert "文件与数据库登记的 SHA-256 不一致：01-巡察公告.docx" in bad.output
    assert "manifest.sha256 与归档时登记的 SHA-256 不一致" in bad.output


def test_under_the_gm_profile_the_dossier_has_an_sm3_manifest(demo_org: Session, settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUNCHA_CRYPTO_PROFILE", "gm")  # the audit chain's profile too
    get_settings.cache_clear()
    gm = settings.model_copy(update={"crypto_profile": "gm"})
    archived_unit(demo_org, gm)
    folder = dossier_of(demo_org, gm, "城东街道")
    assert (folder / "manifest.sm3").is_file() and "  manifest.sm3\n" in (folder / "manifest.sha256").read_text()
    assert verify_dossier(folder) == []
    (folder / "巡察记录.xlsx").write_bytes(b"changed")
    problems = verify_dossier(folder)
    assert "文件已被改动（SM3 不一致）：巡察记录.xlsx" in problems
    assert "文件已被改动（SHA-256 不一致）：巡察记录.xlsx" in problems
    get_settings.cache_clear()


def test_a_dossier_the_database_does_not_know_is_unregistered(demo_org: Session, settings: Settings, tmp_path: Path,
                                                             cli_on_test_db: None) -> None:
    """A copy elsewhere (or a dossier of another installation) is not 案卷完整: it is 未登记 and the
    command fails, unless only the files are asked for (--files-only)."""
    archived_unit(demo_org, settings)
    stamp(demo_org)
    folder = tmp_path / "副本"
    shutil.copytree(dossier_of(demo_org, settings, "城东街道"), folder)
    login("陶文华")
    runner = CliRunner()
    unknown = runner.invoke(app, ["verify-dossier", str(folder)])
    assert unknown.exit_code == 1 and "案卷未登记" in unknown.output and "案卷完整" not in unknown.output, unknown.output
    assert "--files-only" in unknown.output
    files = runner.invoke(app, ["verify-dossier", str(folder), "--files-only"])
    assert files.exit_code == 0 and "案卷完整" in files.output and "只核对了文件" in files.output, files.output
    (folder / "01-巡察公告.docx").write_bytes(b"changed")
    changed = runner.invoke(app, ["verify-dossier", str(folder), "--files-only"])
    assert changed.exit_code == 1 and "01-巡察公告.docx" in changed.output
