"""A watchdog process per cluster that cleans up if its owner dies without calling stop().

A test run killed by SIGKILL, or by SIGTERM under `timeout` (Python then skips finally
blocks and fixture teardown), would otherwise leave etcd, the apiserver, containers and
a cgroup tree running. The reaper blocks on a pidfd of the owner, so it costs no polling;
a normal stop() dismisses it first.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
from pathlib import Path
from typing import Any

from . import paths, runtime
from .apt import remove_tree
from .procs import Daemon, signal_group, spawn

PACKAGE_PARENT = Path(__file__).resolve().parent.parent


class Reaper:
    """Owner side: records what to clean in <workdir>/reaper.json as things start."""

    def __init__(self, workdir: Path) -> None:
        self.state_file = workdir / "reaper.json"
        self.state: dict[str, Any] = {"workdir": str(workdir), "pgids": [], "nodes": {}}
        self._write()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(PACKAGE_PARENT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
        self.daemon: Daemon | None = spawn(
            "reaper",
            [sys.executable, "-m", "testcluster.reaper", str(os.getpid()), str(self.state_file)],
            workdir / "logs",
            env,
        )

    def _write(self) -> None:
        staged = self.state_file.with_suffix(".tmp")
        staged.write_text(json.dumps(self.state))
        os.replace(staged, self.state_file)

    def track(self, pgid: int) -> None:
        self.state["pgids"].append(pgid)
        self._write()

    def untrack(self, pgid: int) -> None:
        """A process group stopped on purpose: its id may be reused, so never signal it again."""
        if pgid in self.state["pgids"]:
            self.state["pgids"].remove(pgid)
            self._write()

    def track_node(self, key: str, info: dict[str, Any] | None) -> None:
        if info is None:
            self.state["nodes"].pop(key, None)
        else:
            self.state["nodes"][key] = info
        self._write()

    def dismiss(self) -> None:
        if self.daemon is not None:
            signal_group(self.daemon.pid, signal.SIGKILL)
            self.daemon.proc.wait()
            self.daemon = None


def reap(state: dict[str, Any]) -> None:
    """Clean up after a dead owner: nodes first (they run inside the cluster), then the rest."""
    for node in state["nodes"].values():
        for pgid in node["pgids"]:
            signal_group(pgid, signal.SIGKILL)
        runtime.sweep_node(node["namespace"], node["cgroup_root"], node["bridge"])
        lock = open(paths.cache_root() / "nodes.lock", "a+")  # noqa: SIM115 - closed by release
        runtime.release_host_paths(lock, paths.cache_root())
    for pgid in reversed(state["pgids"]):
        signal_group(pgid, signal.SIGKILL)
    remove_tree(Path(state["workdir"]))


def main(owner: int, state_file: Path) -> None:
    try:
        pidfd = os.pidfd_open(owner)
    except ProcessLookupError:
        pidfd = None  # the owner is already gone
    if pidfd is not None:
        select.select([pidfd], [], [])  # readable once the owner has exited
    if state_file.exists():
        print(f"owner {owner} exited without stop(); cleaning up", flush=True)
        reap(json.loads(state_file.read_text()))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
