"""One Kubernetes control plane (etcd, apiserver, controller-manager, scheduler) on loopback.

Every port is chosen free at start, so several clusters run side by side; stop() ends every
process it started, by process group, and removes the work dir.
"""

from __future__ import annotations

import base64
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import paths, pki
from .api import ApiClient, ApiError
from .apt import remove_tree
from .install import Binaries
from .netguard import harness_guard
from .procs import Daemon, free_ports, log, signal_group, spawn, stop_daemons, wait_for
from .reaper import Reaper

SERVICE_CIDR = "10.0.0.0/24"
SA_ISSUER = "https://kubernetes.default.svc"


def _prepare_workdir(workdir: Path | None) -> Path:
    """A fresh dir: stop() deletes it, so refuse one that already holds anything."""
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="cluster-", dir=paths.clusters_dir()))
    if workdir.exists() and any(workdir.iterdir()):
        raise ValueError(f"work dir {workdir} is not empty (stop() would delete it)")
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


@dataclass
class ControlPlane:
    workdir: Path
    server: str
    ca: pki.KeyPair
    admin: pki.KeyPair
    kubeconfig: Path
    binaries: Binaries
    daemons: list[Daemon] = field(default_factory=list)
    reaper: Reaper | None = None
    apiserver_argv: list[str | Path] = field(default_factory=list)  # kept so a restart is the same server
    apiserver_extra_args: list[str] = field(default_factory=list)  # e.g. --oidc-* for a plane that trusts an issuer
    guarded: bool = False  # the network guard samples while this plane runs

    @property
    def ca_file(self) -> Path:
        return self.ca.cert

    @property
    def admin_cert(self) -> Path:
        return self.admin.cert

    @property
    def admin_key(self) -> Path:
        return self.admin.key

    @property
    def pki_dir(self) -> Path:
        return self.workdir / "pki"

    @property
    def pids(self) -> list[int]:
        return [d.pid for d in self.daemons]

    def client(self) -> ApiClient:
        """An apiserver client authenticated as the cluster admin."""
        return ApiClient(self.server, self.ca_file, self.admin_cert, self.admin_key)

    @classmethod
    def start(
        cls,
        workdir: Path | None,
        binaries: Binaries,
        context_name: str = pki.DEFAULT_CONTEXT,
        timeout: float = 90.0,
        apiserver_args: Sequence[str] = (),
    ) -> ControlPlane:
        workdir = _prepare_workdir(workdir)
        started = time.monotonic()
        pki_dir = workdir / "pki"
        ca = pki.create_ca(pki_dir)
        admin = pki.issue(ca, pki_dir, "admin", common_name="admin", organizations=["system:masters"])
        etcd_client, etcd_peer, etcd_metrics, api_port, cm_port, sched_port = free_ports(6)
        server = f"https://127.0.0.1:{api_port}"
        plane = cls(workdir, server, ca, admin, workdir / "kubeconfig", binaries, reaper=Reaper(workdir))
        plane.apiserver_extra_args = list(apiserver_args)
        harness_guard().start()
        plane.guarded = True
        pki.write_kubeconfig(
            plane.kubeconfig, server=server, ca_file=ca.cert, client=admin, context_name=context_name, user_name="admin"
        )
        try:
            plane._start_etcd(etcd_client, etcd_peer, etcd_metrics)
            plane._start_apiserver(api_port, f"http://127.0.0.1:{etcd_client}")
            api = plane.client()
            wait_for(lambda: api.ok("/readyz"), timeout=timeout, what="apiserver /readyz", watch=plane.daemons)
            plane._start_controllers(cm_port, sched_port)
            plane._wait_for_defaults(timeout)
        except BaseException:
            plane.stop()
            raise
        log(f"control plane ready at {server} in {time.monotonic() - started:.1f} s (work dir {workdir})")
        return plane

    def _spawn(self, name: str, argv: list[str | Path]) -> None:
        daemon = spawn(name, argv, self.workdir / "logs")
        self.daemons.append(daemon)
        if self.reaper is not None:
            self.reaper.track(daemon.pid)

    def _start_etcd(self, client: int, peer: int, metrics: int) -> None:
        name = f"etcd-{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        self._spawn(
            "etcd",
            [
                self.binaries.etcd,
                f"--name={name}",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster={name}={peer_url}",
                f"--listen-metrics-urls=http://127.0.0.1:{metrics}",
            ],
        )

    def _start_apiserver(self, port: int, etcd_url: str) -> None:
        serving = pki.issue(
            self.ca, self.pki_dir, "apiserver", common_name="kube-apiserver", sans=pki.APISERVER_SANS, server=True
        )
        sa = pki.service_account_keys(self.pki_dir)
        self.apiserver_argv = [
            self.binaries.kube_apiserver,
            "--advertise-address=127.0.0.1",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            "--insecure-port=0",
            f"--etcd-servers={etcd_url}",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={self.ca_file}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--api-audiences={SA_ISSUER}",
            f"--service-account-key-file={sa.cert}",
            f"--service-account-signing-key-file={sa.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            # The apiserver reaches the kubelet as admin and checks its serving cert.
            f"--kubelet-client-certificate={self.admin_cert}",
            f"--kubelet-client-key={self.admin_key}",
            f"--kubelet-certificate-authority={self.ca_file}",
            "--kubelet-preferred-address-types=Hostname",
            "--allow-privileged=true",
            *self.apiserver_extra_args,
        ]
        self._spawn("kube-apiserver", self.apiserver_argv)

    def _component_kubeconfig(self, user: str) -> Path:
        pair = pki.issue(self.ca, self.pki_dir, user.replace(":", "-"), common_name=user)
        return pki.write_kubeconfig(
            self.workdir / f"{user.split(':')[-1]}.kubeconfig",
            server=self.server,
            ca_file=self.ca_file,
            client=pair,
            user_name=user,
        )

    def _start_controllers(self, cm_port: int, sched_port: int) -> None:
        self._start_component(
            "kube-controller-manager",
            cm_port,
            [
                f"--service-account-private-key-file={self.pki_dir / 'sa.key'}",
                f"--root-ca-file={self.ca_file}",
                f"--cluster-signing-cert-file={self.ca.cert}",
                f"--cluster-signing-key-file={self.ca.key}",
                "--use-service-account-credentials=true",
            ],
        )
        self._start_component("kube-scheduler", sched_port, [])

    def _start_component(self, name: str, port: int, extra: list[str]) -> None:
        """Each runs as its own RBAC user (system:kube-scheduler, ...), as kubeadm sets it up."""
        kubeconfig = self._component_kubeconfig(f"system:{name}")
        self._spawn(
            name,
            [
                getattr(self.binaries, name.replace("-", "_")),
                f"--kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                "--port=0",  # no insecure port; the secure one is free-picked, not the default
                f"--secure-port={port}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                *extra,
            ],
        )

    def _wait_for_defaults(self, timeout: float) -> None:
        """Pods can be created only once `default` and its ServiceAccount token exist."""
        api = self.client()

        def ready() -> bool:
            account = api.get("/api/v1/namespaces/default/serviceaccounts/default")
            return bool(account.get("secrets"))

        wait_for(ready, timeout=timeout, what="the default ServiceAccount and its token", watch=self.daemons)

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> str:
        """Run kubectl as admin against this cluster; its discovery cache stays in workdir."""
        done = subprocess.run(
            [
                str(self.binaries.kubectl),
                f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={self.workdir / 'kubectl-cache'}",
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def service_account_token(self, namespace: str, name: str, timeout: float = 30.0) -> str:
        """The legacy token of a ServiceAccount (the controller-manager creates its Secret)."""
        api = self.client()
        found: list[str] = []

        def token_ready() -> bool:
            account = api.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}")
            for ref in account.get("secrets") or []:
                secret = api.get(f"/api/v1/namespaces/{namespace}/secrets/{ref['name']}")
                if secret.get("type") == "kubernetes.io/service-account-token" and secret.get("data", {}).get("token"):
                    found.append(base64.b64decode(secret["data"]["token"]).decode())
                    return True
            return False

        try:
            wait_for(token_ready, timeout=timeout, what=f"a token for ServiceAccount {namespace}/{name}")
        except TimeoutError:
            try:
                api.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}")
            except ApiError as error:
                raise LookupError(f"ServiceAccount {namespace}/{name}: {error}") from None
            raise
        return found[0]

    def stop_apiserver(self) -> None:
        """Stop the kube-apiserver process only (etcd and the controllers keep running): an outage."""
        for daemon in [d for d in self.daemons if d.name == "kube-apiserver"]:
            stop_daemons([daemon])
            self.daemons.remove(daemon)
            if self.reaper is not None:
                self.reaper.untrack(daemon.pid)

    def start_apiserver(self, timeout: float = 90.0) -> None:
        """Start the kube-apiserver again, same port and flags, and wait until it is ready."""
        if any(d.name == "kube-apiserver" for d in self.daemons):
            raise RuntimeError("the kube-apiserver is already running")
        self._spawn("kube-apiserver", self.apiserver_argv)
        api = self.client()
        wait_for(lambda: api.ok("/readyz"), timeout=timeout, what="apiserver /readyz", watch=self.daemons)

    def pause(self, name: str) -> None:
        """Freeze a daemon's process group (SIGSTOP), e.g. "kube-apiserver" or "etcd": its sockets
        stay open but nothing answers, as in a hung server."""
        for daemon in [d for d in self.daemons if d.name == name]:
            signal_group(daemon.pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        """Let a paused daemon run again (SIGCONT)."""
        for daemon in [d for d in self.daemons if d.name == name]:
            signal_group(daemon.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop every process (reverse start order) and delete the work dir. Idempotent."""
        if self.reaper is not None:
            self.reaper.dismiss()  # first: it must not race this orderly stop
            self.reaper = None
        if self.guarded:  # one last look at every socket before the processes go
            harness_guard().stop()
            self.guarded = False
        stop_daemons(self.daemons)
        self.daemons.clear()
        remove_tree(self.workdir)

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
