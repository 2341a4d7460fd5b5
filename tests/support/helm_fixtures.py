"""Fixtures for the Helm repository, registry and plugin tests (loaded with pytest_plugins):
helm's config, cache and data in tmp dirs, a served chart repository and a cluster-less client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from tests.support.helm_servers import ChartRepo, local_settings


@pytest.fixture
def chart_repo(helm_binaries: dict[str, Path], helm_home: Path, tmp_path: Path) -> Iterator[ChartRepo]:
    repo = ChartRepo(helm_binaries["v4"], tmp_path / "chart-repo")
    repo.publish("alpha", "0.1.0")
    repo.publish("bravo", "1.0.0")
    yield repo
    repo.close()


@pytest.fixture
async def repo_client(helm_binaries: dict[str, Path], helm_home: Path) -> AsyncIterator[Client]:
    async with create_client(settings=local_settings(helm_binaries)) as connected:
        yield connected
