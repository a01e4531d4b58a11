#!/usr/bin/env python
"""Benchmark of the alert outbox: N alerts (default 1,000) queued with `enqueue_alert` and
delivered by `deliver_due` through `AppriseSender` to a loopback JSON webhook (an HTTP server
in this process on 127.0.0.1), on a fresh temporary SQLite database. In the same run, the
baseline: plain Apprise (`apprise.Apprise()` with the same json:// URL, `notify(title=..., body=...)`
for each of the same messages, from as many threads as deliver_due uses) to the same kind of
receiver, with no outbox at all.

    .venv/bin/python bench/bench_alerts.py                 # 1,000 alerts
    .venv/bin/python bench/bench_alerts.py --alerts 200    # a smaller run
    .venv/bin/python bench/bench_alerts.py --runs 3        # median of three fresh runs
    .venv/bin/python bench/bench_alerts.py --workers 1     # one send at a time
    .venv/bin/python bench/bench_alerts.py --latency 20    # the receiver answers after 20 ms

SENT is counted at the receiver (every request it accepted), LOST = queued - distinct alerts
the receiver got. The last line printed is
`RATIO <ours/plain Apprise> SECONDS <ours> BASELINE <plain Apprise> SENT <n> LOST <n>` (medians).
Exit code: 0 fine; 1 an alert was lost or delivered twice; 2 with --strict and over the bar.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import apprise  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from models.clock import now  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.enums import Role  # noqa: E402
from models.settings import Settings  # noqa: E402
from tasks.infra.alerts import (  # noqa: E402
    DELIVERY_WORKERS,
    AppriseSender,
    deliver_due,
    enqueue_alert,
    outbox_counts,
)

TARGET_SECONDS = 5.0
MARK = re.compile(r"编号 (bench-\d+)")


class Receiver:
    """A loopback JSON webhook that counts the messages it accepted, per alert."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.accepted: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real webhooks offer
            disable_nagle_algorithm = True  # answer at once (no 40 ms delayed-ACK stalls)

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    text = str(json.loads(raw).get("message", ""))
                except ValueError:
                    text = raw.decode(errors="replace")
                found = MARK.search(text)
                if receiver.latency:
                    time.sleep(receiver.latency)  # a receiver across a real network
                with receiver._lock:
                    receiver.requests += 1
                    if found:
                        receiver.accepted[found.group(1)] += 1
                answer = b'{"errcode": 0, "errmsg": "ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # listen backlog: the default 5 drops concurrent connects

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Run:
    seconds: float
    cpu: float
    enqueue_seconds: float
    deliver_seconds: float
    calls: int
    sent: int
    distinct: int
    duplicates: int
    lost: int
    counts: dict[str, int]


def message(i: int) -> tuple[str, str, str]:
    """Key, title and body of the i-th alert (the same for ours and for the baseline)."""
    key = f"bench-{i:06d}"
    return key, f"【待审批】方案审批 {i}", f"2026年第一轮巡察：等待您办理（编号 {key}）。"


@dataclass
class Baseline:
    seconds: float
    cpu: float
    ok: int  # notify() returned True
    sent: int
    lost: int


def plain_apprise(n: int, workers: int = DELIVERY_WORKERS, latency: float = 0.0) -> Baseline:
    """The same n messages sent by plain Apprise from `workers` threads: no database, no outbox."""
    with Receiver(latency) as receiver:
        ap = apprise.Apprise()
        if not ap.add(f"json://127.0.0.1:{receiver.port}/hook"):
            raise SystemExit("Apprise 无法解析 json:// 地址")

        def notify(i: int) -> bool:
            _, title, body = message(i)
            return bool(ap.notify(title=title, body=body))

        send: Callable[[int], bool] = notify
        t0, c0 = time.perf_counter(), time.process_time()
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plain") as pool:
                ok = sum(pool.map(send, range(n)))
        else:
            ok = sum(map(send, range(n)))
        t1, c1 = time.perf_counter(), time.process_time()
        accepted = dict(receiver.accepted)
    return Baseline(seconds=t1 - t0, cpu=c1 - c0, ok=ok, sent=sum(accepted.values()), lost=n - len(accepted))


def one_run(n: int, workdir: Path, workers: int = DELIVERY_WORKERS, latency: float = 0.0) -> Run:
    home = Path(tempfile.mkdtemp(prefix="bench_alerts_", dir=workdir))
    try:
        settings = Settings(home=home, _env_file=None)
        engine = make_engine(settings.db_url)
        SQLModel.metadata.create_all(engine)
        with Receiver(latency) as receiver, Session(engine) as session:
            url = f"json://127.0.0.1:{receiver.port}/hook"
            cfg = settings.model_copy(update={"recipients": {Role.OFFICE.value: [url]}})
            sender = AppriseSender(timeout=settings.alert_send_timeout)
            t0, c0 = time.perf_counter(), time.process_time()
            at = now()
            for i in range(n):
                key, title, body = message(i)
                enqueue_alert(session=session, settings=cfg, key=key, role=Role.OFFICE, title=title, body=body,
                              link="", now=at)
            session.commit()
            t1 = time.perf_counter()
            calls = 0
            while True:
                calls += 1
                result = deliver_due(session=session, sender=sender, settings=cfg, now=now(), workers=workers)
                if result.sent + result.failed == 0:
                    break
                if result.failed:  # a loopback receiver does not fail: report and stop
                    print(f"  第 {calls} 次投递有 {result.failed} 条失败：{'；'.join(result.errors[:3])}")
                    break
            t2, c2 = time.perf_counter(), time.process_time()
            counts = outbox_counts(session=session)
            accepted = dict(receiver.accepted)
            sent = sum(accepted.values())
        engine.dispose()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    distinct = len(accepted)
    return Run(seconds=t2 - t0, cpu=c2 - c0, enqueue_seconds=t1 - t0, deliver_seconds=t2 - t1, calls=calls,
               sent=sent, distinct=distinct, duplicates=sent - distinct, lost=n - distinct, counts=counts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="提醒发件箱（enqueue_alert + deliver_due）基准测试")
    p.add_argument("--alerts", type=int, default=1000, help="提醒条数（默认 1,000）")
    p.add_argument("--runs", type=int, default=1, help="在新的临时数据库上运行几次，取中位数（默认 1）")
    p.add_argument("--workers", type=int, default=DELIVERY_WORKERS,
                   help=f"deliver_due 的并发发送线程数（默认 {DELIVERY_WORKERS}；1 为逐条发送）")
    p.add_argument("--latency", type=float, default=0.0,
                   help="接收端每条应答前等待的毫秒数，模拟真实网络（默认 0）")
    p.add_argument("--workdir", default=None, help="临时数据库所在目录（默认系统临时目录）")
    p.add_argument("--strict", action="store_true", help="超过 5 秒时以退出码 2 结束")
    args = p.parse_args(argv)
    if args.alerts < 1 or args.runs < 1 or args.workers < 1 or args.latency < 0:
        p.error("--alerts、--runs 与 --workers 须为正整数，--latency 不能为负")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(args.workdir or tempfile.gettempdir())
    print(f"== 提醒发件箱基准：{args.alerts:,} 条提醒 → 本机 JSON 网络钩子（127.0.0.1），新的临时 SQLite 数据库，"
          f"发送线程 {args.workers} 个，接收端延迟 {args.latency:g} ms ==")
    runs: list[Run] = []
    bases: list[Baseline] = []
    for r in range(args.runs):
        # Alternate which goes first, so neither always meets a warmer (or busier) machine.
        if r % 2:
            base = plain_apprise(args.alerts, args.workers, args.latency / 1000)
        run = one_run(args.alerts, workdir, args.workers, args.latency / 1000)
        if not r % 2:
            base = plain_apprise(args.alerts, args.workers, args.latency / 1000)
        runs.append(run)
        bases.append(base)
        print(f"第 {r + 1} 次：共 {run.seconds:.3f} s（CPU {run.cpu:.3f} s；入队 {run.enqueue_seconds:.3f} s，投递 {run.deliver_seconds:.3f} s，"
              f"调用 deliver_due {run.calls} 次）；接收端收到 {run.sent} 条，不同提醒 {run.distinct} 条，"
              f"重复 {run.duplicates} 条，丢失 {run.lost} 条；发件箱 {run.counts}", flush=True)
        print(f"      纯 Apprise：{base.seconds:.3f} s（CPU {base.cpu:.3f} s）；notify 成功 {base.ok} 次，"
              f"接收端收到 {base.sent} 条，丢失 {base.lost} 条", flush=True)
    seconds = statistics.median(r.seconds for r in runs)
    baseline = statistics.median(b.seconds for b in bases)
    if any(b.lost or b.ok < args.alerts for b in bases):
        print("注意：纯 Apprise 对照有消息未送达，对照时间不可比")
    worst = max(runs, key=lambda r: (r.lost, r.duplicates))
    ok = worst.lost == 0 and worst.duplicates == 0
    fast = seconds <= TARGET_SECONDS
    print(f"目标：≤ {TARGET_SECONDS:g} s {'达标' if fast else '未达标'}；不丢失、不重复 {'达标' if ok else '未达标'}")
    print(f"对照：纯 Apprise 中位数 {baseline:.3f} s；本系统 / 纯 Apprise = {seconds / baseline:.3f}")
    print(f"RATIO {seconds / baseline:.3f} SECONDS {seconds:.3f} BASELINE {baseline:.3f} "
          f"SENT {worst.sent} LOST {worst.lost}", flush=True)
    if not ok:
        return 1
    return 2 if args.strict and not fast else 0


if __name__ == "__main__":
    sys.exit(main())
