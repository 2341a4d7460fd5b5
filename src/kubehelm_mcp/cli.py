"""The command line: `kubehelm-mcp serve` and `kubehelm-mcp version`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from typing import Any

import anyio

from kubehelm_mcp import __version__
from kubehelm_mcp.api import create_server, server_parts
from kubehelm_mcp.hardening import harden
from kubehelm_mcp.settings import Settings, SettingsError, add_settings_arguments, load_settings
from kubehelm_mcp.web.auth import auth_config_problem

log = logging.getLogger("kubehelm_mcp")
GRACEFUL_SHUTDOWN_SECONDS = 10


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubehelm-mcp", description="MCP server for Kubernetes and Helm.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Run the MCP server.")
    add_settings_arguments(serve)
    commands.add_parser("version", help="Print the version.")
    return parser


def _configure_logging(level: str) -> None:
    # stdout carries the MCP protocol in stdio mode, so every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


async def _serve_stdio(server: Any, settings: Settings) -> None:
    from mcp.server.stdio import stdio_server

    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await server_parts(server).close()


async def _serve_http(server: Any, settings: Settings) -> None:
    import uvicorn

    from kubehelm_mcp.web.app import create_app

    app = create_app(server, server_parts(server))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    log.info("serving MCP on http://%s:%d%s (SSE at /sse)", settings.host, settings.port, settings.path)
    await uvicorn.Server(config).serve()  # uvicorn stops gracefully on SIGTERM and SIGINT


def serve(settings: Settings) -> None:
    _configure_logging(settings.log_level)
    if settings.harden:
        harden()
    server = create_server(settings)
    runner = _serve_stdio if settings.transport == "stdio" else _serve_http
    anyio.run(runner, server, settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"kubehelm-mcp {__version__}")
        return 0
    try:
        settings = load_settings(args)
    except SettingsError as exc:
        print(f"kubehelm-mcp: {exc}", file=sys.stderr)
        return 2
    refusal = auth_config_problem(settings)
    if refusal:  # checked before anything binds a socket
        print(f"kubehelm-mcp: {refusal}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
