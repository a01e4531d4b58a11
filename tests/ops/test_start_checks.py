"""The gateway's check of a form before a run exists (tasks/ops/start_checks.py): the domain's
own checks, every problem in Chinese, nothing written; the names runs get; the one line a run
ends with when the domain refuses its input."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from flows.outcome import one_line
from models.errors import DomainError
from models.settings import Settings
from tasks.ops.run_names import start_run_name
from tasks.ops.start_checks import refusal, start_problems
from tests.support.factories import (
    NOW,
    in_stationing,
    make_round,
    round_data,
    row_counts,
    team_data,
)

LATIN = re.compile(r"[A-Za-z]{3,}")  # an English word in a message for a clerk


def _check(s: Session, settings: Settings, deployment: str, parameters: dict[str, Any]) -> list[str]:
    before = row_counts(s)
    problems = start_problems(session=s, settings=settings, deployment=deployment, parameters=parameters, now=NOW)
    assert row_counts(s) == before  # a check writes nothing
    assert not s.new and not s.dirty
    return problems


def _form(data: dict[str, Any]) -> dict[str, Any]:
    return {"params": {k: str(v) if k.endswith("_date") else v for k, v in data.items()}}


def test_a_valid_new_round_passes(demo_org: Session, settings: Settings) -> None:
    assert _check(demo_org, settings, "发起巡察", _form(round_data(name="2027年第一轮巡察"))) == []


def test_a_bad_round_is_refused_with_every_problem_in_chinese(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    make_round(s)  # 2026年第一轮巡察 with 李建国's team on 城东街道
    form = _form(round_data(name="2026年第一轮巡察", teams=[
        team_data(units=["城东街道", "不存在的单位"]),
        team_data(name="第二巡察组", leader="林静", deputy=None, members=["查无此人"], units=["区财政局"]),
    ]))
    problems = _check(s, settings, "发起巡察", form)
    joined = "\n".join(problems)
    assert "巡察轮次名称已存在：2026年第一轮巡察" in joined
    assert "未知的被巡察单位：不存在的单位" in joined
    assert "未知的人员：查无此人" in joined
    assert "林静 不在巡察组长库中，不能担任组长" in joined
    assert "正在“2026年第一轮巡察”中接受巡察" in joined  # 城东街道 is busy in the first round
    assert len(problems) >= 5
    text = str(refusal("发起巡察", problems))
    assert text.startswith("未运行“发起巡察”，请修改表单后再提交：\n1. ")
    assert all(line.strip() for line in text.splitlines()) and "\\n" not in text
    assert not LATIN.search(text), text


def test_the_form_itself_is_checked_field_by_field(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    assert _check(s, settings, "发起巡察", {}) == ["表单内容为空，请填写后再提交"]
    short = _form({**round_data(name="x"), "end_date": "2026-02-30"})
    assert _check(s, settings, "发起巡察", short) == ["巡察轮次名称：至少2个字", "进驻结束日期：应为日期，格式 YYYY-MM-DD"]
    bad = _form(round_data(name="2027年第二轮巡察", start=NOW.date(), end=NOW.date().replace(year=NOW.year - 1)))
    assert _check(s, settings, "发起巡察", bad) == ["进驻结束日期早于开始日期"]
    no_teams = _form({**round_data(name="2027年第二轮巡察"), "teams": []})
    assert _check(s, settings, "发起巡察", no_teams) == ["请填写巡察组，或选择由系统组建巡察组"]


def test_unit_forms_name_a_unit_of_a_round_at_the_right_stage(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    finding = {"category": "党的建设", "description": "三会一课不规范"}
    unknown = {"params": {"round_name": "没有这一轮", "unit_name": "城东街道", "findings": [finding]}}
    assert _check(s, settings, "登记问题", unknown) == ["未知的巡察轮次：没有这一轮"]
    _, (first, *_) = make_round(s)
    here = {"params": {"round_name": "2026年第一轮巡察", "unit_name": "城东街道", "findings": [finding]}}
    assert _check(s, settings, "登记问题", here) == ["当前阶段为“巡察准备”，只有集中巡察阶段可以登记问题"]
    plan = {"params": {"round_name": "2026年第一轮巡察", "unit_name": "城东街道", "reporter": "x",
                       "items": [{"item": "1", "measure": "建立制度", "owner": "王强", "deadline": "2027-03-01"}]}}
    assert _check(s, settings, "报送整改方案", plan) == ["当前阶段为“巡察准备”，只有督促整改阶段可以报送整改方案"]
    assert _check(s, settings, "报送整改进展", {"params": {"round_name": "2026年第一轮巡察", "unit_name": "城东街道",
                                                       "reporter": "x", "items": []}}) == ["各整改事项进展：至少1项"]
    assert _check(s, settings, "签收线索移交函", {"params": {"letter_id": 999, "signer": "x", "code": "1"}}) == [
        "找不到编号为999的线索移交函"]
    assert _check(s, settings, "共性问题归类", {"round_name": "没有这一轮"}) == ["未知的巡察轮次：没有这一轮"]
    assert _check(s, settings, "共性问题归类", {"round_name": "2026年第一轮巡察"}) == []
    assert _check(s, settings, "每日督办", {}) == []  # nothing the domain checks before the run


def test_findings_may_be_recorded_in_stationing(demo_org: Session, settings: Settings) -> None:
    in_stationing(demo_org, settings)
    form = {"params": {"round_name": "2026年第一轮巡察", "unit_name": "城东街道",
                       "findings": [{"category": "党的建设", "description": "三会一课不规范"}]}}
    assert _check(demo_org, settings, "登记问题", form) == []


def test_runs_are_named_by_what_they_do() -> None:
    assert start_run_name("发起巡察", {"params": {"name": "2027年第一轮巡察"}}) == "巡察轮次·2027年第一轮巡察"
    unit = {"params": {"round_name": "2027年第一轮巡察", "unit_name": "城东街道"}}
    assert start_run_name("登记问题", unit) == "登记问题·2027年第一轮巡察·城东街道"
    assert start_run_name("报送整改方案", unit) == "报送整改方案·2027年第一轮巡察·城东街道"
    assert start_run_name("报送整改进展", unit) == "报送整改进展·2027年第一轮巡察·城东街道"
    assert start_run_name("签收线索移交函", {"params": {"letter_id": 7}}) == "签收线索移交函·第7号"
    assert start_run_name("共性问题归类", {"round_name": "R", "attempt": 2}) == "共性问题归类·R·第2次"
    assert start_run_name("共性问题归类", {"round_name": "R"}) == "共性问题归类·R·手动发起"
    assert start_run_name("发起巡察", {}) is None


def test_a_refusal_inside_a_run_is_one_line() -> None:
    exc = DomainError("巡察轮次未创建", ["巡察轮次名称已存在：R", "未知的人员：某某"])
    assert one_line(exc) == "巡察轮次未创建：巡察轮次名称已存在：R；未知的人员：某某"
    assert one_line(DomainError("未知的巡察轮次：R")) == "未知的巡察轮次：R"


def test_prefect_run_logs_carry_no_traceback() -> None:
    """The API log handler's filter and formatter (tasks/infra/runlog.py); the console keeps all."""
    import logging
    import sys

    from tasks.infra.runlog import DropDomainErrors, WithoutTraceback

    def record(msg: str, exc: BaseException | None = None, name: str = "prefect.task_runs") -> logging.LogRecord:
        info = None
        if exc is not None:
            try:
                raise exc
            except BaseException:  # noqa: BLE001 - to get a real traceback
                info = sys.exc_info()
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, (), info)

    keep = DropDomainErrors()
    assert not keep.filter(record("Task run failed with exception: x", DomainError("未知的巡察轮次：R")))
    assert not keep.filter(record("Finished in state Failed('Task run encountered an exception NotFound: 巡察任务不存在')"))
    assert keep.filter(record("Finished in state Failed('Task run encountered an exception ValueError: x')"))
    assert keep.filter(record("未知的巡察轮次：R", name="prefect.flow_runs"))
    crash = record("Task run failed with exception: ValueError('x')", ValueError("x"))
    plain = WithoutTraceback(logging.Formatter("%(message)s"))
    assert plain.format(crash) == "Task run failed with exception: ValueError('x')"
    assert "Traceback" in logging.Formatter("%(message)s").format(crash)  # the console's copy is untouched
