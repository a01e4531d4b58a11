"""Prefect's own database on the embedded default: a private PostgreSQL under the data folder.

Prefect 3.8.8's server on SQLite answers "database is locked" (its worker-channel heartbeats,
its event and trigger services write alongside the API) even on a two-unit round on this
2-core machine, and a dropped write there is how waiting runs were once taken for lost. So
`up` keeps the application's data on SQLite (its writers serialise cleanly) and starts, for
Prefect alone, a PostgreSQL of its own: Debian's `postgresql` package (scripts/setup.sh
installs it), a cluster in `$XUNCHA_HOME/prefect-pg/`, listening on 127.0.0.1 only, trust
authentication for its one local user. No system service is used or changed.

PostgreSQL refuses to run as root. Run by root (CI, a root shell), the server is started in a
user namespace of its own (`unshare --user`), where it is not root and the data folder it owns
stays the caller's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

USER = "prefect"
DATABASE = "prefect"


class PrivatePostgresError(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest PostgreSQL server binaries Debian installed (or what pg_config names)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(re.sub(r"\D", "", p.parent.parent.name) or 0))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PrivatePostgresError("未找到 PostgreSQL 服务程序（Debian 软件包 postgresql）。请先运行 bash scripts/setup.sh 安装，"
                               "或用 PREFECT_API_DATABASE_CONNECTION_URL 指定已有的 PostgreSQL。")


@dataclass
class PrivatePostgres:
    home: Path  # the data folder ($XUNCHA_HOME)
    port: int

    @property
    def root(self) -> Path:
        return self.home / "prefect-pg"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.home / "logs" / "prefect-pg.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _cmd(self, *args: str) -> list[str]:
        command = [str(bin_dir() / args[0]), *args[1:]]
        if os.geteuid() == 0:
            # Inside the namespace root is seen as `nobody` (initdb wants a user it can look up);
            # outside, the files it writes still belong to the caller.
            import grp
            import pwd

            uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
            return ["unshare", "--user", f"--map-user={uid}", f"--map-group={gid}", *command]
        return command

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL, cwd=self.root)
        if result.returncode != 0:
            raise PrivatePostgresError(f"PostgreSQL 命令 {args[0]} 失败：{(result.stderr or result.stdout)[-1500:]}"
                                       f"（日志：{self.log}）")
        return result

    def init(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data), "status"), capture_output=True, stdin=subprocess.DEVNULL,
            cwd=self.root).returncode == 0

    def start(self) -> str:
        """Initialise once, start on this port (loopback only), create Prefect's database; the URL."""
        self.init()
        if self.running():
            self.stop()  # left by an earlier run, maybe on another port
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "90", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200",
                  "start",
                  timeout=150)
        self._create_database()
        return self.url

    def _create_database(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres",
                                     autocommit=True, connect_timeout=5) as conn:
                    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                        conn.execute(f'CREATE DATABASE "{DATABASE}"')
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"),
                           capture_output=True, stdin=subprocess.DEVNULL, cwd=self.root, timeout=120)


def stop_private(home: Path) -> bool:
    """Stop the private PostgreSQL of this data folder, if one runs (for `down`)."""
    pg = PrivatePostgres(home=home, port=0)
    if not (pg.data / "postmaster.pid").exists():
        return False
    pg.stop()
    return True
