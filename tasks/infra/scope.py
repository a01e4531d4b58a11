"""Where a team role reaches: 组长/组员 act only for the units their own team inspects in that
round (models/access.py Scope.OWN_TEAM). Kept free of other task modules so every check can use it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.access import Action, require_within
from models.tables import Account, Inspection, Person, TeamMember


def serves_on(*, session: Session, name: str, inspection: Inspection) -> bool:
    """Whether the person named serves (in any team role) on the team inspecting this unit in this round."""
    row = session.exec(select(TeamMember.id).join(Person, col(Person.id) == TeamMember.person_id)
                       .where(TeamMember.team_id == inspection.team_id, Person.name == name.strip())).first()
    return row is not None


def authorise(*, session: Session, account: Account, action: Action, inspection: Inspection | None = None,
              receiver: str = "") -> None:
    """The account's role may do `action`, and this record is within its reach."""
    on_team = inspection is not None and serves_on(session=session, name=account.name, inspection=inspection)
    require_within(account.role, action, on_team=on_team, receiver=receiver)
