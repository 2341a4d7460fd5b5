"""The pure parts of HTTP hardening: Host/Origin policy for every kind of bind, TLS pair checks,
the new settings' validation, request head sizing and the in-flight call tracker."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from kubehelm_mcp.pipeline.inflight import InFlight
from kubehelm_mcp.settings import Settings, SettingsError, load_settings
from kubehelm_mcp.web.limits import head_bytes
from kubehelm_mcp.web.origins import OriginPolicy, cors_middleware
from kubehelm_mcp.web.protocol import TimedH11Protocol, timed_h11
from tests.support.tls import write_pair


def policy(**changes: object) -> OriginPolicy:
    return OriginPolicy.from_settings(Settings(transport="http").replace(**changes).http)


def test_loopback_bind_admits_loopback_names_on_any_port() -> None:
    loopback = policy()
    for host in ("127.0.0.1:8080", "localhost:1", "LOCALHOST", "[::1]:8080", "127.0.0.1"):
        assert loopback.host_allowed(host), host
    for foreign in ("attacker.test", "attacker.test:8080", "127.0.0.1.attacker.test", "10.0.0.5:8080", "", None):
        assert not loopback.host_allowed(foreign), foreign
    for origin in ("http://localhost:3000", "https://127.0.0.1", "http://[::1]:9"):
        assert loopback.origin_allowed(origin), origin
    for origin in ("http://attacker.test", "http://localhost.attacker.test", "null", "file://"):
        assert not loopback.origin_allowed(origin), origin
    assert loopback.origin_allowed(None) and loopback.origin_allowed("")  # no browser, nothing to rebind


def test_a_non_loopback_bind_is_protected_too() -> None:
    """On by default everywhere: a routable bind admits its own address, not any Host."""
    routable = policy(host="10.0.0.5")
    assert routable.host_allowed("10.0.0.5:8080") and routable.host_allowed("10.0.0.5")
    assert routable.origin_allowed("https://10.0.0.5:8443")
    assert not routable.host_allowed("attacker.test:8080")
    assert not routable.origin_allowed("https://attacker.test")
    ipv6 = policy(host="fd00::5")
    assert ipv6.host_allowed("[fd00::5]:8080") and not ipv6.host_allowed("[fd00::6]:8080")


def test_a_wildcard_bind_admits_only_loopback_and_configured_names() -> None:
    for bind in ("0.0.0.0", "::"):  # noqa: S104
        wildcard = policy(host=bind)
        assert not wildcard.host_allowed(f"{bind}:8080") and not wildcard.host_allowed("mcp.example.com")
        assert wildcard.host_allowed("localhost:8080")
    configured = policy(host="0.0.0.0", http_allowed_hosts=("mcp.example.com", "*.svc.cluster.local"))  # noqa: S104
    assert configured.host_allowed("mcp.example.com") and configured.host_allowed("MCP.EXAMPLE.COM:443")
    assert configured.host_allowed("kubehelm-mcp.tools.svc.cluster.local:8080")
    assert not configured.host_allowed("svc.cluster.local.attacker.test")


def test_host_globs_with_a_port_pin_the_port() -> None:
    pinned = policy(http_allowed_hosts=("mcp.example.com:8443",))
    assert pinned.host_allowed("mcp.example.com:8443")
    assert not pinned.host_allowed("mcp.example.com:9443") and not pinned.host_allowed("mcp.example.com")


def test_allowed_and_cors_origins_pass_the_origin_check() -> None:
    configured = policy(http_allowed_origins=("https://*.example.com",), cors_origins=("https://app.example.org",))
    assert configured.origin_allowed("https://tools.example.com")
    assert configured.origin_allowed("https://app.example.org")
    assert not configured.origin_allowed("http://tools.example.com")  # another scheme is another origin
    assert not configured.origin_allowed("https://app.example.org.attacker.test")


def test_cors_is_configured_only_with_origins() -> None:
    assert cors_middleware(Settings().http) is None
    middleware = cors_middleware(Settings(cors_origins=("https://app.example.org",)).http)
    assert middleware is not None
    assert middleware.kwargs["allow_origins"] == ["https://app.example.org"]
    assert middleware.kwargs["expose_headers"] == ["Mcp-Session-Id", "Mcp-Protocol-Version", "WWW-Authenticate"]


def tls_problem(settings: Settings) -> str | None:
    """The http group's own check (TLS included), given the transport as check_settings gives it."""
    return next(iter(settings.http.problems(settings.server.transport)), None)


def test_tls_problems(tmp_path: Path) -> None:
    cert, key = write_pair(tmp_path, "one")
    _, other_key = write_pair(tmp_path, "two")
    http = Settings(transport="http")
    assert tls_problem(http) is None
    assert tls_problem(http.replace(tls_cert=str(cert), tls_key=str(key))) is None
    assert tls_problem(Settings(transport="stdio", tls_cert=str(cert))) is None  # stdio serves no TLS
    assert "--tls-cert needs --tls-key" in (tls_problem(http.replace(tls_cert=str(cert))) or "")
    assert "--tls-key needs --tls-cert" in (tls_problem(http.replace(tls_key=str(key))) or "")
    missing = tls_problem(http.replace(tls_cert=str(tmp_path / "nope.crt"), tls_key=str(key))) or ""
    assert "--tls-cert" in missing and "cannot be read" in missing
    assert "matching" in (tls_problem(http.replace(tls_cert=str(cert), tls_key=str(other_key))) or "")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    assert "matching" in (tls_problem(http.replace(tls_cert=str(garbage), tls_key=str(key))) or "")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAX_BODY_BYTES", "100"),
        ("MAX_HEADER_BYTES", "0"),
        ("READ_TIMEOUT", "0"),
        ("KEEP_ALIVE_TIMEOUT", "0"),
        ("MAX_CONNECTIONS", "0"),
        ("SHUTDOWN_GRACE", "-1"),
    ],
)
def test_unusable_limits_are_refused(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable.lower().replace("_", "-")):
        load_settings(environ={f"KUBEHELM_MCP_{variable}": value})


def test_limits_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "KUBEHELM_MCP_MAX_BODY_BYTES": "2048",
            "KUBEHELM_MCP_SHUTDOWN_GRACE": "0",
            "KUBEHELM_MCP_HTTP_ALLOWED_HOSTS": "a.example.com, *.b.example.com",
            "KUBEHELM_MCP_STATELESS": "true",
        }
    )
    assert settings.http_limits.max_body_bytes == 2048 and settings.http_limits.shutdown_grace == 0
    assert settings.http.http_allowed_hosts == ("a.example.com", "*.b.example.com")
    assert settings.http.stateless


def test_head_bytes_counts_the_request_line_and_headers() -> None:
    scope = {
        "method": "GET",
        "raw_path": b"/mcp",
        "query_string": b"a=1",
        "headers": [(b"host", b"127.0.0.1:8080"), (b"x-padding", b"p" * 1000)],
    }
    assert 1000 + 14 + 4 + 9 + 4 <= head_bytes(scope) <= 1000 + 14 + 4 + 9 + 4 + 40


def test_the_protocol_class_carries_its_read_timeout() -> None:
    protocol = timed_h11(7.5)
    assert issubclass(protocol, TimedH11Protocol) and protocol.read_timeout == 7.5
    assert TimedH11Protocol.read_timeout == 30.0  # the base class is not changed


@pytest.mark.anyio
async def test_in_flight_calls_are_counted_and_cancelled() -> None:
    calls = InFlight()
    results: list[str] = []

    async def slow() -> str:
        await anyio.sleep(3600)
        return "finished"

    async def quick() -> str:
        return "quick"

    assert await calls.run(quick(), otherwise="cancelled") == "quick"
    async with anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(lambda: _collect(calls.run(slow(), otherwise="cancelled"), results))
        await anyio.wait_all_tasks_blocked()  # both calls are in their sleep
        assert calls.count == 2
        assert calls.cancel_all() == 2
    assert results == ["cancelled", "cancelled"]
    assert calls.count == 0


async def _collect(call: object, into: list[str]) -> None:
    into.append(await call)  # type: ignore[misc]
