"""Fixtures of the egress tests (`pytest_plugins = ["tests.support.egress_fixtures"]`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.egress_servers import Internal


@pytest.fixture
def internal() -> Iterator[Internal]:
    """The refused host: the test fails if anything reached it."""
    server = Internal()
    yield server
    assert server.requests == [], f"the refused host was reached: {server.requests}"
    server.close()
