"""Alerts that did not arrive, for the office: those with no recipient (无接收人) and those the
relay gave up on after `Settings.alert_give_up_hours` / `alert_max_attempts` (无法送达,
tasks/infra/alerts.py). They stay listed until someone acts: re-send (to the role's addresses as
they are now, after the org data was corrected) or mark handled (told another way). Both are
office-only and audited.

What is shown is who it was for (role, the address masked as exports mask it), what about (the
alert's title: never its body, which may hold a one-time code) and why it failed, in plain
Chinese first and the relay's own words after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlmodel import Session, col, select

from models.access import Action, Forbidden, require
from models.clock import CHINA, aware
from models.crypto import outbox_cipher
from models.enums import ROLE_NAMES, AccessRole, AlertStatus, Role
from models.errors import DomainError
from models.settings import Settings
from models.tables import Account, Alert, Person, Unit
from models.transitions import ALERTS
from tasks.infra.alerts import resolve_recipients
from tasks.infra.audit import record_event
from tasks.planning.org_data import mask_address

OPEN = (AlertStatus.NO_RECIPIENT, AlertStatus.UNDELIVERABLE)

# (what the relay's error says, what it means to an office clerk): first match wins.
REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("未配置",), "没有配置接收人：请在组织数据中为该角色填写接收地址"),
    (("已从", "接收人中删除"), "接收地址已从组织数据中删除，未再发送"),
    (("无法识别的通知地址",), "接收地址的格式不对，无法发送：请核对组织数据中的地址"),
    (("域名无法解析",), "接收地址中的网址无法找到：地址可能写错，或本机不能访问外网"),
    (("连接被拒绝", "无法连接"), "连不上接收端：对方服务停用或本机网络不通"),
    (("超时", "未应答"), "接收端长时间没有应答：对方服务繁忙或网络不通"),
    (("地址无效", "key 错误", "移出群"), "机器人地址已失效（令牌错误或机器人已被移出群）：请向群主要新的机器人地址"),
    (("安全设置", "关键词", "签名", "加签", "白名单"), "机器人的安全设置拒收了消息：请群主核对关键词、加签或 IP 白名单"),
    (("发送过快",), "发送过快被机器人限流：稍后重新发送即可"),
    (("HTTP 4",), "接收端拒收了消息：地址或令牌可能已失效"),
    (("HTTP 5",), "接收端出错：对方服务暂时不可用"),
    (("返回错误",), "接收端拒收了消息"),
    (("Apprise", "mailto"), "邮件或通知服务发送失败：请核对地址和邮件服务器"),
)


def plain_reason(error: str) -> str:
    """Why it failed, as a clerk can act on it."""
    for needles, reason in REASONS:
        if any(n in error for n in needles):
            return reason
    return "发送失败" if error else "原因不明"


def masked(settings: Settings, address: str) -> str:
    """The address as exports show it (tasks/planning/org_data.py mask_address: same key, same mark)."""
    return mask_address(settings, address) if address else "（无）"


@dataclass(frozen=True)
class Undelivered:
    id: int
    status: str
    role: str
    address: str
    title: str
    attempts: int
    reason: str
    detail: str
    queued: str  # when it was queued, China time
    since: str  # the first failure, China time ("" without one)


@dataclass(frozen=True)
class Summary:
    no_recipient: int
    undeliverable: int

    @property
    def total(self) -> int:
        return self.no_recipient + self.undeliverable

    def line(self) -> str:
        """One line for 我的待办 and the daily sweep; "" when nothing is waiting."""
        if not self.total:
            return ""
        return (f"有{self.total}条提醒未能送达（无接收人{self.no_recipient}条、多次发送失败{self.undeliverable}条），"
                "请在办公页面“未送达提醒”中更正接收地址后重新发送，或标为已处理。")


def _office(session: Session, by: str) -> Account:
    acc = session.exec(select(Account).where(Account.name == by.strip())).first()
    if acc is None or not acc.active:
        raise Forbidden(f"“{by}”不是本系统的在册用户，不能办理此事项")
    require(AccessRole(acc.role), Action.HANDLE_UNDELIVERED)
    return acc


def _without_code(settings: Settings, text: str, secret: str) -> str:
    """The relay's error text with the alert's one-time code blanked: a receiver that refuses a
    message may quote it back, and the code is for the approver, not for whoever reads the list."""
    if not secret:
        return text
    try:
        code = outbox_cipher(settings).open(secret).decode()
    except InvalidToken:
        return text
    return text.replace(code, "（验证码已隐去）") if code else text


def _when(value: datetime | None) -> str:
    return f"{aware(value).astimezone(CHINA):%Y-%m-%d %H:%M}" if value is not None else ""


def _role_name(role: str) -> str:
    try:
        return ROLE_NAMES[Role(role)]
    except ValueError:
        return role


def summary(*, session: Session) -> Summary:
    """How many alerts wait for the office, by kind (no account check: counts only)."""
    counts = {status: 0 for status in OPEN}
    for status in session.exec(select(Alert.status).where(col(Alert.status).in_(OPEN))):
        counts[AlertStatus(status)] += 1
    return Summary(no_recipient=counts[AlertStatus.NO_RECIPIENT], undeliverable=counts[AlertStatus.UNDELIVERABLE])


def undelivered(*, session: Session, settings: Settings, by: str) -> list[Undelivered]:
    """Every alert not delivered and not yet dealt with, oldest first; office only."""
    _office(session, by)
    rows = session.exec(select(Alert).where(col(Alert.status).in_(OPEN)).order_by(col(Alert.id))).all()
    return [Undelivered(id=a.id or 0, status=AlertStatus(a.status).value, role=_role_name(a.role),
                        address=masked(settings, a.recipient), title=a.title, attempts=a.attempts,
                        reason=plain_reason(a.last_error), detail=_without_code(settings, a.last_error, a.secret), queued=_when(a.created_at),
                        since=_when(a.failing_since)) for a in rows]


def _open_row(session: Session, alert_id: int) -> Alert:
    row = session.get(Alert, alert_id, with_for_update=True)
    if row is None:
        raise DomainError(f"提醒{alert_id}不存在")
    if row.status not in OPEN:
        raise DomainError(f"提醒{alert_id}{'已处理' if row.status == AlertStatus.HANDLED else '不是未送达的提醒'}"
                          f"（{AlertStatus(row.status).value}），无需再办")
    return row


def _still_listed(session: Session, address: str) -> bool:
    """Is the address still somebody's in the org data (a person's or a unit secretary's contact)?"""
    return (session.exec(select(Person.id).where(Person.contact == address)).first() is not None
            or session.exec(select(Unit.id).where(Unit.secretary_contact == address)).first() is not None)


@dataclass(frozen=True)
class Resent:
    addresses: list[str]  # masked, where it goes now
    same: bool  # the row itself goes again (its address is still current)


def resend(*, session: Session, settings: Settings, by: str, alert_id: int, now: datetime) -> Resent:
    """Send an undelivered alert again (the caller commits). An address still in the org data is
    tried again as it is; otherwise the alert goes to the role's addresses as they are now (new
    rows under the same key) and this row is handled. Refused, writing nothing, when the role
    still has no address."""
    _office(session, by)
    row = _open_row(session, alert_id)
    role = Role(row.role)
    current = resolve_recipients(session=session, settings=settings, role=role, inspection=None)
    if row.recipient and (row.recipient in current or _still_listed(session, row.recipient)):
        ALERTS.move(row, AlertStatus.PENDING)
        row.attempts, row.failing_since = 0, None
        row.next_attempt_at, row.last_error = now, ""
        session.add(row)
        done = Resent(addresses=[masked(settings, row.recipient)], same=True)
    else:
        taken = set(session.exec(select(Alert.recipient).where(Alert.dedupe_key == row.dedupe_key)).all())
        fresh = [u for u in current if u not in taken]
        if not fresh:
            raise DomainError(f"“{ROLE_NAMES[role]}”仍没有新的接收地址：请先在组织数据中填写或更正"
                              "（.venv/bin/xuncha load-org 组织数据文件），再重新发送")
        for url in fresh:
            copy = Alert(dedupe_key=row.dedupe_key, role=row.role, channel=url.split("://", 1)[0] if "://" in url else "",
                         recipient=url, title=row.title, body=row.body, link=row.link, status=AlertStatus.PENDING,
                         next_attempt_at=now, created_at=now, secret=row.secret)
            session.add(copy)
        ALERTS.move(row, AlertStatus.HANDLED)
        row.secret = ""
        row.last_error = f"{row.last_error}（{now.astimezone(CHINA):%Y-%m-%d %H:%M} {by} 已改发至新的接收地址）"[:1000]
        session.add(row)
        done = Resent(addresses=[masked(settings, u) for u in fresh], same=False)
    session.flush()
    record_event(session=session, actor=by, action="重新发送未送达的提醒", entity="alert", entity_id=row.id, now=now,
                 detail={"role": ROLE_NAMES[role], "title": row.title, "to": done.addresses})
    return done


def mark_handled(*, session: Session, settings: Settings, by: str, alert_id: int, note: str, now: datetime) -> Alert:
    """The office dealt with it another way (told the person by telephone, ...): no longer listed,
    the code it held (if any) erased; audited with the note. The caller commits."""
    _office(session, by)
    note = " ".join(note.split())
    if not note:
        raise DomainError("请填写处理情况（如“已电话通知本人”）")
    if len(note) > 200:
        raise DomainError("处理情况不超过200个字")
    row = _open_row(session, alert_id)
    ALERTS.move(row, AlertStatus.HANDLED)
    row.secret = ""
    session.add(row)
    session.flush()
    record_event(session=session, actor=by, action="未送达的提醒标为已处理", entity="alert", entity_id=row.id, now=now,
                 detail={"role": _role_name(row.role), "title": row.title, "note": note})
    return row

