"""The SSRF guard resolves URL host names in a worker thread, never on the event loop, and still
refuses names that lead to internal addresses."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.pipeline.validation import validate_input
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.validators import RegistryHost, RepoUrl

pytestmark = pytest.mark.anyio


class Probe(BaseModel):
    url: RepoUrl | None = None
    registry: RegistryHost | None = None


NAMES = {"db.internal.example": "10.1.2.3"}  # what the stand-in resolver answers: never a real DNS query


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every getaddrinfo call: the host and the thread it ran on, answered from NAMES."""
    calls: list[tuple[str, int]] = []

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((str(host), threading.get_ident()))
        if host not in NAMES:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (NAMES[host], 0))]

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return calls


async def test_host_names_resolve_off_the_event_loop(lookups: list[tuple[str, int]]) -> None:
    loop_thread = threading.get_ident()
    with pytest.raises(InvalidInput) as refused:
        await validate_input("probe", Probe, {"url": "http://db.internal.example:8879/charts"}, Settings())
    assert str(refused.value) == (
        "Invalid arguments for probe: 'url': the URL host 'db.internal.example' is a private address (10.1.2.3), "
        "refused unless --allowed-hosts permits it."
    )
    assert [host for host, _ in lookups] == ["db.internal.example"]
    assert all(thread != loop_thread for _, thread in lookups)


async def test_the_guard_still_honours_allowed_hosts(lookups: list[tuple[str, int]]) -> None:
    allowed = Settings(allowed_hosts=("10.0.0.0/8",))
    arguments = {"url": "http://db.internal.example:8879/", "registry": "db.internal.example:5000"}
    probe = await validate_input("probe", Probe, arguments, allowed)
    assert isinstance(probe, Probe) and probe.registry == "db.internal.example:5000"
    assert [host for host, _ in lookups] == ["db.internal.example", "db.internal.example"]
    with pytest.raises(InvalidInput, match=r"'registry': the URL host 'db\.internal\.example' is a private address"):
        await validate_input("probe", Probe, {"registry": "db.internal.example:5000"}, Settings())


async def test_localhost_names_need_no_resolver(lookups: list[tuple[str, int]]) -> None:
    """'localhost' and names under it are loopback whatever DNS says (RFC 6761)."""
    for url in ("http://localhost:8879/", "http://registry.localhost/"):
        with pytest.raises(InvalidInput, match=r"is a loopback address \(127\.0\.0\.1\)"):
            await validate_input("probe", Probe, {"url": url}, Settings())
    assert lookups == []


async def test_literal_addresses_need_no_resolver(lookups: list[tuple[str, int]]) -> None:
    with pytest.raises(InvalidInput, match=r"'url': the URL host '169\.254\.169\.254' is a cloud metadata address"):
        await validate_input("probe", Probe, {"url": "http://169.254.169.254/latest/"}, Settings())
    assert lookups == []
