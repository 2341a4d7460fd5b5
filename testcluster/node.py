"""One real node: containerd + kubelet, registered as `localhost`, running real pods.

Each node has its own mount namespace, cgroup root, bridge and ports, so nodes of several
clusters (or test sessions) run side by side on one machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from . import paths, pki, runtime
from .apt import remove_tree
from .controlplane import ControlPlane
from .images import BUSYBOX_IMAGE, PAUSE_IMAGE
from .install import Binaries, NodeBinaries
from .netguard import harness_guard
from .procs import Daemon, capture, free_ports, log, spawn, stop_daemons, wait_for

NODE_NAME = "localhost"


@dataclass
class Node:
    control_plane: ControlPlane
    binaries: Binaries
    workdir: Path
    node_id: str  # names the bridge (khm<id>) and the cgroup root (khm-<id>)
    busybox_image: str = BUSYBOX_IMAGE
    pause_image: str = PAUSE_IMAGE
    name: str = NODE_NAME
    daemons: list[Daemon] = field(default_factory=list)
    namespace: str | None = None
    host_paths_lock: IO[str] | None = None
    guarded: bool = False  # the network guard samples while this node runs

    @property
    def parts(self) -> NodeBinaries:
        assert self.binaries.node is not None  # checked in start()
        return self.binaries.node

    @property
    def bridge(self) -> str:
        return f"khm{self.node_id}"  # at most 15 characters, as Linux demands

    @property
    def cgroup_root(self) -> str:
        return f"khm-{self.node_id}"

    @property
    def socket(self) -> Path:
        return self.workdir / "containerd" / "containerd.sock"

    @property
    def pids(self) -> list[int]:
        return [d.pid for d in self.daemons]

    @classmethod
    def start(cls, control_plane: ControlPlane, binaries: Binaries, timeout: float = 120.0) -> Node:
        if binaries.node is None:
            raise ValueError("binaries lack the node parts: call ensure_all(node=True)")
        started = time.monotonic()
        node = cls(control_plane, binaries, control_plane.workdir / "node", node_id=secrets.token_hex(3))
        harness_guard().start()
        node.guarded = True
        try:
            node._track()
            runtime.create_cgroup_root(node.cgroup_root)
            node._start_containerd()
            node._import_images()
            node._start_kubelet()
            node._wait_ready(timeout)
        except BaseException:
            node.stop()
            raise
        log(f"node {NODE_NAME} Ready in {time.monotonic() - started:.1f} s")
        return node

    def _start_containerd(self) -> None:
        base = self.workdir / "containerd"
        cni_conf = self.workdir / "cni" / "net.d"
        for directory in (base, cni_conf, self.workdir / "cni" / "ipam"):
            directory.mkdir(parents=True, exist_ok=True)
        (cni_conf / "10-kubehelm.conflist").write_text(runtime.cni_config(self.bridge, self.workdir / "cni" / "ipam"))
        config = base / "config.toml"
        config.write_text(
            runtime.containerd_config(
                base,
                socket=self.socket,
                runc=self.parts.runc,
                cni_bin=self.parts.cni_bin_dir,
                cni_conf=cni_conf,
                pause_image=self.pause_image,
            )
        )
        self.host_paths_lock = runtime.claim_host_paths(paths.cache_root())
        binds = {}
        for host_path in runtime.HOST_PATHS:
            private = self.workdir / "host" / host_path.strip("/").replace("/", "-")
            private.mkdir(parents=True)
            binds[host_path] = private
        env = {**os.environ, "PATH": f"{self.parts.bin_dir}:{os.environ['PATH']}"}
        argv = runtime.namespaced_argv(binds, [self.parts.containerd, "--config", config])
        daemon = spawn("containerd", argv, self.workdir / "logs", env)
        self.daemons.append(daemon)
        wait_for(lambda: self._ctr("version") is not None, timeout=30, what="containerd to answer", watch=self.daemons)
        self.namespace = runtime.mount_namespace(daemon.pid)
        self._track()

    def _ctr(self, *args: str) -> str:
        return capture([self.parts.ctr, "--address", self.socket, "-n", "k8s.io", *args], timeout=120)

    def _import_images(self) -> None:
        self._ctr("images", "import", str(self.parts.image_archive))

    def _start_kubelet(self) -> None:
        plane = self.control_plane
        kubelet_dir = self.workdir / "kubelet"
        pki_dir = self.workdir / "pki"
        client = pki.issue(
            plane.ca, pki_dir, "kubelet-client", common_name=f"system:node:{NODE_NAME}", organizations=["system:nodes"]
        )
        serving = pki.issue(
            plane.ca,
            pki_dir,
            "kubelet-serving",
            common_name=NODE_NAME,
            sans=["DNS:localhost", "IP:127.0.0.1"],
            server=True,
        )
        kubeconfig = pki.write_kubeconfig(
            self.workdir / "kubelet.kubeconfig",
            server=plane.server,
            ca_file=plane.ca_file,
            client=client,
            user_name=f"system:node:{NODE_NAME}",
        )
        # Pods resolve names through their own loopback: no DNS query leaves the pod.
        resolv = self.workdir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\n")
        port, healthz_port = free_ports(2)
        assert self.daemons
        self.daemons.append(
            spawn(
                "kubelet",
                [
                    "nsenter",
                    f"--mount=/proc/{self.daemons[0].pid}/ns/mnt",
                    "--",
                    self.parts.kubelet,
                    f"--kubeconfig={kubeconfig}",
                    f"--hostname-override={NODE_NAME}",
                    "--address=127.0.0.1",
                    f"--port={port}",
                    "--read-only-port=0",
                    "--healthz-bind-address=127.0.0.1",
                    f"--healthz-port={healthz_port}",
                    "--container-runtime=remote",
                    f"--container-runtime-endpoint=unix://{self.socket}",
                    "--cgroup-driver=cgroupfs",
                    f"--cgroup-root=/{self.cgroup_root}",
                    f"--root-dir={kubelet_dir}",
                    f"--cert-dir={kubelet_dir / 'pki'}",
                    f"--volume-plugin-dir={kubelet_dir / 'plugins'}",
                    f"--tls-cert-file={serving.cert}",
                    f"--tls-private-key-file={serving.key}",
                    f"--client-ca-file={plane.ca_file}",
                    "--anonymous-auth=false",
                    "--authorization-mode=Webhook",
                    f"--resolv-conf={resolv}",
                    "--cluster-domain=cluster.local",
                    f"--pod-infra-container-image={self.pause_image}",
                    "--fail-swap-on=false",
                    "--make-iptables-util-chains=false",
                    "--eviction-hard=",
                    "--image-gc-high-threshold=100",
                    "--image-gc-low-threshold=99",
                ],
                self.workdir / "logs",
            )
        )
        self._track()

    def _wait_ready(self, timeout: float) -> None:
        """Ready, and untainted (so the scheduler places pods at once)."""
        api = self.control_plane.client()

        def ready() -> bool:
            node = api.get(f"/api/v1/nodes/{NODE_NAME}")
            conditions = {c["type"]: c["status"] for c in node["status"].get("conditions", [])}
            return conditions.get("Ready") == "True" and not node["spec"].get("taints")

        wait_for(ready, timeout=timeout, what=f"node {NODE_NAME} to be Ready", watch=self.daemons, interval=0.5)

    def stop(self) -> None:
        """Stop kubelet, every container and shim, then containerd; clean all it created."""
        if self.guarded:  # one last look at every socket (pods included) before they go
            harness_guard().stop()
            self.guarded = False
        kubelets = [d for d in self.daemons if d.name == "kubelet"]
        stop_daemons(kubelets)
        if self.namespace:
            spare = [d.pid for d in self.daemons if d.name == "containerd"]
            runtime.kill_all(runtime.namespace_processes(self.namespace, spare))
        stop_daemons([d for d in self.daemons if d.name != "kubelet"])
        self.daemons.clear()
        # Also kills anything that raced in while containerd was stopping.
        runtime.sweep_node(self.namespace, self.cgroup_root, self.bridge)
        self._delete_node_object()
        self._track(forget=True)
        if self.host_paths_lock is not None:
            runtime.release_host_paths(self.host_paths_lock, paths.cache_root())
            self.host_paths_lock = None
        remove_tree(self.workdir)

    def _track(self, forget: bool = False) -> None:
        """Tell the cluster's reaper what to clean should this process die before stop()."""
        reaper = self.control_plane.reaper
        if reaper is not None:
            reaper.track_node(
                self.node_id,
                None
                if forget
                else {
                    "pgids": self.pids,
                    "namespace": self.namespace,
                    "cgroup_root": self.cgroup_root,
                    "bridge": self.bridge,
                },
            )

    def _delete_node_object(self) -> None:
        """So a cluster that outlives its node does not keep a NotReady node around."""
        with contextlib.suppress(OSError):  # the control plane may already be gone
            self.control_plane.client().request("DELETE", f"/api/v1/nodes/{NODE_NAME}")
