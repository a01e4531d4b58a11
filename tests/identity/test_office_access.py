"""The rows of models/access.py the office pages add, role by role. Written out here, not
derived from the table, so that a change of policy shows up as a failing row."""

from __future__ import annotations

import pytest

from models.access import PERMISSIONS, Action, Forbidden, Scope, allowed, require, require_within
from models.enums import AccessRole

R = AccessRole
ROLES = [R.OFFICE, R.LEADING_GROUP, R.TEAM_LEADER, R.TEAM_MEMBER, R.DISCIPLINE_COMMISSION,
         R.ORGANISATION_DEPARTMENT, R.DEPARTMENT, R.UNIT_CONTACT]
A, T, U, X = Scope.ALL, Scope.OWN_TEAM, Scope.OWN_UNIT, None  # X: refused
C = Scope.OWN_RECEIVER

#                          office leading leader member jiwei zuzhi dept unit
TABLE: dict[Action, tuple[Scope | None, ...]] = {
    Action.VIEW_TODO:       (A,     A,      A,     A,     A,    A,    A,   A),
    Action.BROWSE_CLUES:    (A,     A,      T,     T,     X,    X,    X,   X),
    Action.VIEW_RECTIFICATION: (A,  A,      X,     X,     X,    X,    X,   U),
    Action.REPORT_RECTIFICATION: (A, X,     X,     X,     X,    X,    X,   U),
    Action.HANDLE_UNDELIVERED: (A,  X,      X,     X,     X,    X,    X,   X),
    # Talk records: the unit's own team and the office, no one else (not even the leading group).
    Action.RECORD_TALKS:    (A,     X,      T,     T,     X,    X,    X,   X),
    Action.READ_TALKS:      (A,     X,      T,     T,     X,    X,    X,   X),
    Action.IMPORT_EVALUATIONS: (A,  X,      T,     T,     X,    X,    X,   X),
    # 巡察成果运用 (/office/results): the office and the leading group follow; 纪委监委 and 组织部 act on their own letters.
    Action.VIEW_RESULTS_USE:    (A,   A,      X,     X,     C,    C,    X,   X),
    Action.ACKNOWLEDGE_RESULTS: (X,   X,      X,     X,     C,    C,    X,   X),
    Action.RECORD_RESULTS_USE:  (X,   X,      X,     X,     C,    C,    X,   X),
}


@pytest.mark.parametrize(("action", "role", "scope"),
                         [(a, r, s) for a, row in TABLE.items() for r, s in zip(ROLES, row, strict=True)])
def test_office_page_rows(action: Action, role: AccessRole, scope: Scope | None) -> None:
    assert allowed(role, action) is (scope is not None)
    if scope is None:
        with pytest.raises(Forbidden, match=f"无权{action.value}"):
            require(role, action)
    else:
        assert require(role, action) is scope


def test_every_action_has_a_row() -> None:
    assert set(PERMISSIONS) == set(Action)


def test_own_unit_scope_refuses_another_units_record() -> None:
    require_within(R.UNIT_CONTACT, Action.VIEW_RECTIFICATION, on_team=False, own_unit=True)
    with pytest.raises(Forbidden, match="本人所在被巡察单位"):
        require_within(R.UNIT_CONTACT, Action.REPORT_RECTIFICATION, on_team=False, own_unit=False)
    require_within(R.OFFICE, Action.REPORT_RECTIFICATION, on_team=False, own_unit=False)
