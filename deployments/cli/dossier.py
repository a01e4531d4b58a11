"""CLI: verify archived dossiers (立卷归档) against their SHA-256 manifests, the document hashes
registered in the database and the zip beside each folder."""

from __future__ import annotations

from pathlib import Path

import typer

from deployments.cli.common import fail
from models.db import session_scope
from models.settings import get_settings
from tasks.records.dossier import (
    MANIFEST,
    MANIFEST_SM3,
    dossier_folders,
    dossier_owner,
    registered_hashes,
    verify_dossier,
)


def verify_dossier_cmd(
    folder: Path = typer.Argument(None, help="案卷目录，如 var/archive/round-<编号>-<轮次>/unit-<编号>-<单位>；也可用 --round/--unit 指定", show_default=False),
    round_name: str = typer.Option("", "--round", help="巡察轮次名称"),
    unit_name: str = typer.Option("", "--unit", help="被巡察单位名称；不填则核验该轮次的全部案卷（各单位和综合卷）"),
    files_only: bool = typer.Option(False, "--files-only", help="只核对文件与 manifest.sha256（如在另一台没有本系统数据库的电脑上核验复制出的案卷）；不要求案卷在数据库中登记"),
) -> None:
    """核验归档案卷：逐个文件比对 manifest.sha256 和数据库登记的公文 SHA-256，并核对压缩包与目录一致；按文件名列出缺少、被改动或多出的文件，有问题时退出码非零。数据库中没有登记的案卷报“未登记”，退出码非零（--files-only 只核对文件）。"""
    if folder is None and not round_name:
        fail("请指定案卷目录，或用 --round（及 --unit）指定轮次和单位。")
    if folder is not None and (round_name or unit_name):
        fail("案卷目录与 --round/--unit 只能二选一。")
    if folder is None and unit_name and not round_name:
        fail("指定 --unit 时也须指定 --round。")
    settings = get_settings()
    if folder is not None:
        folders = [folder]
    else:
        folders = dossier_folders(settings, round_name, unit_name or None)
    bad = 0
    with session_scope() as s:
        checks = []
        for f in folders:
            owner = dossier_owner(session=s, settings=settings, folder=f)
            registered = None if owner is None else registered_hashes(session=s, round_id=owner[0],
                                                                      inspection_id=owner[1])
            checks.append((f, registered, verify_dossier(f, registered=registered, zip_required=owner is not None)))
    for f, registered, problems in checks:
        if registered is None and not files_only:
            bad += 1
            typer.secho(f"案卷未登记：{f}（数据库中没有这一案卷：不是本系统归档的，或所连接的不是归档时的数据库；"
                        "无法与登记的公文比对，不能认定完整。只核对文件与 manifest.sha256 的，请加 --files-only）",
                        fg=typer.colors.RED, err=True)
            for line in problems:
                typer.secho(f"  {line}", fg=typer.colors.RED, err=True)
            continue
        if problems:
            bad += 1
            typer.secho(f"案卷有误：{f}", fg=typer.colors.RED, err=True)
            for line in problems:
                typer.secho(f"  {line}", fg=typer.colors.RED, err=True)
        else:
            count = sum(1 for line in (f / MANIFEST).read_text(encoding="utf-8").splitlines() if line.strip())
            against = ("，公文与数据库登记的 SHA-256 一致，压缩包与目录一致" if registered is not None
                       else "；只核对了文件（--files-only），未与数据库登记的公文比对")
            sm3 = "及 manifest.sm3（SM3）" if (f / MANIFEST_SM3).is_file() else ""
            typer.echo(f"案卷完整：{f}（共{count}个文件，与 manifest.sha256{sm3} 一致{against}）")
    if bad:
        raise typer.Exit(code=1)
