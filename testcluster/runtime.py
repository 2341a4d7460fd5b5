"""The node's container runtime pieces: containerd and CNI config, plus teardown helpers.

containerd and the kubelet run in a private mount namespace where the host paths they
insist on (/var/log/pods, /run/containerd, ...) are bind mounts of dirs under the node's
work dir. Nothing they mount is visible on the host, and every such mount disappears with
the namespace when the last process in it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from .proctable import process_table, with_descendants

# Paths hard-coded in kubelet 1.20 / containerd 1.6 that no flag moves.
HOST_PATHS = (
    "/var/log/pods",
    "/var/log/containers",
    "/var/lib/kubelet",
    "/var/lib/cni",
    "/run/containerd",
    "/run/netns",
)
POD_SUBNET = "10.244.0.0/24"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _toml(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def containerd_config(
    workdir: Path, *, socket: Path, runc: Path, cni_bin: Path, cni_conf: Path, pause_image: str
) -> str:
    return f"""version = 2
root = {_toml(workdir / "root")}
state = {_toml(workdir / "state")}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = {_toml(socket)}

[plugins."io.containerd.internal.v1.opt"]
  path = {_toml(workdir / "opt")}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {_toml(pause_image)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # CAP_SYS_RESOURCE is missing here: without this runc cannot lower oom_score_adj.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = {_toml(runc)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = {_toml(cni_bin)}
    conf_dir = {_toml(cni_conf)}
"""


def cni_config(bridge: str, ipam_dir: Path) -> str:
    """A bridge with NO host address and no masquerade: pods are never routed off the node."""
    return json.dumps(
        {
            "cniVersion": "0.4.0",
            "name": "kubehelm-test",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": bridge,
                    "isGateway": False,
                    "ipMasq": False,
                    "hairpinMode": False,
                    "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]], "dataDir": str(ipam_dir)},
                }
            ],
        },
        indent=2,
    )


def namespaced_argv(binds: dict[str, Path], argv: Sequence[str | Path]) -> list[str]:
    """argv that runs `argv` in a new private mount namespace with `binds` mounted."""
    mounts = "".join(f"mount --bind {shlex.quote(str(src))} {shlex.quote(dst)}; " for dst, src in binds.items())
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-ec",
        mounts + 'exec "$@"',
        "sh",
        *map(str, argv),
    ]


def mount_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def namespace_processes(namespace: str, spare: Sequence[int] = ()) -> list[int]:
    """Processes in the mount namespace plus all their descendants (containers live in
    mount namespaces of their own, but are children of shims in ours)."""
    if namespace == mount_namespace(os.getpid()):
        # Never sweep the host's own namespace: that would kill every process on it.
        raise RuntimeError("refusing to kill processes of the host mount namespace")
    table = process_table()
    members = [pid for pid in table if mount_namespace(pid) == namespace]
    return sorted(with_descendants(table, members, skip=spare))


def kill_all(pids: Sequence[int], timeout: float = 10.0) -> None:
    """SIGKILL the pids and wait until none is alive (zombies count as gone)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = process_table()
        if not any(pid in alive for pid in pids):
            return
        time.sleep(0.1)


def claim_host_paths(state_dir: Path) -> IO[str]:
    """Make sure each HOST_PATHS mount point exists; return a shared lock held while running.

    Dirs the harness had to create are recorded, and the last node to stop removes them:
    removing one earlier would detach the bind mount of a node still running.
    """
    handle = open(state_dir / "nodes.lock", "a+")  # noqa: SIM115 - held while the node runs
    fcntl.flock(handle, fcntl.LOCK_SH)
    with open(state_dir / "host-dirs-created", "a") as record:
        for host_path in map(Path, HOST_PATHS):
            if not host_path.exists():
                host_path.mkdir(parents=True, exist_ok=True)
                record.write(f"{host_path}\n")
    return handle


def release_host_paths(handle: IO[str], state_dir: Path) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # only the last node gets it
    except BlockingIOError:
        handle.close()
        return
    record = state_dir / "host-dirs-created"
    created = set(record.read_text().split()) if record.exists() else set()
    for host_path in created:
        with contextlib.suppress(OSError):  # gone, or someone put files there: leave it
            Path(host_path).rmdir()
    record.unlink(missing_ok=True)
    handle.close()


def create_cgroup_root(name: str) -> None:
    """A cgroup of the node's own in every v1 hierarchy, for the kubelet's --cgroup-root.

    The kubelet insists that it exists, and a fresh cpuset cgroup has no CPUs or memory
    nodes until they are copied from its parent.
    """
    for hierarchy in CGROUP_ROOT.iterdir():
        if not (hierarchy / "cgroup.procs").exists():
            continue
        group = hierarchy / name
        group.mkdir(exist_ok=True)
        for setting in ("cpuset.cpus", "cpuset.mems"):
            if (group / setting).exists() and not (group / setting).read_text().strip():
                (group / setting).write_text((hierarchy / setting).read_text())


def remove_cgroup_root(name: str, timeout: float = 10.0) -> None:
    """rmdir the node's cgroup tree, deepest first, in every hierarchy (once tasks are gone)."""
    deadline = time.monotonic() + timeout
    for tree in [h / name for h in CGROUP_ROOT.iterdir() if (h / name).is_dir()]:
        while tree.exists():
            dirs = sorted((p for p in tree.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
            for directory in [*dirs, tree]:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            if time.monotonic() > deadline:
                raise RuntimeError(f"cgroup {tree} could not be removed (tasks left in it?)")
            if tree.exists():
                time.sleep(0.2)


def sweep_node(namespace: str | None, cgroup_root: str, bridge: str) -> None:
    """Kill what is left in the node's namespace, then remove its cgroup tree and bridge."""
    if namespace:
        kill_all(namespace_processes(namespace))
    remove_cgroup_root(cgroup_root)
    if Path(f"/sys/class/net/{bridge}").exists():
        subprocess.run(["ip", "link", "delete", bridge], capture_output=True)
