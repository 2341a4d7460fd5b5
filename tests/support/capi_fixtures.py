"""The Cluster API fleet fixture (`pytest_plugins = ["tests.support.capi_fixtures"]`); the fleet
and its helpers live in tests/support/capi.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from testcluster.install import Binaries
from testcluster.pytest_plugin import _or_fail

from tests.support.capi import CapiFleet, start_fleet, stop_fleet


@pytest.fixture(scope="module")
def capi_fleet(request: pytest.FixtureRequest, test_binaries: Binaries) -> Iterator[CapiFleet]:
    """Three control planes (management, alpha, beta) with the fleet on them, for one module:
    tests stop apiservers and rotate Secrets, so modules never share one."""
    fleet = _or_fail(request, "start the Cluster API fleet", lambda: start_fleet(test_binaries))
    print(f"\n[capi] fleet ready in {fleet.started_in:.1f} s", flush=True)
    yield fleet
    stop_fleet(fleet)
