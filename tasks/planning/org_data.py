"""The org data's models (units, people, pools, conflicts, accounts, recipients) and how an alert
address is masked in exports: what the YAML reader (tasks/planning/org.py) and the Excel reader
(tasks/planning/org_excel.py) both build, so neither imports the other's module."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from models.crypto import derived_key, mac_bytes
from models.enums import AccessRole, ConflictKind, Pool, Role, UnitKind
from models.settings import Settings
from models.text import LONG_MAX, NAME_MAX, SHORT_MAX, LineText, LongText, Name, NameText


class SecretaryIn(BaseModel):
    name: NameText = Field(default="", title="党组织书记", max_length=NAME_MAX)
    contact: LineText = Field(default="", title="书记联系方式", max_length=SHORT_MAX)


class UnitIn(BaseModel):
    name: NameText = Field(title="单位名称", min_length=1, max_length=NAME_MAX)
    kind: UnitKind
    area: LineText = Field(default="", title="片区", max_length=NAME_MAX)
    secretary: SecretaryIn = Field(default_factory=SecretaryIn)
    liaison_leader: NameText | None = Field(default=None, title="联系领导", max_length=NAME_MAX)
    priority: int = Field(default=0, ge=0, le=100, title="重点关注程度")


class PersonIn(BaseModel):
    name: NameText = Field(title="姓名", min_length=1, max_length=NAME_MAX)
    unit: NameText | None = Field(default=None, title="所在单位", max_length=NAME_MAX)
    title: LineText = Field(default="", title="职务", max_length=SHORT_MAX)
    specialties: list[Name] = Field(default_factory=list, title="专长")
    pools: list[Pool] = Field(default_factory=list)
    contact: LineText = Field(default="", title="联系方式", max_length=SHORT_MAX)
    available: bool = True


class ConflictIn(BaseModel):
    person: NameText = Field(title="人员", min_length=1, max_length=NAME_MAX)
    unit: NameText = Field(title="单位", min_length=1, max_length=NAME_MAX)
    kind: ConflictKind
    note: LongText = Field(default="", title="说明", max_length=LONG_MAX)
    ended_year: int | None = Field(default=None, ge=1949, le=2100, title="离开年份")


class AccountIn(BaseModel):
    name: NameText = Field(title="姓名", min_length=1, max_length=NAME_MAX)
    role: AccessRole
    active: bool = True


class OrgData(BaseModel):
    units: list[UnitIn] = Field(default_factory=list)
    accounts: list[AccountIn] = Field(default_factory=list)
    people: list[PersonIn] = Field(default_factory=list)
    conflicts: list[ConflictIn] = Field(default_factory=list)
    recipients: dict[Role, list[str]] = Field(default_factory=dict)


MASKED = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://（已隐藏·[0-9a-f]{8}）")


def mask_address(settings: Settings, value: str, profile: str | None = None) -> str:
    """An alert address as exports show it: its scheme and a keyed fingerprint (HMAC-SHA256 or
    HMAC-SM3 by the profile), so it can be told apart and matched on loading, not read. Text that
    is no URL (a telephone number) is kept."""
    if "://" not in value or MASKED.fullmatch(value):
        return value
    scheme = value.split("://", 1)[0]
    profile = profile or settings.crypto_profile
    mark = mac_bytes(profile, derived_key(settings, "address", profile), value.encode()).hex()[:8]
    return f"{scheme}://（已隐藏·{mark}）"
