"""Where a role reaches: 组长/组员 act only for the units their own team inspects in that round
(models/access.py Scope.OWN_TEAM); a 被巡察单位联络员 only for the unit their account is linked
to (Scope.OWN_UNIT). Kept free of other task modules so every check can use it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.access import Action, require_within
from models.tables import Account, Inspection, Person, TeamMember, Unit


def serves_on(*, session: Session, name: str, inspection: Inspection) -> bool:
    """Whether the person named serves (in any team role) on the team inspecting this unit in this round."""
    row = session.exec(select(TeamMember.id).join(Person, col(Person.id) == TeamMember.person_id)
                       .where(TeamMember.team_id == inspection.team_id, Person.name == name.strip())).first()
    return row is not None


def unit_of(*, session: Session, account: Account) -> Unit | None:
    """The unit an account acts for, linked by name through the org data (no column of its own):
    the unit of the person of that name (people's `unit`), or else the one unit whose contact
    (`secretary`) bears that name. None when neither links it, or the name is the contact of
    several units (ambiguous: the org data must give the person a unit)."""
    name = account.name.strip()
    person = session.exec(select(Person).where(Person.name == name)).first()
    if person is not None and person.unit_id is not None:
        return session.get(Unit, person.unit_id)
    units = session.exec(select(Unit).where(Unit.secretary_name == name).limit(2)).all()
    return units[0] if len(units) == 1 else None


def in_own_unit(*, session: Session, account: Account, inspection: Inspection) -> bool:
    unit = unit_of(session=session, account=account)
    return unit is not None and unit.id == inspection.unit_id


def authorise(*, session: Session, account: Account, action: Action, inspection: Inspection | None = None,
              receiver: str = "") -> None:
    """The account's role may do `action`, and this record is within its reach."""
    on_team = inspection is not None and serves_on(session=session, name=account.name, inspection=inspection)
    own_unit = inspection is not None and in_own_unit(session=session, account=account, inspection=inspection)
    require_within(account.role, action, on_team=on_team, receiver=receiver, own_unit=own_unit)
