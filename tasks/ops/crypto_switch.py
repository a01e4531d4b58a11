"""The crypto profile of stored data (models/crypto.py): what `xuncha crypto` reports (per purpose,
the algorithm and the key in use; how many stored values each profile made), and `xuncha
crypto-switch`, which rewrites existing data into the configured profile.

The switch works in small committed batches and picks only values not yet in the target profile,
so a run that is killed loses nothing (every value is in one profile or the other, both readable)
and the next run goes on where it stopped. The audit trail is verified first and re-chained last,
in one transaction with the event that records the switch. Hashes of one-time codes and query
codes cannot be made again without the code: they stay in the profile that made them and are
checked in it until spent."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, not_
from sqlmodel import Session, col, select

from models.crypto import (
    CIPHER_NAMES,
    GM,
    HASH_NAMES,
    INFORMANT_SM4,
    INTL,
    KDF_NAMES,
    MAC_NAMES,
    PROFILES,
    SM3_TAG,
    SM4_TAG,
    Sealer,
    derived_key,
    hkdf,
    key_id,
    master_key,
    outbox_cipher,
    vault,
)
from models.errors import DomainError
from models.settings import Settings
from models.tables import (
    Alert,
    Approval,
    AuditEvent,
    ClueLetter,
    Credential,
    GateReceipt,
    LoginSession,
    Petition,
    PublicReport,
)
from tasks.identity.credentials import TOTP_PURPOSE
from tasks.identity.keys import derive, identity_keys, sealer
from tasks.identity.receipts import PURPOSE as RECEIPT_PURPOSE
from tasks.identity.receipts import receipt_valid, remac
from tasks.infra.audit import first_broken_link, rechain, record_event, verify_trail

# Test hook: the process kills itself (SIGKILL, as a power cut would) after rewriting this many values.
KILL_AFTER = "XUNCHA_TEST_CRYPTO_SWITCH_KILL_AFTER"
BATCH = 100
SWITCHED = "切换密码配置"
STARTED = "开始切换密码配置"


@dataclass(frozen=True)
class Sealed:
    """One column of encrypted values."""

    label: str
    model: Any
    column: str
    sealer: Callable[[Settings], Sealer]


SEALED = [
    Sealed("举报人身份", Petition, "informant_enc", lambda s: vault(s).sealer),
    Sealed("动态口令密钥", Credential, "totp_secret_enc", lambda s: sealer(s, TOTP_PURPOSE)),
    Sealed("绑定中的动态口令密钥", LoginSession, "pending_secret_enc", lambda s: sealer(s, TOTP_PURPOSE)),
    Sealed("发件箱中的验证码", Alert, "secret", outbox_cipher),
]
# MACs that cannot be made again without the secret they cover (column, label).
ONE_WAY = [(Approval.code_hash, "审批验证码"), (ClueLetter.code_hash, "移交函签收码"),
           (PublicReport.code_hash, "网络举报查询码")]
MACS = [(GateReceipt.mac, "审批凭据"), (AuditEvent.hash, "审计日志")]


def _in_profile(column: Any, tag: str, profile: str) -> Any:
    """SQL: the (non-empty) value was made under `profile` (it carries `tag` under `gm`)."""
    tagged = col(column).startswith(tag)
    return (tagged if profile == GM else not_(tagged)) & (col(column) != "")


@dataclass(frozen=True)
class Purpose:
    label: str
    algorithm: str
    key: str  # where the key comes from
    key_id: str  # a one-way fingerprint of the key in use; "" for no key


def purposes(settings: Settings) -> list[Purpose]:
    """Per purpose, the algorithm and the key the current profile uses (never the key itself)."""
    p = settings.crypto_profile
    size = 16 if p == GM else 32
    informant = vault(settings)
    informant_key = informant.keys[0] if p == INTL else derived_for_informant(informant.keys[0])
    master = "主密钥派生（" + KDF_NAMES[p] + "）"
    identity = "身份密钥派生（" + KDF_NAMES[p] + "）"
    newest_identity = identity_keys(settings)[0]
    rows = [
        Purpose("举报人身份加密", CIPHER_NAMES[p],
                f"举报人密钥（{'XUNCHA_SECRET_KEYS' if settings.secret_keys else 'home/keys/informant.keys'}，"
                f"在用{len(informant.keys)}把，最新的加密）" + ("，经 HKDF-SM3 派生" if p == GM else ""),
                key_id(p, informant_key)),
        Purpose("动态口令密钥加密", CIPHER_NAMES[p], identity, key_id(p, derive(newest_identity, TOTP_PURPOSE, p, length=size))),
        Purpose("发件箱验证码加密", CIPHER_NAMES[p], master, key_id(p, derived_key(settings, "outbox", p, length=size))),
        Purpose("一次性验证码校验", MAC_NAMES[p], master, key_id(p, derived_key(settings, "code", p))),
        Purpose("审批凭据校验", MAC_NAMES[p], identity, key_id(p, derive(newest_identity, RECEIPT_PURPOSE, p))),
        Purpose("审计日志哈希链", MAC_NAMES[p], master, key_id(p, derived_key(settings, "audit", p))),
        Purpose("网络举报查询码校验", MAC_NAMES[p], master, key_id(p, derived_key(settings, "public-code", p))),
        Purpose("公开页面来源标识", MAC_NAMES[p], master, key_id(p, derived_key(settings, "public-client", p))),
        Purpose("导出地址指纹", MAC_NAMES[p], master, key_id(p, derived_key(settings, "address", p))),
        Purpose("登录会话令牌摘要", HASH_NAMES[p], "无密钥（令牌为256位随机数）", ""),
        Purpose("案卷清单摘要", "SHA-256 + SM3" if p == GM else "SHA-256", "无密钥", ""),
        Purpose("密钥派生", KDF_NAMES[p],
                "主密钥（" + ("XUNCHA_MASTER_KEY" if settings.master_key else "home/keys/master.key") + "）",
                key_id(p, master_key(settings))),
    ]
    return rows


def derived_for_informant(raw: bytes) -> bytes:
    return hkdf(GM, raw, INFORMANT_SM4, length=16)


REENCRYPT, RECOMPUTE = "重新加密", "重新计算"


def stored_counts(*, session: Session) -> list[tuple[str, dict[str, int], str]]:
    """(what, {profile: stored values made under it}, what crypto-switch does with it: REENCRYPT,
    RECOMPUTE, or "" for nothing)."""
    out: list[tuple[str, dict[str, int], str]] = []
    for part in SEALED:
        column = getattr(part.model, part.column)
        out.append((part.label, {p: _count(session, column, SM4_TAG, p) for p in PROFILES}, REENCRYPT))
    for column, label in MACS:
        out.append((label, {p: _count(session, column, SM3_TAG, p) for p in PROFILES}, RECOMPUTE))
    for column, label in ONE_WAY:
        out.append((label, {p: _count(session, column, SM3_TAG, p) for p in PROFILES}, ""))
    return out


def _count(session: Session, column: Any, tag: str, profile: str) -> int:
    return int(session.execute(select(func.count()).where(_in_profile(column, tag, profile))).scalar_one())


class _Progress:
    """Counts rewritten values; the test hook kills the process after KILL_AFTER of them."""

    def __init__(self) -> None:
        self.done = 0
        raw = os.environ.get(KILL_AFTER, "")
        self.kill_after = int(raw) if raw.isdigit() else 0

    def step(self) -> None:
        self.done += 1
        if self.kill_after and self.done >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


def switch_profile(*, session: Session, settings: Settings, to: str, by: str, now: datetime,
                   batch: int = BATCH) -> dict[str, int]:
    """Rewrite every stored ciphertext and MAC that can be rewritten into profile `to` (the one
    configured), in batches, then re-chain the audit trail; {what: values rewritten}. Run again
    after an interruption: it goes on where it stopped."""
    if to not in PROFILES:
        raise DomainError(f"目标配置只能是 {INTL}（国际通用算法）或 {GM}（国密算法）")
    if settings.crypto_profile != to:
        raise DomainError(f"当前设置 XUNCHA_CRYPTO_PROFILE={settings.crypto_profile}：请先把它改为 {to} 并重启系统，"
                          "再运行本命令（新数据按设置写入，本命令转换已有数据）")
    problems = verify_trail(session=session)
    if problems:
        raise DomainError("审计日志校验未通过，不能切换密码配置：" + problems[0])
    record_event(session=session, actor=by, action=STARTED, entity="crypto", entity_id=None, now=now, detail={"to": to})
    session.commit()
    progress, counts = _Progress(), {}
    for part in SEALED:
        counts[part.label] = _reseal(session, settings, part, to, batch, progress)
    counts["审批凭据"] = _remac_receipts(session, settings, to, batch, progress)
    record_event(session=session, actor=by, action=SWITCHED, entity="crypto", entity_id=None, now=now,
                 detail={"to": to, **counts})
    counts["审计日志"] = rechain(session=session, profile=to)
    if first_broken_link(session=session) is not None:  # never commit a chain that does not verify
        session.rollback()
        raise DomainError("重新计算审计日志哈希链后校验未通过，未作改动，请联系技术支持")
    session.commit()
    return counts


def _reseal(session: Session, settings: Settings, part: Sealed, to: str, batch: int, progress: _Progress) -> int:
    column = getattr(part.model, part.column)
    cipher, n = part.sealer(settings), 0
    while True:
        rows = session.exec(select(part.model).where(_in_profile(column, SM4_TAG, INTL if to == GM else GM))
                            .order_by(col(part.model.id)).limit(batch)).all()
        if not rows:
            return n
        for row in rows:
            try:
                setattr(row, part.column, cipher.reseal(getattr(row, part.column)))
            except Exception:  # noqa: BLE001 - InvalidToken or a mangled value: stop, nothing lost
                session.rollback()
                raise DomainError(f"{part.label}第{row.id}条无法解密（加密它的密钥已不在当前密钥中），切换已停止；"
                                  "已转换的记录保留，找回密钥后可再次运行本命令继续") from None
            session.add(row)
            n += 1
            progress.step()
        session.commit()


def _remac_receipts(session: Session, settings: Settings, to: str, batch: int, progress: _Progress) -> int:
    """Receipts whose MAC holds get one in the target profile; one that does not hold (a row written
    without the key) keeps its MAC, so it is still refused."""
    last, n = 0, 0
    while True:
        rows = session.exec(select(GateReceipt).where(col(GateReceipt.id) > last,
                                                      _in_profile(GateReceipt.mac, SM3_TAG, INTL if to == GM else GM))
                            .order_by(col(GateReceipt.id)).limit(batch)).all()
        if not rows:
            return n
        for row in rows:
            last = row.id or 0
            if receipt_valid(settings, row):
                row.mac = remac(settings, row)
                session.add(row)
                n += 1
                progress.step()
        session.commit()

