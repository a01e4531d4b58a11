"""The warm launcher and its client (deployments/ops/launcher.py, launch_run.py) stand in for a
flow run's process as the worker sees it: streams, environment, working folder, exit code, the
signal it died of, SIGTERM forwarded, killed with its client, stopped with the launcher, and the
usual start when no launcher answers. The launcher runs tests/support/launched.py here instead
of prefect.engine; the whole path with Prefect runs in every end-to-end test (tests/e2e)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from deployments.ops.stack import ENGINE_COMMAND
from models.settings import PROJECT_ROOT

# What the worker runs for each flow run (the process pool's command), as it runs it.
COMMAND = shlex.split(ENGINE_COMMAND)
COMMAND_ENV = {"XUNCHA_PYTHON": sys.executable, "XUNCHA_PROJECT_DIR": str(PROJECT_ROOT)}


def wait_until(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# The launcher as a process with a thread of its own started before it warms up (forking then is
# unsafe: the launcher must refuse, and the client start the engine itself).
THREADED = ("import sys, threading, time; threading.Thread(target=time.sleep, args=(3600,), daemon=True,"
            " name='先起的线程').start(); from deployments.ops.launcher import main; sys.exit(main())")


@contextmanager
def running_launcher(sock: Path, *, threaded: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """A launcher on `sock` that runs tests/support/launched.py, its log beside the socket's folder;
    stopped (SIGTERM, else SIGKILL) on the way out if the test has not stopped it."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    sock.parent.parent.mkdir(parents=True, exist_ok=True)
    log = sock.parent.parent / "launcher.log"
    start = ["-c", THREADED] if threaded else ["-m", "deployments.ops.launcher"]
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *start, "--socket", str(sock),
                                 "--module", "tests.support.launched"], cwd=PROJECT_ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: sock.exists() or proc.poll() is not None, timeout=120)
        assert sock.exists(), log.read_text(errors="replace")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    sock = tmp_path_factory.mktemp("launch") / "s" / "w.sock"
    with running_launcher(sock) as proc:
        yield proc, sock


def run_client(sock: Path, out: Path, mode: str, **env: str) -> subprocess.Popen[str]:
    full = dict(os.environ, XUNCHA_LAUNCHER_SOCKET=str(sock), LAUNCH_TEST_OUT=str(out), LAUNCH_TEST_MODE=mode,
                **COMMAND_ENV, **env)
    return subprocess.Popen(COMMAND, cwd=out.parent, env=full, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def report(out: Path) -> dict[str, Any]:
    return json.loads(out.read_text()) if out.exists() else {}


def test_run_gets_streams_environment_folder_and_exit_code(launcher: Any, tmp_path: Path) -> None:
    proc, sock = launcher
    out = tmp_path / "r.json"
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(f"open({str(tmp_path / 'hooked')!r}, 'w').close()\n")
    client = run_client(sock, out, "exit", LAUNCH_TEST_CODE="3", LAUNCH_TEST_MARKER="巡察-1",
                        PYTHONPATH=f"{hook}:{PROJECT_ROOT}")
    stdout, stderr = client.communicate("你好\n", timeout=60)
    assert not (tmp_path / "hooked").exists()  # the client ran no site hook (the test stack has one)
    assert client.returncode == 3
    assert stdout == "stdout:你好\n" and stderr == "stderr:中文\n"
    seen = report(out)
    assert seen["marker"] == "巡察-1" and seen["cwd"] == str(tmp_path)
    assert seen["ppid"] == proc.pid  # forked by the launcher, not started by the client
    assert seen["sid"] == seen["pid"]  # a session (and process group) of its own
    assert seen["prefect_loaded"] is True  # begins where the launcher's import ended
    assert seen["atexit"] is True  # left through the interpreter's normal shutdown


def test_sigterm_to_the_client_reaches_the_run(launcher: Any, tmp_path: Path) -> None:
    _, sock = launcher
    out = tmp_path / "r.json"
    client = run_client(sock, out, "term")
    wait_until(lambda: report(out).get("ready"))
    client.send_signal(signal.SIGTERM)  # what the worker sends to cancel a run
    client.wait(timeout=30)
    assert client.returncode == 7 and report(out).get("term") is True


def test_client_dies_of_the_signal_the_run_died_of(launcher: Any, tmp_path: Path) -> None:
    _, sock = launcher
    client = run_client(sock, tmp_path / "r.json", "signal")
    client.wait(timeout=30)
    assert client.returncode == -signal.SIGUSR1


def test_run_is_killed_with_its_client(launcher: Any, tmp_path: Path) -> None:
    _, sock = launcher
    out = tmp_path / "r.json"
    client = run_client(sock, out, "sleep")
    wait_until(lambda: report(out).get("ready"))
    pid = report(out)["pid"]
    client.kill()  # SIGKILL cannot be forwarded: the launcher sees the client go
    client.wait(timeout=30)
    wait_until(lambda: not alive(pid))


def test_without_a_launcher_the_client_starts_the_engine_itself(tmp_path: Path) -> None:
    env = dict(os.environ, XUNCHA_LAUNCHER_SOCKET=str(tmp_path / "none.sock"), PREFECT__FLOW_RUN_ID="不是编号",
               PREFECT_API_URL="http://127.0.0.1:9/api", PYTHONPATH=str(PROJECT_ROOT), **COMMAND_ENV)
    done = subprocess.run(COMMAND, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and "Invalid flow run id" in done.stderr + done.stdout  # prefect.engine's own check


def test_a_launcher_with_threads_refuses_to_fork_and_the_client_starts_the_engine_itself(tmp_path: Path) -> None:
    """A thread alive when the launcher would fork may hold a lock the child then never gets back:
    the launcher refuses every request (and says why in its log) and the runs start as usual."""
    sock = tmp_path / "s" / "w.sock"
    with running_launcher(sock, threaded=True):
        env = dict(os.environ, XUNCHA_LAUNCHER_SOCKET=str(sock), PREFECT__FLOW_RUN_ID="不是编号",
                   PREFECT_API_URL="http://127.0.0.1:9/api", PYTHONPATH=str(PROJECT_ROOT), **COMMAND_ENV)
        done = subprocess.run(COMMAND, env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and "Invalid flow run id" in done.stderr + done.stdout  # prefect.engine, not launched.py
    log = (tmp_path / "launcher.log").read_text(encoding="utf-8")
    assert "预先加载后有多个线程（MainThread, 先起的线程），不能安全地派生进程" in log


def test_stopping_the_launcher_stops_its_runs(tmp_path: Path) -> None:
    sock = tmp_path / "s" / "w.sock"
    with running_launcher(sock) as proc:
        out = tmp_path / "r.json"
        client = run_client(sock, out, "term")
        wait_until(lambda: report(out).get("ready"))
        proc.send_signal(signal.SIGTERM)
        client.wait(timeout=30)
        assert client.returncode == 7 and report(out).get("term") is True
        assert proc.wait(timeout=30) == 0 and not sock.exists()
