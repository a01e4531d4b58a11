"""A stand-in for prefect.engine that tests/ops/test_launcher.py has the warm launcher run:
what it does is set by LAUNCH_TEST_MODE, what it reports goes to LAUNCH_TEST_OUT (JSON)."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import time
from pathlib import Path

out = Path(os.environ["LAUNCH_TEST_OUT"])
mode = os.environ.get("LAUNCH_TEST_MODE", "exit")


def report(**more: object) -> None:
    data = json.loads(out.read_text()) if out.exists() else {}
    data.update(more)
    out.write_text(json.dumps(data))


report(pid=os.getpid(), ppid=os.getppid(), sid=os.getsid(0), cwd=os.getcwd(), marker=os.environ.get("LAUNCH_TEST_MARKER"),
       argv=sys.argv, prefect_loaded="prefect.flow_engine" in sys.modules)
atexit.register(lambda: report(atexit=True))
if mode == "exit":
    line = sys.stdin.readline().strip()
    print(f"stdout:{line}", flush=True)
    print("stderr:中文", file=sys.stderr, flush=True)
    sys.exit(int(os.environ.get("LAUNCH_TEST_CODE", "0")))
elif mode == "term":
    def on_term(*_: object) -> None:
        report(term=True)
        sys.exit(7)

    signal.signal(signal.SIGTERM, on_term)
    report(ready=True)
    time.sleep(120)
elif mode == "signal":
    os.kill(os.getpid(), signal.SIGUSR1)
    time.sleep(5)
elif mode == "sleep":
    report(ready=True)
    time.sleep(120)
