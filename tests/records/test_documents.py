"""Official documents from the Word templates: every kind, its headings and figures, the red
header, errors in templates, the round's summary with Liuzhou's figures, and one rendering of
every kind to PDF and PNG through LibreOffice."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import docx
import pytest
from docx import Document as Docx
from sqlalchemy import insert
from sqlmodel import Session, col, select

from models.enums import ClueKind, ClueResult, ClueStatus, ItemStatus, Stage
from models.errors import DomainError
from models.forms import CommonGroupIn
from models.settings import Settings, get_settings
from models.tables import Clue, Document, Finding, Inspection, RectificationItem
from tasks.lifecycle import stages
from tasks.lifecycle.rounds import settle_plan
from tasks.records.dossier import write_summary_report
from tasks.supervision.common_problems import confirm_groups
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import database, finding, make_round, round_params, row_counts

LINK = "http://127.0.0.1:4200/runs/flow-run/test"
SENTINEL = "哨兵-绝密-D0C5"
UNITS = ("城东街道", "区教育局")
KINDS = ("巡察公告", "巡察报告", "巡察反馈意见", "线索移交函-纪委监委", "整改通知书", "落实巡察整改工作责任建议书",
         "关于落实巡察整改工作任务的函", "巡察工作总结报告")

FINDINGS = {
    "城东街道": [
        finding("公务接待超标准，存在违规报销招待费问题", category="全面从严治党"),
        finding("城东街道干部选拔任用程序不规范，个别岗位未经民主推荐", category="选人用人"),
        finding("党务公开栏内容长期未更新", category="党的建设", fixed_on_site=True),
        finding("“三会一课”制度落实不到位", category="党的建设"),
        finding("村级工程项目未按规定招投标", category="全面从严治党"),
    ],
    "区教育局": [
        finding("区教育局干部选拔任用程序不规范，个别岗位未经民主推荐", category="选人用人"),
        finding("教育经费管理不规范", category="全面从严治党"),
    ],
}


def text_of(path: str | Path) -> str:
    """Body paragraphs, table cells and the first page's header (红头) of a .docx file."""
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    parts += [c.text for t in d.tables for r in t.rows for c in r.cells]
    parts += [p.text for p in d.sections[0].first_page_header.paragraphs]
    return "\n".join(parts)


def headings(path: str | Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs if p.style is not None and p.style.name.startswith("Heading")]


def table_rows(path: str | Path, n: int = 0) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in docx.Document(str(path)).tables[n].rows]


@dataclass
class Built:
    settings: Settings
    docs: dict[str, Path]  # kind -> file (the first unit's, for per-unit kinds)
    round_id: int
    items: dict[int, str] = field(default_factory=dict)  # the first unit's item numbers -> problem descriptions


@dataclass(frozen=True)
class Read:
    """One written document, read once: its text, its headings and its tables."""
    path: Path
    text: str
    headings: list[str]

    def rows(self, n: int = 0) -> list[list[str]]:
        return table_rows(self.path, n)


def read(built: Built, kind: str) -> Read:
    path = built.docs[kind]
    return Read(path, text_of(path), headings(path))


def drive_round(s: Session, settings: Settings) -> int:
    """Two units through every stage, with clues and a common problem; returns the round id."""
    rnd, inspections = make_round(s, round_params(units=UNITS))
    settle_plan(session=s, round_id=rnd.id or 0, approved=True, now=NOW)  # as the round flow does first
    ids = {u: i.id for u, i in zip(UNITS, inspections, strict=True)}
    fids: dict[str, list[int]] = {}
    for unit, iid in ids.items():
        clues = [(kind, f"{SENTINEL}：某干部{kind}") for kind in ("违纪违法线索", "违纪违法线索", "信访事项")
                 if unit == "城东街道"]
        fids[unit] = advance(s, settings, iid, Stage.RECTIFICATION, findings=FINDINGS[unit], clues=clues,
                             reported_by="李建国", summary="本轮巡察发现的问题较为突出", link=LINK).finding_ids
    from tasks.planning.org import OrgData, UnitIn, load_org

    # Responsible departments are checked against the org data (#12): the office registers it first.
    load_org(session=s, data=OrgData(units=[UnitIn(name="区委组织部", kind="部门")]))
    confirm_groups(session=s, settings=settings, round_id=rnd.id, confirmed_by="巡察办张主任", now=NOW, link=LINK,  # type: ignore[arg-type]
                   groups=[CommonGroupIn(category="选人用人", title="干部选拔任用程序不规范", leader_in_charge="郑文斌",
                                         departments=["区委组织部"], finding_ids=[fids["城东街道"][1], fids["区教育局"][0]])])
    for iid in ids.values():
        advance(s, settings, iid, Stage.ARCHIVED, progress={"rules_made": 1}, link=LINK)
    s.commit()
    assert rnd.id is not None
    return rnd.id


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    home = tmp_path_factory.mktemp("documents") / "home"
    with pytest.MonkeyPatch.context() as mp, database(home) as s:
        for name in [n for n in os.environ if n.startswith("XUNCHA_")]:  # not the session stack's environment
            mp.delenv(name)
        get_settings.cache_clear()
        settings = Settings(home=home, ui_url="http://127.0.0.1:4200", database_url="", _env_file=None)  # type: ignore[call-arg]
        round_id = drive_round(s, settings)
        first = s.exec(select(Inspection.id).where(Inspection.round_id == round_id).order_by(col(Inspection.id))).first()
        docs: dict[str, Path] = {}
        for d in s.exec(select(Document).where(Document.round_id == round_id).order_by(col(Document.id))):
            kind = d.kind.split("-")[0] if d.kind.startswith("关于落实") else d.kind
            if kind in KINDS and d.inspection_id in (first, None):
                docs.setdefault(kind, Path(d.path))
        items = {i.id or 0: f.description for i, f in s.exec(
            select(RectificationItem, Finding).join(Finding, col(Finding.id) == RectificationItem.finding_id)
            .where(RectificationItem.inspection_id == first))}
    get_settings.cache_clear()
    yield Built(settings, docs, round_id, items)


def test_every_kind_is_written(built: Built) -> None:
    assert sorted(built.docs) == sorted(KINDS)
    for kind, path in built.docs.items():
        d = Docx(str(path))  # opens with python-docx
        header = [p.text for p in d.sections[0].first_page_header.paragraphs]
        assert header[0] in ("巡察工作领导小组", "巡察工作领导小组办公室", "第一巡察组"), (kind, header)  # 红头
        assert header[1].startswith("巡察〔2026〕") and header[1].endswith("号"), (kind, header)  # 文号
        assert d.paragraphs[0].style.name == "公文标题"  # type: ignore[union-attr]
        tail = [p.text for p in d.paragraphs if p.text][-2:]
        assert tail[1] == "2026年12月1日", kind  # 落款 date
        assert "{{" not in text_of(path) and "{%" not in text_of(path), kind


def test_the_rectification_notice_carries_the_item_numbers(built: Built) -> None:
    """The unit names its items by number in 报送整改方案/报送整改进展: the notice shows each."""
    rows = table_rows(built.docs["整改通知书"])[1:]
    assert len(built.items) == len(rows) == 4
    numbered = {}
    for r in rows:
        assert r[2].startswith("〔编号"), r
        number, _, description = r[2].removeprefix("〔编号").partition("〕")
        numbered[int(number)] = description
    assert numbered == built.items
    assert "以问题描述前〔〕内的整改事项编号指明事项" in text_of(built.docs["整改通知书"])


def test_announcement_and_report(built: Built) -> None:
    announcement = read(built, "巡察公告")
    assert "关于对城东街道党组织开展巡察的公告" in announcement.text
    assert "第一巡察组于2026年12月1日至2026年12月31日对城东街道党组织开展常规巡察" in announcement.text
    assert "组长：李建国" in announcement.text and "组员：刘洋" in announcement.text
    report = read(built, "巡察报告")
    # The evaluation section (tests/stationing/test_evaluations.py fills it) says when there is nothing.
    assert report.headings == ["一、基本情况", "二、发现的主要问题", "三、民主测评和问卷调查", "四、组长意见"]
    assert "未导入民主测评和问卷调查结果。" in report.text
    assert "共发现问题5个，其中立行立改1个" in report.text
    assert "党的建设：2个" in report.text and "全面从严治党：2个" in report.text and "选人用人：1个" in report.text
    assert "5. 【全面从严治党】村级工程项目未按规定招投标" in report.text


def test_feedback_lists_counts_per_category(built: Built) -> None:
    doc = read(built, "巡察反馈意见")
    assert doc.headings == ["一、巡察发现的主要问题", "（一）党的建设方面（2个）", "（二）全面从严治党方面（2个）",
                            "（三）选人用人方面（1个）", "二、整改要求"]
    assert doc.rows() == [["问题类别", "问题数（个）"], ["党的建设", "2"], ["全面从严治党", "2"], ["选人用人", "1"]]
    assert "中共城东街道委员会：" in doc.text
    assert "巡察共发现问题5个，其中立行立改1个、需要整改4个" in doc.text
    assert "请于15日内报送整改方案，60日内完成整改" in doc.text


def test_rectification_notice_and_liaison_letter(built: Built) -> None:
    deadline = NOW.date() + timedelta(days=60)
    day = f"{deadline.year}年{deadline.month}月{deadline.day}日"
    notice = read(built, "整改通知书")
    assert notice.headings == ["一、整改任务", "二、有关要求"]
    rows = notice.rows()
    assert rows[0] == ["序号", "问题类别", "问题描述", "责任人", "督办领导", "整改时限"]
    assert len(rows) == 1 + 4  # the four problems not fixed on site
    assert all(r[3] == "钱正平" and r[5] == day for r in rows[1:])
    assert f"共4项整改任务，整改期限至{day}" in notice.text
    letter = read(built, "落实巡察整改工作责任建议书")
    # Written when rectification starts: the common problem was confirmed (to 分管领导) only later.
    assert "吴志刚同志：" in letter.text and "由您督办的个性问题4个" in letter.text
    assert letter.headings == ["一、督办责任", "二、督办的个性问题"]
    assert "参加城东街道巡察整改专题民主生活会" in letter.text and "7. " in letter.text
    assert len(letter.rows()) == 1 + 4


def test_common_problem_letter_to_leader_in_charge(built: Built) -> None:
    doc = read(built, "关于落实巡察整改工作任务的函")
    assert "郑文斌同志：" in doc.text
    assert "在城东街道、区教育局等2个单位发现同类问题“干部选拔任用程序不规范”（选人用人）" in doc.text
    assert "会同区委组织部" in doc.text
    assert [r[1] for r in doc.rows()[1:]] == ["城东街道", "区教育局"]


def test_clue_letter_counts_kinds_without_content(built: Built) -> None:
    doc = read(built, "线索移交函-纪委监委")
    assert "纪委监委：" in doc.text and "发现问题线索2件" in doc.text
    assert doc.rows() == [["线索类型", "件数"], ["违纪违法线索", "2"]]
    assert "线索编号：第1号、第2号" in doc.text
    assert SENTINEL not in doc.text


def test_summary_report_of_the_round(built: Built) -> None:
    doc = read(built, "巡察工作总结报告")
    assert "关于2026年第一轮巡察工作情况的总结报告" in doc.text
    assert "共派出巡察组1个，巡察单位2个" in doc.text
    assert "本轮共发现问题7个，反馈问题7个，立行立改1个；整改到位6个，整改到位率100.00%。移交问题线索3件" in doc.text
    assert "建章立制6项" in doc.text
    assert doc.headings[:4] == ["一、主要数据", "二、各巡察组情况", "三、各单位整改情况", "四、统计图表"]
    units = doc.rows(2)
    assert [r[0] for r in units[1:]] == sorted(UNITS)
    assert len(Docx(str(doc.path)).inline_shapes) == 3  # the round's charts, embedded


def test_summary_report_shows_liuzhous_rate(demo_org: Session, settings: Settings) -> None:
    """1,172 problems fed back, 590 rectified: 50.34% (the units fed back on site, then their findings
    and items built with bulk inserts)."""
    s = demo_org
    rnd, inspections = make_round(s)
    ids = [i.id for i in inspections]
    for iid in ids:
        advance(s, settings, iid or 0, Stage.RECTIFICATION)
    per = [400, 400, 372]
    s.execute(insert(Finding), [
        {"inspection_id": iid, "category": ("党的建设", "全面从严治党", "选人用人")[n % 3], "description": f"问题{n}",
         "created_at": NOW} for iid, k in zip(ids, per, strict=True) for n in range(k)])
    found = s.exec(select(Finding.id, Finding.inspection_id).order_by(col(Finding.id))).all()
    deadline = NOW.date() + timedelta(days=60)
    s.execute(insert(RectificationItem), [
        {"inspection_id": iid, "finding_id": fid, "deadline": deadline, "status": ItemStatus.CLOSED if n < 590 else ItemStatus.IN_PROGRESS,
         "rules_made": 1 if n < 140 else 0} for n, (fid, iid) in enumerate(found)])
    s.execute(insert(Clue), [
        {"inspection_id": ids[n % 3], "kind": ClueKind.DISCIPLINE, "summary": "x", "receiver": "discipline_commission",
         "status": ClueStatus.CLOSED if n < 6 else ClueStatus.TRANSFERRED, "transferred_at": NOW,
         "result": ClueResult.SANCTION if n < 6 else None, "created_at": NOW} for n in range(36)])
    s.commit()
    doc = write_summary_report(session=s, settings=settings, round_id=rnd.id, now=NOW)  # type: ignore[arg-type]
    text = text_of(doc.path)
    assert "本轮共发现问题1172个，反馈问题1172个，立行立改0个；整改到位590个，整改到位率50.34%" in text
    assert "移交问题线索36件，立案6件，处分6人，建章立制140项" in text
    assert ["整改到位率", "50.34%"] in table_rows(doc.path)
    s.commit()
    before = row_counts(s)
    assert write_summary_report(session=s, settings=settings, round_id=rnd.id, now=NOW + timedelta(days=1)).id == doc.id  # type: ignore[arg-type]
    assert row_counts(s) == before


# Templates the office broke ------------------------------------------------------------------


def _templates(settings: Settings, tmp_path: Path) -> Settings:
    folder = tmp_path / "模板"
    shutil.copytree(settings.templates_dir, folder)
    return settings.model_copy(update={"templates_dir": folder})


def _one_paragraph(path: Path, text: str) -> None:
    d = Docx()
    d.add_paragraph(text)
    d.save(str(path))


@pytest.mark.parametrize(("damage", "message"), [
    ("missing", "找不到公文模板“巡察公告.docx”"),
    ("not a docx", "公文模板“巡察公告.docx”不是有效的 Word 文件"),
    ("unclosed if", "公文模板“巡察公告.docx”中的标签有误"),
    ("broken braces", "公文模板“巡察公告.docx”中的标签有误"),
    ("unknown field", "公文模板“巡察公告.docx”使用了本类公文没有的字段“phone”"),
])
def test_bad_template_named_and_nothing_written(demo_org: Session, settings: Settings, tmp_path: Path, damage: str,
                                               message: str) -> None:
    s = demo_org
    bad = _templates(settings, tmp_path)
    path = bad.templates_dir / "巡察公告.docx"
    if damage == "missing":
        path.unlink()
    elif damage == "not a docx":
        path.write_bytes(b"not a word file")
    elif damage == "unclosed if":
        _one_paragraph(path, "{%p if addressee %}")
    elif damage == "broken braces":
        _one_paragraph(path, "{{ title }")
    else:
        _one_paragraph(path, "联系电话：{{ phone }}")
    _, (insp, *_) = make_round(s)
    before = row_counts(s)
    with pytest.raises(DomainError, match=message):
        stages.prepare(session=s, settings=bad, inspection_id=insp.id, now=NOW, link=LINK)  # type: ignore[arg-type]
    s.rollback()
    assert row_counts(s) == before
    assert not list(bad.documents_dir.rglob("*.docx"))


def test_templates_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XUNCHA_TEMPLATES_DIR", str(tmp_path))
    assert Settings(_env_file=None).templates_dir == tmp_path  # type: ignore[call-arg]


# LibreOffice ---------------------------------------------------------------------------------


def test_every_kind_renders_to_pdf_and_png(built: Built, tmp_path: Path) -> None:
    """All kinds in one LibreOffice run (a private profile), then each first page to PNG."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        pytest.skip("LibreOffice (soffice) or pdftoppm is not installed: scripts/setup.sh installs them")
    import numpy as np
    from PIL import Image

    src, out = tmp_path / "docx", tmp_path / "pdf"
    src.mkdir()
    for n, (kind, path) in enumerate(sorted(built.docs.items()), 1):
        shutil.copy(path, src / f"{n:02d}-{kind}.docx")
    inputs = sorted(src.glob("*.docx"))
    run = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
                          "--convert-to", "pdf", "--outdir", str(out), *map(str, inputs)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for docx_file in inputs:
        pdf = out / f"{docx_file.stem}.pdf"
        assert pdf.is_file() and pdf.stat().st_size > 1000, (docx_file.name, run.stdout, run.stderr)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(out / docx_file.stem)],
                       check=True, timeout=60)
        (png,) = out.glob(f"{docx_file.stem}*.png")
        with Image.open(png) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.int32)
        h, w, _ = rgb.shape
        assert 400 < w < h < 1200, (png.name, w, h)  # A4 portrait at 60 dpi: 496 × 702
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        dark = int(((r + g + b) < 200).sum())
        red = int(((r > 180) & (g < 90) & (b < 90)).sum())
        assert dark > 0.002 * w * h, (png.name, dark)  # text, not a blank page
        assert red > 200, (png.name, red)  # the red header and its line
