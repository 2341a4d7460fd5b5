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


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every getaddrinfo call: the host and the thread it ran on (the real resolver still answers)."""
    calls: list[tuple[str, int]] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((str(host), threading.get_ident()))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return calls


async def test_host_names_resolve_off_the_event_loop(lookups: list[tuple[str, int]]) -> None:
    loop_thread = threading.get_ident()
    with pytest.raises(InvalidInput) as refused:
        await validate_input("probe", Probe, {"url": "http://localhost:8879/charts"}, Settings())
    assert str(refused.value) == (
        "Invalid arguments for probe: 'url': the URL host 'localhost' is a loopback address (127.0.0.1), "
        "refused unless --allowed-hosts permits it."
    )
    assert [host for host, _ in lookups] == ["localhost"]
    assert all(thread != loop_thread for _, thread in lookups)


async def test_the_guard_still_honours_allowed_hosts(lookups: list[tuple[str, int]]) -> None:
    allowed = Settings(allowed_hosts=("127.0.0.0/8",))
    probe = await validate_input(
        "probe", Probe, {"url": "http://localhost:8879/", "registry": "localhost:5000"}, allowed
    )
    assert isinstance(probe, Probe) and probe.registry == "localhost:5000"
    assert [host for host, _ in lookups] == ["localhost", "localhost"]
    with pytest.raises(InvalidInput, match="'registry': the URL host 'localhost' is a loopback address"):
        await validate_input("probe", Probe, {"registry": "localhost:5000"}, Settings())


async def test_literal_addresses_need_no_resolver(lookups: list[tuple[str, int]]) -> None:
    with pytest.raises(InvalidInput, match=r"'url': the URL host '169\.254\.169\.254' is a cloud metadata address"):
        await validate_input("probe", Probe, {"url": "http://169.254.169.254/latest/"}, Settings())
    assert lookups == []
