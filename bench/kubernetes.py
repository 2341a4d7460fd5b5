"""Our Kubernetes toolset beside kubernetes-mcp-server, in one run on a real cluster with a node.

  python -m bench.kubernetes [--runs N]

Seeds a namespace with a Deployment of 50 running busybox pods, a pod that keeps crashing and a
pod that has printed many log lines. Then, over stdio with the same MCP client, it prints the bytes
each server returns (text content + structured content) for: the pod list, the Deployment, the
failing pod described (ours: k8s_describe_resource; theirs: pods_get + events_list, summed), the
chatty pod's last lines; and the tools/list bytes of our `--toolsets kubernetes` beside theirs
(`core,config,helm` and their default). Also p50/p95 latency of get and list, ours beside theirs;
ours gets twice, answered from a watch on the object (the default) and with `--watch-reads 0`.
Ratios are ours / theirs; asserts nothing about speed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mcp import Client
from testcluster.controlplane import ControlPlane
from testcluster.images import BUSYBOX_IMAGE
from testcluster.install import ensure_all
from testcluster.node import Node

from bench import cli, seed
from bench.calls import Call, calls_bytes, json_bytes, time_calls
from bench.servers import KMS, kms_argv, ours_argv, raw_tools_list, server_env, stdio_params
from bench.stats import Sample, size_table, table

NAMESPACE = "bench-k8s"
REPLICAS = 50
DEPLOYMENT = "sleepers"
FAILING = "crasher"
CHATTY = "chatty"
LOG_LINES = 2000
TAIL = 200
# Back-to-back calls run into client-go's default client-side limit (5 requests/s, burst 10) in
# kubernetes-mcp-server; calls this far apart measure the work alone.
PAUSE = 0.25


def _container(script: str) -> dict[str, Any]:
    # The node has no registry: the image is imported, never pulled.
    return {"name": "main", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never", "command": ["sh", "-c", script]}


def _pod_spec(script: str) -> dict[str, Any]:
    return {"containers": [_container(script)], "terminationGracePeriodSeconds": 0}


def _objects() -> list[dict[str, Any]]:
    labels = {"app": DEPLOYMENT}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": _pod_spec("exec sleep 3600")},
        },
    }
    crash = "echo starting; echo 'fatal: /etc/app/config.yaml not found' >&2; exit 1"
    chatter = (
        f'i=0; while [ $i -lt {LOG_LINES} ]; do echo "line $i: GET /api/items/$i 200 512 bytes in 3 ms"; '
        "i=$((i+1)); done; exec sleep 3600"
    )
    pods = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE}, "spec": _pod_spec(s)}
        for name, s in ((FAILING, crash), (CHATTY, chatter))
    ]
    return [seed.namespace(NAMESPACE), deployment, *pods]


def _seed(plane: ControlPlane) -> None:
    seed.apply(plane, _objects())
    api = plane.client()

    def deployment_ready() -> bool:
        status = api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}").get("status", {})
        return bool(status.get("readyReplicas") == REPLICAS)

    def crashed_twice() -> bool:
        statuses = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods/{FAILING}")["status"].get("containerStatuses", [])
        return bool(statuses) and statuses[0]["restartCount"] >= 2

    def chatty_done() -> bool:
        try:
            last = plane.kubectl("logs", CHATTY, "-n", NAMESPACE, "--tail=1")
        except RuntimeError:  # not started yet
            return False
        return f"line {LOG_LINES - 1}:" in last

    seed.wait_until(deployment_ready, f"{REPLICAS} ready replicas of {DEPLOYMENT}")
    seed.wait_until(crashed_twice, f"pod {FAILING} to restart twice")
    seed.wait_until(chatty_done, f"pod {CHATTY} to print {LOG_LINES} lines")


def _named(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE}


# What each server needs to answer the same question: (ours, theirs).
SIZED: dict[str, tuple[list[Call], list[Call]]] = {
    f"list pods ({REPLICAS + 2} in the namespace)": (
        [("k8s_list_resources", {"kind": "Pod", "namespace": NAMESPACE})],
        [("pods_list_in_namespace", {"namespace": NAMESPACE})],
    ),
    "get the Deployment": (
        [("k8s_get_resource", {"kind": "Deployment", **_named(DEPLOYMENT)})],
        [("resources_get", {"apiVersion": "apps/v1", "kind": "Deployment", **_named(DEPLOYMENT)})],
    ),
    "describe the failing pod (theirs: pods_get + events_list)": (
        [("k8s_describe_resource", {"kind": "Pod", **_named(FAILING)})],
        [
            ("pods_get", _named(FAILING)),
            ("events_list", {"namespace": NAMESPACE, "fieldSelector": f"involvedObject.name={FAILING}"}),
        ],
    ),
    f"logs of the chatty pod (tail {TAIL})": (
        [("k8s_get_pod_logs", {**_named(CHATTY), "tail_lines": TAIL})],
        [("pods_log", {**_named(CHATTY), "tail": TAIL})],
    ),
}

TIMED: dict[str, tuple[Call, Call]] = {
    "get": (SIZED["get the Deployment"][0][0], SIZED["get the Deployment"][1][0]),
    "list": (
        ("k8s_list_resources", {"kind": "Pod", "namespace": NAMESPACE}),
        ("resources_list", {"apiVersion": "v1", "kind": "Pod", "namespace": NAMESPACE}),
    ),
}


async def _tools_list_rows(env: dict[str, str], theirs: dict[str, list[str]]) -> list[tuple[str, int, int]]:
    _, ours = await raw_tools_list(ours_argv("--toolsets", "kubernetes"), env)
    rows = []
    for label, argv in theirs.items():
        _, tools = await raw_tools_list(argv, env)
        name = f"tools/list: ours kubernetes ({len(ours)} tools) vs {label} ({len(tools)})"
        rows.append((name, json_bytes(ours), json_bytes(tools)))
    return rows


async def _compare(env: dict[str, str], runs: int, dump: Path | None) -> None:
    theirs_argv, default_argv = kms_argv(), kms_argv(None)
    if theirs_argv is None or default_argv is None:
        raise SystemExit(f"{KMS} could not be fetched; nothing to compare against")
    async with (
        Client(stdio_params(ours_argv("--toolsets", "kubernetes"), env)) as ours,
        Client(stdio_params(ours_argv("--toolsets", "kubernetes", "--watch-reads", "0"), env)) as unwatched,
        Client(stdio_params(theirs_argv, env)) as theirs,
    ):
        sizes = [
            (name, await calls_bytes(ours, "ours", mine, dump), await calls_bytes(theirs, KMS, other, dump))
            for name, (mine, other) in SIZED.items()
        ]
        latency: list[tuple[Sample, Sample | None]] = []
        for pause, label in ((0.0, ""), (PAUSE, " paced")):
            mine = await time_calls(ours, f"ours{label}", {k: c[0] for k, c in TIMED.items()}, runs, pause)
            other = await time_calls(theirs, f"{KMS}{label}", {k: c[1] for k, c in TIMED.items()}, runs, pause)
            latency += [(mine[key], other[key]) for key in TIMED]
            # Every get above after the second is answered from a watch (kube/watched.py): without
            # it, each is a GET, as a first read always is.
            fresh = await time_calls(unwatched, f"ours{label} --watch-reads 0", {"get": TIMED["get"][0]}, runs, pause)
            latency.append((fresh["get"], other["get"]))
    sizes += await _tools_list_rows(env, {"theirs core,config,helm": theirs_argv, "theirs default": default_argv})
    print(f"\n== bytes returned (text + structured content; ratio = ours / {KMS}) ==")
    print(size_table(sizes))
    print(f"\n== latency over stdio, back to back and paced {PAUSE} s apart (ratio = ours p50 / {KMS} p50) ==")
    print(table(latency))


async def run(runs: int, dump: Path | None) -> None:
    binaries = ensure_all(node=True)
    with ControlPlane.start(None, binaries) as plane:
        node = Node.start(plane, binaries)
        try:
            _seed(plane)
            await _compare(server_env(plane, binaries), runs, dump)
        finally:
            node.stop()


def main() -> None:
    args = cli.parser(__doc__, dump=True).parse_args()
    with cli.guarded(node=True):
        asyncio.run(run(args.runs, args.dump))


if __name__ == "__main__":
    main()
