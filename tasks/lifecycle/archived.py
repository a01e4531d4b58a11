"""The one guard for archived records: once a unit's dossier is archived (立卷归档), its findings,
rectification items, progress reports, clues and petitions are read-only, so the dossier on disk
stays the record. Kept free of other task modules so every write path can import it."""

from __future__ import annotations

from sqlmodel import Session

from models.enums import Stage
from models.errors import DomainError, NotFound
from models.tables import Inspection, InspectionRound, Unit


class ArchivedError(DomainError):
    """A change to a record of an archived inspection."""


def ensure_not_archived(*, session: Session, inspection: Inspection | int, action: str = "") -> Inspection:
    """The inspection, unless it is archived: then a Chinese refusal naming it (and the action)."""
    insp = session.get(Inspection, inspection) if isinstance(inspection, int) else inspection
    if insp is None:
        raise NotFound(f"巡察任务不存在：{inspection}")
    if insp.stage == Stage.ARCHIVED:
        rnd, unit = session.get(InspectionRound, insp.round_id), session.get(Unit, insp.unit_id)
        label = f"{rnd.name if rnd else ''}·{unit.name if unit else ''}"
        raise ArchivedError(f"{label}已归档，不能修改" + (f"（{action}）" if action else ""))
    return insp
