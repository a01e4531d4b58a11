"""The warm launcher: a long-lived process of the stack, started beside each worker, that starts
that worker's flow runs by forking itself instead of starting a new Python.

Every start of a flow run, and every resume after an approval, is a new process. Started the
usual way (`python -m prefect.engine`) it imports Prefect and this system's flows, tasks and tables
(about 1.5–3 s of CPU on this 2-core machine, more than the run's own work between two gates);
the launcher has imported them once, so a forked child begins where that import ended.

The worker's command (deployments/ops/stack.py ENGINE_COMMAND) runs deployments/ops/launch_run.py,
a small stdlib-only client that hands the launcher its environment, working folder and standard
streams over a Unix socket and then stands in for the run's process: it forwards the signals the
worker sends (cancellation's SIGTERM) to the child and exits as the child did (code, or the same
signal), so the worker sees what it would have seen. Where no launcher answers, the client starts
`python -m prefect.engine` itself, as before.

Who may ask: the socket lies in an owner-only folder under the stack's data folder and the
launcher serves only connections of its own user (SO_PEERCRED); it is the machine operator's
process, like the worker (models/access.py: stack processes are not entry points of any role).

The child:
- starts a session of its own (as a flow-run process is killed with its process group);
- takes the client's stdin/stdout/stderr, environment and working folder, re-reads Prefect's and
  this system's settings from that environment, and runs `prefect.engine` as `__main__`; it then
  ends as multiprocessing's forked children do: non-daemon threads joined, atexit run (Prefect's
  log worker drains there), streams flushed, and no teardown of the modules it was born with;
- dies with its client: when the client goes away without the child having ended (it was killed
  with SIGKILL, e.g. with the worker's process group), the child's session gets SIGKILL.

The launcher forks only while it has a single thread (forking a threaded process can leave a lock
held forever in the child); warming up imports modules and nothing else — no connection, no event
loop, no thread — and if something did start a thread, every request is refused and the client
falls back to the usual start.

Run: `python -m deployments.ops.launcher --socket <path>` (deployments/ops/stack.py start_worker).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import importlib
import importlib.util
import json
import logging
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

log = logging.getLogger("xuncha.launcher")

HEADER = struct.Struct("!I")  # length of the JSON request that follows the header
MAX_REQUEST = 4 * 1024 * 1024
STOP_GRACE = 15.0  # seconds the children get after SIGTERM when the launcher is stopped

# What a flow run imports, loaded once here. The flow files themselves are executed again by
# Prefect in each run (it loads an entrypoint as a script); what they import is then at hand.
WARM_MODULES = (
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.flow_runs",
    "prefect.deployments.steps",
    "prefect.runner.storage",
    "flows.lifecycle.run_inspection_round",
    "flows.lifecycle.inspect_unit",
    "flows.lifecycle.record_findings",
    "flows.supervision.report_progress",
    "flows.supervision.supervise_rectification",
    "flows.supervision.look_back",
    "flows.supervision.submit_plan",
    "flows.supervision.group_common_problems",
    "flows.planning.plan_term",
    "flows.clues.acknowledge_letter",
    # Imported by a run only when it needs them (tasks/records/charts.py, documents.py, dossier.py;
    # tasks/infra/alerts.py): a run that archives a unit or writes a document would load them anew.
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.font_manager",
    "docxtpl",
    "docx",
    "openpyxl",
    "apprise",
    "jinja2.sandbox",
    # Loaded in each run on first use (seen in cProfile of forked runs, bench/README.md).
    "prefect.utilities.visualization",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.postgresql.psycopg",
    "encodings.idna",
)
# Environment variables that settings are read from: a child re-reads settings only when one of
# them differs from what the worker gives every run (Launcher.settings); besides, the worker adds
# only run-specific PREFECT__ variables.
SETTINGS_PREFIXES = ("PREFECT_", "XUNCHA_")
NOT_SETTINGS = ("PREFECT__", "XUNCHA_LAUNCHER_SOCKET")


def settings_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(SETTINGS_PREFIXES) and not k.startswith(NOT_SETTINGS)}


@dataclass
class Child:
    pid: int
    conn: socket.socket
    started: float = field(default_factory=time.monotonic)


@dataclass
class Launcher:
    path: Path
    module: str = "prefect.engine"  # what a child runs as __main__ (another only in tests)
    children: dict[int, Child] = field(default_factory=dict)
    refusal: str = ""
    stopping_since: float | None = None
    terminated: bool = False
    settings: dict[str, str] = field(default_factory=dict)  # settings_env of a run's environment, as the worker makes it
    sel: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)

    def warm(self) -> None:
        t0 = time.process_time()
        for name in WARM_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # a run that needs it will fail on its own, in its own log
                log.exception("预先加载模块 %s 失败", name)
        from sqlalchemy.orm import configure_mappers

        from models.schema import head_revision
        from models.settings import get_settings

        configure_mappers()
        head_revision()  # read from the migration scripts' text: the same for every run
        get_settings()
        from prefect.settings import get_current_settings

        # A worker started with the launcher's environment gives its runs this environment plus
        # its settings written out (prefect/runner/_starter_engine.py) and run-specific variables.
        self.settings = settings_env(dict(os.environ) | get_current_settings().to_environment_variables(exclude_unset=True))
        with contextlib.suppress(Exception):
            from PIL import Image

            Image.init()  # the image format plugins, which documents with pictures load
        # What is imported now lives as long as the launcher: the collector need not look at it
        # again, in the launcher or in any child (nor touch its pages, which children share).
        gc.freeze()
        if threading.active_count() > 1:
            names = ", ".join(t.name for t in threading.enumerate())
            self.refusal = f"预先加载后有多个线程（{names}），不能安全地派生进程"
            log.error("%s；流程运行将按常规方式启动", self.refusal)
        log.info("预先加载完成，用时 %.2f 秒（CPU）", time.process_time() - t0)

    def serve(self) -> ChildJob | None:
        """Serve until SIGTERM; in a forked child, return the job that child is to run."""
        me = os.getpid()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        self.path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path) + ".new")
        os.chmod(str(self.path) + ".new", 0o600)
        listener.listen(64)
        os.replace(str(self.path) + ".new", self.path)  # the socket appears only once it listens
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)

        def on_stop(*_: object) -> None:
            if self.stopping_since is None:
                self.stopping_since = time.monotonic()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        sel = self.sel
        sel.register(listener, selectors.EVENT_READ, "listen")
        sel.register(wake_r, selectors.EVENT_READ, "wake")
        log.info("等待启动流程运行：%s", self.path)
        try:
            while True:
                self.reap()
                if self.stopping_since is not None:
                    if not self.children:
                        return None
                    self.stop_children()
                for key, _ in sel.select(timeout=1.0):
                    if key.data == "wake":
                        with contextlib.suppress(BlockingIOError):
                            while os.read(wake_r, 512):
                                pass
                    elif key.data == "listen":
                        if self.stopping_since is not None:
                            continue
                        try:
                            conn, _addr = listener.accept()
                        except OSError:
                            continue
                        job = self.start(conn, sel, listener, wake_r, wake_w)
                        if job is not None:  # in the child
                            return job
                    else:
                        self.client_spoke(key.data, sel)
        finally:
            if os.getpid() == me:
                signal.set_wakeup_fd(-1)
                listener.close()
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()

    def start(self, conn: socket.socket, sel: selectors.BaseSelector, listener: socket.socket,
              wake_r: int, wake_w: int) -> ChildJob | None:
        fds: list[int] = []
        try:
            conn.settimeout(10)
            pid_, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                  struct.calcsize("3i")))
            if uid != os.getuid():
                log.warning("拒绝了其他用户（uid %s，进程 %s）的启动请求", uid, pid_)
                conn.close()
                return None
            head, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3)
            if len(head) != HEADER.size or len(fds) != 3:
                raise ValueError("请求不完整")
            (size,) = HEADER.unpack(head)
            if size > MAX_REQUEST:
                raise ValueError("请求过大")
            body = bytearray()
            while len(body) < size:
                chunk = conn.recv(size - len(body))
                if not chunk:
                    raise ValueError("请求不完整")
                body += chunk
            request = json.loads(body.decode("utf-8"))
            env = {str(k): str(v) for k, v in dict(request["env"]).items()}
            cwd = str(request["cwd"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("启动请求无效：%s", exc)
            for fd in fds:
                os.close(fd)
            conn.close()
            return None
        if self.refusal:
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                conn.sendall(b"refuse\n")
            conn.close()
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: leave the launcher behind
            signal.set_wakeup_fd(-1)  # its fd is closed next; a signal must not write to a reused number
            try:
                sel.close()
                listener.close()
                conn.close()
                for other in self.children.values():
                    other.conn.close()
                os.close(wake_r)
                os.close(wake_w)
            except OSError:
                pass
            return ChildJob(env=env, cwd=cwd, fds=fds, settings=self.settings, module=self.module)
        for fd in fds:
            os.close(fd)
        child = Child(pid=pid, conn=conn)
        self.children[pid] = child
        try:
            conn.sendall(f"pid {pid}\n".encode("ascii"))
            conn.setblocking(False)
            sel.register(conn, selectors.EVENT_READ, child)
        except OSError:  # the client is already gone
            self.kill(child)
        return None

    def client_spoke(self, child: Child, sel: selectors.BaseSelector) -> None:
        try:
            data = child.conn.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            return  # the client sends nothing after its request
        # The client went away while its child runs: it was killed (SIGKILL cannot be forwarded).
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(child.conn)
        self.kill(child)

    def kill(self, child: Child) -> None:
        signal_child(child.pid, signal.SIGKILL)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue
            log.info("流程运行进程 %s 结束：退出状态 %s，CPU %.2f 秒，用时 %.1f 秒", pid, os.waitstatus_to_exitcode(status),
                     usage.ru_utime + usage.ru_stime, time.monotonic() - child.started)
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(child.conn)
            with contextlib.suppress(OSError):
                child.conn.setblocking(True)
                child.conn.settimeout(5)
                child.conn.sendall(f"exit {status}\n".encode("ascii"))
            child.conn.close()

    def stop_children(self) -> None:
        """On SIGTERM: the children get SIGTERM once (as the worker's own children would), then
        SIGKILL after STOP_GRACE seconds."""
        assert self.stopping_since is not None
        late = time.monotonic() - self.stopping_since > STOP_GRACE
        if self.terminated and not late:
            return
        self.terminated = True
        for child in self.children.values():
            signal_child(child.pid, signal.SIGKILL if late else signal.SIGTERM)


def signal_child(pid: int, sig: int) -> None:
    """The child's process group (it is its session's leader), or the child alone in the moment
    after the fork before it has made its session."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    except PermissionError:
        pass


@dataclass
class ChildJob:
    """What a forked child runs once it has left the launcher's loop."""

    env: dict[str, str]
    cwd: str
    fds: list[int]
    settings: dict[str, str]
    module: str = "prefect.engine"

    def run(self) -> NoReturn:
        os.setsid()
        # The handlers a Python process starts with (SIGPIPE stays ignored, as Python sets it).
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(self.fds):
            if fd != target:
                os.dup2(fd, target)
        for fd in self.fds:
            if fd > 2:
                with contextlib.suppress(OSError):
                    os.close(fd)
        same_settings = settings_env(self.env) == self.settings
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.cwd)
        log.handlers.clear()  # the launcher's own log lines are not the run's
        if not same_settings:  # settings read before the fork are re-read from the run's environment
            import prefect.context

            prefect.context.refresh_global_settings_context()
            from models.db import get_engine
            from models.settings import get_settings

            get_settings.cache_clear()
            get_engine.cache_clear()
        spec = importlib.util.find_spec(self.module)
        assert spec is not None and spec.origin is not None, self.module
        sys.argv = [spec.origin]
        code: int | str | None = 0
        profile_dir = os.environ.get("XUNCHA_PROFILE_DIR")  # bench/README.md: where a run's time goes
        profiler = None
        if profile_dir:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        try:
            runpy.run_path(spec.origin, run_name="__main__")
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            traceback.print_exc()
            code = 1
        # The end of a process started the usual way, without tearing down every module the
        # launcher imported (about a second of CPU for nothing; multiprocessing's forked children
        # end the same way): non-daemon threads joined, atexit run (Prefect's log worker
        # drains there), the standard streams flushed.
        if profiler is not None and profile_dir:
            profiler.disable()
            profiler.dump_stats(os.path.join(profile_dir, f"{os.getpid()}.prof"))
        # threading._shutdown is what the interpreter itself calls at exit (it joins non-daemon
        # threads); it has no public name, as in multiprocessing's own forked children.
        getattr(threading, "_shutdown")()  # noqa: B009
        atexit._run_exitfuncs()
        if isinstance(code, str):
            print(code, file=sys.stderr)
            code = 1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code or 0)


def main() -> int:
    ap = argparse.ArgumentParser(description="流程运行的预热启动进程（由执行器旁的本系统进程使用，不供手工运行）")
    ap.add_argument("--socket", required=True, help="监听的套接字路径（只有同一系统用户可连接）")
    ap.add_argument("--module", default="prefect.engine", help=argparse.SUPPRESS)  # tests only
    args = ap.parse_args()
    # Its own handler: importing Prefect (warm) configures the root logger for Prefect's needs.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    launcher = Launcher(path=Path(args.socket), module=args.module)
    launcher.warm()
    try:
        job = launcher.serve()
    except OSError as exc:
        print(f"预热启动进程无法监听 {args.socket}：{exc}", file=sys.stderr)
        return 1
    if job is None:
        log.info("已停止")
        return 0
    job.run()  # in the child, which ends there


if __name__ == "__main__":
    sys.exit(main())
