"""`xuncha backup` and `xuncha restore` (deployments/ops/backup.py does the work)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from deployments.cli.common import cli_command
from deployments.cli.door import actor
from models.clock import now
from models.db import get_engine, session_scope
from models.errors import DomainError
from models.settings import get_settings


def backup_cmd(
    folder: Path = typer.Argument(..., help="备份文件夹：新的或空的文件夹，在数据目录以外，最好在另一块磁盘上"),
    keys: Path = typer.Option(None, "--keys", help="密钥备份文件夹：须与备份文件夹分开存放（如单独保管的加密U盘）"),
    operator: bool = typer.Option(False, "--operator",
                                  help="以数据目录所有者（本机操作系统用户）身份运行，无需登录，用于定时备份；记入审计日志"),
) -> None:
    """备份应用数据库、Prefect 数据库（等待中的运行）、卷宗档案、公文和公文模板，附清单（版本、各文件 SHA-256）；
    密钥只写入 --keys 指定的另一位置（限巡察办；定时备份可由数据目录所有者加 --operator 运行）。"""
    from deployments.ops.backup import backup, check_destinations
    from tasks.infra.audit import head_file, record_event

    settings = get_settings()
    check_destinations(settings=settings, dest=folder, keys_dest=keys)
    with session_scope() as s:
        head = head_file(s)
    t = now()
    typer.echo("正在备份（应用数据库、Prefect 数据库、数据目录中的文件、公文模板）……")
    data, key_out = backup(settings=settings, dest=folder, keys_dest=keys, head=head, actor=actor(), now=t)
    with session_scope() as s:
        record_event(session=s, actor=actor(), action="备份数据", entity="backup", entity_id=None, now=now(),
                     detail={"folder": str(folder.resolve()), "keys_folder": str(keys.resolve()) if keys else "",
                             "files": data.files})
    typer.echo(f"已备份到 {folder}：应用数据库、" + ("Prefect 数据库（等待中的运行）、" if data.prefect else "") +
               f"数据目录中的文件和公文模板（共{data.files}个文件，含卷宗档案）；清单 manifest.json 记有备份时间、程序版本和每个文件的 SHA-256。")
    for note in data.notes:
        typer.echo(note)
    if key_out is not None:
        typer.echo(f"密钥已备份到 {keys}（{key_out.keys}个文件）：请与数据备份分开保管，不要放在同一块磁盘或同一个U盘上。")
    else:
        typer.secho("注意：密钥未备份。没有密钥，举报人身份无法解密，审计日志无法校验。请另选一个与数据备份分开的位置，运行：\n"
                    f"  {cli_command()} backup {folder} --keys 密钥文件夹\n"
                    "（备份文件夹须为新的或空的文件夹；也可只在密钥轮换后单独备份一次密钥，见 docs/operations.md）",
                    fg=typer.colors.YELLOW)
    from deployments.ops.backup import env_keys

    given = env_keys(settings)
    if given:
        typer.echo(f"以下密钥由环境变量（或 .env）提供，不在任何备份中，请另行妥善保管：{'、'.join(given)}")


def restore_cmd(
    folder: Path = typer.Argument(..., help="由 backup 命令生成的备份文件夹"),
    keys: Path = typer.Option(None, "--keys", help="由 backup --keys 生成的密钥备份文件夹（数据目录中已无密钥时必须给出）"),
    replace: bool = typer.Option(False, "--replace",
                                 help="数据目录中已有数据时，用备份替换（原有数据移到数据目录下的 replaced-时间 文件夹，不删除）"),
) -> None:
    """从备份恢复数据目录（须先运行 down 停止系统）。

    核对清单中每个文件的 SHA-256，恢复应用数据库、Prefect 数据库、数据目录中的文件和密钥；
    之后运行 up，等待中的审批可继续办理。"""
    from deployments.ops.backup import restore
    from tasks.infra.audit import record_event

    settings = get_settings()
    typer.echo(f"正在核对备份 {folder} ……")
    out = restore(settings=settings, src=folder, keys_src=keys, replace=replace, now=now())
    get_engine.cache_clear()
    import pwd

    try:
        with session_scope() as s:
            record_event(session=s, actor=f"本机操作系统用户 {pwd.getpwuid(os.geteuid()).pw_name}", action="从备份恢复数据",
                         entity="backup", entity_id=None, now=now(), detail={"folder": str(folder.resolve())})
        trail = "审计日志已接续。"
    except DomainError as exc:
        trail = f"注意：{exc}"
    typer.echo(f"已恢复到 {out.folder}：数据目录中的文件{out.files}个、应用数据库" + ("、Prefect 数据库" if out.prefect else "")
               + (f"、密钥{out.keys}个文件" if out.keys else "") + "。" + trail)
    for note in out.notes:
        typer.echo(note)
    cmd = cli_command()
    typer.echo(f"下一步：{cmd} up --no-demo 启动系统，等待中的审批可继续办理；再由巡察办登录后运行 {cmd} verify-audit 校验审计日志。")
