"""The README's main command as a user runs it: `scripts/serve` with no kubeconfig starts the
local test cluster (a node included), serves MCP on stdio, and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from testcluster import paths
from tests.support.mcp import call_text

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]


def _cluster_processes() -> set[str]:
    out = subprocess.run(["pgrep", "-f", "testcluster up"], capture_output=True, text=True, check=False).stdout
    return set(out.split())


async def test_serve_script_without_kubeconfig_starts_a_local_cluster(tmp_path: Path) -> None:
    before = _cluster_processes()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBEHELM_MCP_", "KUBECONFIG"))}
    env.update(HOME=str(tmp_path), KUBEHELM_MCP_TESTCLUSTER_CACHE=str(paths.cache_root()))
    params = StdioServerParameters(command=str(REPO / "scripts" / "serve"), args=[], env=env, cwd=str(REPO))
    async with Client(params, read_timeout_seconds=600) as client:
        # the default result form: the text a model reads
        assert "kubehelm-test" in await call_text(client, "k8s_get_current_context")
        nodes = (await call_text(client, "k8s_list_resources", {"kind": "nodes"})).splitlines()
        assert len(nodes) == 2 and nodes[1].split()[:2] == ["localhost", "Ready"], nodes
        assert "v4." in await call_text(client, "helm_version")
    assert _cluster_processes() <= before  # the cluster it started is gone
