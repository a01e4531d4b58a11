"""A local alert inbox: an HTTP endpoint for Apprise `json://` that appends each message to
a JSON-lines file. The demo points its recipients here; the tests use it as a real receiver."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Inbox:
    def __init__(self, path: Path | None = None, port: int = 0) -> None:
        self.path = path
        self.messages: list[dict[str, Any]] = []
        self.status = 200  # set to 500 to simulate a failing receiver
        self.delay = 0.0  # seconds to take before answering (a slow receiver)
        self._lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if inbox.status != 200:
                    self.send_response(inbox.status)
                    self.end_headers()
                    return
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {"raw": body.decode(errors="replace")}
                inbox.record({"path": self.path, **payload})
                if inbox.delay:
                    time.sleep(inbox.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self._thread: threading.Thread | None = None

    def record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(message, ensure_ascii=False) + "\n")

    def start(self) -> Inbox:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="本机提醒收件箱（演示用）")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args()
    inbox = Inbox(args.file, args.port)
    inbox.server.serve_forever()


if __name__ == "__main__":
    main()
