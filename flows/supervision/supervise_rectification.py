"""Daily supervision sweep (督促整改): reminders before deadlines, the escalation ladder after
(for the items and for a plan not submitted), early warnings for units whose pace will miss a
deadline, missing formal reports, the progress artifact, look-backs started for lagging units, and
the weekly word to the leaders in charge of common problems still under supervision."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)

from flows.outcome import ends_in_chinese
from models.clock import today
from models.forms import SweepParams
from tasks.records.prefect import round_statistics_task
from tasks.supervision.prefect import look_backs_table_task, start_look_back_task, sweep_task


@flow(name="督促整改", flow_run_name="督办-{params.as_of}", persist_result=True)
@ends_in_chinese
def supervise_rectification(params: SweepParams = SweepParams()) -> dict[str, int]:  # noqa: B008
    """每日督办：到期提醒、逾期逐级升级、未报送整改报告标记、整改进度，并对整改滞后的单位自动启动回头看。"""
    as_of = params.as_of or today()
    result = sweep_task(as_of, params.rate_below, params.overdue_days)
    for look_back_id in result.look_backs:
        start_look_back_task(look_back_id)
    if result.progress:
        create_table_artifact(key="rectification-progress", table=result.progress,
                              description=f"{as_of} 各单位整改进度（整改事项、已销号、已逾期、整改到位率、预计完成）")
    stats = round_statistics_task()  # counts only, like every artifact here
    if stats.table:
        create_table_artifact(key="round-statistics", table=stats.table,
                              description=f"{as_of} 各轮次统计（发现问题、反馈问题、立行立改、整改到位率、移交线索、立案、处分处理人数、建章立制）")
        create_progress_artifact(progress=stats.overall.progress, key="rectification-rate",
                                 description=f"{as_of} 全部轮次整改到位率 {stats.overall.rate}")
    for r in stats.rounds:
        create_progress_artifact(progress=r.progress, key=f"rectification-rate-round-{r.id}",
                                 description=f"{r.name} 整改到位率 {r.rate}")
    look_backs = look_backs_table_task()
    if look_backs.rows:
        create_table_artifact(key="look-backs", table=look_backs.records(),
                              description=f"{as_of} 回头看一览（单位、原因、状态、流程链接；已登记的由投递进程自动启动）")
    if result.clue_ledger:  # counts only: no clue text and no clue identities leave the database
        create_table_artifact(key="clue-ledger", table=result.clue_ledger,
                              description=f"{as_of} 线索办理台账（各接收单位件数；线索内容仅在巡察办系统内查阅）")
    ladder = "、".join(f"第{r}级{n}项" for r, n in sorted(result.by_rung.items())) or "无"
    create_markdown_artifact(key="supervision-sweep", description=f"{as_of} 督办结果", markdown=(
        f"# {as_of} 督办结果\n\n- 提醒与升级：{result.notices}项（{ladder}），发出提醒{result.alerts}条\n"
        f"- 整改进度预警（按近期进度将晚于完成时限）：{result.pace_warnings}个单位\n"
        f"- 新标记未按期报送整改报告：{result.missing_reports}个单位\n"
        f"- 整改方案催报：{result.plan_notices}项（其中新标记未按期报送整改方案{result.missing_plans}个单位）\n- 新启动回头看：{len(result.look_backs)}个单位\n"
        f"- 线索签收与办理结果催办：{result.clue_reminders}条\n"
        f"- 巡察成果运用函签收与运用情况催办：{result.results_reminders}条\n"
        f"- 共性问题督办（分管领导）：{result.common_reminders}条\n"
        + (f"- 今日为休息日：提醒顺延至{result.held_until}（下一个工作日）发送\n" if result.held_until else "")
        + "".join(f"- 注意：{w}\n" for w in result.calendar_warnings)
        + (f"- 注意：{result.undelivered}\n" if result.undelivered else "")))
    logger = get_run_logger()
    for warning in result.calendar_warnings:
        logger.warning(warning)
    if result.undelivered:
        logger.warning(result.undelivered)
    logger.info("%s 督办：%d项，回头看%d个", as_of, result.notices, len(result.look_backs))
    return {"notices": result.notices, "look_backs": len(result.look_backs)}
