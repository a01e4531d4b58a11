"""`python -m deployments.public --port 4300` (listens on XUNCHA_PUBLIC_HOST, default 127.0.0.1)."""

from __future__ import annotations

import argparse

import uvicorn

from deployments.public.app import create_app
from models.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description="巡察公开举报页面（网络举报）")
    parser.add_argument("--port", type=int, default=None, help="端口，默认取设置 XUNCHA_PUBLIC_PORT（4300）")
    parser.add_argument("--host", default=None, help="监听地址，默认取设置 XUNCHA_PUBLIC_HOST（127.0.0.1）")
    args = parser.parse_args()
    settings = get_settings()
    # No access log: a request line is no business of the logs (and no proxy headers are trusted:
    # the rate limits count the address the connection comes from).
    uvicorn.run(create_app(settings=settings), host=args.host or settings.public_host,
                port=args.port or settings.public_port, log_level="warning", access_log=False,
                proxy_headers=False, server_header=False)


if __name__ == "__main__":
    main()
