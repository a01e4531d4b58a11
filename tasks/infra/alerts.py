"""Alerts: every message goes into the outbox first, then is delivered with retries.

Senders sit behind a small interface: `AppriseSender` for real channels, `RecordingSender`
for tests. Recipients are resolved when the alert is queued, so a later change of the org
data does not re-address an alert that is already owed.

Chat robots (DingTalk, WeCom group bots, Feishu/Lark) answer HTTP 200 even when they refuse a
message, and say so in the JSON body (`errcode`; Feishu `code` / `StatusCode`), while Apprise's
plugins look at the HTTP status only. So `AppriseSender` lets Apprise parse every URL, posts to
robots and to `json://` webhooks itself and reads the answer; every other channel (mail, ...)
goes through Apprise's own notify.

`deliver_due` claims due rows in batches (one short transaction), sends a batch from a thread
pool with no transaction open, and records each result as soon as its send returns (one commit
for all the results that have arrived meanwhile; a thread sends again only once its result is
committed). Only the deliverer that claimed a row sends it; a deliverer that died leaves
SENDING rows that are claimed again once their lease (`Settings.alert_lease_seconds`) has run
out. Delivery is therefore at least once; a message is repeated only when the receiver took it
but its answer was lost, or the process died while that very send was in flight (at most
`workers` sends).

A one-time code is never stored in clear: the body holds `CODE_SLOT` where the code goes, the
code waits in `Alert.secret` encrypted under the outbox key (derived from the master key, which
is not in the database), is put in its slot only in memory when the row is claimed for sending,
and is erased from the row when the send is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

import httpx
from cryptography.fernet import InvalidToken
from sqlalchemy import bindparam, text, update
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, col, select

from models.clock import aware
from models.crypto import outbox_cipher
from models.db import rows_changed
from models.enums import ROLE_NAMES, AlertStatus, Role, TeamRole
from models.settings import Settings
from models.tables import Alert, Inspection, Person, RoleRecipient, TeamMember, Unit
from models.transitions import ALERTS

# Apprise (with requests and markdown it pulls in) is imported where a message is sent, not here:
# every flow run writes alerts, in a process started anew at each resume, but only the relay sends.

log = logging.getLogger(__name__)

# Rows claimed together (one short transaction).
CLAIM_BATCH = 50
# Sends in flight at once (each waits on the network, not on the CPU).
DELIVERY_WORKERS = 8


class Sender(Protocol):
    def send(self, url: str, title: str, body: str) -> str | None:
        """Deliver one message; return None on success or an error text.

        Called from several threads at once by `deliver_due` (unless workers=1).
        """


# Robots ------------------------------------------------------------------------------------

# Where the robots' webhooks live. A sender can be given others, e.g. an intranet relay or,
# in tests, a local server; `{token}` is the robot's access token / key.
ROBOT_ENDPOINTS: dict[str, str] = {
    "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token={token}",
    "wecombot": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={token}",
    "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/{token}",
    "lark": "https://open.larksuite.com/open-apis/bot/v2/hook/{token}",
}


@dataclass(frozen=True)
class Robot:
    """How a webhook reports a refused message inside an HTTP 200 answer."""

    name: str  # used in error texts
    scheme: str  # the Apprise scheme that speaks its message format
    fields: tuple[tuple[str, str], ...]  # (code, message) pairs; a non-zero code is a refusal
    strict: bool = True  # the answer must be a JSON object (robots always send one)


DINGTALK = Robot("钉钉", "dingtalk", (("errcode", "errmsg"),))
WECOM = Robot("企业微信", "wecombot", (("errcode", "errmsg"),))
FEISHU = Robot("飞书", "feishu", (("code", "msg"), ("StatusCode", "StatusMessage")))
LARK = Robot("Lark", "lark", FEISHU.fields)
# Any other JSON webhook: `errcode` is the convention of the robots and of the relays built
# after them; `code` is not checked there, since plenty of services answer {"code": 200}.
WEBHOOK = Robot("接收端", "json", (("errcode", "errmsg"),), strict=False)
ROBOT_HOSTS = {"oapi.dingtalk.com": DINGTALK, "qyapi.weixin.qq.com": WECOM,
               "open.feishu.cn": FEISHU, "open.larksuite.com": LARK}

# Codes worth explaining (from the vendors' documentation).
HINTS: dict[tuple[str, int], str] = {
    ("dingtalk", 310000): "机器人安全设置未通过：消息须含自定义关键词，或加签不符，或 IP 不在白名单",
    ("dingtalk", 130101): "发送过快，每个机器人每分钟最多 20 条",
    ("wecombot", 93000): "机器人地址无效：key 错误或机器人已被移出群",
    ("wecombot", 45009): "发送过快，每个机器人每分钟最多 20 条",
    ("feishu", 19021): "签名校验失败",
    ("feishu", 19022): "IP 不在白名单",
    ("feishu", 19024): "消息不含自定义关键词",
}
HINTS.update({("lark", code): text for (scheme, code), text in list(HINTS.items()) if scheme == "feishu"})

# Webhook addresses copied from the robot's settings page, which Apprise does not read itself.
_NATIVE = [
    (re.compile(r"^https://oapi\.dingtalk\.com/robot/send/?\?(?:.*&)?access_token=([A-Za-z0-9]+)", re.I), "dingtalk"),
    (re.compile(r"^https://open\.feishu\.cn/open-apis/bot/v2/hook/([\w-]+)/?$", re.I), "feishu"),
]
USER_AGENT = "xuncha-alerts"
WECOM_MAX_BYTES = 2048  # WeCom refuses longer text messages


@dataclass(frozen=True)
class WebhookRequest:
    robot: Robot
    method: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    payload: dict[str, Any]
    auth: tuple[str, str] | None
    verify: bool
    redirects: bool
    timeout: tuple[float, float]  # (connect, read) seconds
    generic: bool = False  # json:// aimed at a robot's host (generic payload, not the robot's)

    @property
    def where(self) -> str:
        """Host and port only: the path and query may hold the robot's token."""
        u = httpx.URL(self.url)
        return f"{u.host}:{u.port}" if u.port else u.host


def _native(url: str) -> str:
    for pattern, scheme in _NATIVE:
        found = pattern.match(url)
        if found:
            return f"{scheme}://{found.group(1)}"
    return url


def _with_timeouts(url: str, timeout: float) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}cto={timeout}&rto={timeout}"


@lru_cache(maxsize=1024)
def _parse(url: str) -> Any:
    """Apprise's plugin for a URL (parsing costs about a millisecond); None if unknown.

    Cached plugins are only read (robots and JSON webhooks); Apprise's own sends get a
    fresh object each time."""
    import apprise  # only when sending (see the note at the imports)

    return apprise.Apprise.instantiate(url)


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def _dingtalk_sign(secret: str) -> dict[str, str]:
    """DingTalk's 加签: HMAC-SHA256 of "timestamp\\nsecret", base64 (URL-encoded once, by httpx)."""
    timestamp = str(round(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}


def webhook_request(plugin: Any, title: str, body: str, endpoints: Mapping[str, str]) -> WebhookRequest | None:
    """The HTTP request for a robot or JSON webhook plugin; None for the other channels."""
    import apprise  # only when sending (see the note at the imports)
    from apprise.plugins.custom_json import NotifyJSON
    from apprise.plugins.dingtalk import NotifyDingTalk
    from apprise.plugins.feishu import NotifyFeishu
    from apprise.plugins.lark import NotifyLark
    from apprise.plugins.wecombot import NotifyWeComBot

    text = f"{title}\n{body}" if title else body
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json; charset=utf-8"}
    common: dict[str, Any] = {"verify": bool(plugin.verify_certificate), "redirects": bool(plugin.redirects),
                              "timeout": tuple(plugin.request_timeout), "auth": None, "method": "POST"}
    if isinstance(plugin, NotifyDingTalk):
        if plugin.notify_format == apprise.NotifyFormat.MARKDOWN:
            payload: dict[str, Any] = {"msgtype": "markdown", "markdown": {
                "title": title or body[:20], "text": f"### {title}\n\n{body}" if title else body}}
        else:
            payload = {"msgtype": "text", "text": {"content": text}}
        payload["at"] = {"atMobiles": list(plugin.targets), "isAtAll": False}
        return WebhookRequest(robot=DINGTALK, url=endpoints["dingtalk"].format(token=plugin.token),
                              params=_dingtalk_sign(plugin.secret) if plugin.secret else {},
                              headers=headers, payload=payload, **common)
    if isinstance(plugin, NotifyWeComBot):
        return WebhookRequest(robot=WECOM, url=endpoints["wecombot"].format(token=plugin.key), params={},
                              headers=headers, payload={"msgtype": "text", "text": {
                                  "content": _cut_bytes(text, WECOM_MAX_BYTES)}}, **common)
    if isinstance(plugin, NotifyFeishu | NotifyLark):
        robot = LARK if isinstance(plugin, NotifyLark) else FEISHU
        return WebhookRequest(robot=robot, url=endpoints[robot.scheme].format(token=plugin.token), params={},
                              headers=headers, payload={"msg_type": "text", "content": {"text": text}}, **common)
    if isinstance(plugin, NotifyJSON):
        # The same request as Apprise's json:// plugin (payload, extras, headers, query, auth).
        payload = {"version": plugin.json_version, "title": title, "message": body, "attachments": [],
                   "type": apprise.NotifyType.INFO.value}
        for key, value in plugin.payload_extras.items():
            if key in payload:
                if value:
                    payload[value] = payload[key]
                del payload[key]
            else:
                payload[key] = value
        port = f":{plugin.port}" if isinstance(plugin.port, int) else ""
        at_robot = ROBOT_HOSTS.get(str(plugin.host).lower())
        common.update(method=plugin.method,
                      auth=(plugin.user, plugin.password or "") if plugin.user else None)
        return WebhookRequest(robot=at_robot or WEBHOOK, generic=at_robot is not None,
                              url=f"{'https' if plugin.secure else 'http'}://{plugin.host}{port}{plugin.fullpath}",
                              params=dict(plugin.params), headers={**headers, **plugin.headers}, payload=payload,
                              **common)
    return None


def _is_zero(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str):
        return value.strip() in ("", "0")
    return False


def _snippet(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def check_answer(request: WebhookRequest, status: int, text: str) -> str | None:
    """None if the webhook took the message, else a readable reason."""
    robot = request.robot
    if not 200 <= status < 300:
        detail = _snippet(text)
        return f"{robot.name}返回 HTTP {status}，未送达" + (f"：{detail}" if detail else "")
    try:
        answer = json.loads(text) if text.strip() else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if robot.strict:
            return f"{robot.name}的应答无法识别（HTTP {status}），未确认送达：{_snippet(text) or '空'}"
        return None
    for code_field, message_field in robot.fields:
        code = answer.get(code_field)
        if _is_zero(code):
            continue
        message = _snippet(str(answer.get(message_field) or ""))
        hint = HINTS.get((robot.scheme, code)) if isinstance(code, int) else None
        if request.generic:
            hint = f"json:// 发送的是通用 JSON，{robot.name}机器人请改用 {robot.scheme}:// 地址"
        return f"{robot.name}返回错误 {code_field}={code}：{message or '（无说明）'}" + (f"（{hint}）" if hint else "")
    return None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def transport_error(request: WebhookRequest, exc: httpx.HTTPError) -> str:
    name, where = request.robot.name, request.where
    connect, read = request.timeout
    if isinstance(exc, httpx.ConnectTimeout):
        return f"连接{name}超时（{where}，{connect:g} 秒内未连通）"
    if isinstance(exc, httpx.TimeoutException):
        return f"{name}在 {read:g} 秒内未应答（{where}），未确认送达"
    if isinstance(exc, httpx.ConnectError):
        if _caused_by(exc, ConnectionRefusedError) or "Errno 111" in str(exc):
            return f"无法连接{name}（{where}）：连接被拒绝"
        if _caused_by(exc, socket.gaierror):
            return f"无法连接{name}（{where}）：域名无法解析"
        return f"无法连接{name}（{where}）：{_snippet(str(exc))}"
    return f"与{name}通信出错（{where}）：{type(exc).__name__} {_snippet(str(exc))}".rstrip()


@contextmanager
def _warnings_of_this_thread(logger_name: str) -> Iterator[list[str]]:
    """Apprise's warnings logged by the calling thread only (sends run in parallel)."""
    lines: list[str] = []
    me = threading.get_ident()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == me:
                lines.append(record.getMessage())

    handler = Keep(level=logging.WARNING)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


class AppriseSender:
    """Sends one target at a time so each target has its own result.

    Robots (`dingtalk://`, `wecombot://`, `feishu://`, `lark://`) and JSON webhooks
    (`json://`, `jsons://`) are posted here and their answer read (see `check_answer`); other
    channels go through Apprise. Thread-safe; `endpoints` overrides `ROBOT_ENDPOINTS`.
    """

    def __init__(self, timeout: float = 4, *, endpoints: Mapping[str, str] | None = None) -> None:
        self.timeout = timeout
        self.endpoints = {**ROBOT_ENDPOINTS, **(endpoints or {})}
        self._clients: dict[bool, httpx.Client] = {}
        self._lock = threading.Lock()

    def send(self, url: str, title: str, body: str) -> str | None:
        target = _with_timeouts(_native(url), self.timeout)
        plugin = _parse(target)
        if plugin is None:
            return f"无法识别的通知地址：{_scheme(url)}://"
        request = webhook_request(plugin, title, body, self.endpoints)
        if request is None:
            return self._send_by_apprise(target, title, body)
        return self.post(request)

    def post(self, request: WebhookRequest) -> str | None:
        connect, read = request.timeout
        url = httpx.URL(request.url)
        if request.params:  # added to the endpoint's own query (httpx would replace it)
            url = url.copy_merge_params(request.params)
        try:
            response = self._client(request.verify).request(
                request.method, url, headers=request.headers,
                content=json.dumps(request.payload, ensure_ascii=False).encode(), auth=request.auth,
                timeout=httpx.Timeout(read, connect=connect), follow_redirects=request.redirects,
            )
        except httpx.HTTPError as exc:
            return transport_error(request, exc)
        return check_answer(request, response.status_code, response.text)

    def _send_by_apprise(self, target: str, title: str, body: str) -> str | None:
        import apprise  # only when sending (see the note at the imports)

        ap = apprise.Apprise()
        if not ap.add(target):
            return f"无法识别的通知地址：{_scheme(target)}://"
        with _warnings_of_this_thread("apprise") as lines:
            if ap.notify(title=title, body=body):
                return None
        detail = " ".join(line.strip() for line in lines if line.strip())[-800:]
        return f"经 Apprise 发送失败（{_scheme(target)}）" + (f"：{detail}" if detail else "")

    def _client(self, verify: bool) -> httpx.Client:
        with self._lock:
            client = self._clients.get(verify)
            if client is None:
                client = self._clients[verify] = httpx.Client(verify=verify)
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


@dataclass
class RecordingSender:
    """Test double: records what was sent; `down` makes every send fail."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    down: bool = False

    def send(self, url: str, title: str, body: str) -> str | None:
        if self.down:
            return "接收端不可用"
        self.sent.append((url, title, body))
        return None


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ""


# Role-level recipients and the existence check, built once (their compiled form is cached).
_ROLE_URLS = select(RoleRecipient.url).where(col(RoleRecipient.role) == bindparam("role"))
_QUEUED = select(Alert.id).where(col(Alert.dedupe_key) == bindparam("key")).limit(1)
_ALERTS = SQLModel.metadata.tables["alert"]
_ALERT_COLUMNS = [c for c in _ALERTS.c if c.name != "id"]
# One row per (dedupe_key, recipient): a row a racing run inserted first is skipped, no error.
# Plain SQL that SQLite (3.35+) and PostgreSQL both speak, as text so that SQLAlchemy caches its
# compiled form (the dialects' insert().on_conflict_do_nothing() is compiled on every call).
_INSERT_IF_NEW = text(
    f"INSERT INTO {_ALERTS.name} ({', '.join(c.name for c in _ALERT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c.name for c in _ALERT_COLUMNS)}) "
    "ON CONFLICT (dedupe_key, recipient) DO NOTHING RETURNING id, recipient"
).bindparams(*(bindparam(c.name, type_=c.type) for c in _ALERT_COLUMNS))


# Where a one-time code goes in a stored body (see the module docstring). Not a character a name
# can hold on entry (models/text.py); the last occurrence is the code's.
CODE_SLOT = "⟦code⟧"
UNREADABLE_CODE = "（无法还原，主密钥已更换；请等待新的验证码）"


def render(settings: Settings, body: str, secret: str) -> str:
    """The message as its receiver reads it: the code decrypted into its slot (in memory only)."""
    if not secret or CODE_SLOT not in body:
        return body
    try:
        code = outbox_cipher(settings).open(secret).decode()
    except InvalidToken:
        code = UNREADABLE_CODE
    before, _, after = body.rpartition(CODE_SLOT)
    return before + code + after


def message_text(settings: Settings, alert: Alert) -> str:
    """What this row's receiver will read: its body with the code, while the row holds it."""
    return render(settings, alert.body, alert.secret)


def resolve_recipients(*, session: Session, settings: Settings, role: Role, inspection: Inspection | None,
                       person: Person | None = None) -> list[str]:
    """Apprise URLs for a role, person-level first (the `person` named, e.g. a common problem's
    leader in charge, or the inspection's), then role-level from org data and settings."""
    urls: list[str] = []
    if person is not None and person.contact:
        urls.append(person.contact)
    elif inspection is not None:
        unit = session.get(Unit, inspection.unit_id)
        if role is Role.TEAM_LEADER:
            leader = session.exec(
                select(Person).join(TeamMember, col(TeamMember.person_id) == Person.id)
                .where(TeamMember.team_id == inspection.team_id, TeamMember.role == TeamRole.LEADER)
            ).first()
            if leader and leader.contact:
                urls.append(leader.contact)
        elif role is Role.UNIT_SECRETARY and unit and unit.secretary_contact:
            urls.append(unit.secretary_contact)
        elif role is Role.LIAISON_LEADER and unit and unit.liaison_leader_id:
            liaison = session.get(Person, unit.liaison_leader_id)
            if liaison and liaison.contact:
                urls.append(liaison.contact)
    if not urls:
        urls.extend(session.execute(_ROLE_URLS, {"role": role.value}).scalars())
        urls.extend(settings.recipients.get(role.value, []))
    return list(dict.fromkeys(urls))


def link_for(settings: Settings, role: Role, link: str, inspection: Inspection | None) -> str:
    """Where an alert sends its recipient: a unit's secretary (the unit's contact, whose work is
    all on the office's pages) the unit's rectification page there, not the Prefect UI it never
    uses; anyone else `link` (a receiving body's clue alerts name its letters page themselves,
    tasks/clues/ledger.py)."""
    if role is Role.UNIT_SECRETARY and link and inspection is not None:
        return settings.office_link(f"rectification?unit={inspection.unit_id}")
    return link


def enqueue_alert(
    *, session: Session, settings: Settings, key: str, role: Role, title: str, body: str,
    link: str, now: datetime, inspection: Inspection | None = None, not_before: datetime | None = None,
    secret: str = "",
    person: Person | None = None,
) -> list[Alert]:
    """Queue one alert for every recipient of `role`; a key already queued is not queued again.
    `not_before` holds it (a reminder raised on a rest day goes out on the next working day).
    `secret` is a one-time code for the body's CODE_SLOT; it is stored encrypted only.

    Returns the rows queued (attached to `session`), or the rows already queued under `key`.
    Race-safe: the rows go in with `INSERT … ON CONFLICT DO NOTHING` on (dedupe_key,
    recipient), so a racing run that queued the key first leaves its rows, which are returned.
    """
    if session.execute(_QUEUED, {"key": key}).first() is not None:
        return _queued(session, key)
    if secret and CODE_SLOT not in body:
        raise ValueError("a one-time code goes in the body's CODE_SLOT")
    urls = resolve_recipients(session=session, settings=settings, role=role, inspection=inspection, person=person)
    link = link_for(settings, role, link, inspection)
    message = f"{body}\n\n查看与办理：{link}" if link else body
    due = max(now, not_before) if not_before is not None else now
    common: dict[str, Any] = {"dedupe_key": key, "role": role.value, "title": title, "body": message, "link": link,
                              "next_attempt_at": due, "created_at": now, "attempts": 0, "sent_at": None,
                              "failing_since": None}
    values = [
        {**common, "channel": _scheme(u), "recipient": u, "status": AlertStatus.PENDING, "last_error": ""}
        for u in urls
    ] or [
        {**common, "channel": "", "recipient": "", "status": AlertStatus.NO_RECIPIENT,
         "last_error": f"未配置“{ROLE_NAMES[role]}”的接收人"}
    ]
    cipher = outbox_cipher(settings) if secret else None
    for v in values:  # each row its own token (a fresh IV or nonce each time)
        v["secret"] = cipher.seal(secret.encode()) if cipher else ""
    # One statement per row: executemany would not return the RETURNING rows.
    ids = {row.recipient: row.id for row in (session.execute(_INSERT_IF_NEW, v).first() for v in values) if row}
    if len(ids) < len(values):  # a racing run queued the same key first
        return _queued(session, key)
    rows = []
    for v in values:
        row = Alert(id=ids[v["recipient"]], **v)
        make_transient_to_detached(row)  # as if loaded: persistent in the session, no SQL
        session.add(row)
        rows.append(row)
    return rows


def _queued(session: Session, key: str) -> list[Alert]:
    return list(session.exec(select(Alert).where(Alert.dedupe_key == key).order_by(col(Alert.id))).all())


# Delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: str
    recipient: str
    title: str
    body: str
    attempts: int  # before this attempt
    failing_since: datetime | None  # the first failure of its current run of failures


_CLAIMABLE = (AlertStatus.PENDING, AlertStatus.SENDING)  # the statuses _claimable admits


def _claimable(now: datetime, lease: timedelta) -> Any:
    """Due and pending, or claimed by a deliverer whose lease has run out (it died mid-send)."""
    return (
        ((col(Alert.status) == AlertStatus.PENDING) & (col(Alert.next_attempt_at) <= now))
        | ((col(Alert.status) == AlertStatus.SENDING) & (col(Alert.next_attempt_at) <= now - lease))
    )


def _claim(session: Session, settings: Settings, ids: Sequence[int], now: datetime, stamp: datetime,
           lease: timedelta) -> list[_Claimed]:
    """Mark the still claimable rows among `ids` as ours (SENDING, stamped) and commit; their
    messages as sent, codes in place (in memory only)."""
    rows = session.execute(
        update(Alert)
        .where(col(Alert.id).in_(ids))
        .where(_claimable(now, lease))
        .values(**ALERTS.bulk(_CLAIMABLE, AlertStatus.SENDING), next_attempt_at=stamp)
        .returning(col(Alert.id), col(Alert.channel), col(Alert.recipient), col(Alert.title), col(Alert.body),
                   col(Alert.attempts), col(Alert.secret), col(Alert.failing_since))
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    claimed = [_Claimed(i, channel, recipient, title, render(settings, body, secret), attempts,
                        aware(since) if since is not None else None)
               for i, channel, recipient, title, body, attempts, secret, since in rows]
    return sorted(claimed, key=lambda c: c.id)


_ADDRESS = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://[^\s'\"<>）)]+")


def hide_addresses(text: str) -> str:
    """An error text without the addresses in it (a robot's token, a webhook's path): it is
    stored with the row and logged by the relay."""
    return _ADDRESS.sub(lambda m: f"{m.group(1)}://…", text)


def _send_one(sender: Sender, alert: _Claimed) -> str | None:
    try:
        error = sender.send(alert.recipient, alert.title, alert.body)
    except Exception as exc:  # a sender bug must not leave the row to the lease
        error = f"发送时出错：{type(exc).__name__}：{_snippet(str(exc))}"
    return None if error is None else hide_addresses(error)


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0  # of the failed: marked undeliverable, no more retries
    errors: list[str] = field(default_factory=list)


# The outcome of a send, written only while the row is still under our claim (built once).
_MINE = (
    (_ALERTS.c.id == bindparam("b_id"))
    & (_ALERTS.c.status == AlertStatus.SENDING)
    & (_ALERTS.c.next_attempt_at == bindparam("b_stamp"))
)
# A sent row keeps no code, not even encrypted.
_RECORD_SENT = update(_ALERTS).where(_MINE).values(
    **ALERTS.bulk([AlertStatus.SENDING], AlertStatus.SENT), sent_at=bindparam("b_now"), last_error="", attempts=bindparam("b_attempts"), secret="",
    failing_since=None)
_RECORD_FAILED = update(_ALERTS).where(_MINE).values(
    **ALERTS.bulk([AlertStatus.SENDING], AlertStatus.PENDING), last_error=bindparam("b_error"), next_attempt_at=bindparam("b_next"),
    attempts=bindparam("b_attempts"), failing_since=bindparam("b_since"))
# Retrying has a bound (Settings.alert_give_up_hours / alert_max_attempts): the row stays, listed
# for the office (tasks/infra/undelivered.py), until someone re-sends it or marks it handled.
_RECORD_GAVE_UP = update(_ALERTS).where(_MINE).values(
    **ALERTS.bulk([AlertStatus.SENDING], AlertStatus.UNDELIVERABLE), last_error=bindparam("b_error"), attempts=bindparam("b_attempts"),
    failing_since=bindparam("b_since"))


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed send is retried: the waits between attempts, and when to stop."""

    backoff: list[int]
    max_attempts: int
    give_up: timedelta

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        return cls(backoff=settings.alert_backoff_seconds, max_attempts=settings.alert_max_attempts,
                   give_up=timedelta(hours=settings.alert_give_up_hours))

    def gives_up(self, *, attempts: int, failing_since: datetime, now: datetime) -> bool:
        """After `attempts` failed sends, the first at `failing_since`: stop retrying?"""
        return attempts >= self.max_attempts or now - failing_since >= self.give_up


def _record(session: Session, alert: _Claimed, error: str | None, stamp: datetime, now: datetime,
            policy: RetryPolicy, result: DeliveryResult) -> None:
    """The send's outcome, written only while the row is still under our claim."""
    params: dict[str, Any] = {"b_id": alert.id, "b_stamp": stamp, "b_attempts": alert.attempts + 1}
    if error is None:
        done = rows_changed(session.execute(_RECORD_SENT, {**params, "b_now": now}))
    else:
        since = alert.failing_since or now
        failed = {**params, "b_error": error[:1000], "b_since": since}
        if policy.gives_up(attempts=alert.attempts + 1, failing_since=since, now=now):
            done = rows_changed(session.execute(_RECORD_GAVE_UP, failed))
            if done:
                result.gave_up += 1
        else:
            wait = policy.backoff[min(alert.attempts, len(policy.backoff) - 1)]
            done = rows_changed(session.execute(_RECORD_FAILED, {**failed, "b_next": now + timedelta(seconds=wait)}))
    if not done:
        log.warning("提醒 %s 的租约已过期，本次结果不记录（由其他投递进程处理）", alert.id)
    elif error is None:
        result.sent += 1
    else:
        result.failed += 1
        result.errors.append(f"{alert.channel}: {error[:200]}")


def deliver_due(
    *, session: Session, sender: Sender, settings: Settings, now: datetime, limit: int = 500,
    workers: int = DELIVERY_WORKERS,
) -> DeliveryResult:
    """Send every alert that is due; a failure is recorded and retried later with backoff.

    Rows are claimed `CLAIM_BATCH` at a time and sent by up to `workers` threads while no
    transaction is open. Results are committed as they come: the sending threads hand them to
    this thread, which records everything that has arrived so far and commits (a group commit
    that never waits for more sends); a thread is given its next send once its result is
    committed, so at most `workers` sends are ever unrecorded. The next batch is claimed once
    every result of the current one is recorded. A result is recorded only while the row is
    still under our claim (a deliverer whose lease ran out records nothing).
    """
    result = DeliveryResult()
    started = time.monotonic()
    policy = RetryPolicy.of(settings)
    lease = timedelta(seconds=settings.alert_lease_seconds)
    due = [i for i in session.exec(
        select(Alert.id).where(_claimable(now, lease)).order_by(col(Alert.id)).limit(limit)
    ).all() if i is not None]
    session.commit()  # no transaction open while sending

    def claim(start: int) -> tuple[datetime, list[_Claimed]]:
        # The lease runs from the real moment of the claim, not from `now`: one call can take
        # minutes when receivers time out.
        stamp = now + timedelta(seconds=time.monotonic() - started)
        return stamp, _claim(session, settings, due[start:start + CLAIM_BATCH], now, stamp, lease)

    if workers <= 1:
        for start in range(0, len(due), CLAIM_BATCH):
            stamp, batch = claim(start)
            for alert in batch:
                _record(session, alert, _send_one(sender, alert), stamp, now, policy, result)
                session.commit()
        return result

    # Sent or being sent, result not yet committed: never more than `workers` (a relay killed
    # mid-delivery repeats at most that many). A send is started only when a result is committed.
    done: queue.SimpleQueue[tuple[_Claimed, datetime, str | None]] = queue.SimpleQueue()
    claimed: deque[tuple[_Claimed, datetime]] = deque()

    def send(alert: _Claimed, stamp: datetime) -> None:
        error: str | None = "发送线程异常退出"  # only if even _send_one did not return
        try:
            error = _send_one(sender, alert)
        finally:  # always handed back, or the recorder would wait for it forever
            done.put((alert, stamp, error))

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alert")
    try:
        start, outstanding = 0, 0
        while True:
            while outstanding < workers:
                if not claimed and not outstanding and start < len(due):  # one batch at a time
                    stamp, batch = claim(start)
                    start += CLAIM_BATCH
                    claimed.extend((alert, stamp) for alert in batch)
                    continue
                if not claimed:
                    break
                pool.submit(send, *claimed.popleft())
                outstanding += 1
            if not outstanding:
                break
            arrived = [done.get()]
            while True:  # everything that has arrived by now, without waiting for more
                try:
                    arrived.append(done.get_nowait())
                except queue.Empty:
                    break
            for alert, stamp, error in arrived:
                _record(session, alert, error, stamp, now, policy, result)
            session.commit()
            outstanding -= len(arrived)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return result


def withdraw_pending(*, session: Session, role: Role, recipients: Sequence[str], now: datetime) -> int:
    """Alerts for `role` still waiting to go to `recipients` (addresses taken off the role) are
    not sent: marked as having no recipient, with the reason. Returns how many."""
    if not recipients:
        return 0
    return rows_changed(session.execute(
        update(Alert)
        .where(col(Alert.role) == role.value, col(Alert.recipient).in_(list(recipients)),
               col(Alert.status) == AlertStatus.PENDING)
        .values(**ALERTS.bulk([AlertStatus.PENDING], AlertStatus.NO_RECIPIENT), secret="",
                last_error=f"{now:%Y-%m-%d %H:%M} 该地址已从“{ROLE_NAMES[role]}”的接收人中删除，不再发送")
        .execution_options(synchronize_session=False)
    ))


def outbox_counts(*, session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in session.exec(select(Alert.status)):
        counts[AlertStatus(status).value] = counts.get(AlertStatus(status).value, 0) + 1
    return counts
