"""One fleet-wide question against two workload clusters, beside asking each in turn.

  python -m bench.fleet [--runs N]

Starts the Cluster API fleet of the tests (a management cluster and two workload clusters, real
control planes: tests/support/capi.py), then over one in-process MCP client times
k8s_list_resources of every namespace with `clusters: [alpha, beta]` (one call, the clusters
asked at the same time) beside the same list as two calls, one `cluster` each, back to back; and
helm_list the same way. Ratios are fleet / sequential; asserts nothing about speed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from testcluster.install import ensure_all
from testcluster.netguard import guarded_run
from tests.support.capi import CapiFleet, start_fleet, stop_fleet

from bench import cli
from bench.stats import Sample, measure, table
from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings

CLUSTERS = ("fleet-a/alpha", "fleet-b/beta")
QUESTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "namespaces": ("k8s_list_resources", {"kind": "Namespace"}),
    "releases": ("helm_list", {"all_namespaces": True}),
}


async def _compare(fleet: CapiFleet, helm: tuple[Path, Path], runs: int) -> list[tuple[Sample, Sample | None]]:
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

            together = await measure(f"{label}: one call, clusters=[2]", fleet_wide, runs)
            apart = await measure(f"{label}: 2 calls, one cluster each", one_by_one, runs)
            rows.append((together, apart))
    return rows


def main() -> None:
    args = cli.parser(__doc__).parse_args()
    binaries = ensure_all(node=False)
    with guarded_run():
        fleet = start_fleet(binaries)
        try:
            rows = asyncio.run(_compare(fleet, (binaries.helm_v3, binaries.helm_v4), args.runs))
        finally:
            stop_fleet(fleet)
    print(table(rows))


if __name__ == "__main__":
    main()
