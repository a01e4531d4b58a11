"""Receiver faults, against a real HTTP server on 127.0.0.1 started by each test: the receiver
answers 500, hangs past `alert_send_timeout`, refuses connections, or is a chat robot that
answers HTTP 200 with a non-zero `errcode`. Alerts stay pending with a Chinese `last_error`,
are retried on the backoff schedule (driven by `now`, never by sleeping), and once the
receiver is healthy every alert is delivered exactly once (counted at the receiver)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import apprise
import pytest
from sqlmodel import Session, select

import tasks.infra.alerts as alerts
from deployments.ops.stack import free_port
from models.clock import aware
from models.enums import AlertStatus, Role
from models.settings import Settings
from models.tables import Alert
from tasks.infra.alerts import (
    AppriseSender,
    check_answer,
    deliver_due,
    enqueue_alert,
    webhook_request,
)
from tests.conftest import NOW

pytestmark = pytest.mark.timeout(60)

SECOND = timedelta(seconds=1)
TITLE = "【督办】整改期限将至"
MARK = re.compile(r"编号 (k-\d+)")
CJK = re.compile(r"[\u4e00-\u9fff]")
OK_ANSWER = b'{"errcode": 0, "errmsg": "ok"}'
DINGTALK_REFUSAL = b'{"errcode": 310000, "errmsg": "keywords not in content"}'


class Receiver:
    """A webhook on 127.0.0.1 whose behaviour the test switches.

    mode "ok" answers 200 with `answer` and takes the message; "error" answers 500; "slow"
    hangs up without an answer after `slow_seconds` (an overloaded gateway that drops the
    request); "refuse" answers 200 with `refusal` (a robot refusing the message). Only "ok"
    counts as accepted; `hits` counts every request that arrived. HTTP/1.0, so no connection
    outlives a request and a stopped receiver really refuses connections.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mode = "ok"
        self.answer = OK_ANSWER
        self.refusal = DINGTALK_REFUSAL
        self.slow_seconds = 3.0
        self.accepted: Counter[str] = Counter()
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = {"raw": raw.decode(errors="replace")}
                found = MARK.search(json.dumps(payload, ensure_ascii=False))
                key = found.group(1) if found else "?"
                mode = receiver.mode
                with receiver._lock:
                    receiver.hits[key] += 1
                    receiver.requests.append({"path": self.path, "payload": payload, "key": key, "mode": mode})
                if mode == "slow":
                    receiver._release.wait(receiver.slow_seconds)
                    self.close_connection = True
                    return
                if mode == "error":
                    self.reply(500, "服务器内部错误".encode())
                elif mode == "refuse":
                    self.reply(200, receiver.refusal)
                else:
                    with receiver._lock:
                        receiver.accepted[key] += 1
                    self.reply(200, receiver.answer)

            def reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._release.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def cfg(settings: Settings) -> Settings:
    return settings.model_copy(update={"alert_send_timeout": 2, "alert_backoff_seconds": [5, 30, 120]})


def queue(session: Session, settings: Settings, url: str, n: int) -> list[str]:
    """n alerts for one recipient; each body carries its key, so the receiver can count it."""
    cfg = settings.model_copy(update={"recipients": {Role.OFFICE.value: [url]}})
    keys = [f"k-{i:03d}" for i in range(n)]
    for key in keys:
        enqueue_alert(session=session, settings=cfg, key=key, role=Role.OFFICE, title=TITLE,
                      body=f"城东街道整改事项将于7日后到期（编号 {key}）。", link="", now=NOW)
    session.commit()
    return keys


def rows(session: Session) -> list[Alert]:
    session.expire_all()
    return list(session.exec(select(Alert).order_by(Alert.id)).all())  # type: ignore[arg-type]


def assert_pending(session: Session, attempts: int, next_at: Any, error: str) -> None:
    for row in rows(session):
        assert (row.status, row.attempts) == (AlertStatus.PENDING, attempts)
        assert aware(row.next_attempt_at) == next_at
        assert row.last_error == error and CJK.search(row.last_error)


def assert_delivered_once(session: Session, receiver: Receiver, keys: list[str], attempts: int) -> None:
    assert receiver.accepted == Counter(dict.fromkeys(keys, 1))  # 0 duplicates, 0 lost
    for row in rows(session):
        assert (row.status, row.attempts, row.last_error) == (AlertStatus.SENT, attempts, "")


# Faults of a plain JSON webhook ---------------------------------------------------------------


@pytest.mark.parametrize("fault", ["error", "slow", "refused"])
def test_fault_then_recovery_delivers_each_alert_once(
    session: Session, cfg: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, fault: str,
) -> None:
    monkeypatch.setattr(alerts, "CLAIM_BATCH", 5)  # two claim batches per call
    if fault == "slow":  # the receiver hangs for 3 s, longer than the send timeout
        cfg = cfg.model_copy(update={"alert_send_timeout": 1})
    backoff = cfg.alert_backoff_seconds
    keys = queue(session, cfg, f"json://127.0.0.1:{receiver.port}/hook", 10)
    where = f"127.0.0.1:{receiver.port}"
    error = {
        "error": "接收端返回 HTTP 500，未送达：服务器内部错误",
        "slow": f"接收端在 1 秒内未应答（{where}），未确认送达",
        "refused": f"无法连接接收端（{where}）：连接被拒绝",
    }[fault]
    if fault == "refused":
        pass  # nothing listens on the port yet
    else:
        receiver.mode = fault
        receiver.start()
    sender = AppriseSender(cfg.alert_send_timeout)

    result = deliver_due(session=session, sender=sender, settings=cfg, now=NOW)
    assert (result.sent, result.failed) == (0, 10)
    assert_pending(session, 1, NOW + backoff[0] * SECOND, error)

    # Not due before the first step of the backoff: nothing reaches the receiver.
    hits = sum(receiver.hits.values())
    result = deliver_due(session=session, sender=sender, settings=cfg, now=NOW + (backoff[0] - 1) * SECOND)
    assert (result.sent, result.failed) == (0, 0)
    assert sum(receiver.hits.values()) == hits

    # Second failure: the next, longer step.
    t = NOW + backoff[0] * SECOND
    assert deliver_due(session=session, sender=sender, settings=cfg, now=t).failed == 10
    assert_pending(session, 2, t + backoff[1] * SECOND, error)
    expected_hits = 0 if fault == "refused" else 2
    assert receiver.hits == Counter(dict.fromkeys(keys, expected_hits) if expected_hits else {})
    assert not receiver.accepted

    # The receiver comes back; nothing is sent before the time, then each alert exactly once.
    if fault == "refused":
        receiver.start()
    receiver.mode = "ok"
    assert deliver_due(session=session, sender=sender, settings=cfg, now=t).sent == 0
    t += backoff[1] * SECOND
    result = deliver_due(session=session, sender=sender, settings=cfg, now=t)
    assert (result.sent, result.failed) == (10, 0)
    assert deliver_due(session=session, sender=sender, settings=cfg, now=t + timedelta(days=1)).sent == 0
    assert_delivered_once(session, receiver, keys, attempts=3)


# Robots that answer HTTP 200 with an error code ------------------------------------------------


ROBOTS = {
    # name: (url template, endpoints, refusal, ok answer, expected last_error)
    "json": ("json://127.0.0.1:{port}/robot/send", {}, DINGTALK_REFUSAL, OK_ANSWER,
             "接收端返回错误 errcode=310000：keywords not in content"),
    "dingtalk": ("dingtalk://abc123", {"dingtalk": "http://127.0.0.1:{port}/robot/send?access_token={{token}}"},
                 DINGTALK_REFUSAL, OK_ANSWER,
                 "钉钉返回错误 errcode=310000：keywords not in content"
                 "（机器人安全设置未通过：消息须含自定义关键词，或加签不符，或 IP 不在白名单）"),
    "wecombot": ("wecombot://key-1", {"wecombot": "http://127.0.0.1:{port}/cgi-bin/webhook/send?key={{token}}"},
                 b'{"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_0]"}', OK_ANSWER,
                 "企业微信返回错误 errcode=93000：invalid webhook url, hint: [1700000000_0]"
                 "（机器人地址无效：key 错误或机器人已被移出群）"),
    "feishu": ("feishu://tok-1", {"feishu": "http://127.0.0.1:{port}/open-apis/bot/v2/hook/{{token}}"},
               b'{"code": 19024, "msg": "Key Words Not Found", "data": {}}', b'{"code": 0, "msg": "success", "data": {}}',
               "飞书返回错误 code=19024：Key Words Not Found（消息不含自定义关键词）"),
    "feishu-legacy": ("feishu://tok-1", {"feishu": "http://127.0.0.1:{port}/open-apis/bot/v2/hook/{{token}}"},
                      b'{"StatusCode": 19021, "StatusMessage": "sign match fail or timestamp is not within one hour"}',
                      b'{"Extra": null, "StatusCode": 0, "StatusMessage": "success"}',
                      "飞书返回错误 StatusCode=19021：sign match fail or timestamp is not within one hour（签名校验失败）"),
}


@pytest.mark.parametrize("robot", list(ROBOTS))
def test_robot_refusal_is_retried_until_accepted(session: Session, cfg: Settings, receiver: Receiver, robot: str) -> None:
    template, endpoints, refusal, answer, error = ROBOTS[robot]
    backoff = cfg.alert_backoff_seconds
    receiver.mode, receiver.refusal, receiver.answer = "refuse", refusal, answer
    receiver.start()
    keys = queue(session, cfg, template.format(port=receiver.port), 3)
    sender = AppriseSender(cfg.alert_send_timeout,
                           endpoints={k: v.format(port=receiver.port) for k, v in endpoints.items()})

    result = deliver_due(session=session, sender=sender, settings=cfg, now=NOW)
    assert (result.sent, result.failed) == (0, 3)
    assert_pending(session, 1, NOW + backoff[0] * SECOND, error)
    t = NOW + backoff[0] * SECOND
    assert deliver_due(session=session, sender=sender, settings=cfg, now=t).failed == 3
    assert_pending(session, 2, t + backoff[1] * SECOND, error)
    assert receiver.hits == Counter(dict.fromkeys(keys, 2)) and not receiver.accepted

    receiver.mode = "ok"
    t += backoff[1] * SECOND
    assert deliver_due(session=session, sender=sender, settings=cfg, now=t).sent == 3
    assert deliver_due(session=session, sender=sender, settings=cfg, now=t + timedelta(days=1)).sent == 0
    assert_delivered_once(session, receiver, keys, attempts=3)

    # Each robot got its own message format, with the title (robots show no separate title).
    request = receiver.requests[-1]
    text = f"{TITLE}\n城东街道整改事项将于7日后到期（编号 {request['key']}）。"
    expected = {
        "json": {"version": "1.0", "title": TITLE, "message": text.split("\n", 1)[1], "attachments": [],
                 "type": "info"},
        "dingtalk": {"msgtype": "text", "text": {"content": text}, "at": {"atMobiles": [], "isAtAll": False}},
        "wecombot": {"msgtype": "text", "text": {"content": text}},
        "feishu": {"msg_type": "text", "content": {"text": text}},
        "feishu-legacy": {"msg_type": "text", "content": {"text": text}},
    }[robot]
    assert request["payload"] == expected
    path = {"json": "/robot/send", "dingtalk": "/robot/send?access_token=abc123",
            "wecombot": "/cgi-bin/webhook/send?key=key-1", "feishu": "/open-apis/bot/v2/hook/tok-1",
            "feishu-legacy": "/open-apis/bot/v2/hook/tok-1"}[robot]
    assert request["path"] == path


def test_dingtalk_signed_robot(session: Session, cfg: Settings, receiver: Receiver) -> None:
    """加签: timestamp and sign (base64 HMAC-SHA256, URL-encoded once) go with the request."""
    receiver.start()
    secret = "SECabc123"
    queue(session, cfg, f"dingtalk://{secret}@abc123/13800000000", 1)
    sender = AppriseSender(cfg.alert_send_timeout, endpoints={"dingtalk": f"http://127.0.0.1:{receiver.port}/robot/send?access_token={{token}}"})
    assert deliver_due(session=session, sender=sender, settings=cfg, now=NOW).sent == 1
    (request,) = receiver.requests
    query = parse_qs(urlsplit(request["path"]).query)
    assert query["access_token"] == ["abc123"]
    (timestamp,), (sign,) = query["timestamp"], query["sign"]
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    assert sign == base64.b64encode(digest).decode()
    assert request["payload"]["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}


# Answers, one by one ---------------------------------------------------------------------------


def request_for(url: str) -> alerts.WebhookRequest:
    request = webhook_request(apprise.Apprise.instantiate(url), TITLE, "正文", alerts.ROBOT_ENDPOINTS)
    assert request is not None
    return request


@pytest.mark.parametrize(("url", "status", "answer", "error"), [
    # A generic JSON webhook: only a non-zero errcode is a refusal; other bodies are fine.
    ("json://127.0.0.1:9/x", 200, '{"ok": true}', None),
    ("json://127.0.0.1:9/x", 200, "", None),
    ("json://127.0.0.1:9/x", 200, "OK", None),
    ("json://127.0.0.1:9/x", 200, '{"code": 200, "msg": "ok"}', None),
    ("json://127.0.0.1:9/x", 200, '{"errcode": "0"}', None),
    ("json://127.0.0.1:9/x", 204, "", None),
    ("json://127.0.0.1:9/x", 200, '{"errcode": "40001", "errmsg": "签名错误"}', "接收端返回错误 errcode=40001：签名错误"),
    ("json://127.0.0.1:9/x", 502, "<html>Bad Gateway</html>", "接收端返回 HTTP 502，未送达：<html>Bad Gateway</html>"),
    # Robots always answer JSON: anything else (a proxy's page, say) is not a delivery.
    ("dingtalk://abc", 200, '{"errcode": 0, "errmsg": "ok"}', None),
    ("dingtalk://abc", 200, "<html>认证页面</html>", "钉钉的应答无法识别（HTTP 200），未确认送达：<html>认证页面</html>"),
    ("dingtalk://abc", 200, '{"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}',
     "钉钉返回错误 errcode=130101：send too fast, exceed 20 times per minute（发送过快，每个机器人每分钟最多 20 条）"),
    ("wecombot://k", 200, '{"errcode": 45009, "errmsg": "api freq out of limit"}',
     "企业微信返回错误 errcode=45009：api freq out of limit（发送过快，每个机器人每分钟最多 20 条）"),
    ("lark://tok", 200, '{"code": 19022, "msg": "Ip Not Allowed"}', "Lark返回错误 code=19022：Ip Not Allowed（IP 不在白名单）"),
    # json:// aimed at a real robot sends Apprise's generic JSON, which the robot refuses.
    ("jsons://oapi.dingtalk.com/robot/send?-access_token=abc", 200, '{"errcode": 40035, "errmsg": "缺少参数 json"}',
     "钉钉返回错误 errcode=40035：缺少参数 json（json:// 发送的是通用 JSON，钉钉机器人请改用 dingtalk:// 地址）"),
])
def test_answers(url: str, status: int, answer: str, error: str | None) -> None:
    result = check_answer(request_for(url), status, answer)
    assert result == error
    assert result is None or CJK.search(result)


def test_robot_addresses_copied_from_the_robot_page() -> None:
    sender = AppriseSender(1, endpoints={"dingtalk": "http://127.0.0.1:9/robot/send?access_token={token}"})
    assert alerts._native("https://oapi.dingtalk.com/robot/send?access_token=abc123") == "dingtalk://abc123"
    assert alerts._native("https://open.feishu.cn/open-apis/bot/v2/hook/tok-1") == "feishu://tok-1"
    assert request_for("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1").url.endswith("send?key=k-1")
    # Port 9 refuses: the address is understood and the robot's own error text is used.
    error = sender.send("https://oapi.dingtalk.com/robot/send?access_token=abc123", TITLE, "正文")
    assert error == "无法连接钉钉（127.0.0.1:9）：连接被拒绝"


# The claim ------------------------------------------------------------------------------------


def test_no_transaction_is_held_while_sending_and_a_newer_claim_wins(session: Session, settings: Settings) -> None:
    """While a message is on its way, other writers are not blocked; if another deliverer has
    claimed the row meanwhile (our lease ran out), our late result is not recorded over it."""
    queue(session, settings, "json://127.0.0.1:9/x", 1)
    row_id = rows(session)[0].id
    db = settings.db_url.removeprefix("sqlite:///")
    later = "2099-01-01 00:00:00.000000"

    class Overtaken:
        def send(self, url: str, title: str, body: str) -> str | None:
            with closing(sqlite3.connect(db, timeout=2)) as other:  # "database is locked" if blocked
                other.execute("UPDATE alert SET next_attempt_at = ? WHERE id = ?", (later, row_id))
                other.commit()
            return None

    for workers in (1, 4):
        result = deliver_due(session=session, sender=Overtaken(), settings=settings, now=NOW, workers=workers)
        assert (result.sent, result.failed, result.errors) == (0, 0, [])
        (row,) = rows(session)
        assert (row.status, row.attempts, row.sent_at) == (AlertStatus.SENDING, 0, None)
        # Make it claimable again for the next round.
        row.status, row.next_attempt_at = AlertStatus.PENDING, NOW
        session.add(row)
        session.commit()


def test_a_crashing_sender_is_a_failure(session: Session, settings: Settings) -> None:
    queue(session, settings, "json://127.0.0.1:9/x", 2)

    class Broken:
        def send(self, url: str, title: str, body: str) -> str | None:
            raise RuntimeError("boom")

    result = deliver_due(session=session, sender=Broken(), settings=settings, now=NOW)
    assert (result.sent, result.failed) == (0, 2)
    assert {r.last_error for r in rows(session)} == {"发送时出错：RuntimeError：boom"}
    assert {r.status for r in rows(session)} == {AlertStatus.PENDING}
