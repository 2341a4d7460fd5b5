"""One fleet-wide question against two workload clusters, beside asking each in turn.

  python -m bench.fleet [--runs N] [--latency MS]

Starts the Cluster API fleet of the tests (a management cluster and two workload clusters, real
control planes: tests/support/capi.py), then over one in-process MCP client times
k8s_list_resources of every namespace with `clusters: [alpha, beta]` (one call, the clusters
asked at the same time) beside the same list as two calls, one `cluster` each, back to back; and
helm_list the same way. With --latency, each workload cluster is reached through a loopback relay
that delays every packet MS/2 milliseconds each way (bench/delay.py: its Secret is rewritten to
point there), as a cluster in another network would be. Ratios are fleet / sequential; asserts
nothing about speed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from testcluster.install import ensure_all
from testcluster.netguard import guarded_run
from tests.support.capi import CapiFleet, read_secret, start_fleet, stop_fleet

from bench import cli
from bench.delay import DelayRelay
from bench.stats import Sample, measure, table
from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings

CLUSTERS = ("fleet-a/alpha", "fleet-b/beta")
QUESTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "namespaces": ("k8s_list_resources", {"kind": "Namespace"}),
    "releases": ("helm_list", {"all_namespaces": True}),
}


def _point_secret_at(fleet: CapiFleet, cluster: str, server: str) -> None:
    """Rewrite the cluster's kubeconfig Secret so the server reaches it at `server`."""
    each = fleet.workload(cluster)
    secret = read_secret(fleet, each.namespace, each.secret_name)
    config = base64.b64decode(secret["data"]["value"]).decode().replace(each.plane.server, server)
    secret["data"]["value"] = base64.b64encode(config.encode()).decode()
    path = f"/api/v1/namespaces/{each.namespace}/secrets/{each.secret_name}"
    status, body = fleet.management.client().request("PUT", path, secret)
    if not 200 <= status < 300:
        raise RuntimeError(f"PUT {path}: HTTP {status} {body[:200]}")


async def _compare_at(
    fleet: CapiFleet, helm: tuple[Path, Path], runs: int, latency: float
) -> list[tuple[Sample, Sample | None]]:
    """Each workload cluster behind a relay adding `latency` seconds of round trip (0: none)."""
    async with contextlib.AsyncExitStack() as stack:
        if latency:
            for cluster in CLUSTERS:
                upstream = urlsplit(fleet.workload(cluster).plane.server)
                relay = await stack.enter_async_context(
                    DelayRelay((upstream.hostname or "127.0.0.1", upstream.port or 443), latency / 2)
                )
                _point_secret_at(fleet, cluster, f"https://127.0.0.1:{relay.port}")
        return await _compare(fleet, helm, runs, f" rtt {latency * 1000:g} ms" if latency else "")


async def _compare(
    fleet: CapiFleet, helm: tuple[Path, Path], runs: int, label_suffix: str = ""
) -> list[tuple[Sample, Sample | None]]:
    settings = Settings(
        kubeconfig=str(fleet.server_kubeconfig),
        cluster_provider="capi",
        helm_v3_binary=str(helm[0]),
        helm_v4_binary=str(helm[1]),
    )
    rows: list[tuple[Sample, Sample | None]] = []
    async with create_client(settings=settings) as client:

        async def ask(tool: str, arguments: dict[str, Any]) -> None:
            result = await client.call_tool(tool, arguments)
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")

        for label, (tool, arguments) in QUESTIONS.items():

            async def fleet_wide(tool: str = tool, arguments: dict[str, Any] = arguments) -> None:
                await ask(tool, {**arguments, "clusters": list(CLUSTERS)})

            async def one_by_one(tool: str = tool, arguments: dict[str, Any] = arguments) -> None:
                for cluster in CLUSTERS:
                    await ask(tool, {**arguments, "cluster": cluster})

            together = await measure(f"{label}{label_suffix}: one call, clusters=[2]", fleet_wide, runs)
            apart = await measure(f"{label}{label_suffix}: 2 calls, one cluster each", one_by_one, runs)
            rows.append((together, apart))
    return rows


def main() -> None:
    made = cli.parser(__doc__)
    made.add_argument("--latency", type=float, default=20.0, help="round trip to each workload cluster, ms (0: none)")
    args = made.parse_args()
    binaries = ensure_all(node=False)
    with guarded_run():
        fleet = start_fleet(binaries)
        try:
            helm = (binaries.helm_v3, binaries.helm_v4)
            rows = asyncio.run(_compare(fleet, helm, args.runs))
            rows += asyncio.run(_compare_at(fleet, helm, args.runs, args.latency / 1000))
        finally:
            stop_fleet(fleet)
    print(table(rows))


if __name__ == "__main__":
    main()
