"""`python -m deployments.gateway --port 4200 --upstream http://127.0.0.1:<prefect port>`."""

from __future__ import annotations

import argparse

import uvicorn

from deployments.gateway.app import create_app
from models.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description="巡察工作系统登录网关")
    parser.add_argument("--port", type=int, required=True, help="网关端口（工作人员打开的地址）")
    parser.add_argument("--upstream", required=True, help="Prefect 服务地址（仅本机回环）")
    parser.add_argument("--host", default=None, help="监听地址，默认取设置 XUNCHA_GATEWAY_HOST")
    args = parser.parse_args()
    host = args.host or get_settings().gateway_host
    uvicorn.run(create_app(upstream=args.upstream), host=host, port=args.port, log_level="warning",
                proxy_headers=False, ws="auto")


if __name__ == "__main__":
    main()
