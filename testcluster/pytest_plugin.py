"""pytest fixtures for a real cluster: `-p testcluster.pytest_plugin` or `pytest_plugins`.

Everything is session-scoped and built on first use. When something cannot be installed
or started the requesting test FAILS with the reason: a missing cluster must never read as
a green (skipped) run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from .controlplane import ControlPlane
from .install import Binaries, ensure_all, ensure_registry
from .netguard import guard_this_process, harness_guard
from .node import Node
from .registry import OciRegistry

T = TypeVar("T")


@contextlib.contextmanager
def _uncaptured(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let progress lines through pytest's capture: a silent 5-minute build looks hung."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        yield
        return
    with capture.global_and_fixture_disabled():
        yield


def _or_fail(request: pytest.FixtureRequest, what: str, action: Callable[[], T]) -> T:
    try:
        with _uncaptured(request):
            return action()
    except Exception as error:
        reason = f"test cluster: could not {what}: {type(error).__name__}: {error}"
    pytest.fail(reason, pytrace=False)  # outside `except`: no chained traceback noise


def pytest_configure(config: pytest.Config) -> None:
    """Mark this process before anything starts, so every child is watched, and refuse its own
    DNS lookups and non-loopback connections outright."""
    guard_this_process(harness_guard())


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[None]:
    """Fail the test during which a process of the run (this one, its children, the cluster's
    daemons and pods) held a socket to a non-loopback address; the sampler also runs between checks."""
    guard = harness_guard()
    before = len(guard.violations)
    yield
    guard.check()
    escaped = guard.violations[before:]
    if escaped:
        pytest.fail("network guard: traffic left loopback\n" + "\n".join(map(str, escaped)), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Whatever the guard saw at any time (teardowns included) fails the whole run."""
    guard = harness_guard()
    guard.check()
    if guard.violations:
        print("\nnetwork guard: a process of this run left loopback\n" + guard.report(), flush=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def test_binaries(request: pytest.FixtureRequest) -> Binaries:
    """etcd, kube-*, kubectl and helm v3/v4, installed into the cache on first use."""
    return _or_fail(request, "install the binaries", lambda: ensure_all(node=False))


@pytest.fixture(scope="session")
def helm_binaries(test_binaries: Binaries) -> dict[str, Path]:
    return {"v3": test_binaries.helm_v3, "v4": test_binaries.helm_v4}


@pytest.fixture(scope="session")
def kube_cluster(request: pytest.FixtureRequest, test_binaries: Binaries) -> Iterator[ControlPlane]:
    """One control plane for the whole session (no node: pods stay Pending without kube_node)."""
    plane = _or_fail(request, "start the control plane", lambda: ControlPlane.start(None, test_binaries))
    yield plane
    plane.stop()


@pytest.fixture(scope="session")
def kube_node(request: pytest.FixtureRequest, kube_cluster: ControlPlane) -> Iterator[Node]:
    """A Ready node `localhost` on kube_cluster, started only when a test asks for it."""
    node = _or_fail(request, "start the node", lambda: Node.start(kube_cluster, ensure_all(node=True)))
    yield node
    node.stop()


def _registry(request: pytest.FixtureRequest, factory: pytest.TempPathFactory, auth: bool) -> Iterator[OciRegistry]:
    workdir = factory.mktemp("oci-registry-auth" if auth else "oci-registry")
    registry = _or_fail(
        request, "start the OCI registry", lambda: OciRegistry.start(ensure_registry(), workdir, auth=auth)
    )
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def oci_registry(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OciRegistry]:
    """An OCI registry on 127.0.0.1 without auth: helm push/pull with --plain-http."""
    yield from _registry(request, tmp_path_factory, auth=False)


@pytest.fixture(scope="session")
def oci_registry_auth(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OciRegistry]:
    """The same with htpasswd basic auth: user registry.TEST_USER, password registry.TEST_PASSWORD."""
    yield from _registry(request, tmp_path_factory, auth=True)
