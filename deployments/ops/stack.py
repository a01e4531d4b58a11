"""Start and stop the local stack: Prefect's database (a private PostgreSQL unless one is given),
Prefect server, the login gateway in front of it, deployments, process worker, relay, alert inbox,
and the public reporting page (deployments/public: its own port, nothing of Prefect behind it).

`port` is the gateway's: the address staff open (and alert links point at). The Prefect server
listens on another port on 127.0.0.1 only, which the gateway, workers and relay use.

Used by the one-command `up` and by the end-to-end tests, so both run the same set-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from deployments.ops.private_pg import PrivatePostgres

POOL = "xuncha-process"
# Where a running stack says how to reach it (home/RECORD): a command typed in another shell
# (deployments/cli/reach.py) reads the variables it does not have from there.
RECORD = "stack.json"
REACH_VARIABLES = ("PREFECT_API_URL", "PREFECT_HOME", "XUNCHA_UI_URL", "XUNCHA_DATABASE_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Stack:
    home: Path
    port: int  # the gateway's
    extra_env: dict[str, str] = field(default_factory=dict)
    pool_limit: int = 20
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    private_pg: PrivatePostgres | None = None
    server_port: int = field(default_factory=free_port)
    inbox_port: int | None = None

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    @property
    def api_url(self) -> str:
        """Prefect's API as workers, the relay and the gateway reach it (loopback only)."""
        return f"{self.server_url}/api"

    @property
    def ui_url(self) -> str:
        """The gateway: what staff open."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PREFECT_HOME": str(self.home / "prefect"),
            "PREFECT_API_URL": self.api_url,
            # The UI's pages are served through the gateway, which answers the UI's own question
            # where the API is with its own address (deployments/gateway/app.py ui_settings).
            "PREFECT_UI_API_URL": f"{self.ui_url}/api",
            "PREFECT_UI_URL": self.ui_url,  # the links Prefect itself writes (logs) go to the gateway
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_LOGGING_LEVEL": "INFO",
            # The classic UI, which the manual (docs/) and the alert links describe (Resume is a button
            # on the run's page there; the V2 UI hides it in a menu).
            "PREFECT_SERVER_UI_V2_ENABLED": "false",
            # Runs send heartbeats; the relay (deployments/ops/relay.py) takes a Running run whose
            # heartbeats stopped (its process or machine died) for dead and recovers it.
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
            "XUNCHA_HOME": str(self.home),
            "XUNCHA_PROJECT_DIR": str(PROJECT_ROOT),
            "XUNCHA_PYTHON": sys.executable,  # what starts each flow run (ENGINE_COMMAND)
            "XUNCHA_UI_URL": self.ui_url,
            "PYTHONPATH": str(PROJECT_ROOT),
        })
        env.update(self.extra_env)
        return env

    def prefect_cli(self) -> list[str]:
        """The `prefect` command of this environment."""
        exe = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
        return [exe]

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = (logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(args, env=self.env(), cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        (self.home / "pids").mkdir(exist_ok=True)
        (self.home / "pids" / f"{name}.pid").write_text(str(proc.pid))
        return proc

    def start_server(self, timeout: float = 90) -> None:
        if not self.env().get("PREFECT_API_DATABASE_CONNECTION_URL"):
            # The embedded default: Prefect's data on a private PostgreSQL under the data folder
            # (deployments/ops/private_pg.py); the application's stay on SQLite.
            from deployments.ops.private_pg import PrivatePostgres

            self.private_pg = PrivatePostgres(home=self.home, port=free_port())
            self.extra_env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.private_pg.start()
        # Loopback only, whatever the gateway listens on: nobody reaches Prefect but through it.
        self._spawn("server", self.prefect_cli() + ["server", "start", "--host", "127.0.0.1", "--port",
                                                  str(self.server_port)])
        self._await("server", f"{self.api_url}/health", timeout, "Prefect 服务")
        self.start_gateway()
        self.write_record()

    def write_record(self) -> None:
        """Say in the data folder how this stack is reached (owner-only: the application
        database's address may hold a password)."""
        env = self.env()
        data = {"env": {k: env[k] for k in REACH_VARIABLES if env.get(k)}, "gateway_port": self.port,
                "inbox_port": self.inbox_port}
        tmp = self.home / (RECORD + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, self.home / RECORD)

    def _await(self, name: str, url: str, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"{what}未能启动，请查看日志：{self.home / 'logs' / f'{name}.log'}")

    def start_gateway(self, name: str = "gateway", port: int | None = None, env: dict[str, str] | None = None,
                      timeout: float = 60) -> str:
        """The login gateway in front of the Prefect server (deployments/gateway); returns its
        address. Another one (another name and port, e.g. with other settings) may run beside it."""
        port = port or self.port
        saved = dict(self.extra_env)
        self.extra_env.update(env or {})
        try:
            self._spawn(name, [sys.executable, "-m", "deployments.gateway", "--port", str(port),
                               "--upstream", self.server_url])
        finally:
            self.extra_env = saved
        self._await(name, f"http://127.0.0.1:{port}/gateway/health", timeout, "登录网关")
        return f"http://127.0.0.1:{port}"

    def start_public(self, port: int = 4300, host: str | None = None, timeout: float = 60) -> str:
        """The public reporting page (网络举报) on its own port; it listens on `host` (the setting
        XUNCHA_PUBLIC_HOST, default 127.0.0.1) and reaches only the application database.
        Returns its address."""
        host = host or self.env().get("XUNCHA_PUBLIC_HOST") or "127.0.0.1"
        self._spawn("public", [sys.executable, "-m", "deployments.public", "--port", str(port), "--host", host])
        local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self._await("public", f"http://{local}:{port}/health", timeout, "公开举报页面")
        return f"http://{local}:{port}"

    def run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, env=self.env(), cwd=PROJECT_ROOT, capture_output=True, text=True, check=check,
                              stdin=subprocess.DEVNULL)

    def deploy(self) -> None:
        template = self.home / "work-pool-template.json"
        template.write_text(json.dumps(pool_template(), ensure_ascii=False), encoding="utf-8")
        self.run(self.prefect_cli() + ["work-pool", "create", POOL, "--type", "process", "--base-job-template",
                                       str(template), "--overwrite"])
        self.run(self.prefect_cli() + ["work-pool", "set-concurrency-limit", POOL, str(self.pool_limit)])
        result = self.run(self.prefect_cli() + ["--no-prompt", "deploy", "--all"], check=False)
        if result.returncode != 0:
            raise RuntimeError("部署注册失败：\n" + result.stdout[-3000:] + result.stderr[-3000:])
        result = self.run([sys.executable, "-m", "deployments.ops.retired"], check=False)
        if result.returncode != 0:
            raise RuntimeError("清理旧版本的部署与自动化失败：\n" + result.stderr[-3000:])

    def start_worker(self, name: str = "worker", timeout: float = 120) -> subprocess.Popen[bytes]:
        """A process worker, with its warm launcher (deployments/ops/launcher.py) started first if it
        does not run yet: the worker's runs are forked from it (ENGINE_COMMAND)."""
        socket_path = self.launcher_socket(name)
        launcher = self.procs.get(f"{name}-launcher")
        if launcher is None or launcher.poll() is not None:
            socket_path.unlink(missing_ok=True)
            launcher = self._spawn(f"{name}-launcher", [sys.executable, "-m", "deployments.ops.launcher",
                                                        "--socket", str(socket_path)])
            deadline = time.monotonic() + timeout
            while not socket_path.exists():
                if launcher.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"预热启动进程未能启动，请查看日志：{self.home / 'logs' / f'{name}-launcher.log'}")
                time.sleep(0.2)
        saved = dict(self.extra_env)
        self.extra_env["XUNCHA_LAUNCHER_SOCKET"] = str(socket_path)
        try:
            # No `--limit`: the pool's limit (set in deploy) is enforced by the server. (Prefect 3.8.8's
            # worker died with a limit when a suspended run was resumed quickly; 3.9.1 no longer does.)
            return self._spawn(name, self.prefect_cli() + ["worker", "start", "--pool", POOL,
                                                          "--name", f"{name}-{os.getpid()}"])
        finally:
            self.extra_env = saved

    def launcher_socket(self, name: str) -> Path:
        # A Unix socket's path may hold at most 107 bytes: under the data folder where it fits,
        # else in an owner-only folder of the temporary directory named after the data folder.
        path = self.home / "launch" / f"{name}.sock"
        if len(str(path).encode()) <= 100:
            return path
        import hashlib
        import tempfile

        tag = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"xuncha-launch-{tag}" / f"{name}.sock"

    def start_relay(self, name: str = "relay") -> subprocess.Popen[bytes]:
        """The relay delivers alerts, reminds gates, starts registered look-backs and recovers
        crashed runs (deployments/ops/relay.py); several may run together."""
        return self._spawn(name, [sys.executable, "-m", "deployments.ops.relay"])

    def start_inbox(self, port: int, file: Path) -> subprocess.Popen[bytes]:
        """The demo inbox (deployments/ops/inbox.py): alerts sent to it are appended to `file`."""
        proc = self._spawn("inbox", [sys.executable, "-m", "deployments.ops.inbox", "--port", str(port), "--file", str(file)])
        self.inbox_port = port
        self.write_record()
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a worker still draining its runs: stop it hard
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM to every process at once, then SIGKILL to any still running after `grace`
        seconds (a worker draining its runs holds on for about that long): one wait, not one each."""
        procs = [self.procs.pop(name) for name in list(self.procs)]
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
        if self.private_pg is not None:
            self.private_pg.stop()
        (self.home / RECORD).unlink(missing_ok=True)


def stop_recorded(home: Path) -> list[str]:
    """Stop processes a previous `up` left running (their PIDs are under home/pids)."""
    (home / RECORD).unlink(missing_ok=True)
    stopped = []
    for pidfile in sorted((home / "pids").glob("*.pid")) if (home / "pids").exists() else []:
        try:
            os.killpg(int(pidfile.read_text()), signal.SIGTERM)
            stopped.append(pidfile.stem)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pidfile.unlink()
    from deployments.ops.private_pg import stop_private

    if stop_private(home):
        stopped.append("prefect-pg")
    return stopped


def read_record(home: Path) -> dict[str, Any]:
    """What `write_record` wrote for the stack running on `home`; empty when none runs."""
    try:
        data = json.loads((home / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


PG_SERVER = os.environ.get("XUNCHA_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")


# How a worker starts a flow run: deployments/ops/launch_run.py (with the Python of XUNCHA_PYTHON, what
# `up` runs with, or else this checkout's own virtualenv on each machine; every worker sets
# XUNCHA_PROJECT_DIR, which the deployments' pull step needs as well) asks the warm launcher beside
# the worker to fork the run from a process that has imported Prefect and the flows already
# (deployments/ops/launcher.py); where none answers, it starts `python -m prefect.engine` itself.
# Left blank, Prefect 3.9's process worker starts a workspace supervisor first, which imports
# Prefect, prepares the workspace and only then execs the engine, which imports it all again: about
# 1.5 s of CPU more for every start and every resume after an approval (bench/README.md).
# `-S`: the client needs the standard library only, and no site hook of the environment (a
# sitecustomize) is to run in it; the engine it may start instead is started without `-S`.
ENGINE_COMMAND = ("sh -c 'exec \"${XUNCHA_PYTHON:-${XUNCHA_PROJECT_DIR:?}/.venv/bin/python}\" -S "
                  "\"${XUNCHA_PROJECT_DIR:?}/deployments/ops/launch_run.py\"'")


def pool_template() -> dict[str, Any]:
    """The process pool's job template with ENGINE_COMMAND as the command's default."""
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    command = template["variables"]["properties"]["command"]
    command["default"] = ENGINE_COMMAND
    command["description"] = ("启动流程运行的命令（本系统设定：由执行器旁的预热启动进程派生，"
                              "没有预热启动进程时用代码目录中的 .venv 直接启动，不经工作区准备进程）。")
    return template


def postgres_env(name: str, server: str = PG_SERVER, fresh: bool = True) -> dict[str, str]:
    """Environment for a stack whose Prefect server and application data are both on PostgreSQL:
    databases `<name>_prefect` and `<name>_app` on `server` (created, or emptied when `fresh`)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in (f"{name}_prefect", f"{name}_app"):
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": db}).first()
            if exists and fresh:
                conn.execute(text(f'DROP DATABASE "{db}" WITH (FORCE)'))
            if not exists or fresh:
                conn.execute(text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    base = server.split("://", 1)[1]
    return {
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{base}/{name}_prefect",
        "XUNCHA_DATABASE_URL": f"postgresql+psycopg://{base}/{name}_app",
    }


def drop_postgres(name: str, server: str = PG_SERVER) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in (f"{name}_prefect", f"{name}_app"):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()
