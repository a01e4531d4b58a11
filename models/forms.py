"""Flow parameters and approval forms. The Prefect UI renders these as the Chinese forms staff fill in."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from prefect.input import RunInput
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from models.text import (
    LONG_MAX,
    NAME_MAX,
    ROUND_NAME_MAX,
    SHORT_MAX,
    LineText,
    LongText,
    Name,
    NameText,
)

RoundKindValue = Literal["常规巡察", "专项巡察", "机动巡察", "延伸巡察", "交叉巡察", "回头看"]


def _pos(n: int) -> dict[str, Any]:
    return {"position": n}


def _null_title(n: int, title: str) -> Any:
    """Position, and a Chinese label for the "empty" choice of an optional object (the UI shows
    each choice of an anyOf by its title, and "None" for null without one)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["position"] = n
        for choice in schema.get("anyOf", []):
            if choice.get("type") == "null":
                choice["title"] = title

    return extra


class TeamSpec(BaseModel):
    """一个巡察组：组长、副组长、组员和本组负责的被巡察单位。"""

    name: NameText = Field(title="巡察组名称", description="如：第一巡察组", min_length=1, max_length=NAME_MAX,
                           json_schema_extra=_pos(0))
    leader: NameText = Field(title="组长", description="须在巡察组长库中", min_length=1, max_length=NAME_MAX,
                             json_schema_extra=_pos(1))
    deputy: NameText = Field(default="", title="副组长", description="可不填", max_length=NAME_MAX, json_schema_extra=_pos(2))
    members: list[Name] = Field(default_factory=list, title="组员", json_schema_extra=_pos(3))
    units: list[Name] = Field(title="被巡察单位", description="本组负责巡察的单位名称", min_length=1, json_schema_extra=_pos(4))

    @field_validator("deputy", mode="before")
    @classmethod
    def _no_deputy(cls, value: object) -> object:
        return "" if value is None else value


class AutoTeams(BaseModel):
    """由系统从组长库、人才库组建巡察组：按单位类型匹配专长，优先安排参加次数少、间隔久的人员，自动回避本单位、原工作单位、亲属任职单位和申报回避的单位；交叉巡察时不派往本片区。"""

    model_config = ConfigDict(title="由系统组建")  # the UI labels the choice with the schema's title

    units: list[Name] = Field(title="被巡察单位", min_length=1, json_schema_extra=_pos(0))
    team_count: int = Field(default=1, title="巡察组数", ge=1, le=10, json_schema_extra=_pos(1))
    members_per_team: int = Field(default=2, title="每组组员人数", ge=0, le=20, json_schema_extra=_pos(2))


class RoundParams(BaseModel):
    """巡察轮次、进驻时间、巡察组及其负责的被巡察单位（手工指定巡察组，或由系统组建）。"""

    name: NameText = Field(title="巡察轮次名称", description="如：2026年第一轮巡察", min_length=2, max_length=ROUND_NAME_MAX,
                           json_schema_extra=_pos(0))
    kind: RoundKindValue = Field(default="常规巡察", title="巡察类型", json_schema_extra=_pos(1))
    start_date: date = Field(title="进驻开始日期", json_schema_extra=_pos(2))
    end_date: date = Field(title="进驻结束日期", json_schema_extra=_pos(3))
    teams: list[TeamSpec] = Field(default_factory=list, title="巡察组及被巡察单位", description="手工指定巡察组时填写",
                                  json_schema_extra=_pos(4))
    auto_teams: AutoTeams | None = Field(default=None, title="由系统组建巡察组",
                                         description="不手工指定巡察组时选择“由系统组建”，填写被巡察单位、组数、每组组员人数",
                                         json_schema_extra=_null_title(5, "不使用（手工指定）"))

    @model_validator(mode="after")
    def _dates(self) -> RoundParams:
        if self.end_date < self.start_date:
            raise ValueError("进驻结束日期早于开始日期")
        if not self.teams and self.auto_teams is None:
            raise ValueError("请填写巡察组，或选择由系统组建巡察组")
        if self.teams and self.auto_teams is not None:
            raise ValueError("手工指定巡察组与由系统组建只能选一种")
        return self


class FindingIn(BaseModel):
    category: LineText = Field(title="问题类别", description="如：党的领导、党的建设、全面从严治党、选人用人、巡察整改", min_length=1,
                               max_length=NAME_MAX)
    description: LongText = Field(title="问题描述", min_length=2, max_length=LONG_MAX)
    evidence: LongText = Field(default="", title="证据材料说明", max_length=LONG_MAX)
    scope: Literal["个性问题", "共性问题"] = Field(default="个性问题", title="问题性质")
    fixed_on_site: bool = Field(default=False, title="已立行立改")


class ItemCheckIn(BaseModel):
    item_id: int = Field(title="整改事项编号", ge=1)
    result: Literal["已整改", "部分整改", "未整改", "虚假整改"] = Field(title="核查结论")
    note: LongText = Field(default="", title="核查说明", max_length=2000)


ITEM_HELP = "填写编号（如 12）、问题描述，或整改事项清单中的一行“编号 描述”"


class ItemRef(BaseModel):
    """A row naming one rectification item; resolved against the unit's items by tasks/supervision/items.py."""

    item: LongText = Field(title="整改事项", description=ITEM_HELP, min_length=1, max_length=LONG_MAX,
                           json_schema_extra=_pos(0))

    @model_validator(mode="before")
    @classmethod
    def _by_number(cls, data: Any) -> Any:
        """`item_id=12` (callers in code, forms filled before 整改事项 took text) is `item="12"`."""
        if isinstance(data, dict) and "item" not in data and "item_id" in data:
            data = {k: v for k, v in data.items() if k != "item_id"} | {"item": data["item_id"]}
        if isinstance(data, dict) and isinstance(data.get("item"), int) and not isinstance(data["item"], bool):
            data = data | {"item": str(data["item"])}
        return data


class ProgressIn(ItemRef):
    status: Literal["未开始", "整改中", "已完成待核"] = Field(title="整改状态")
    measure_taken: LongText = Field(default="", title="采取的措施", max_length=2000)
    evidence: LongText = Field(default="", title="佐证材料说明", max_length=2000)
    rules_made: int = Field(default=0, title="新建制度数（建章立制）", ge=0)


class PlanItemIn(ItemRef):
    measure: LongText = Field(title="整改措施", min_length=2, max_length=2000)
    owner: NameText = Field(title="责任人", min_length=1, max_length=NAME_MAX)
    deadline: date = Field(title="完成时限")
    supervise_every_days: int = Field(default=30, title="督办频次（天）", ge=1, le=365)


class PlanParams(BaseModel):
    round_name: LineText = Field(title="巡察轮次名称", min_length=1, json_schema_extra=_pos(0))
    unit_name: LineText = Field(title="被巡察单位", min_length=1, json_schema_extra=_pos(1))
    reporter: LineText = Field(title="报送人（姓名）", min_length=1, json_schema_extra=_pos(2))
    items: list[PlanItemIn] = Field(title="整改任务清单（措施、责任人、时限）", min_length=1, json_schema_extra=_pos(3))


class AckParams(BaseModel):
    """接收单位签收线索移交函：填写移交函编号、签收人和提醒中的签收码（线索内容不经此表单）。"""

    letter_id: int = Field(title="移交函编号", description="线索移交提醒中的编号", gt=0, json_schema_extra=_pos(0))
    signer: LineText = Field(title="签收人（姓名）", description="须为接收单位的在册用户", min_length=1, max_length=50,
                        json_schema_extra=_pos(1))
    code: LineText = Field(title="签收码", description="线索移交提醒中的六位签收码", min_length=1, max_length=12,
                      json_schema_extra=_pos(2))


class ProgressParams(BaseModel):
    round_name: LineText = Field(title="巡察轮次名称", min_length=1, json_schema_extra=_pos(0))
    unit_name: LineText = Field(title="被巡察单位", min_length=1, json_schema_extra=_pos(1))
    reporter: LineText = Field(title="报送人（姓名）", min_length=1, json_schema_extra=_pos(2))
    formal: bool = Field(default=False, title="本次为正式整改情况报告", json_schema_extra=_pos(3))
    items: list[ProgressIn] = Field(title="各整改事项进展", min_length=1, json_schema_extra=_pos(4))


class CommonGroupIn(BaseModel):
    """One common problem as the office confirms it (a row of the confirmation form)."""

    category: LineText = Field(title="问题类别", max_length=NAME_MAX)
    title: LineText = Field(title="共性问题名称", max_length=SHORT_MAX)
    leader_in_charge: LineText = Field(default="", title="分管领导", description="领办该共性问题的分管领导姓名", max_length=NAME_MAX)
    departments: list[str] = Field(default_factory=list, title="责任部门")
    finding_ids: list[int] = Field(default_factory=list, title="问题编号", description="归入该共性问题的问题编号（至少两个）")

    @field_validator("category", "title", "leader_in_charge")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("departments")
    @classmethod
    def _departments(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(d.strip() for d in value if d.strip()))


class FindingsParams(BaseModel):
    round_name: LineText = Field(title="巡察轮次名称", min_length=1)
    unit_name: LineText = Field(title="被巡察单位", min_length=1)
    findings: list[FindingIn] = Field(title="发现的问题", min_length=1)


# Gates -------------------------------------------------------------------------------------
# Decision values are Chinese because the UI shows an enum's raw value.

# Through the gateway the logged-in person is the approver (a receipt the flow verifies): name
# and code are then not needed. They stay for an answer without a login (tasks/lifecycle/approvals.py).
BY_LOGIN = "登录后办理可不填，系统记录登录人"
CODE_FIELD: Any = Field(default="", title="验证码", description=f"{BY_LOGIN}；未登录时填写审批提醒中的六位一次性验证码",
                        max_length=12, json_schema_extra=_pos(2))


def _approver(title: str) -> Any:
    return Field(default="", title=title, description=f"{BY_LOGIN}；未登录时填写本人姓名，系统将核对其角色", max_length=50,
                 json_schema_extra=_pos(1))


class GateForm(RunInput):
    # The decisions that let the work go ahead; flows ask `approved`, never compare the words.
    APPROVE: ClassVar[frozenset[str]] = frozenset()

    decision: str = Field(title="审批决定", json_schema_extra=_pos(0))
    approver: LineText = _approver("审批人（姓名）")
    code: LineText = CODE_FIELD
    comment: LongText = Field(default="", title="意见", json_schema_extra=_pos(3))

    @property
    def approved(self) -> bool:
        return self.decision in self.APPROVE


class WaitNotice(RunInput):
    """A wait that asks nothing: its description says what people do elsewhere (e.g. submit the
    plan through 报送整改方案), and doing it resumes the run. Resumed early (the UI's button), the
    run looks again and waits on."""


class PlanApproval(GateForm):
    APPROVE = frozenset({"批准"})
    decision: Literal["批准", "退回修改"] = Field(title="审批决定", json_schema_extra=_pos(0))


class StationingDone(GateForm):
    APPROVE = frozenset({"进驻结束，提交巡察报告"})
    decision: Literal["进驻结束，提交巡察报告"] = Field(
        default="进驻结束，提交巡察报告", title="巡察组确认", json_schema_extra=_pos(0)
    )
    approver: LineText = _approver("组长（姓名）")
    comment: LongText = Field(default="", title="报告要点", json_schema_extra=_pos(3))
    # Asked when the indicator library applies to the unit and an indicator was not examined or a
    # method not used (tasks/stationing/indicators.py): without a reason the report is not submitted.
    gap_reason: LongText = Field(default="", title="缺项说明", max_length=2000, json_schema_extra={"position": 4, "format": "textarea"},
                                 description="说明中列出未核查的指标或未使用的巡察方法时必须填写原因，否则不能提交")


class ReportReview(GateForm):
    APPROVE = frozenset({"通过"})
    decision: Literal["通过", "退回重新查找"] = Field(title="审议结论", json_schema_extra=_pos(0))


class ClueTransferApproval(GateForm):
    APPROVE = frozenset({"同意移交"})
    decision: Literal["同意移交", "暂缓移交"] = Field(title="审批决定", json_schema_extra=_pos(0))


class RectPlanReview(GateForm):
    APPROVE = frozenset({"通过"})
    decision: Literal["通过", "退回修改"] = Field(title="审核结论", json_schema_extra=_pos(0))


class CloseOutApproval(GateForm):
    APPROVE = frozenset({"同意销号"})
    decision: Literal["同意销号", "暂不销号"] = Field(title="审批决定", json_schema_extra=_pos(0))


class TermPlanApproval(GateForm):
    APPROVE = frozenset({"批准", "按调整批准"})
    decision: Literal["批准", "按调整批准", "退回"] = Field(title="审批决定", json_schema_extra=_pos(0))
    edits: LongText = Field(
        default="", title="排程调整", max_length=4000, json_schema_extra={"position": 3, "format": "textarea"},
        description="选择“按调整批准”时填写，每行一个要改的轮次，如：2027年第2轮：区财政局、城东街道、新港社区。"
                    "写到的单位从原轮次移出；原轮次中没写到的单位须另行安排。",
    )
    comment: LongText = Field(default="", title="意见", json_schema_extra=_pos(4))

    @property
    def adjusted(self) -> bool:
        """Approved with the office's changes to the proposed schedule (排程调整)."""
        return self.decision == "按调整批准"


class TermPlanParams(BaseModel):
    """全覆盖排程：为任期内尚未巡察的单位安排剩余轮次，报巡察办审批。"""

    term: LineText = Field(title="任期计划名称", description="如：十四届区委任期（2021—2026年）", min_length=1, json_schema_extra=_pos(0))
    as_of: date | None = Field(default=None, title="排程日期", description="留空为今天（北京时间）", json_schema_extra=_pos(1))


# Decisions that need a reason from the approver (checked after resume, not by the server).
NEEDS_COMMENT = {"退回修改", "退回重新查找", "暂缓移交", "暂不销号", "退回"}


class SweepParams(BaseModel):
    """Parameters of the daily supervision sweep; thresholds left empty come from settings."""

    as_of: date | None = Field(default=None, title="督办日期", description="留空为今天（北京时间）")
    rate_below: float | None = Field(default=None, title="回头看整改率阈值（%）", description="报告期限届满时整改率低于此值启动回头看")
    overdue_days: int | None = Field(default=None, title="回头看逾期天数", description="整改事项逾期超过此天数启动回头看")

    @field_validator("rate_below")
    @classmethod
    def _rate(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 100:
            raise ValueError(f"整改率阈值应在0到100之间，实为{value}")
        return value

    @field_validator("overdue_days")
    @classmethod
    def _days(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"逾期天数不能为负数，实为{value}")
        return value


class LookBackReport(GateForm):
    """The look-back team's verification of every earlier item, plus new findings."""

    APPROVE = frozenset({"提交核查结果"})

    decision: Literal["提交核查结果"] = Field(default="提交核查结果", title="回头看核查", json_schema_extra=_pos(0))
    approver: LineText = _approver("回头看组组长（姓名）")
    checks: list[ItemCheckIn] = Field(title="逐项核查结论", json_schema_extra=_pos(3))
    new_findings: list[FindingIn] = Field(default_factory=list, title="新发现的问题", json_schema_extra=_pos(4))
    comment: LongText = Field(default="", title="总体意见", json_schema_extra=_pos(5))


class CommonProblemsConfirm(GateForm):
    """The office confirms the proposed common problems (共性问题), editing them as needed."""

    APPROVE = frozenset({"确认归类"})

    decision: Literal["确认归类"] = Field(default="确认归类", title="共性问题归类", json_schema_extra=_pos(0))
    approver: LineText = _approver("确认人（姓名）")
    groups: list[CommonGroupIn] = Field(title="共性问题（每组填写分管领导和责任部门）", json_schema_extra=_pos(3))
    comment: LongText = Field(default="", title="意见", json_schema_extra=_pos(4))


def _one_of(values: list[str]) -> Any:
    """Literal[values...] built at run time (the UI shows a Literal as a select of its values)."""
    return Literal.__getitem__(tuple(values))


def common_form(leaders: list[str], departments: list[str]) -> type[CommonProblemsConfirm]:
    """The confirmation form with 分管领导 and 责任部门 picked from the org data (a select and a
    multi-select) instead of typed. Without any leader in charge in the org data the field stays
    free text, and the check after the answer says what to load."""
    row: dict[str, Any] = {}
    if leaders:
        row["leader_in_charge"] = (_one_of(leaders), Field(
            title="分管领导", description="领办该共性问题的分管领导（组织数据中的分管领导；不领办涉及本人所在单位的问题）"))
    if departments:
        row["departments"] = (list.__class_getitem__(_one_of(departments)), Field(
            default_factory=list, title="责任部门", description="组织数据中类型为“部门”的单位，可多选"))
    group: Any = create_model("CommonGroupIn", __base__=CommonGroupIn, **row) if row else CommonGroupIn
    rows: Any = list.__class_getitem__(group)
    form: type[CommonProblemsConfirm] = create_model(
        "CommonProblemsConfirm", __base__=CommonProblemsConfirm,
        groups=(rows, Field(title="共性问题（每组选择分管领导和责任部门）", json_schema_extra=_pos(3))))
    return form
