"""What the worker starts for a flow run (deployments/ops/stack.py ENGINE_COMMAND): asks the warm
launcher beside the worker (deployments/ops/launcher.py, socket in XUNCHA_LAUNCHER_SOCKET) to fork
the run, then stands in for it — the signals the worker sends go to the run, and this process
exits as the run did. Where no launcher answers, it becomes `python -m prefect.engine` itself.

Standard library only and run by its path: it must start in a few tens of milliseconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

HEADER = struct.Struct("!I")
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def start_engine() -> None:
    """The usual start: this process becomes the engine."""
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine"])


def connect(path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(10)
        sock.connect(path)
        body = json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}).encode("utf-8")
        socket.send_fds(sock, [HEADER.pack(len(body))], [0, 1, 2])
        sock.sendall(body)
    except OSError:
        sock.close()
        return None
    return sock


def main() -> None:
    path = os.environ.get("XUNCHA_LAUNCHER_SOCKET", "")
    sock = connect(path) if path else None
    if sock is None:
        start_engine()
        return
    pending: list[int] = []
    child = 0

    def forward(sig: int, _frame: object) -> None:
        if child:
            try:
                os.kill(child, sig)
            except ProcessLookupError:
                pass
        else:
            pending.append(sig)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    sock.settimeout(None)
    reader = sock.makefile("rb")
    first = reader.readline().decode("ascii", "replace").split()
    if not first or first[0] != "pid":  # refused, or the launcher died before forking
        reader.close()
        sock.close()
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        if pending:
            os.kill(os.getpid(), pending[0])
        start_engine()
        return
    child = int(first[1])
    for early in pending:
        forward(early, None)
    last = reader.readline().decode("ascii", "replace").split()
    if len(last) != 2 or last[0] != "exit":
        # The launcher went away with the run still going: nobody can report how it ends.
        try:
            os.killpg(child, signal.SIGKILL)
        except OSError:
            pass
        print("预热启动进程意外退出，本次流程运行已中止，将按中断处理并自动恢复", file=sys.stderr)
        sys.exit(1)
    status = int(last[1])
    if os.WIFSIGNALED(status):
        died_of = os.WTERMSIG(status)
        signal.signal(died_of, signal.SIG_DFL)
        os.kill(os.getpid(), died_of)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


if __name__ == "__main__":
    main()
