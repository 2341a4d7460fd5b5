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
from kubehelm_mcp.logfilter import install_scrub_filter, server_secrets
from kubehelm_mcp.settings import Settings, SettingsError, add_settings_arguments, load_settings

log = logging.getLogger("kubehelm_mcp")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubehelm-mcp", description="MCP server for Kubernetes and Helm.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Run the MCP server.")
    add_settings_arguments(serve)
    commands.add_parser("version", help="Print the version.")
    return parser


def _configure_logging(level: str, log_format: str = "text", known: tuple[str, ...] = ()) -> None:
    # stdout carries the MCP protocol in stdio mode, so every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if log_format == "json":
        from kubehelm_mcp.telemetry.jsonlogs import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
        logging.captureWarnings(True)  # Python warnings become JSON lines too, not bare text
    install_scrub_filter(known=known)  # no credential in any line, whoever logs it


async def _serve_stdio(server: Any, settings: Settings) -> None:
    from mcp.server.stdio import stdio_server

    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await server_parts(server).close()


async def _serve_http(server: Any, settings: Settings) -> None:
    from uvicorn.config import LOGGING_CONFIG

    from kubehelm_mcp.web.serving import http_server, serve_drained

    uvicorn_server = http_server(
        server,
        server_parts(server),
        # JSON: uvicorn's loggers keep no text handlers of their own and reach the root's JSON one
        log_config=None if settings.telemetry.log_format == "json" else LOGGING_CONFIG,
    )
    # uvicorn's own handlers, when it has them
    install_scrub_filter("uvicorn", "uvicorn.access", known=server_secrets(settings))
    scheme = "https" if settings.http.tls_cert else "http"
    log.info(
        "serving MCP on %s://%s:%d%s (SSE at /sse)", scheme, settings.http.host, settings.http.port, settings.http.path
    )
    await serve_drained(uvicorn_server)  # SIGTERM drains running calls (--shutdown-grace), then exits 0


def serve(settings: Settings) -> None:
    _configure_logging(settings.telemetry.log_level, settings.telemetry.log_format, server_secrets(settings))
    if settings.server.harden:
        harden()
    server = create_server(settings)
    runner = _serve_stdio if settings.server.transport == "stdio" else _serve_http
    anyio.run(runner, server, settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"kubehelm-mcp {__version__}")
        return 0
    try:
        settings = load_settings(args)  # every group's checks (check_settings), before anything binds a socket
    except SettingsError as exc:
        print(f"kubehelm-mcp: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
