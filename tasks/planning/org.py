"""Org data: units, people, pools, conflicts and recipients, loaded from YAML, Excel or a dict.

Everything is validated before anything is written; a file with any bad entry writes nothing.

Alert addresses (role recipients, contacts that are Apprise URLs: robot tokens, webhook paths)
are shown nowhere in full: an export writes `mask_address` in their place, a scheme and a short
keyed fingerprint. Loading a masked address keeps the address the database holds for that unit,
person or role, so an export can be edited and loaded again; a masked address with nothing
behind it is refused.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlmodel import Session, select

from models.clock import now as clock_now
from models.crypto import PROFILES
from models.enums import ROLE_NAMES
from models.errors import DomainError, explain
from models.settings import Settings, get_settings
from models.tables import Account, Conflict, Person, RoleRecipient, Unit

# Names and texts follow models/text.py: no control characters, no path separators in names,
# lengths within NAME_MAX / SHORT_MAX / LONG_MAX.
from tasks.infra.alerts import withdraw_pending
from tasks.infra.audit import record_event
from tasks.infra.textio import read_text, yaml_problem
from tasks.planning.org_data import MASKED
from tasks.planning.org_data import (
    OrgData as OrgData,  # re-exported: the org's models live in org_data
)
from tasks.planning.org_data import UnitIn as UnitIn
from tasks.planning.org_data import mask_address as mask_address
from tasks.planning.org_excel import read_org_excel


def _unmasked(settings: Settings, value: str, stored: list[str], what: str, problems: list[str]) -> str:
    """`value`, or for a masked address the stored address behind it."""
    if not MASKED.fullmatch(value):
        return value
    for url in stored:
        if url and any(mask_address(settings, url, p) == value for p in PROFILES):  # exported before a switch too
            return url
    problems.append(f"{what}“{value}”是导出时隐藏的地址，数据库中没有与之对应的原地址：请填写完整地址"
                    "（或改用 export-org --with-addresses 导出的文件）")
    return value


def unmask(*, session: Session, settings: Settings, data: OrgData) -> tuple[OrgData, list[str]]:
    """The data with every masked address replaced by the address the database holds for the same
    unit, person or role; and the masked addresses that have none."""
    problems: list[str] = []
    data = data.model_copy(deep=True)
    units = {u.name: u for u in session.exec(select(Unit))}
    people = {p.name: p for p in session.exec(select(Person))}
    for u in data.units:
        row = units.get(u.name)
        u.secretary.contact = _unmasked(settings, u.secretary.contact, [row.secretary_contact] if row else [],
                                        f"单位“{u.name}”的书记联系方式", problems)
    for p in data.people:
        person = people.get(p.name)
        p.contact = _unmasked(settings, p.contact, [person.contact] if person else [], f"人员“{p.name}”的联系方式", problems)
    for role, urls in data.recipients.items():
        stored = list(session.exec(select(RoleRecipient.url).where(RoleRecipient.role == role.value)))
        data.recipients[role] = [_unmasked(settings, url, stored, f"“{ROLE_NAMES[role]}”的接收地址", problems) for url in urls]
    return data, problems


def _pydantic_problems(exc: ValidationError) -> list[str]:
    return explain(exc, OrgData)


def parse_org(raw: dict[str, Any]) -> OrgData:
    try:
        return OrgData.model_validate(raw)
    except ValidationError as exc:
        raise DomainError("组织数据格式有误", _pydantic_problems(exc)) from exc


def read_org_file(path: Path) -> OrgData:
    """Read org data from YAML (.yaml/.yml) or an Excel workbook (.xlsx, see tasks/planning/org_excel.py)."""
    return read_org_file_encoded(path)[0]


def read_org_file_encoded(path: Path) -> tuple[OrgData, str | None]:
    """`read_org_file`, and the text encoding of a YAML file (None for a workbook)."""
    if not path.exists():
        raise DomainError(f"找不到组织数据文件：{path}")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return read_org_excel(path), None
    if suffix not in (".yaml", ".yml"):
        raise DomainError(f"不支持的组织数据文件类型：{suffix or '无扩展名'}（请使用 .yaml、.yml 或 .xlsx）")
    text, encoding = read_text(path, what="组织数据文件")
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise yaml_problem(exc, what="组织数据文件") from None
    if not isinstance(raw, dict):
        raise DomainError("组织数据文件顶层应包含 units、people、conflicts、recipients")
    return parse_org(raw), encoding


def load_org(*, session: Session, data: OrgData, settings: Settings | None = None, actor: str = "组织数据导入",
             now: datetime | None = None) -> dict[str, int]:
    """Upsert by name. Returns counts. Raises DomainError listing every problem, writing nothing.
    A masked address (an export's, see `mask_address`) keeps the address already stored. A role
    the data lists recipients for gets exactly those (`_replace_recipients`, audited as `actor`)."""
    settings = settings or get_settings()
    data, problems = unmask(session=session, settings=settings, data=data)
    problems += _org_problems(session, data)
    if problems:
        raise DomainError("组织数据未导入", problems)
    units = _upsert_units(session, data)
    people = _upsert_people(session, data, units)
    for u in data.units:
        units[u.name].liaison_leader_id = people[u.liaison_leader].id if u.liaison_leader else None
    _upsert_conflicts(session, data, units, people)
    _replace_recipients(session, data, settings=settings, actor=actor, now=now or clock_now())
    _upsert_accounts(session, data)
    session.flush()
    return {"units": len(data.units), "people": len(data.people), "conflicts": len(data.conflicts),
            "accounts": len(data.accounts)}


def _org_problems(session: Session, data: OrgData) -> list[str]:
    """Names given twice, and units or people referred to that neither the data nor the database has."""
    problems: list[str] = []
    unit_names = [u.name for u in data.units]
    person_names = [p.name for p in data.people]
    account_names = [a.name for a in data.accounts]
    for label, names in (("单位", unit_names), ("人员", person_names), ("用户", account_names)):
        dupes = sorted({n for n in names if names.count(n) > 1})
        problems += [f"{label}重复：{n}" for n in dupes]
    known_units = set(unit_names) | set(session.exec(select(Unit.name)).all())
    known_people = set(person_names) | set(session.exec(select(Person.name)).all())
    for p in data.people:
        if p.unit and p.unit not in known_units:
            problems.append(f"人员“{p.name}”的所在单位不存在：{p.unit}")
    for u in data.units:
        if u.liaison_leader and u.liaison_leader not in known_people:
            problems.append(f"单位“{u.name}”的联系领导不存在：{u.liaison_leader}")
    for c in data.conflicts:
        if c.person not in known_people:
            problems.append(f"回避申报中的人员不存在：{c.person}")
        if c.unit not in known_units:
            problems.append(f"回避申报中的单位不存在：{c.unit}")
    return problems


def _upsert_units(session: Session, data: OrgData) -> dict[str, Unit]:
    """Every unit by name, the data's updated or added (their liaison leaders come after the people)."""
    units: dict[str, Unit] = {u.name: u for u in session.exec(select(Unit))}
    for u in data.units:
        row = units.get(u.name) or Unit(name=u.name, kind=u.kind)
        row.kind, row.area, row.priority = u.kind, u.area, u.priority
        row.secretary_name, row.secretary_contact = u.secretary.name, u.secretary.contact
        session.add(row)
        units[u.name] = row
    session.flush()
    return units


def _upsert_people(session: Session, data: OrgData, units: dict[str, Unit]) -> dict[str, Person]:
    """Every person by name, the data's updated or added."""
    people: dict[str, Person] = {p.name: p for p in session.exec(select(Person))}
    for p in data.people:
        person = people.get(p.name) or Person(name=p.name)
        person.unit_id = units[p.unit].id if p.unit else None
        person.title, person.contact, person.available = p.title, p.contact, p.available
        person.specialties = list(p.specialties)
        person.pools = [pool.value for pool in p.pools]
        session.add(person)
        people[p.name] = person
    session.flush()
    return people


def _upsert_conflicts(session: Session, data: OrgData, units: dict[str, Unit], people: dict[str, Person]) -> None:
    """回避申报 by (person, unit, kind): a declared one updated, a new one added."""
    for c in data.conflicts:
        pid, uid = people[c.person].id, units[c.unit].id
        exists = session.exec(
            select(Conflict).where(Conflict.person_id == pid, Conflict.unit_id == uid, Conflict.kind == c.kind)
        ).first()
        if exists:
            exists.note, exists.ended_year = c.note, c.ended_year
            session.add(exists)
        else:
            assert pid is not None and uid is not None
            session.add(Conflict(person_id=pid, unit_id=uid, kind=c.kind, note=c.note, ended_year=c.ended_year))


def _replace_recipients(session: Session, data: OrgData, *, settings: Settings, actor: str, now: datetime) -> None:
    """Each role the data lists gets exactly the addresses listed (roles it does not list keep
    theirs). A changed role is audited (addresses masked), and alerts still waiting to go to an
    address removed from it are withdrawn: a corrected address is not sent to, nor retried, again."""
    for role, urls in data.recipients.items():
        rows = list(session.exec(select(RoleRecipient).where(RoleRecipient.role == role.value)))
        stored = {r.url for r in rows}
        wanted = list(dict.fromkeys(urls))
        removed = sorted(stored - set(wanted))
        added = [u for u in wanted if u not in stored]
        for row in rows:
            if row.url in removed:
                session.delete(row)
        for url in added:
            session.add(RoleRecipient(role=role.value, url=url))
        if not removed and not added:
            continue
        withdrawn = withdraw_pending(session=session, role=role, recipients=removed, now=now)
        if stored:  # a first load is the org data's own import, not a change of anyone's address
            record_event(session=session, actor=actor, action="更换提醒接收人", entity="role_recipient", entity_id=None,
                         now=now, detail={"role": ROLE_NAMES[role], "removed": [mask_address(settings, u) for u in removed],
                                          "added": [mask_address(settings, u) for u in added],
                                          "withdrawn_alerts": withdrawn})
    session.flush()


def _upsert_accounts(session: Session, data: OrgData) -> None:
    accounts = {a.name: a for a in session.exec(select(Account))}
    for a in data.accounts:
        acc = accounts.get(a.name) or Account(name=a.name, role=a.role, created_at=clock_now())
        acc.role, acc.active = a.role, a.active
        session.add(acc)


def without_contacts(data: OrgData) -> OrgData:
    """The same org with every contact and role recipient removed, so alerts go only to the
    recipients the environment configures (the test stacks' local inbox, the benchmarks' none)."""
    for unit in data.units:
        unit.secretary.contact = ""
    for person in data.people:
        person.contact = ""
    data.recipients = {}
    return data
