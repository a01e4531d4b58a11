"""Org loader: the demo county loads (twice without duplicates); any bad entry writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select

from models.errors import DomainError
from models.tables import Conflict, Person, RoleRecipient, Unit
from tasks.planning.org import load_org, parse_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.factories import database, row_counts


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """Shared by the refused loads below, which each show the database is still empty."""
    with database(tmp_path_factory.mktemp("org-empty"), demo=False) as s:
        yield s


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with database(tmp_path_factory.mktemp("org-loaded")) as s:
        yield s


def demo_raw() -> dict[str, Any]:
    return yaml.safe_load(DEMO_ORG.read_text(encoding="utf-8"))


def test_demo_county_loads(demo_org: Session) -> None:
    s = demo_org
    assert len(s.exec(select(Unit)).all()) == 16
    assert len(s.exec(select(Person)).all()) == 15
    assert len(s.exec(select(Conflict)).all()) == 4
    caizheng = s.exec(select(Unit).where(Unit.name == "区财政局")).one()
    zheng = s.exec(select(Person).where(Person.name == "郑文斌")).one()
    assert caizheng.liaison_leader_id == zheng.id
    assert caizheng.secretary_name == "蒋立新"
    li = s.exec(select(Person).where(Person.name == "李建国")).one()
    assert li.pools == ["组长库"]
    minzheng = s.exec(select(Unit).where(Unit.name == "区民政局")).one()
    assert li.unit_id == minzheng.id
    wang = s.exec(select(Person).where(Person.name == "王海燕")).one()
    conflict = s.exec(select(Conflict).where(Conflict.person_id == wang.id)).one()
    assert (conflict.unit_id, conflict.kind) == (caizheng.id, "原工作单位")
    office = s.exec(select(RoleRecipient.url).where(RoleRecipient.role == "office")).all()
    assert office == ["json://127.0.0.1:8765/office"]


def test_loading_twice_adds_no_rows_and_updates_by_name(demo_org: Session) -> None:
    before = row_counts(demo_org)
    raw = demo_raw()
    raw["units"][0]["area"] = "城区东片"
    load_org(session=demo_org, data=parse_org(raw))
    demo_org.commit()
    assert row_counts(demo_org) == before
    assert demo_org.exec(select(Unit.area).where(Unit.name == raw["units"][0]["name"])).one() == "城区东片"


def _unknown_unit_for_person(raw: dict[str, Any]) -> None:
    raw["people"].append({"name": "钱多多", "unit": "区不存在局", "pools": ["人才库"]})


def _duplicate_unit(raw: dict[str, Any]) -> None:
    raw["units"].append({"name": "区财政局", "kind": "部门"})


def _duplicate_person(raw: dict[str, Any]) -> None:
    raw["people"].append({"name": "王海燕", "unit": "区审计局"})


def _unknown_liaison_leader(raw: dict[str, Any]) -> None:
    raw["units"][0]["liaison_leader"] = "不存在的领导"


def _conflict_unknown_person(raw: dict[str, Any]) -> None:
    raw["conflicts"].append({"person": "查无此人", "unit": "区财政局", "kind": "申报回避"})


def _conflict_unknown_unit(raw: dict[str, Any]) -> None:
    raw["conflicts"].append({"person": "王海燕", "unit": "区不存在局", "kind": "申报回避"})


def _unknown_conflict_kind(raw: dict[str, Any]) -> None:
    raw["conflicts"].append({"person": "王海燕", "unit": "区教育局", "kind": "同学关系"})


def _unknown_unit_kind(raw: dict[str, Any]) -> None:
    raw["units"].append({"name": "区文联", "kind": "群团组织"})


def _unknown_pool(raw: dict[str, Any]) -> None:
    raw["people"].append({"name": "钱多多", "pools": ["专家库"]})


def _unknown_role(raw: dict[str, Any]) -> None:
    raw["recipients"]["mayor"] = ["json://127.0.0.1:8765/mayor"]


BAD_ENTRIES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_unknown_unit_for_person, "人员“钱多多”的所在单位不存在：区不存在局"),
    (_duplicate_unit, "单位重复：区财政局"),
    (_duplicate_person, "人员重复：王海燕"),
    (_unknown_liaison_leader, "联系领导不存在：不存在的领导"),
    (_conflict_unknown_person, "回避申报中的人员不存在：查无此人"),
    (_conflict_unknown_unit, "回避申报中的单位不存在：区不存在局"),
    (_unknown_conflict_kind, "组织数据格式有误"),
    (_unknown_unit_kind, "组织数据格式有误"),
    (_unknown_pool, "组织数据格式有误"),
    (_unknown_role, "组织数据格式有误"),
]


def _load_file(session: Session, path: Path) -> None:
    load_org(session=session, data=read_org_file(path))
    session.flush()


@pytest.mark.parametrize(("spoil", "phrase"), BAD_ENTRIES, ids=lambda v: getattr(v, "__name__", "")[1:] or None)
def test_bad_entry_writes_nothing(empty_db: Session, tmp_path: Path, spoil: Callable[[dict[str, Any]], None], phrase: str) -> None:
    """A file of the demo county plus one bad entry: refused with a Chinese reason, no row written."""
    raw = demo_raw()
    spoil(raw)
    path = tmp_path / "county.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    before = row_counts(empty_db)
    with pytest.raises(DomainError) as exc:
        _load_file(empty_db, path)
    assert phrase in str(exc.value)
    empty_db.commit()
    assert row_counts(empty_db) == before
    assert all(n == 0 for n in before.values())


@pytest.mark.parametrize(("spoil", "phrase"), BAD_ENTRIES[:6], ids=lambda v: getattr(v, "__name__", "")[1:] or None)
def test_bad_entry_changes_nothing_already_loaded(loaded_db: Session, spoil: Callable[[dict[str, Any]], None], phrase: str) -> None:
    """Reloading with an edit and one bad entry: neither the edit nor anything else is written."""
    raw = demo_raw()
    raw["units"][1]["area"] = "改过的片区"
    raw["people"].append({"name": "新来的", "unit": "区审计局", "pools": ["人才库"]})
    spoil(raw)
    before = row_counts(loaded_db)
    with pytest.raises(DomainError) as exc:
        load_org(session=loaded_db, data=parse_org(raw))
    assert phrase in str(exc.value)
    loaded_db.commit()
    loaded_db.expire_all()
    assert row_counts(loaded_db) == before
    assert loaded_db.exec(select(Unit.area).where(Unit.name == raw["units"][1]["name"])).one() == "城区"
    assert loaded_db.exec(select(Person).where(Person.name == "新来的")).first() is None


def test_every_problem_is_listed(session: Session) -> None:
    raw = demo_raw()
    _unknown_unit_for_person(raw)
    _duplicate_unit(raw)
    _conflict_unknown_person(raw)
    with pytest.raises(DomainError) as exc:
        load_org(session=session, data=parse_org(raw))
    assert str(exc.value).startswith("组织数据未导入")
    assert len(exc.value.problems) == 3


@pytest.mark.parametrize(
    ("content", "phrase"),
    [("units: [\n  - {name: 城东街道", "不是有效的 YAML"), ("- 城东街道\n- 城西街道\n", "顶层应包含")],
    ids=["bad-yaml", "not-a-mapping"],
)
def test_unreadable_file(session: Session, tmp_path: Path, content: str, phrase: str) -> None:
    path = tmp_path / "county.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DomainError, match=phrase):
        read_org_file(path)
    with pytest.raises(DomainError, match="找不到组织数据文件"):
        read_org_file(tmp_path / "missing.yaml")
    assert all(n == 0 for n in row_counts(session).values())
