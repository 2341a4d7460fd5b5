"""CLI: `python -m testcluster install|up|env` (see --help)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from .controlplane import ControlPlane
from .install import Binaries, ensure_all, ensure_helm
from .netguard import harness_guard
from .node import Node


def _env_lines(binaries: Binaries) -> list[str]:
    return [
        f"export KUBEHELM_MCP_HELM_V3_BINARY={binaries.helm_v3}",
        f"export KUBEHELM_MCP_HELM_V4_BINARY={binaries.helm_v4}",
        f"export KUBECTL={binaries.kubectl}",
    ]


def _up(binaries: Binaries, with_node: bool, workdir: Path | None) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    plane = ControlPlane.start(workdir, binaries)
    node = None
    try:
        if with_node:
            node = Node.start(plane, binaries)
        print(f"KUBECONFIG={plane.kubeconfig}", flush=True)
        summary = [
            f"server      {plane.server}",
            f"kubeconfig  {plane.kubeconfig}",
            f"work dir    {plane.workdir}",
            "processes   " + ", ".join(f"{d.name}={d.pid}" for d in plane.daemons),
        ]
        if node is not None:
            summary += [
                f"node        {node.name} (image {node.busybox_image})",
                "            " + ", ".join(f"{d.name}={d.pid}" for d in node.daemons),
            ]
        summary += [*_env_lines(binaries), "Ctrl-C (or SIGTERM) stops the cluster."]
        print("\n".join(summary), file=sys.stderr, flush=True)
        guard = harness_guard()
        while not stop.wait(1.0):
            dead = [d for d in plane.daemons + (node.daemons if node else []) if not d.alive()]
            if dead:
                print(f"{dead[0].name} exited; last log lines:\n{dead[0].tail()}", file=sys.stderr)
                return 1
            if guard.violations:
                break
        guard.check()
        if guard.violations:
            print(f"[testcluster] stopping: network guard\n{guard.report()}", file=sys.stderr, flush=True)
            return 1
        return 0
    finally:
        started = time.monotonic()
        if node is not None:
            node.stop()
        plane.stop()
        print(f"[testcluster] stopped in {time.monotonic() - started:.1f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testcluster", description="Real Kubernetes test cluster on loopback."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser("install", help="install/build the binaries only")
    install.add_argument("--node", action="store_true", help="also the node parts")
    up = commands.add_parser("up", help="start a cluster and stay until SIGINT/SIGTERM")
    up.add_argument("--node", action="store_true", help="also start a node (kubelet)")
    up.add_argument("--workdir", type=Path, help="work dir (must be empty; removed on exit)")
    env = commands.add_parser("env", help="print the cached binary paths as export lines")
    env.add_argument("--helm-only", action="store_true", help="install and print only the helm binaries")
    args = parser.parse_args(argv)

    if args.command == "env" and args.helm_only:
        helm = ensure_helm()
        print(f"export KUBEHELM_MCP_HELM_V3_BINARY={helm['v3']}\nexport KUBEHELM_MCP_HELM_V4_BINARY={helm['v4']}")
        return 0
    binaries = ensure_all(node=getattr(args, "node", False))
    if args.command == "install":
        if args.node:  # the server's image runs on the node; its inputs need Debian and PyPI, so now
            from .serverimage import ensure_image, human_size

            image = ensure_image(fetch=True)
            print(f"[testcluster] server image {image.tag} ({human_size(image.size)})", file=sys.stderr)
            from .mcpruntimes import ensure_runtimes  # the mcp-server chart's image and packages

            runtimes = ensure_runtimes(fetch=True)
            print(
                f"[testcluster] runtimes image {runtimes.image.tag} ({human_size(runtimes.image.size)})",
                file=sys.stderr,
            )
        return 0
    if args.command == "env":
        print("\n".join(_env_lines(binaries)))
        return 0
    return _up(binaries, args.node, args.workdir)


if __name__ == "__main__":
    sys.exit(main())
