"""The command line: `kubehelm-mcp serve`, `kubehelm-mcp gateway` and `kubehelm-mcp version`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

import anyio

from kubehelm_mcp import __version__
from kubehelm_mcp.hardening import harden
from kubehelm_mcp.logfilter import install_scrub_filter, server_secrets
from kubehelm_mcp.settings import Settings, SettingsError, add_settings_arguments, check_settings, load_settings

log = logging.getLogger("kubehelm_mcp")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubehelm-mcp", description="MCP server for Kubernetes and Helm.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Run the MCP server.")
    add_settings_arguments(serve)
    commands.add_parser("version", help="Print the version.")
    gateway = commands.add_parser("gateway", help="Serve many MCP servers behind one HTTP endpoint (docs/gateway.md).")
    gateway.add_argument("--config", dest="gateway_config", required=True, help="YAML, or mcpServers JSON.")
    add_settings_arguments(gateway)  # the HTTP, auth, limits and telemetry settings of `serve`
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


async def _serve_stdio(server: Any, settings: Settings, stdin: Any = None, stdout: Any = None) -> None:
    """stdin, stdout: the wire as faststart hands it over; by default the SDK claims fds 0 and 1."""
    from mcp.server.stdio import stdio_server

    from kubehelm_mcp.api import server_parts

    try:
        async with stdio_server(stdin, stdout) as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await server_parts(server).close()


def _serve_stdio_fast(settings: Settings) -> None:
    """stdio, answering the handshake from the record of an earlier start while the server loads
    in a thread (faststart.py), then handing the connection to it."""
    import queue
    import threading

    from kubehelm_mcp.faststart import (
        EOF_MARK,
        EarlyAnswers,
        HandshakeRecord,
        LineReader,
        WireIn,
        WireOut,
        claim_stdio,
    )

    wire_in, wire_out = claim_stdio()
    lock = threading.Lock()

    def write(data: bytes) -> None:
        with lock:
            wire_out.write(data)
            wire_out.flush()

    early = EarlyAnswers(HandshakeRecord(repr(settings)), write)
    reader = LineReader(wire_in)
    reader.start()
    inbox = reader.inbox
    loaded: dict[str, Any] = {}

    def load() -> None:
        try:
            from kubehelm_mcp.api import create_server
            from kubehelm_mcp.kube.clients import import_client_library

            loaded["server"] = create_server(settings)
            import_client_library()  # the warm-up's slowest part (~0.5 s): before the handover, not after
        except BaseException as exc:  # raised again below, in the main thread
            loaded["error"] = exc

    loader = threading.Thread(target=load, name="server-load", daemon=True)
    loader.start()
    while loader.is_alive() and early.answering:
        try:
            line = inbox.get(timeout=0.005)
        except queue.Empty:
            continue
        if line == EOF_MARK:  # the client left already: the server sees the end after the replay
            inbox.put(EOF_MARK)
            break
        early.take(line)
    loader.join()
    if "error" in loaded:
        raise loaded["error"]
    anyio.run(_serve_stdio, loaded["server"], settings, WireIn(early, reader), WireOut(early, wire_out, lock))


async def _serve_http(server: Any, settings: Settings) -> None:
    from uvicorn.config import LOGGING_CONFIG

    from kubehelm_mcp.api import server_parts
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
    if settings.server.transport == "stdio" and settings.server.fast_start:
        _serve_stdio_fast(settings)
        return
    from kubehelm_mcp.api import create_server

    server = create_server(settings)
    runner = _serve_stdio if settings.server.transport == "stdio" else _serve_http
    anyio.run(runner, server, settings)


def gateway(config_path: str, settings: Settings) -> int:
    from kubehelm_mcp.gateway.config import GatewayConfigError, load_config
    from kubehelm_mcp.gateway.serving import serve_gateway

    _configure_logging(settings.telemetry.log_level, settings.telemetry.log_format, server_secrets(settings))
    try:
        load_config(config_path)  # a bad file stops here, in one sentence, before any child starts
    except GatewayConfigError as exc:
        print(f"kubehelm-mcp gateway: {exc}", file=sys.stderr)
        return 2
    anyio.run(serve_gateway, Path(config_path), settings)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"kubehelm-mcp {__version__}")
        return 0
    try:
        settings = load_settings(args)  # every group's checks (check_settings), before anything binds a socket
        if args.command == "gateway":
            settings = check_settings(settings.replace(transport="http"))  # HTTP's auth rules apply
    except SettingsError as exc:
        print(f"kubehelm-mcp: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "gateway":
            return gateway(args.gateway_config, settings)
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
