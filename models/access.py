"""Who may do what. Every check in the CLI and the domain functions reads these tables, and the
tests walk them row by row, so a change of policy is a change here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
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
    CORRECT_FINDING = "更正巡察发现的问题"
    WITHDRAW_FINDING = "撤回巡察发现的问题"
    CLOSE_COMMON_PROBLEM = "共性问题销号"
    MANAGE_HOLIDAYS = "录入和查看法定节假日安排"
    # What the gateway (deployments/gateway) checks on the calls it forwards to Prefect.
    START_ROUND = "发起巡察"
    RECORD_FINDINGS = "登记巡察发现的问题"
    REPORT_RECTIFICATION = "报送整改方案和整改进展"
    RUN_SWEEP = "手动运行每日督办"
    GROUP_COMMON = "归类共性问题"
    CANCEL_RUN = "取消流程运行"
    RETRY_RUN = "重新运行流程"
    SET_RUN_STATE = "更改流程运行状态"
    DELETE_RUN = "删除流程运行记录"
    ADMINISTER_PLATFORM = "管理流程平台（部署、工作池、自动化、变量等）"
    # What the CLI's own commands do besides the above (deployments/cli, COMMANDS below).
    VIEW_PROGRESS = "查看巡察进展（轮次、单位阶段、问题清单、共性问题、回头看）"
    VIEW_STATISTICS = "查看统计、评估和导出整改清单"
    VERIFY_DOSSIER = "校验归档卷宗"
    READ_CLUE = "查阅问题线索"  # who reads which clue: CLUE_READERS, by kind
    # The office's own pages at the gateway (deployments/gateway/office.py).
    VIEW_TODO = "查看本人待办"
    BROWSE_CLUES = "查看问题线索清单"
    VIEW_RECTIFICATION = "查看整改事项"
    # `xuncha backup`: a copy of every record (deployments/ops/backup.py).
    BACKUP = "备份数据"
    # Alerts that could not be delivered (tasks/infra/undelivered.py): listed, re-sent, marked handled.
    HANDLE_UNDELIVERED = "处理未送达的提醒"
    # Health-check indicators guiding stationing (tasks/stationing/indicators.py, #27).
    MANAGE_INDICATORS = "维护巡察指标库"
    VIEW_INDICATORS = "查看巡察指标库"
    RECORD_EXAMINATION = "登记指标核查情况"
    VIEW_INDICATOR_COVERAGE = "查看指标覆盖情况"
    # Stationing's individual talks and evaluations (tasks/stationing): talk records are as
    # confidential as clues, so only the unit's own team and the office reach them.
    RECORD_TALKS = "安排个别谈话和登记谈话记录"
    READ_TALKS = "查阅谈话安排和谈话记录"
    IMPORT_EVALUATIONS = "导入民主测评和问卷调查结果"
    # 巡察成果运用 (tasks/results/use.py, the office page /office/results).
    VIEW_RESULTS_USE = "查看巡察成果运用函"
    ACKNOWLEDGE_RESULTS = "签收巡察成果运用函"
    RECORD_RESULTS_USE = "反馈巡察成果运用情况"
    # The crypto profile (models/crypto.py, `xuncha crypto` and `crypto-switch`).
    VIEW_CRYPTO = "查看密码配置"
    SWITCH_CRYPTO = "切换密码配置"


class Scope(StrEnum):
    """Where a role's permission reaches. A team role is 组长/组员 of one team for its units only."""

    ALL = "全部"
    OWN_TEAM = "本人所在巡察组负责的被巡察单位"
    OWN_RECEIVER = "移交本单位的线索"
    # 被巡察单位联络员: the unit their org-data person belongs to (tasks/infra/scope.py unit_of).
    OWN_UNIT = "本人所在的被巡察单位"


ALL, TEAM, RECEIVER, UNIT = Scope.ALL, Scope.OWN_TEAM, Scope.OWN_RECEIVER, Scope.OWN_UNIT

# Action -> the roles that may do it, each with the reach of that permission.
PERMISSIONS: dict[Action, dict[AccessRole, Scope]] = {
    Action.ADD_PETITION: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.READ_PETITION: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.READ_INFORMANT: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM},
    Action.ADD_CLUE: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.TRANSFER_URGENT: {R.OFFICE: ALL, R.LEADING_GROUP: ALL},
    Action.LIST_CLUES: {R.OFFICE: ALL, R.LEADING_GROUP: ALL},
    Action.VERIFY_AUDIT: {R.OFFICE: ALL},
    Action.ROTATE_KEY: {R.OFFICE: ALL},
    Action.MANAGE_ACCOUNTS: {R.OFFICE: ALL},
    # Signing for a transfer and reporting its result: the receiving body only (see RECEIVER_ACCESS).
    Action.ACKNOWLEDGE: {R.DISCIPLINE_COMMISSION: RECEIVER, R.ORGANISATION_DEPARTMENT: RECEIVER, R.DEPARTMENT: RECEIVER},
    Action.REPORT_RESULT: {R.DISCIPLINE_COMMISSION: RECEIVER, R.ORGANISATION_DEPARTMENT: RECEIVER, R.DEPARTMENT: RECEIVER},
    Action.PLAN_TERM: {R.OFFICE: ALL},
    Action.VIEW_COVERAGE: {R.OFFICE: ALL, R.LEADING_GROUP: ALL},
    Action.CORRECT_FINDING: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.WITHDRAW_FINDING: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM},
    Action.CLOSE_COMMON_PROBLEM: {R.OFFICE: ALL},
    # The State Council's holidays and 调休 of a year (tasks/infra/holidays.py): every working-day deadline follows them.
    Action.MANAGE_HOLIDAYS: {R.OFFICE: ALL},
    Action.START_ROUND: {R.OFFICE: ALL},
    Action.RECORD_FINDINGS: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    # 被巡察单位联络员 reports for their own unit only (the unit their account is linked to).
    Action.REPORT_RECTIFICATION: {R.OFFICE: ALL, R.UNIT_CONTACT: UNIT},
    Action.RUN_SWEEP: {R.OFFICE: ALL},
    Action.GROUP_COMMON: {R.OFFICE: ALL},
    Action.CANCEL_RUN: {R.OFFICE: ALL},
    Action.RETRY_RUN: {R.OFFICE: ALL},
    Action.SET_RUN_STATE: {R.OFFICE: ALL},
    Action.DELETE_RUN: {R.OFFICE: ALL},
    Action.ADMINISTER_PLATFORM: {R.OFFICE: ALL},
    Action.VIEW_PROGRESS: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.TEAM_LEADER: ALL, R.TEAM_MEMBER: ALL},
    Action.VIEW_STATISTICS: {R.OFFICE: ALL, R.LEADING_GROUP: ALL},
    Action.VERIFY_DOSSIER: {R.OFFICE: ALL},
    # Every account has a to-do page; each of its lists is narrowed by the rows above.
    Action.VIEW_TODO: {r: ALL for r in AccessRole},
    # The list of clues (numbers, kinds, states; never their text): the ledger's readers in
    # full, team roles only the clues of their own team's units that they may read.
    Action.BROWSE_CLUES: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    # A unit's rectification items (numbers, findings, measures, owners, deadlines, states): the
    # office and the leading group any unit's, a unit contact their own unit's only.
    Action.VIEW_RECTIFICATION: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.UNIT_CONTACT: UNIT},
    Action.BACKUP: {R.OFFICE: ALL},
    Action.HANDLE_UNDELIVERED: {R.OFFICE: ALL},
    # The library is guidance, not confidential: every inspecting role reads it; the office keeps it.
    Action.MANAGE_INDICATORS: {R.OFFICE: ALL},
    Action.VIEW_INDICATORS: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.TEAM_LEADER: ALL, R.TEAM_MEMBER: ALL},
    Action.RECORD_EXAMINATION: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.VIEW_INDICATOR_COVERAGE: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.RECORD_TALKS: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.READ_TALKS: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    Action.IMPORT_EVALUATIONS: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM},
    # The results letters (findings about leadership and cadres, never a clue's text): the office and
    # the leading group follow every letter; the organisation department and the discipline
    # commission see, sign for and report the use of the letters sent to them only.
    Action.VIEW_RESULTS_USE: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.DISCIPLINE_COMMISSION: RECEIVER,
                              R.ORGANISATION_DEPARTMENT: RECEIVER},
    Action.ACKNOWLEDGE_RESULTS: {R.DISCIPLINE_COMMISSION: RECEIVER, R.ORGANISATION_DEPARTMENT: RECEIVER},
    Action.RECORD_RESULTS_USE: {R.DISCIPLINE_COMMISSION: RECEIVER, R.ORGANISATION_DEPARTMENT: RECEIVER},
    Action.VIEW_CRYPTO: {R.OFFICE: ALL},
    Action.SWITCH_CRYPTO: {R.OFFICE: ALL},
}


@dataclass(frozen=True)
class Command:
    """What a CLI command does (`action`: whose roles may run it) and the name a refusal of it at
    the door is audited under (`audit_name`): the name the command's own audit records use, as the
    domain function refuses a record out of reach under that name too; otherwise the action's."""

    action: Action
    audited_as: str = ""

    @property
    def audit_name(self) -> str:
        return self.audited_as or self.action.value


# What each CLI command does, so it runs only for a person logged in with `xuncha login` whose
# role allows it (deployments/cli/common.py checks this before the command runs; a command
# missing here cannot be registered). None: a command of the machine's operator that starts or
# stops processes or is the login itself and reads no one's data; the operating-system account
# that owns the data folder is its check.
COMMANDS: dict[str, Command | None] = {
    "login": None, "logout": None, "whoami": None,
    "up": None, "down": None, "relay": None, "deliver": None, "inbox": None, "db-status": None, "db-upgrade": None,
    # A restore writes a data folder back while the system is down, when no one can log in (the
    # database may be gone); it reads nothing out. The folder's OS owner runs it, like `up`.
    "restore": None,
    "backup": Command(Action.BACKUP),
    "load-org": Command(Action.MANAGE_ACCOUNTS),
    "export-org": Command(Action.MANAGE_ACCOUNTS),
    "set-password": Command(Action.MANAGE_ACCOUNTS, "重置密码"),
    "import-findings": Command(Action.RECORD_FINDINGS),
    "findings": Command(Action.VIEW_PROGRESS),
    "correct-finding": Command(Action.CORRECT_FINDING, "更正问题"),
    "withdraw-finding": Command(Action.WITHDRAW_FINDING, "撤回问题"),
    "start-round": Command(Action.START_ROUND),
    "status": Command(Action.VIEW_PROGRESS),
    "look-backs": Command(Action.VIEW_PROGRESS),
    "common-problems": Command(Action.VIEW_PROGRESS),
    "close-common": Command(Action.CLOSE_COMMON_PROBLEM),
    "sweep": Command(Action.RUN_SWEEP),
    "stats": Command(Action.VIEW_STATISTICS),
    "charts": Command(Action.VIEW_STATISTICS),
    "evaluate-teams": Command(Action.VIEW_STATISTICS),
    "export-lists": Command(Action.VIEW_STATISTICS),
    "verify-audit": Command(Action.VERIFY_AUDIT),
    "verify-dossier": Command(Action.VERIFY_DOSSIER),
    "rotate-key": Command(Action.ROTATE_KEY),
    "crypto": Command(Action.VIEW_CRYPTO),
    "crypto-switch": Command(Action.SWITCH_CRYPTO),
    "term-create": Command(Action.PLAN_TERM, "创建任期计划"),
    "schedule": Command(Action.PLAN_TERM),
    "compose": Command(Action.PLAN_TERM),
    "pools": Command(Action.PLAN_TERM),
    "coverage": Command(Action.VIEW_COVERAGE),
    "add-petition": Command(Action.ADD_PETITION, "受理信访举报"),
    "show-petition": Command(Action.READ_PETITION, "查阅信访举报"),
    "petition-to-clue": Command(Action.ADD_CLUE, "信访举报转线索"),
    "add-clue": Command(Action.ADD_CLUE, "登记线索"),
    "transfer-now": Command(Action.TRANSFER_URGENT),
    "clues": Command(Action.LIST_CLUES, "查看线索台账"),
    "show-clue": Command(Action.READ_CLUE, "查阅线索"),
    "ack-letter": Command(Action.ACKNOWLEDGE),
    "clue-result": Command(Action.REPORT_RESULT),
    "holidays": Command(Action.MANAGE_HOLIDAYS),
    "set-holidays": Command(Action.MANAGE_HOLIDAYS, "录入节假日安排"),
    "indicators": Command(Action.VIEW_INDICATORS),
    "import-indicators": Command(Action.MANAGE_INDICATORS, "导入巡察指标库"),
    "export-indicators": Command(Action.VIEW_INDICATORS),
    "examine": Command(Action.RECORD_EXAMINATION),
    "indicator-coverage": Command(Action.VIEW_INDICATOR_COVERAGE),
    "plan-talk": Command(Action.RECORD_TALKS, "安排个别谈话"),
    "add-talk": Command(Action.RECORD_TALKS, "登记谈话记录"),
    "talks": Command(Action.READ_TALKS, "查看谈话安排和谈话记录"),
    "show-talk": Command(Action.READ_TALKS, "查阅谈话记录"),
    "import-evaluations": Command(Action.IMPORT_EVALUATIONS),
    "evaluations": Command(Action.VIEW_PROGRESS),
    "results-letters": Command(Action.VIEW_RESULTS_USE, "查看巡察成果运用函"),
}
# Commands that may run before anyone can log in, on a new install only: the first import of the
# org data (no account exists yet) and the first office password (no 巡察办 account has one).
FIRST_SETUP: frozenset[str] = frozenset({"load-org", "set-password"})
# Commands the data folder's operating-system owner may also run without a login, by saying so
# (`--operator`): a backup copies every record, so it is the office's, but a nightly backup runs
# unattended (no password, no second factor) and the folder's owner can read its files anyway;
# the door checks the owner and the command's own audit record names them.
OWNER_COMMANDS: frozenset[str] = frozenset({"backup"})
# Commands that read or write confidential data or configuration and have no audit record of
# their own: the CLI records who ran them (refusals are recorded for every command).
AUDITED_COMMANDS: frozenset[str] = frozenset({"load-org", "export-org", "import-findings", "export-lists", "stats"})

# Who may start each deployment of prefect.yaml (by its name) from the UI: the roles of the
# action it performs. None: only the system starts it (发起巡察 starts 单位巡察, the daily sweep
# starts 回头看), so no person may. A deployment missing here is refused for everyone.
DEPLOYMENT_ACTIONS: dict[str, Action | None] = {
    "发起巡察": Action.START_ROUND,
    "单位巡察": None,
    "登记问题": Action.RECORD_FINDINGS,
    "报送整改进展": Action.REPORT_RECTIFICATION,
    "报送整改方案": Action.REPORT_RECTIFICATION,
    "每日督办": Action.RUN_SWEEP,
    "全覆盖排程": Action.PLAN_TERM,
    "全覆盖进度": Action.VIEW_COVERAGE,
    "签收线索移交函": Action.ACKNOWLEDGE,
    "回头看": None,
    "共性问题归类": Action.GROUP_COMMON,
}

# Who may read a clue's text, by the clue's kind, and how far: receivers only clues routed to
# them, team roles only clues of the units their team inspects.
CLUE_READERS: dict[ClueKind, dict[AccessRole, Scope]] = {
    ClueKind.DISCIPLINE: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.TEAM_LEADER: TEAM, R.DISCIPLINE_COMMISSION: RECEIVER},
    ClueKind.APPOINTMENT: {R.OFFICE: ALL, R.LEADING_GROUP: ALL, R.TEAM_LEADER: TEAM, R.ORGANISATION_DEPARTMENT: RECEIVER},
    ClueKind.PETITION: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM, R.DEPARTMENT: RECEIVER},
    ClueKind.SECTOR: {R.OFFICE: ALL, R.TEAM_LEADER: TEAM, R.TEAM_MEMBER: TEAM, R.DEPARTMENT: RECEIVER},
}

# Anyone who reads some kind of clue may ask to read one; the kind and scope then decide.
PERMISSIONS[Action.READ_CLUE] = {role: scope for readers in CLUE_READERS.values() for role, scope in readers.items()}

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

# Who may answer each approval gate (the form's approver must hold one of these roles), and how
# far: the stationing gate of a unit only by a 组长 of the team inspecting it. The look-back gate's
# team is composed outside the rounds (tasks/supervision/look_back.py), so its reach is not narrowed here.
GATE_ROLES: dict[Gate, dict[AccessRole, Scope]] = {
    Gate.PLAN: {R.LEADING_GROUP: ALL},
    Gate.STATIONING_DONE: {R.TEAM_LEADER: TEAM},
    Gate.REPORT: {R.LEADING_GROUP: ALL},
    Gate.CLUE_TRANSFER: {R.LEADING_GROUP: ALL},
    Gate.RECT_PLAN: {R.OFFICE: ALL},
    Gate.CLOSE_OUT: {R.OFFICE: ALL},
    Gate.LOOK_BACK: {R.OFFICE: ALL, R.TEAM_LEADER: ALL},
    Gate.COMMON: {R.OFFICE: ALL},
    Gate.TERM_PLAN: {R.OFFICE: ALL},
}


# Gates a 领导小组 member may answer from the link in the alert on a phone, with the one-time
# code instead of a full login (deployments/gateway, tasks/identity/phone.py): plain decisions only.
CODE_GATES: frozenset[Gate] = frozenset({Gate.PLAN, Gate.REPORT, Gate.CLUE_TRANSFER})


class Forbidden(DomainError):
    """The acting person's role does not allow this."""


def require_start(role: AccessRole, deployment: str) -> Scope:
    """The reach of `role` for starting `deployment`; a refusal when it may not."""
    if deployment not in DEPLOYMENT_ACTIONS:
        raise Forbidden(f"部署“{deployment}”未在权限表中登记，任何人都不能从界面运行")
    action = DEPLOYMENT_ACTIONS[deployment]
    if action is None:
        raise Forbidden(f"部署“{deployment}”由系统自动启动，不能从界面手工运行")
    if not allowed(role, action):
        who = "、".join(r.value for r in AccessRole if r in PERMISSIONS[action])
        raise Forbidden(f"“{role.value}”无权运行部署“{deployment}”（{action.value}，仅限：{who}）")
    return PERMISSIONS[action][role]


def require_answer(role: AccessRole, gate: Gate, *, on_team: bool) -> None:
    """`role` may answer `gate` (a team scope: only for a unit its own team inspects)."""
    if role not in GATE_ROLES[gate]:
        who = "、".join(r.value for r in AccessRole if r in GATE_ROLES[gate])
        raise Forbidden(f"“{role.value}”无权办理“{gate.value}”，应由{who}办理")
    if GATE_ROLES[gate][role] is Scope.OWN_TEAM and not on_team:
        raise Forbidden(f"“{role.value}”只能办理本人所在巡察组负责单位的“{gate.value}”，该单位不由您所在的巡察组巡察")


def allowed(role: AccessRole, action: Action) -> bool:
    return role in PERMISSIONS[action]


def require(role: AccessRole, action: Action) -> Scope:
    """The reach of `role`'s permission for `action`; a refusal when it has none. A scope other
    than ALL must still be checked against the record (see `require_within`)."""
    if not allowed(role, action):
        who = "、".join(r.value for r in AccessRole if r in PERMISSIONS[action])
        raise Forbidden(f"“{role.value}”无权{action.value}（仅限：{who}）")
    return PERMISSIONS[action][role]


def require_within(role: AccessRole, action: Action, *, on_team: bool, receiver: str = "",
                   own_unit: bool = False) -> None:
    """`require`, then the scope: `on_team` says whether the person serves on the team that
    inspects the record's unit in that round; `receiver` is the body a clue was routed to;
    `own_unit` whether the record's unit is the one the person's account is linked to."""
    scope = require(role, action)
    if scope is Scope.OWN_UNIT and not own_unit:
        raise Forbidden(f"“{role.value}”只能{action.value}本人所在被巡察单位的事项，该单位不是您所在的单位")
    if scope is Scope.OWN_TEAM and not on_team:
        raise Forbidden(f"“{role.value}”无权对该单位{action.value}：该单位不由您所在的巡察组巡察（仅限本人所在巡察组负责的被巡察单位）")
    if scope is Scope.OWN_RECEIVER and not (receiver and RECEIVER_ACCESS.get(Role(receiver)) is role):
        name = RECEIVER_NAMES.get(Role(receiver), receiver) if receiver else "（尚未移交）"
        raise Forbidden(f"该线索移交给{name}，“{role.value}”无权{action.value}")


def can_read_clue(role: AccessRole, kind: ClueKind, receiver: str, *, on_team: bool) -> bool:
    """The kind decides who; the scope decides which: a receiving body sees only what was routed
    to it, a team role only the clues of its own team's units."""
    scope = CLUE_READERS[kind].get(role)
    if scope is None:
        return False
    if scope is Scope.OWN_RECEIVER:
        return bool(receiver) and RECEIVER_ACCESS.get(Role(receiver)) is role
    if scope is Scope.OWN_TEAM:
        return on_team
    return True


# Work that the office's own pages do in full (deployments/gateway/office.py): 签收 and the unit's
# rectification reports. A role whose only platform work is among these has no use for the
# Prefect UI; it lands on its to-do page after login and its pages do not link to the platform.
OFFICE_PAGE_ACTIONS: frozenset[Action] = frozenset({Action.ACKNOWLEDGE, Action.REPORT_RECTIFICATION})


def uses_platform(role: AccessRole) -> bool:
    """Whether `role` has work in the Prefect UI: a gate it answers, or a deployment it starts
    whose work has no office page."""
    if any(role in roles for roles in GATE_ROLES.values()):
        return True
    return any(action is not None and action not in OFFICE_PAGE_ACTIONS and allowed(role, action)
               for action in DEPLOYMENT_ACTIONS.values())
