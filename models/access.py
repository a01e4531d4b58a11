"""Who may do what. Every check in the CLI and the domain functions reads these tables, and the
tests walk them row by row, so a change of policy is a change here and nowhere else."""

from __future__ import annotations

from enum import StrEnum

from models.enums import AccessRole, ClueKind, Gate, Role
from models.errors import DomainError

R = AccessRole


class Action(StrEnum):
    ADD_PETITION = "登记信访举报"
    READ_PETITION = "查阅信访举报内容"
    READ_INFORMANT = "查阅举报人身份"
    ADD_CLUE = "登记问题线索"
    TRANSFER_URGENT = "边巡边移"
    LIST_CLUES = "查看线索办理台账"
    VERIFY_AUDIT = "校验审计日志"
    ROTATE_KEY = "轮换加密密钥"
    MANAGE_ACCOUNTS = "管理用户"
    ACKNOWLEDGE = "签收线索移交函"
    REPORT_RESULT = "反馈线索办理结果"
    PLAN_TERM = "编制全覆盖计划和组建巡察组"
    VIEW_COVERAGE = "查看全覆盖情况"


PERMISSIONS: dict[Action, frozenset[AccessRole]] = {
    Action.ADD_PETITION: frozenset({R.OFFICE, R.TEAM_LEADER, R.TEAM_MEMBER}),
    Action.READ_PETITION: frozenset({R.OFFICE, R.TEAM_LEADER, R.TEAM_MEMBER}),
    Action.READ_INFORMANT: frozenset({R.OFFICE, R.TEAM_LEADER}),
    Action.ADD_CLUE: frozenset({R.OFFICE, R.TEAM_LEADER, R.TEAM_MEMBER}),
    Action.TRANSFER_URGENT: frozenset({R.OFFICE, R.LEADING_GROUP}),
    Action.LIST_CLUES: frozenset({R.OFFICE, R.LEADING_GROUP}),
    Action.VERIFY_AUDIT: frozenset({R.OFFICE}),
    Action.ROTATE_KEY: frozenset({R.OFFICE}),
    Action.MANAGE_ACCOUNTS: frozenset({R.OFFICE}),
    # Signing for a transfer and reporting its result: the receiving body only (see RECEIVER_ACCESS).
    Action.ACKNOWLEDGE: frozenset({R.DISCIPLINE_COMMISSION, R.ORGANISATION_DEPARTMENT, R.DEPARTMENT}),
    Action.REPORT_RESULT: frozenset({R.DISCIPLINE_COMMISSION, R.ORGANISATION_DEPARTMENT, R.DEPARTMENT}),
    Action.PLAN_TERM: frozenset({R.OFFICE}),
    Action.VIEW_COVERAGE: frozenset({R.OFFICE, R.LEADING_GROUP}),
}

# Who may read a clue's text, by the clue's kind. Receivers read only clues routed to them.
CLUE_READERS: dict[ClueKind, frozenset[AccessRole]] = {
    ClueKind.DISCIPLINE: frozenset({R.OFFICE, R.LEADING_GROUP, R.TEAM_LEADER, R.DISCIPLINE_COMMISSION}),
    ClueKind.APPOINTMENT: frozenset({R.OFFICE, R.LEADING_GROUP, R.TEAM_LEADER, R.ORGANISATION_DEPARTMENT}),
    ClueKind.PETITION: frozenset({R.OFFICE, R.TEAM_LEADER, R.TEAM_MEMBER, R.DEPARTMENT}),
    ClueKind.SECTOR: frozenset({R.OFFICE, R.TEAM_LEADER, R.TEAM_MEMBER, R.DEPARTMENT}),
}

# The receiving bodies a clue can be routed to (settings.clue_routes), and who acts for each.
RECEIVER_ACCESS: dict[Role, AccessRole] = {
    Role.DISCIPLINE_COMMISSION: R.DISCIPLINE_COMMISSION,
    Role.ORGANISATION_DEPARTMENT: R.ORGANISATION_DEPARTMENT,
    Role.RESPONSIBLE_DEPARTMENT: R.DEPARTMENT,
    Role.FUNCTIONAL_DEPARTMENT: R.DEPARTMENT,
}
RECEIVER_NAMES: dict[Role, str] = {
    Role.DISCIPLINE_COMMISSION: "纪委监委",
    Role.ORGANISATION_DEPARTMENT: "组织部",
    Role.RESPONSIBLE_DEPARTMENT: "信访事项责任部门",
    Role.FUNCTIONAL_DEPARTMENT: "行业主管部门",
}

# Who may answer each approval gate (the form's approver must hold one of these roles).
GATE_ROLES: dict[Gate, frozenset[AccessRole]] = {
    Gate.PLAN: frozenset({R.LEADING_GROUP}),
    Gate.STATIONING_DONE: frozenset({R.TEAM_LEADER}),
    Gate.REPORT: frozenset({R.LEADING_GROUP}),
    Gate.CLUE_TRANSFER: frozenset({R.LEADING_GROUP}),
    Gate.RECT_PLAN: frozenset({R.OFFICE}),
    Gate.CLOSE_OUT: frozenset({R.OFFICE}),
    Gate.LOOK_BACK: frozenset({R.OFFICE, R.TEAM_LEADER}),
    Gate.COMMON: frozenset({R.OFFICE}),
    Gate.TERM_PLAN: frozenset({R.OFFICE}),
}


class Forbidden(DomainError):
    """The acting person's role does not allow this."""


def allowed(role: AccessRole, action: Action) -> bool:
    return role in PERMISSIONS[action]


def require(role: AccessRole, action: Action) -> None:
    if not allowed(role, action):
        who = "、".join(r.value for r in AccessRole if r in PERMISSIONS[action])
        raise Forbidden(f"“{role.value}”无权{action.value}（仅限：{who}）")


def can_read_clue(role: AccessRole, kind: ClueKind, receiver: str) -> bool:
    """The kind decides; a receiving body additionally sees only what was routed to it."""
    if role not in CLUE_READERS[kind]:
        return False
    if role in PERMISSIONS[Action.ACKNOWLEDGE]:
        return bool(receiver) and RECEIVER_ACCESS.get(Role(receiver)) is role
    return True
