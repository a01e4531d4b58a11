"""Statuses and kinds. Values are the Chinese words office staff see in forms and documents."""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    TOWN = "乡镇街道"
    DEPARTMENT = "部门"
    STATE_ENTERPRISE = "国有企业"
    VILLAGE = "社区村"


class Pool(StrEnum):
    LEADER = "组长库"
    TALENT = "人才库"
    # Not a team pool: the leaders who may lead (领办) a round's common problems (共性问题归类).
    COMMON_LEADER = "分管领导"


class ConflictKind(StrEnum):
    FORMER_UNIT = "原工作单位"
    RELATIVE = "亲属任职"
    DECLARED = "申报回避"


class RoundKind(StrEnum):
    REGULAR = "常规巡察"
    SPECIAL = "专项巡察"
    MOBILE = "机动巡察"
    EXTENDED = "延伸巡察"
    CROSS = "交叉巡察"
    LOOK_BACK = "回头看"


class RoundStatus(StrEnum):
    PLANNING = "方案待批"
    RETURNED = "方案退回"
    ACTIVE = "进行中"
    DONE = "已完成"


class TeamRole(StrEnum):
    LEADER = "组长"
    DEPUTY = "副组长"
    MEMBER = "组员"


class Stage(StrEnum):
    PREPARATION = "巡察准备"
    STATIONING = "集中巡察"
    REPORTING = "报告巡察"
    FEEDBACK = "巡察反馈"
    CLUE_TRANSFER = "线索移交"
    RECTIFICATION = "督促整改"
    ARCHIVING = "立卷归档"
    ARCHIVED = "已归档"


STAGE_ORDER = list(Stage)


class FindingScope(StrEnum):
    INDIVIDUAL = "个性问题"
    COMMON = "共性问题"


class CommonProblemStatus(StrEnum):
    """A common problem is supervised (督办中) until the office closes it out on its own (已销号),
    whatever stage its units are at: a unit may archive while its common problem stays open."""

    SUPERVISING = "督办中"
    CLOSED = "已销号"


class GroupingStatus(StrEnum):
    """One proposal of the round's common problems (共性问题归类): registered when the round's
    reports are approved (or late common findings arrive), its run started, its form confirmed."""

    REGISTERED = "待启动"
    STARTED = "已启动"
    CONFIRMED = "已确认"


class ClueKind(StrEnum):
    DISCIPLINE = "违纪违法线索"
    APPOINTMENT = "选人用人问题"
    PETITION = "信访事项"
    SECTOR = "行业领域问题"


class ClueStatus(StrEnum):
    PENDING = "待移交"
    HELD = "暂缓移交"
    TRANSFERRED = "已移交"
    RECEIVED = "已签收"
    CLOSED = "已办结"


class ClueResult(StrEnum):
    """What the receiver did with a clue (办理结果); a clue closes only with one of these."""

    INITIAL_CHECK = "初步核实"
    CASE_FILED = "立案审查调查"
    ADMONISHING_TALK = "诫勉谈话"
    DETENTION = "留置"
    JUDICIARY = "移送司法机关"
    SANCTION = "党纪政务处分"
    NO_ISSUE = "经核查无问题"


# An initial check is a step, not an end: the receiver reports again when it concludes.
FINAL_CLUE_RESULTS = frozenset(ClueResult) - {ClueResult.INITIAL_CHECK}


class PetitionChannel(StrEnum):
    LETTER = "来信"
    PHONE = "来电"
    VISIT = "来访"
    MAILBOX = "意见箱"
    ONLINE = "网络举报"


class AccessRole(StrEnum):
    """Who a person acting in the system is; what each may do is in models/access.py."""

    OFFICE = "巡察办"
    TEAM_LEADER = "巡察组组长"
    TEAM_MEMBER = "巡察组组员"
    LEADING_GROUP = "巡察工作领导小组"
    DISCIPLINE_COMMISSION = "纪委监委"
    ORGANISATION_DEPARTMENT = "组织部"
    DEPARTMENT = "职能部门"
    UNIT_CONTACT = "被巡察单位联络员"


class ItemStatus(StrEnum):
    NOT_STARTED = "未开始"
    IN_PROGRESS = "整改中"
    PENDING_CHECK = "已完成待核"
    CLOSED = "已销号"


class Gate(StrEnum):
    PLAN = "方案及组成人员审批"
    STATIONING_DONE = "巡察组提交报告"
    REPORT = "报告审议"
    CLUE_TRANSFER = "线索移交审批"
    RECT_PLAN = "整改方案审核"
    CLOSE_OUT = "整改销号"
    LOOK_BACK = "回头看核查"
    COMMON = "共性问题归类"
    TERM_PLAN = "全覆盖排程审批"


class CheckResult(StrEnum):
    RECTIFIED = "已整改"
    PARTLY = "部分整改"
    NOT_RECTIFIED = "未整改"
    FALSE_REPORT = "虚假整改"


class LookBackCause(StrEnum):
    OVERDUE = "逾期未整改"
    LOW_RATE = "整改率偏低"
    NO_REPORT = "未报送整改报告"


class LetterStatus(StrEnum):
    """线索移交函: derived from its acknowledgement (no column of its own)."""

    SENT = "待签收"
    ACKNOWLEDGED = "已签收"


class ApprovalStatus(StrEnum):
    PENDING = "待审批"
    DECIDED = "已决定"


class AlertStatus(StrEnum):
    PENDING = "待发送"
    SENDING = "发送中"
    SENT = "已发送"
    NO_RECIPIENT = "无接收人"
    UNDELIVERABLE = "无法送达"  # retried until Settings.alert_give_up_hours / alert_max_attempts
    HANDLED = "已处理"  # undeliverable or without recipient, and the office has dealt with it


class Role(StrEnum):
    """Who an alert is for; person-level roles resolve through the org data."""

    OFFICE = "office"
    LEADING_GROUP = "leading_group"
    TEAM_LEADER = "team_leader"
    UNIT_SECRETARY = "unit_secretary"
    LIAISON_LEADER = "liaison_leader"
    DISCIPLINE_COMMISSION = "discipline_commission"
    ORGANISATION_DEPARTMENT = "organisation_department"
    RESPONSIBLE_DEPARTMENT = "responsible_department"
    FUNCTIONAL_DEPARTMENT = "functional_department"
    LEADER_IN_CHARGE = "leader_in_charge"  # 分管领导 of a common problem (the person first, then these)


ROLE_NAMES = {
    Role.OFFICE: "巡察办",
    Role.LEADING_GROUP: "巡察工作领导小组",
    Role.TEAM_LEADER: "巡察组组长",
    Role.UNIT_SECRETARY: "被巡察单位党组织书记",
    Role.LIAISON_LEADER: "联系领导",
    Role.DISCIPLINE_COMMISSION: "纪委监委",
    Role.ORGANISATION_DEPARTMENT: "组织部",
    Role.RESPONSIBLE_DEPARTMENT: "责任部门",
    Role.FUNCTIONAL_DEPARTMENT: "行业主管部门",
    Role.LEADER_IN_CHARGE: "分管领导",
}


class ResultsLetterStatus(StrEnum):
    """巡察成果运用函 (models/results_use.py): sent at feedback, signed for, closed."""

    SENT = "待签收"
    IN_USE = "运用中"  # signed for: the receiver records how it uses the results
    CLOSED = "已办结"


class LookBackStatus(StrEnum):
    """回头看: registered by a sweep, its flow run started (by the sweep or the relay), the team
    composed and working, results recorded."""

    REGISTERED = "待启动"
    STARTED = "已启动"
    IN_PROGRESS = "进行中"
    DONE = "已完成"


class DayCount(StrEnum):
    """How a deadline rule counts its days."""

    WORKING = "工作日"  # State Council holidays and weekends skipped, 调休 working days counted
    NATURAL = "自然日"
