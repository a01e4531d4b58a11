"""Names never become paths: the rules every name and text meets where it enters (one table of
cases: input, the Chinese message, nothing written), the path builder under fuzzed names (always
strictly inside the data folder), archiving data stored before the rules (a unit named
`../../keys`, a round named `../../x`) and the refusal to delete a folder the product did not
create. Control characters stored before the rules are replaced on export."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from models.errors import DomainError, explain
from models.forms import FindingIn, RoundParams, TeamSpec
from models.paths import (
    DISPLAY_MAX,
    RESERVED,
    display_part,
    dossier_path,
    inside,
    make_folder,
    marker,
    remove_folder,
    round_archive,
)
from models.settings import Settings
from models.tables import Finding, Inspection, InspectionRound, Unit
from models.text import is_control, printable
from tasks.lifecycle.findings import parse_sheet
from tasks.planning.org import load_org, parse_org
from tasks.planning.org_excel import write_org_excel
from tasks.records.dossier import find_dossier, verify_dossier
from tasks.records.exports import export_lists
from tests.records.test_dossier import archived_unit
from tests.support.factories import round_data, row_counts, write_csv

# 1. The entry rules, one table -------------------------------------------------------------


def _round(**over: Any) -> dict[str, Any]:
    data = round_data()
    data.update(over)
    return data


def _team(**over: Any) -> dict[str, Any]:
    team = dict(round_data()["teams"][0])
    team.update(over)
    return _round(teams=[team])


def form(model: type[BaseModel], data: dict[str, Any]) -> Callable[[Session, Path], None]:
    def run(_s: Session, _t: Path) -> None:
        try:
            model.model_validate(data)
        except ValidationError as exc:
            raise DomainError("表单有误", explain(exc, model)) from exc

    return run


def org(raw: dict[str, Any]) -> Callable[[Session, Path], None]:
    return lambda s, _t: (load_org(session=s, data=parse_org(raw)), None)[1]


def sheet(rows: list[list[str]]) -> Callable[[Session, Path], None]:
    return lambda _s, t: (parse_sheet(write_csv(t / "问题.csv", rows)), None)[1]


CASES: list[tuple[str, Callable[[Session, Path], None], str]] = [
    ("round name with separators", form(RoundParams, _round(name="../../x")), "巡察轮次名称：不能包含路径分隔符“/”"),
    ("round name with a backslash", form(RoundParams, _round(name="a\\b轮")), "巡察轮次名称：不能包含路径分隔符“\\”"),
    ("round name with NUL", form(RoundParams, _round(name="第一\x00轮")), "巡察轮次名称：不能包含控制字符或不可见字符（第3个字符，U+0000）"),
    ("round name with a C1 character", form(RoundParams, _round(name="第一\x9b轮")), "U+009B"),
    ("round name with a bidi override", form(RoundParams, _round(name="第一\u202e轮")), "U+202E"),
    ("round name blank", form(RoundParams, _round(name="   ")), "巡察轮次名称：至少2个字"),
    ("round name too long", form(RoundParams, _round(name="轮" * 101)), "巡察轮次名称：不能超过100个字"),
    ("round name only dots", form(RoundParams, _round(name="...")), "巡察轮次名称：不能只由句点组成"),
    ("team name with a tab", form(RoundParams, _team(name="第一\t组")), "巡察组名称：不能包含控制字符"),
    ("team leader with a separator", form(RoundParams, _team(leader="马/成功")), "组长：不能包含路径分隔符"),
    ("team member blank", form(RoundParams, _team(members=[" "])), "组员·第1项：不能为空"),
    ("team unit like a path", form(RoundParams, _team(units=["../../keys"])), "被巡察单位·第1项：不能包含路径分隔符"),
    ("team unit too long", form(RoundParams, _team(units=["局" * 51])), "被巡察单位·第1项：不能超过50个字"),
    ("team deputy with DEL", form(TeamSpec, {"name": "组", "leader": "甲", "units": ["乙"], "deputy": "丙\x7f"}),
     "副组长：不能包含控制字符"),
    ("finding category with NUL", form(FindingIn, {"category": "党建\x00", "description": "会议记录缺失"}), "问题类别：不能包含控制字符"),
    ("finding description with ESC", form(FindingIn, {"category": "党建", "description": "会议\x1b记录"}),
     "问题描述：不能包含控制字符"),
    ("finding description too long", form(FindingIn, {"category": "党建", "description": "长" * 4001}), "问题描述：不能超过4000个字"),
    ("finding evidence with a form feed", form(FindingIn, {"category": "党建", "description": "会议记录", "evidence": "a\x0cb"}),
     "证据材料说明：不能包含控制字符"),
    ("finding category blank", form(FindingIn, {"category": "  ", "description": "会议记录"}), "问题类别：不能为空"),
    ("org unit like a path", org({"units": [{"name": "../../keys", "kind": "部门"}]}), "单位名称：不能包含路径分隔符“/”"),
    ("org unit only dots", org({"units": [{"name": "..", "kind": "部门"}]}), "单位名称：不能只由句点组成"),
    ("org unit 100,000 characters", org({"units": [{"name": "局" * 100_000, "kind": "部门"}]}), "单位名称：不能超过50个字"),
    ("org unit area with NUL", org({"units": [{"name": "新局", "kind": "部门", "area": "东\x00"}]}), "片区：不能包含控制字符"),
    ("org secretary with a newline", org({"units": [{"name": "新局", "kind": "部门", "secretary": {"name": "王\n五"}}]}),
     "党组织书记：不能包含控制字符"),
    ("org person with NUL", org({"people": [{"name": "林\x00静"}]}), "姓名：不能包含控制字符"),
    ("org person blank", org({"people": [{"name": " "}]}), "姓名：不能为空"),
    ("org person's unit like a path", org({"people": [{"name": "新人", "unit": "a/b"}]}), "所在单位：不能包含路径分隔符"),
    ("org specialty with a bell", org({"people": [{"name": "新人", "specialties": ["财\x07务"]}]}), "专长·第1项：不能包含控制字符"),
    ("org account with a separator", org({"accounts": [{"name": "a\\b", "role": "巡察办"}]}), "姓名：不能包含路径分隔符"),
    ("org conflict note with ESC", org({"conflicts": [{"person": "林静", "unit": "城东街道", "kind": "亲属任职", "note": "\x1b"}]}),
     "说明：不能包含控制字符"),
    ("sheet category with NUL-like ESC", sheet([["问题类别", "问题描述"], ["党\x1b建", "会议记录缺失"]]), "第2行“问题类别”：不能包含控制字符"),
    ("sheet description with DEL", sheet([["问题类别", "问题描述"], ["党建", "会议记录缺失"], ["党建", "会议\x7f记录"]]),
     "第3行“问题描述”：不能包含控制字符"),
    ("sheet evidence with a C1 character", sheet([["问题类别", "问题描述", "证据材料"], ["党建", "会议记录缺失", "证\x85据"]]),
     "第2行“证据材料”：不能包含控制字符"),
]


def test_the_table_covers_every_entry_point() -> None:
    assert len(CASES) >= 30 and len({c for c, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "run", "message"), CASES, ids=[c for c, _, _ in CASES])
def test_bad_names_are_refused_where_they_enter(demo_org: Session, tmp_path: Path, case: str,
                                               run: Callable[[Session, Path], None], message: str) -> None:
    before = row_counts(demo_org)
    with pytest.raises(DomainError) as err:
        run(demo_org, tmp_path)
    assert message in str(err.value), (case, str(err.value))
    assert "Value error" not in str(err.value) and "Input should" not in str(err.value)
    demo_org.rollback()
    assert row_counts(demo_org) == before


def test_good_names_pass_normalised() -> None:
    params = RoundParams.model_validate(_round(name="  2026年第一轮巡察（专项：财务） "))
    assert params.name == "2026年第一轮巡察（专项：财务）"
    decomposed = "e\u0301"  # NFC composes it
    assert RoundParams.model_validate(_round(name=f"第{decomposed}轮")).name == "第\u00e9轮"
    f = FindingIn.model_validate({"category": "党建", "description": "一、会议记录缺失；\n二、\t台账不全"})
    assert f.description == "一、会议记录缺失；\n二、\t台账不全"  # line breaks and tabs are text


# 2. The path builder, fuzzed -----------------------------------------------------------------

FUZZ_HOME = Path(tempfile.gettempdir()) / "xuncha-fuzz" / "home"
FUZZ = Settings(home=FUZZ_HOME, _env_file=None)  # type: ignore[call-arg]
names = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["..", ".", "../../keys", "../../x", "/etc/passwd", "C:\\Windows", "a/../../b", "\x00", " ", "~", "...."])


@hsettings(max_examples=400, deadline=None)
@given(round_name=names, unit_name=names, round_id=st.integers(0, 10**12), unit_id=st.integers(0, 10**12))
def test_built_paths_stay_strictly_inside(round_name: str, unit_name: str, round_id: int, unit_id: int) -> None:
    archive = FUZZ.archive_dir.resolve()
    for path in (round_archive(FUZZ, round_id, round_name), dossier_path(FUZZ, round_id, round_name),
                 dossier_path(FUZZ, round_id, round_name, unit_id, unit_name)):
        resolved = path.resolve()
        assert resolved != archive and archive in resolved.parents
        assert all(part not in ("", ".", "..") for part in path.relative_to(FUZZ.archive_dir).parts)
    unit = dossier_path(FUZZ, round_id, round_name, unit_id, unit_name)
    assert unit.parent.name.startswith(f"round-{round_id}") and unit.name.startswith(f"unit-{unit_id}")
    part = display_part(unit_name)
    assert len(part) <= DISPLAY_MAX and not any(ch in RESERVED or is_control(ch) for ch in part)


@hsettings(max_examples=300, deadline=None)
@given(tail=names)
def test_the_guard_refuses_whatever_leads_out(tail: str) -> None:
    base = FUZZ.archive_dir
    try:
        inside(base, base / tail)
    except DomainError as exc:
        assert str(exc).startswith(("拒绝访问数据目录之外的路径", "拒绝访问无效的路径"))
    else:
        resolved = (base / tail).resolve()
        assert resolved != base.resolve() and base.resolve() in resolved.parents


def test_the_guard_by_example(tmp_path: Path) -> None:
    base = tmp_path / "archive"
    assert inside(base, base / "round-1-x") == base / "round-1-x"
    for bad in (base, base / "..", base / "a" / ".." / "..", tmp_path / "keys", Path("/etc/passwd")):
        with pytest.raises(DomainError, match="拒绝访问数据目录之外的路径"):
            inside(base, bad)
    (tmp_path / "keys").mkdir()
    base.mkdir()
    (base / "link").symlink_to(tmp_path / "keys")  # a link out counts as out
    with pytest.raises(DomainError):
        inside(base, base / "link" / "informant.keys")


# 3. Archiving names stored before the rules --------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_hostile_names_in_the_database_archive_inside(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    keys = settings.home / "keys" / "informant.keys"
    keys.parent.mkdir(parents=True, exist_ok=True)
    if not keys.exists():
        keys.write_bytes(b"the informants' key")
    kept = keys.read_bytes()
    outside = sorted(p.name for p in tmp_path.iterdir())

    def rename(s: Session, ids: list[int]) -> None:  # as old data would hold them: no form in the way
        insp = s.get(Inspection, ids[0])
        assert insp is not None
        unit, rnd = s.get(Unit, insp.unit_id), s.get(InspectionRound, insp.round_id)
        assert unit is not None and rnd is not None
        unit.name, rnd.name = "../../keys", "../../x"
        s.add_all([unit, rnd])
        s.commit()

    archived_unit(demo_org, settings, before=rename)
    # The key folder holds the keys and the audit head beside them (tasks/infra/audit.py), nothing archived.
    assert keys.read_bytes() == kept and sorted(p.name for p in keys.parent.iterdir()) == [
        "informant.keys", "master.key", "xuncha.audit-head", "xuncha.audit-head.lock"]
    assert sorted(p.name for p in tmp_path.iterdir()) == outside  # nothing beside the home
    folder = find_dossier(session=demo_org, settings=settings, round_name="../../x", unit_name="../../keys")
    rnd = demo_org.exec(select(InspectionRound).where(InspectionRound.name == "../../x")).one()
    unit = demo_org.exec(select(Unit).where(Unit.name == "../../keys")).one()
    assert folder == settings.archive_dir / f"round-{rnd.id}-x" / f"unit-{unit.id}-keys"
    assert verify_dossier(folder) == [] and folder.with_name(folder.name + ".zip").is_file()
    assert verify_dossier(find_dossier(session=demo_org, settings=settings, round_name="../../x")) == []
    for path in settings.home.rglob("*"):
        rel = path.relative_to(settings.home).parts
        assert rel[0] in ("archive", "documents", "keys") or len(rel) == 1, path  # the database and its files


def test_a_folder_the_product_did_not_create_is_not_deleted(demo_org: Session, settings: Settings) -> None:
    def squat(s: Session, ids: list[int]) -> None:
        insp = s.get(Inspection, ids[0])
        assert insp is not None
        rnd, unit = s.get(InspectionRound, insp.round_id), s.get(Unit, insp.unit_id)
        assert rnd is not None and rnd.id is not None and unit is not None and unit.id is not None
        folder = dossier_path(settings, rnd.id, rnd.name, unit.id, unit.name)
        folder.mkdir(parents=True)
        (folder / "别人的文件.txt").write_text("不要删", encoding="utf-8")

    with pytest.raises(DomainError, match="拒绝删除目录.*不是本系统创建并登记的目录"):
        archived_unit(demo_org, settings, before=squat)
    demo_org.rollback()
    folder = find_dossier(session=demo_org, settings=settings, round_name="2026年第一轮巡察", unit_name="城东街道")
    assert (folder / "别人的文件.txt").read_text(encoding="utf-8") == "不要删"
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # the building folder cleaned up
    insp = demo_org.exec(select(Inspection)).one()
    assert insp.archived_at is None


def test_remove_folder_only_recorded_and_inside(tmp_path: Path) -> None:
    base = tmp_path / "archive"
    mine = make_folder(base, base / "round-1" / "unit-2")
    (mine / "a.txt").write_text("x", encoding="utf-8")
    assert marker(mine).is_file()
    stranger = base / "round-1" / "unit-3"
    stranger.mkdir()
    with pytest.raises(DomainError, match="拒绝删除目录"):
        remove_folder(base, stranger)
    assert stranger.is_dir()
    link = base / "round-1" / "unit-4"
    link.symlink_to(tmp_path)
    marker(link).write_text("forged\n", encoding="utf-8")
    with pytest.raises(DomainError):
        remove_folder(base, link)  # resolves outside, and a link is never "ours"
    assert tmp_path.is_dir() and stranger.is_dir()
    with pytest.raises(DomainError, match="拒绝访问数据目录之外的路径"):
        remove_folder(base, base / ".." / "keys")
    remove_folder(base, mine)
    assert not mine.exists() and not marker(mine).exists()
    remove_folder(base, mine)  # absent: nothing to do


# 4. Control characters already stored: replaced on export ------------------------------------


def test_control_characters_stored_earlier_are_replaced_on_export(demo_org: Session, settings: Settings,
                                                                   tmp_path: Path) -> None:
    def poison(s: Session, ids: list[int]) -> None:
        unit = s.get(Unit, s.get(Inspection, ids[0]).unit_id)  # type: ignore[union-attr]
        assert unit is not None
        unit.name, unit.area = "城东\x00街道", "东\x1b片"
        s.add(unit)
        s.commit()

    (iid,) = archived_unit(demo_org, settings, before=poison)
    bad = demo_org.exec(select(Finding).where(Finding.inspection_id == iid)).first()
    assert bad is not None
    bad.description = "会议\x00记录\x07缺失\n第二行"
    demo_org.add(bad)
    demo_org.commit()
    assert printable("a\x00b\nc\td\x9f") == "a\ufffdb\nc\td\ufffd" and printable(3) == 3
    out = tmp_path / "清单.xlsx"
    export_lists(session=demo_org, round_name="2026年第一轮巡察", unit_name=None, path=out, as_of=date(2027, 1, 1))
    cells = [str(c) for ws in load_workbook(out).worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    assert "会议\ufffd记录\ufffd缺失\n第二行" in cells and "城东\ufffd街道" in cells
    assert not any(is_control(ch) and ch not in "\n\t\r" for c in cells for ch in c)
    write_org_excel(demo_org, tmp_path / "组织.xlsx")
    org_cells = [str(c) for ws in load_workbook(tmp_path / "组织.xlsx").worksheets
                 for row in ws.iter_rows(values_only=True) for c in row if c]
    assert "城东\ufffd街道" in org_cells and "东\ufffd片" in org_cells
    # The unit's dossier was written with the name as stored: records and documents replaced it too.
    folder = find_dossier(session=demo_org, settings=settings, round_name="2026年第一轮巡察", unit_name="城东\x00街道")
    assert folder.name.endswith("-城东街道") and verify_dossier(folder) == []



# 4. The round form and the archive under the names an attacker would type --------------------

HOSTILE = {
    "parent": "../../x",
    "absolute": "/etc/passwd",
    "nul": "第一\x00轮/../..",
    "very long": "轮" * 10_000,
    "separators and dots": "a/../../b\\..\\..",
}


@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
def test_the_round_form_refuses_hostile_names_before_any_code_runs(demo_org: Session, name: str) -> None:
    """The UI's “发起巡察” form is the flow's parameters: Prefect validates them against
    RoundParams before the flow's first line, and the same check answers the CLI's file."""
    from prefect.exceptions import ParameterTypeError

    from flows.lifecycle.run_inspection_round import run_inspection_round

    before = row_counts(demo_org)
    for data in (_round(name=name), _team(name=name[:60]), _team(units=[name])):
        with pytest.raises(ParameterTypeError):
            run_inspection_round.validate_parameters({"params": data})
        with pytest.raises(DomainError) as err:
            form(RoundParams, data)(demo_org, Path())
        assert "不能" in str(err.value) and "Value error" not in str(err.value)
    assert row_counts(demo_org) == before


@pytest.mark.parametrize(("round_name", "unit_name"), [
    ("/etc/passwd", "/etc"), ("..\x00/..", "\x00"), ("轮" * 10_000, "局/" * 5_000)], ids=["absolute", "nul", "very long"])
def test_names_stored_behind_the_forms_archive_inside_by_ids(demo_org: Session, settings: Settings, tmp_path: Path,
                                                             round_name: str, unit_name: str) -> None:
    """Names as data of an earlier release could hold them (no form in the way): the dossier is
    `archive/round-<id>-…/unit-<id>-…/`, its name parts made safe and short, nothing outside."""
    outside = sorted(p.name for p in tmp_path.iterdir())

    def rename(s: Session, ids: list[int]) -> None:
        insp = s.get(Inspection, ids[0])
        assert insp is not None
        unit, rnd = s.get(Unit, insp.unit_id), s.get(InspectionRound, insp.round_id)
        assert unit is not None and rnd is not None
        unit.name, rnd.name = unit_name, round_name
        s.add_all([unit, rnd])
        s.commit()

    (iid,) = archived_unit(demo_org, settings, before=rename)
    insp = demo_org.get(Inspection, iid)
    assert insp is not None
    folder = dossier_path(settings, insp.round_id, round_name, insp.unit_id, unit_name)
    assert folder.parent.parent == settings.archive_dir and folder.is_dir() and verify_dossier(folder) == []
    assert folder.parent.name.startswith(f"round-{insp.round_id}") and folder.name.startswith(f"unit-{insp.unit_id}")
    assert all(len(part) <= len("round-") + 12 + 1 + DISPLAY_MAX for part in (folder.name, folder.parent.name))
    assert not any(is_control(ch) for ch in str(folder))
    assert sorted(p.name for p in tmp_path.iterdir()) == outside  # nothing beside the home
    for path in settings.home.rglob("*"):
        assert settings.home.resolve() in path.resolve().parents
