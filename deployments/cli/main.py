"""Command line for the inspection office: bring the stack up, load org data, import findings,
start rounds, check the outbox and the audit trail."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, TypedDict

import typer
import yaml
from pydantic import ValidationError
from sqlmodel import col, func, select

from deployments.cli import (
    backup,
    clues,
    common_problems,
    dossier,
    findings,
    identity,
    indicators,
    plan,
    results,
    stats,
)
from deployments.cli import crypto as crypto_commands
from deployments.cli import holidays as holiday_commands
from deployments.cli import talks as talk_commands
from deployments.cli.common import App, cli_command, fail, register_commands
from deployments.cli.door import actor
from deployments.cli.reach import prefect_api
from models.access import Action
from models.clock import now, today
from models.db import get_engine, session_scope
from models.enums import Stage
from models.errors import DomainError, explain
from models.forms import RoundParams
from models.settings import PROJECT_ROOT, get_settings
from models.tables import AuditEvent, Inspection, InspectionRound, Unit
from tasks.clues.ledger import account, guarded
from tasks.infra.alerts import AppriseSender, deliver_due, outbox_counts
from tasks.infra.audit import verify_trail
from tasks.infra.scope import authorise
from tasks.infra.textio import read_text, yaml_problem
from tasks.lifecycle.findings import find_inspection, parse_sheet_file, record_findings
from tasks.lifecycle.rounds import round_problems
from tasks.ops.forms import refresh_quietly
from tasks.planning.org import OrgData, load_org, read_org_file, read_org_file_encoded

app = App(name="xuncha", help="巡察工作全流程编排：命令行工具", no_args_is_help=True, add_completion=False)
DEMO_ORG = PROJECT_ROOT / "deployments" / "demo" / "county.yaml"
DEMO_ROUND = PROJECT_ROOT / "deployments" / "demo" / "round.yaml"  # the round `up` starts
DEMO_INBOX_PORT = 8765  # the port the demo county's addresses are written with


def demo_addresses(data: OrgData, inbox_port: int) -> OrgData:
    """The demo county with its alert addresses on the demo inbox at `inbox_port` (`up --inbox-port`)."""
    written, actual = f"json://127.0.0.1:{DEMO_INBOX_PORT}/", f"json://127.0.0.1:{inbox_port}/"

    def moved(url: str) -> str:
        return actual + url.removeprefix(written) if url.startswith(written) else url

    data = data.model_copy(deep=True)
    for unit in data.units:
        unit.secretary.contact = moved(unit.secretary.contact)
    for person in data.people:
        person.contact = moved(person.contact)
    data.recipients = {role: [moved(u) for u in urls] for role, urls in data.recipients.items()}
    return data
ROUND_DEPLOYMENT = "巡察轮次/发起巡察"


@app.command("load-org")
def load_org_cmd(path: Path = typer.Argument(DEMO_ORG, help="组织数据文件（YAML 或 Excel）")) -> None:
    """导入单位、人员、人才库、回避申报、用户和提醒接收人（限巡察办，记入审计；新安装尚无用户时可不登录首次导入）。
    文件中列出的角色，其提醒接收地址以文件为准（替换原有地址，发往被删地址的待发提醒不再发送）。"""
    data, encoding = read_org_file_encoded(path)
    if path.resolve() == DEMO_ORG.resolve():  # the demo county: its addresses on the running demo inbox
        from deployments.ops.stack import read_record

        data = demo_addresses(data, read_record(get_settings().home.resolve()).get("inbox_port") or DEMO_INBOX_PORT)
    with session_scope() as s:
        counts = load_org(session=s, data=data, actor=actor(), now=now())
    typer.echo(_encoding_note(encoding) + f"已导入：单位{counts['units']}个，人员{counts['people']}人，回避申报{counts['conflicts']}条，用户{counts['accounts']}个。")
    with session_scope() as s:  # the forms' lists of units and people (tasks/ops/forms.py)
        typer.echo(refresh_quietly(session=s) + "。")


def _id_span(ids: list[Any]) -> str:
    contiguous = ids == list(range(ids[0], ids[0] + len(ids)))
    return f"{ids[0]}–{ids[-1]}" if contiguous and len(ids) > 1 else "、".join(map(str, ids))


@app.command("import-findings")
def import_findings_cmd(
    sheet: Path = typer.Argument(..., help="问题清单（.xlsx 或 .csv）"),
    round_name: str = typer.Option(..., "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option(..., "--unit", help="被巡察单位名称"),
) -> None:
    """导入问题清单；有任何一行出错则整表不导入，并逐行列出错误。"""
    findings, encoding = parse_sheet_file(sheet)
    with session_scope() as s:
        insp = find_inspection(session=s, round_name=round_name, unit_name=unit_name)
        by = account(s, actor())
        guarded(s, by=by.name, action=Action.RECORD_FINDINGS.value, entity="inspection", entity_id=insp.id, now=now(),
                work=lambda: authorise(session=s, account=by, action=Action.RECORD_FINDINGS, inspection=insp))
        rows = record_findings(session=s, inspection=insp, findings=findings, by=by.name, now=now())
        ids = [r.id for r in rows]
    known = len(findings) - len(rows)
    typer.echo(_encoding_note(encoding) + f"已导入{len(rows)}个问题" + (f"（编号 {_id_span(ids)}）" if ids else "") +
               (f"；另有{known}个此前已登记，未重复导入（如需修改请用 correct-finding）" if known else "") + "。")


def _encoding_note(encoding: str | None) -> str:
    return f"（按 {encoding} 编码读取）" if encoding else ""


class _TextDates(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """YAML whose dates stay text, so a date that does not exist (2月30日) is reported by the
    form's own check instead of failing inside the YAML reader."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_round_params(path: Path) -> RoundParams:
    text, _ = read_text(path, what="文件")
    try:
        raw = yaml.load(text, Loader=_TextDates)  # noqa: S506 - a SafeLoader
        return RoundParams.model_validate(raw)
    except yaml.YAMLError as exc:
        raise yaml_problem(exc, what=f"参数文件 {path} ") from None
    except ValidationError as exc:
        raise DomainError("巡察轮次参数有误", explain(exc, RoundParams)) from None


@app.command("start-round")
def start_round_cmd(params_file: Path = typer.Argument(..., help="巡察轮次参数（YAML，字段同“发起巡察”表单）")) -> None:
    """校验参数后发起一轮巡察（与界面中“发起巡察”表单相同）。"""
    from prefect.deployments import run_deployment

    params = load_round_params(params_file)
    former = get_settings().recusal_former_years
    with session_scope() as s:
        problems = round_problems(session=s, params=params, former_years=former)
    if problems:
        raise DomainError("巡察轮次未创建", problems)
    prefect_api()
    run: Any = run_deployment(ROUND_DEPLOYMENT, parameters={"params": params.model_dump(mode="json")}, timeout=0)  # sync here
    typer.echo(f"已发起：{params.name}\n查看与审批：{get_settings().run_link(str(run.id))}")


@app.command("status")
def status_cmd() -> None:
    """各轮次、各单位所处阶段，以及提醒发件箱情况。"""
    with session_scope() as s:
        for rnd in s.exec(select(InspectionRound).order_by(col(InspectionRound.id))):
            typer.echo(f"{rnd.name}（{rnd.kind}，{rnd.status}）")
            for insp, unit in s.exec(select(Inspection, Unit).join(Unit).where(Inspection.round_id == rnd.id)):
                typer.echo(f"  {unit.name}：{Stage(insp.stage).value}")
        counts = outbox_counts(session=s)
    typer.echo("提醒：" + ("，".join(f"{k}{v}条" for k, v in counts.items()) or "无"))


@app.command("deliver")
def deliver_cmd() -> None:
    """立即投递到期的提醒。"""
    settings = get_settings()
    with session_scope() as s:
        result = deliver_due(session=s, sender=AppriseSender(settings.alert_send_timeout), settings=settings, now=now())
    typer.echo(f"已发送{result.sent}条，失败{result.failed}条（失败的将按退避策略重试）。")


@app.command("sweep")
def sweep_cmd(
    as_of: str = typer.Option("", "--as-of", help="督办日期（YYYY-MM-DD），默认今天"),
    rate_below: float = typer.Option(None, "--rate-below", help="回头看整改率阈值（%），默认取配置"),
) -> None:
    """立即执行一次督办扫描（与每日督办相同，但不启动回头看流程，只登记）。"""
    from models.forms import SweepParams
    from tasks.supervision.rectification import sweep

    try:
        params = SweepParams.model_validate({"as_of": as_of or None, "rate_below": rate_below})
    except ValidationError as exc:
        fail("参数有误：" + "；".join(explain(exc, SweepParams)))
    settings = get_settings()
    if params.rate_below is not None:
        settings = settings.model_copy(update={"lookback_rate_below": params.rate_below})
    day = params.as_of or now().date()
    with session_scope() as s:
        result = sweep(session=s, settings=settings, as_of=day, now=now(), link=settings.run_link(None))
    typer.echo(f"{day}：提醒与升级{result.notices}项，提醒{result.alerts}条，整改进度预警{result.pace_warnings}个单位，"
               f"未报送整改报告{result.missing_reports}个，"
               f"整改方案催报{sum(result.plan_notices.values())}项，"
               f"新登记回头看{len(result.look_backs)}个（由投递进程自动启动，查看：{cli_command()} look-backs）。")
    if result.common_reminders:
        typer.echo(f"共性问题督办：提醒分管领导{result.common_reminders}条（查看：{cli_command()} common-problems）。")
    if result.held_until:
        typer.echo(f"{day}为休息日：提醒顺延至{result.held_until}（下一个工作日）发送。")
    for warning in result.calendar_warnings:
        typer.echo(f"注意：{warning}")
    if result.undelivered:
        typer.echo(f"注意：{result.undelivered}")


@app.command("stats")
def stats_cmd(
    by: str = typer.Option("轮次", "--by", help="统计口径：单位、轮次、巡察组、年度；巡察组考评、巡察干部（评价巡察组和巡察干部）"),
    round_name: str = typer.Option("", "--round", help="只统计某一巡察轮次（名称）"),
    year: str = typer.Option("", "--year", help="只统计某一年度开始的轮次，如 2026"),
) -> None:
    """发现问题、反馈问题、立行立改、整改到位率（已销号/整改事项）、移交线索、立案、处分处理人数、建章立制；按单位统计时另列预计完成（按近期整改进度估算）；另列巡察成果运用（成果运用函、签收、运用次数、办结）；
    按巡察组考评、巡察干部统计时列出每单位问题数、指标覆盖、移交线索及办理结果（只有件数）、所巡单位整改到位率和报告退回次数。"""
    from deployments.cli.stats import parse_year, print_table
    from tasks.records.statistics import MEASURES, find_round, labelled, statistics, with_forecasts
    from tasks.records.team_figures import LEVELS as EVALUATION
    from tasks.records.team_figures import evaluation

    y = parse_year(year)
    with session_scope() as s:
        rid = find_round(session=s, name=round_name).id if round_name else None
        if by not in EVALUATION and by not in ("轮次", "单位", "巡察组", "年度"):
            raise DomainError(f"统计口径应为：轮次、单位、巡察组、年度、{'、'.join(EVALUATION)}，实为“{by}”")
        if by in EVALUATION:
            rows, labels = evaluation(session=s, by=by, round_id=rid, year=y)
            print_table(labelled(rows, labels))
            if by == "巡察干部":
                typer.echo("（问题和线索按被巡察单位登记，每名巡察干部为其所在巡察组的合计）")
            return
        rows = statistics(session=s, by=by, round_id=rid, year=y)
        labels = MEASURES
        if by == "单位":
            rows, labels = with_forecasts(session=s, settings=get_settings(), rows=rows, as_of=today(), round_id=rid, year=y)
    print_table(labelled(rows, labels, first={"name": by}))
    from tasks.results.use import FIGURES, figures

    with session_scope() as s:
        used = figures(session=s, by=by, round_id=rid, year=y)
    if used:  # 巡察成果运用 (tasks/results/use.py): letters sent, signed, used, closed
        typer.echo("\n巡察成果运用（成果运用函的签收与运用）：")
        print_table(labelled(used, FIGURES, first={"name": by}))


@app.command("export-org")
def export_org_cmd(
    path: Path = typer.Argument(..., help="导出的 Excel 文件（.xlsx），已存在则覆盖"),
    addresses: bool = typer.Option(False, "--with-addresses",
                                   help="写出完整的提醒地址（含机器人令牌、webhook 地址，请妥善保管文件）；默认隐藏"),
) -> None:
    """导出单位、人员、人才库、回避申报和提醒接收人到 Excel，修改后可用 load-org 导入。提醒地址默认隐藏，
    导入时保留数据库中的原地址。"""
    from tasks.planning.org_excel import write_org_excel

    with session_scope() as s:
        counts = write_org_excel(s, path, settings=get_settings(), addresses=addresses)
    typer.echo(f"已导出到 {path}：单位{counts['units']}个，人员{counts['people']}人，"
               f"回避申报{counts['conflicts']}条，接收人{counts['recipients']}个，用户{counts['accounts']}个。")
    if not addresses:
        typer.echo("提醒地址已隐藏（如“dingtalk://（已隐藏·1a2b3c4d）”），重新导入时保留原地址；需要完整地址请加 --with-addresses。")


@app.command("verify-audit")
def verify_audit_cmd() -> None:
    """校验审计日志：逐条核对哈希链，并与库外的链头文件比对，报告第一处篡改或删除（限巡察办）。"""
    with session_scope() as s:
        problems = verify_trail(session=s)
        total = s.exec(select(func.count()).select_from(AuditEvent)).one()
    if problems:
        fail("\n".join(problems))
    typer.echo(f"审计日志完整（共{total}条，与链头文件一致）。")


@app.command("up")
def up_cmd(
    port: int = typer.Option(4200, help="登录网关端口（工作人员打开的地址；Prefect 服务另用本机回环端口）"),
    inbox_port: int = typer.Option(DEMO_INBOX_PORT, help="演示收件箱端口（演示区县的提醒地址随之改用此端口）"),
    demo: bool = typer.Option(True, help="导入演示区县并发起演示轮次"),
) -> None:
    """启动 Prefect 服务（其数据库为数据目录下的专用 PostgreSQL，只监听本机回环地址）和登录网关、注册部署、启动执行器和投递进程、公开举报页面，导入演示区县并发起演示轮次。"""
    from deployments.ops.stack import Stack, port_open, stop_recorded

    settings = get_settings()
    home = settings.home.resolve()
    stop_recorded(home)
    if port_open(port):
        fail(f"端口 {port} 已被占用，请先停止占用它的程序，或用 --port 指定其他端口。")
    import os

    # The address the gateway listens on; the one alert links carry is that, unless XUNCHA_UI_URL
    # (environment or .env) says otherwise (use over the network, behind a proxy).
    host = settings.gateway_host if settings.gateway_host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    listening = f"http://{host}:{port}"
    ui_url = settings.ui_url if "ui_url" in settings.model_fields_set else listening
    stack = Stack(home=home, port=port, extra_env={"XUNCHA_UI_URL": ui_url})
    typer.echo("正在启动 Prefect 的数据库、服务和登录网关……")
    stack.start_server()
    typer.echo("正在注册部署……")
    stack.deploy()
    stack.start_worker()
    stack.start_relay()
    public = stack.start_public(settings.public_port, settings.public_host) if not port_open(settings.public_port) else ""
    inbox_note = ""
    if not port_open(inbox_port):
        stack.start_inbox(inbox_port, home / "inbox.jsonl")
    else:
        inbox_note = f"（端口 {inbox_port} 已被占用，未启动新的收件箱）"
    get_engine()
    os.environ.update(stack.env())
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # Prefect froze its settings at import
    get_settings.cache_clear()
    first = ""
    if demo:
        data = demo_addresses(read_org_file(DEMO_ORG), inbox_port)
        with session_scope() as s:
            load_org(session=s, data=data, actor="演示", now=now())
            _ensure_demo_term(s)
            first = _first_office_password(s)
    with session_scope() as s:  # `prefect deploy` stored the forms without the org data's lists
        refresh_quietly(session=s)
    if demo:
        _start_demo_round(ui_url)
    cmd = cli_command()
    typer.echo(f"\n登录地址：{listening}" + (f"（提醒中的链接：{ui_url}）" if ui_url != listening else "") + (first or
               f"\n为他人设置或重置密码：巡察办用户先登录（{cmd} login 本人姓名），再运行 {cmd} set-password 姓名") +
               (f"\n公开举报页面（网络举报，可单独对外提供）：{public}" if public
                else f"\n公开举报页面未启动：端口 {settings.public_port} 已被占用（可用 XUNCHA_PUBLIC_PORT 改用其他端口）") +
               f"\n演示收件箱：http://127.0.0.1:{inbox_port}{inbox_note}，收到的提醒写入 {home / 'inbox.jsonl'}\n停止：{cmd} down")


DEMO_OFFICE = "陶文华"  # the demo county's 巡察办 account


def _first_office_password(s: Any) -> str:
    """On a new install nobody can log in: give the demo office account its first password (once)."""
    from deployments.cli.door import FIRST_SETUP_ACTOR, new_install
    from tasks.identity.accounts import first_office_password

    if not new_install(s, "set-password"):
        return ""
    done = first_office_password(session=s, actor=FIRST_SETUP_ACTOR, name=DEMO_OFFICE, now=now())
    cmd = cli_command()
    return (f"\n首次使用：巡察办用户“{DEMO_OFFICE}”的初始密码为 {done.password}（仅显示这一次，首次登录时须修改，并绑定手机动态口令）。"
            f"\n  在浏览器中登录上面的地址，或在命令行登录：{cmd} login {DEMO_OFFICE}"
            f"\n  登录后为其他用户设置初始密码，如：{cmd} set-password 张明")


class _Term(TypedDict):
    name: str
    first_year: int
    last_year: int
    rounds_per_year: int
    units_per_round: int
    mix: dict[str, int]


DEMO_TERM: _Term = {"name": "十五届区委任期", "first_year": 2026, "last_year": 2030, "rounds_per_year": 2,
                    "units_per_round": 4, "mix": {"部门": 1, "乡镇街道": 1}}


def _ensure_demo_term(s: Any) -> None:
    """The term plan the deployments 全覆盖排程 and 全覆盖进度 default to."""
    from tasks.planning import term_plan
    try:
        term_plan.get_term(s, DEMO_TERM["name"])
    except DomainError:
        term_plan.create_term(session=s, actor="演示", now=now(), **DEMO_TERM)


def _start_demo_round(ui_url: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from tasks.lifecycle.rounds import busy_people, busy_units

    name = f"演示巡察-{date.today():%Y%m%d}-{int(time.time()) % 10000:04d}"
    deployment_params = demo_round_params()
    with session_scope() as s:  # `up` again on the same data: the demo round is still running
        teams = deployment_params.get("teams") or []
        taken = busy_units(s) | busy_people(s)
        wanted = [n for t in teams for n in [*t.get("units", []), t.get("leader"), t.get("deputy"), *t.get("members", [])]]
        running = sorted({taken[n] for n in wanted if n in taken})
    if running:
        typer.echo(f"演示单位和人员正在“{'、'.join(running)}”中，不再发起新的演示轮次（同一单位、同一人员不能同时在两轮巡察中）。")
        return
    deployment_params["name"] = name
    with session_scope() as s:  # as the gateway checks the form: a round that could only fail is not started
        problems = round_problems(session=s, params=RoundParams.model_validate(deployment_params),
                                  former_years=get_settings().recusal_former_years)
    if problems:
        typer.echo("演示轮次未发起：" + "；".join(problems))
        return
    run: Any = run_deployment(ROUND_DEPLOYMENT, parameters={"params": deployment_params}, timeout=0)  # sync here
    typer.echo(f"已发起演示轮次“{name}”，等待其到达第一个审批……")
    deadline = time.monotonic() + 180
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            fr = client.read_flow_run(run.id)
            if fr.state and fr.state.is_paused():
                typer.echo(f"已到达“方案及组成人员审批”，请在界面中审批：{ui_url}/runs/flow-run/{run.id}\n"
                           "以演示领导小组成员“张明”登录后办理（先由巡察办用户登录后设置其初始密码："
                           f"{cli_command()} set-password 张明），或用待审批提醒中的手机办理链接和验证码，查看："
                           f"{cli_command()} inbox --to leading-group")
                return
            if fr.state and fr.state.is_final():
                fail(f"演示轮次未到达审批即结束（{fr.state.name}），请查看：{ui_url}/runs/flow-run/{run.id}")
            time.sleep(1)
    fail("演示轮次三分钟内未到达审批，请查看执行器日志 var/logs/worker.log")


def demo_round_params() -> dict[str, Any]:
    """The demo county's round (deployments/demo/round.yaml), as the form would send it."""
    import yaml

    raw = yaml.safe_load(DEMO_ROUND.read_text(encoding="utf-8"))
    params: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    return params


@app.command("db-status")
def db_status_cmd() -> None:
    """显示应用数据库的结构版本与本程序所需版本。"""
    from models.db import open_engine
    from models.schema import current_revision, head_revision

    engine = open_engine(get_settings().db_url)
    current, head = current_revision(engine), head_revision()
    typer.echo(f"数据库：{engine.url.render_as_string(hide_password=True)}\n结构版本：{current or '（未初始化）'}\n程序需要：{head}")
    if current != head:
        raise typer.Exit(code=1)


@app.command("db-upgrade")
def db_upgrade_cmd() -> None:
    """把应用数据库升级到本程序所需的结构版本（请先备份）；空数据库则初始化。"""
    from models.db import open_engine
    from models.schema import current_revision, head_revision, upgrade

    engine = open_engine(get_settings().db_url)
    before = current_revision(engine)
    try:
        upgrade(engine)
    except Exception as exc:  # noqa: BLE001 - the operator needs the reason, not a trace
        fail(f"升级失败，数据库未改变：{exc}")
    typer.echo(f"结构版本：{before or '（未初始化）'} → {head_revision()}")


@app.command("inbox")
def inbox_cmd(
    to: str = typer.Option("", "--to", help="只看发给某一接收地址路径的提醒，如 leading-group、office"),
    last: int = typer.Option(5, "--last", min=1, help="显示最近几条"),
) -> None:
    """查看演示收件箱（up 启动的本机接收端收到的提醒）。"""
    path = get_settings().home / "inbox.jsonl"
    if not path.exists():
        fail(f"演示收件箱还没有消息：{path}（由 up 命令启动）")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if not to or str(r.get("path", "")).strip("/").startswith(to.strip("/"))]
    for r in rows[-last:]:
        typer.echo(f"—— 发往 {r.get('path', '')}\n{r.get('title', '')}\n{r.get('message', '')}\n")
    if not rows:
        typer.echo("（无）")


@app.command("relay")
def relay_cmd() -> None:
    """运行投递进程：投递提醒、催办等待中的审批、启动已登记的回头看、恢复中断的运行（up 已自动启动一个）。"""
    from deployments.ops.relay import main

    main()


@app.command("look-backs")
def look_backs_cmd() -> None:
    """列出全部回头看：单位、原因、状态和流程链接。"""
    from deployments.cli.common import echo_rows
    from tasks.supervision.look_back import list_look_backs

    with session_scope() as s:
        rows = list_look_backs(session=s, settings=get_settings())
    echo_rows([{"编号": r.id, "轮次": r.round, "单位": r.unit, "原因": r.cause, "状态": r.status,
                  "登记日期": str(r.triggered_on), "流程": r.link or "（尚未启动）"} for r in rows])


@app.command("down")
def down_cmd() -> None:
    """停止 up 启动的 Prefect 服务及其数据库、登录网关、执行器、投递进程、公开举报页面和收件箱。"""
    from deployments.ops.stack import stop_recorded

    stopped = stop_recorded(get_settings().home.resolve())
    typer.echo("已停止：" + ("、".join(stopped) or "无"))


for module in (clues, findings, dossier, stats, plan, common_problems, identity, holiday_commands, backup, indicators,
               talk_commands, results, crypto_commands):
    register_commands(app, module)


def main() -> None:
    """The console command `xuncha`: every failure ends in one Chinese line and exit code 2."""
    from typer.main import get_command

    from deployments.cli.failures import run

    sys.exit(run(get_command(app)))


if __name__ == "__main__":
    main()
