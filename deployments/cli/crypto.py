"""CLI: the crypto profile (models/crypto.py): what protects each kind of stored secret and with
which key (`crypto`), and rewriting existing data into the configured profile (`crypto-switch`)."""

from __future__ import annotations

import typer

from deployments.cli.common import echo_rows
from deployments.cli.door import actor
from models.clock import now
from models.crypto import PROFILE_NAMES, PROFILES
from models.db import session_scope
from models.settings import get_settings
from tasks.ops.crypto_switch import purposes, stored_counts, switch_profile


def crypto_cmd() -> None:
    """查看密码配置：每类数据用什么算法保护、所用密钥的标识（不显示密钥本身），以及已存数据分别按哪种配置加密（限巡察办）。"""
    settings = get_settings()
    profile = settings.crypto_profile
    typer.echo(f"当前密码配置：{profile}，{PROFILE_NAMES[profile]}（由设置 XUNCHA_CRYPTO_PROFILE 决定）")
    echo_rows([{"用途": p.label, "算法": p.algorithm, "密钥": p.key, "密钥标识": p.key_id or "—"}
               for p in purposes(settings)])
    with session_scope() as s:
        counts = stored_counts(session=s)
    typer.echo("")
    typer.echo("已存数据（条）：")
    echo_rows([{"数据": label, **{PROFILE_NAMES[p]: str(c[p]) for p in PROFILES},
                "切换时": how or "无法重算，按原算法核对至用完"}
               for label, c, how in counts])
    other = [label for label, c, how in counts if how and any(c[p] for p in PROFILES if p != profile)]
    if other:
        typer.echo(f"尚有数据不是按当前配置保护的（{'、'.join(other)}），仍可正常读取；"
                   f"运行 crypto-switch --to {profile} 可全部转换。")


def crypto_switch_cmd(
    to: str = typer.Option(..., "--to", help="目标配置：gm（国密算法 SM4/SM3）或 intl（国际通用算法）；须与设置 XUNCHA_CRYPTO_PROFILE 一致"),
) -> None:
    """把已存数据转换到当前密码配置：重新加密举报人身份、动态口令密钥和发件箱中的验证码，重新计算审批凭据和审计日志哈希链（限巡察办）。中断后再次运行即从中断处继续，不丢数据。"""
    by, target = actor(), to.strip().lower()
    with session_scope() as s:
        counts = switch_profile(session=s, settings=get_settings(), to=target, by=by, now=now())
    typer.echo(f"已切换到 {target}，{PROFILE_NAMES[target]}：" + "，".join(f"{label}{n}条" for label, n in counts.items()) + "。")
    typer.echo("验证码和查询码的哈希无法重算，仍按原算法核对，用过即失效。请运行 verify-audit 校验审计日志。")
