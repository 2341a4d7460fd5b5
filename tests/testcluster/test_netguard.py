"""The harness's network guard: it fires on a recorded socket table and live inside a network
namespace this test makes (nothing is sent anywhere), and a running node passes it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from testcluster.images import BUSYBOX_IMAGE
from testcluster.netguard import (
    NetGuard,
    connect_leaves_loopback,
    harness_guard,
    lookup_leaves_loopback,
    parse_table,
    violations_in,
)
from testcluster.node import Node

# Rows in the kernel's own format (/proc/net/tcp and tcp6), as recorded on this machine's kind.
TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 20 4 30 10 -1
   2: 020200C0:A0F2 FEA9FEA9:0050 01 00000000:00000000 02:000A7B1B 00000000     0        0 1003 2 0 20 4 30 10 -1
   3: 020200C0:A0F4 FEA9FEA9:0050 02 00000000:00000000 01:00000064 00000002     0        0 1004 2 0 20 4 30 10 -1
"""
TCP6_TABLE = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:A000 01 00000000:00000000 00:00000000 00000000     0        0 2001 1 0 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:1F91 0000000000000000FFFF00000100007F:A001 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0 20 4 30 10 -1
   2: 00000000000000000000000001000000:A002 B80D0120000000000000000001000000:01BB 01 00000000:00000000 00:00000000 00000000     0        0 2003 1 0 20 4 30 10 -1
"""  # noqa: E501


def test_recorded_tables_name_the_process_and_the_peer() -> None:
    tcp = parse_table(TCP_TABLE, "tcp")
    assert [s.peer for s in tcp] == [
        ("0.0.0.0", 0),  # noqa: S104 - a listening socket's unset peer
        ("127.0.0.1", 8080),
        ("169.254.169.254", 80),
        ("169.254.169.254", 80),
    ]
    owners = {inode: (4242, "kubelet --kubeconfig=k") for inode in (1001, 1002, 1003, 1004)}
    found = violations_in(tcp, owners)
    assert [str(v) for v in found] == [
        "pid 4242 (kubelet --kubeconfig=k): a tcp peer 169.254.169.254:80 (ESTABLISHED); traffic must stay on loopback",
        "pid 4242 (kubelet --kubeconfig=k): a tcp peer 169.254.169.254:80 (SYN_SENT); traffic must stay on loopback",
    ]
    tcp6 = parse_table(TCP6_TABLE, "tcp6")
    found6 = violations_in(tcp6, {2001: (7, "a"), 2002: (7, "a"), 2003: (8, "b")})
    assert [(v.pid, v.detail) for v in found6] == [(8, "a tcp6 peer [2001:db8::1]:443 (ESTABLISHED)")]
    assert violations_in(tcp, {}) == []  # a socket of a process nobody watches is not ours to judge


def test_lookups_and_connections_in_process() -> None:
    local = {"localhost", "vm"}
    assert not lookup_leaves_loopback("localhost", local)
    assert not lookup_leaves_loopback("api.localhost", local)
    assert not lookup_leaves_loopback("127.0.0.1", local)
    assert not lookup_leaves_loopback("10.0.0.1", local)  # a literal needs no DNS (connecting to it is judged apart)
    assert lookup_leaves_loopback("charts.example.test", local)
    assert lookup_leaves_loopback(b"example.com", local)
    assert connect_leaves_loopback(("127.0.0.1", 80)) is None
    assert connect_leaves_loopback(("::1", 80, 0, 0)) is None
    assert connect_leaves_loopback("/run/containerd.sock") is None
    assert connect_leaves_loopback(("169.254.169.254", 80)) == "169.254.169.254"


def test_this_process_is_refused_before_any_packet(tmp_path: Path) -> None:
    """A child with the in-process guard: its DNS lookup and connect fail at once, and are recorded."""
    script = textwrap.dedent(
        """
        import socket
        from testcluster.netguard import NetGuard, guard_this_process
        guard = NetGuard()
        guard_this_process(guard)
        for attempt in (lambda: socket.getaddrinfo("example.com", 443),
                        lambda: socket.create_connection(("169.254.169.254", 80), timeout=1)):
            try:
                attempt()
            except OSError as error:
                print(type(error).__name__, error)
        print(guard.report())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("gaierror") and "refused by the harness's network guard" in lines[0]
    assert "connection to 169.254.169.254 refused by the harness's network guard" in lines[1]
    assert "a DNS lookup of 'example.com'" in lines[2] and "a connection to 169.254.169.254" in lines[3]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def private_namespace() -> Iterator[str]:
    """A network namespace of this test's own with a veth pair whose two ends, and addresses, stay
    inside it: nothing in it can reach the host's interfaces."""
    name = f"khm-guard-{os.getpid()}"
    _ip("netns", "add", name)
    try:
        _ip("link", "add", "khmg0", "netns", name, "type", "veth", "peer", "name", "khmg1", "netns", name)
        for device, address in (("khmg0", "198.51.100.1/24"), ("khmg1", "198.51.100.2/24")):
            _ip("-n", name, "addr", "add", address, "dev", device)
            _ip("-n", name, "link", "set", device, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        harness_guard().own_namespaces.add(_namespace_id(name))  # the run's own guard lets it be
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)


def _namespace_id(name: str) -> str:
    """The ns/net link text of a namespace made with `ip netns add`, as /proc/<pid>/ns/net shows it."""
    return "net:[" + str(os.stat(f"/run/netns/{name}").st_ino) + "]"


def test_guard_fires_live_inside_a_private_namespace(private_namespace: str) -> None:
    guard = NetGuard()
    script = textwrap.dedent(
        """
        import socket, sys, time
        server = socket.create_server(("198.51.100.1", 0))
        client = socket.create_connection(("198.51.100.1", server.getsockname()[1]), timeout=5)
        peer, _ = server.accept()
        print("connected", flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, **guard.environment}
    child = subprocess.Popen(
        ["ip", "netns", "exec", private_namespace, sys.executable, "-c", script],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "connected"
        found = guard.check()
        assert found, "the guard missed a socket to 198.51.100.1"
        assert {v.pid for v in found} == {child.pid}  # `ip netns exec` execs python: one pid
        details = sorted(v.detail for v in found)
        assert any("peer 198.51.100.1:" in d and "ESTABLISHED" in d for d in details), details
        assert all("python" in v.process for v in found)
        assert guard.check() == [] and len(guard.violations) == len(found)  # each reported once
    finally:
        child.kill()
        child.wait()
    clean = NetGuard()
    assert clean.check() == [] and clean.processes() == []  # nothing else carries a fresh token


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace").replace("\0", " ")
    except OSError:
        return ""


def test_a_running_node_passes_and_is_fully_watched(kube_node: Node) -> None:
    plane = kube_node.control_plane
    plane.kubectl("run", "guarded", f"--image={BUSYBOX_IMAGE}", "--image-pull-policy=Never", "--", "sleep", "3600")
    try:
        plane.kubectl("wait", "pod/guarded", "--for=condition=Ready", "--timeout=60s")
        guard = harness_guard()
        watched = guard.processes()
        assert any("containerd-shim" in _cmdline(p) for p in watched), "containerd's shims are not under watch"
        assert any(_cmdline(p).strip() == "sleep 3600" for p in watched), "the pod's process is not under watch"
    finally:
        plane.kubectl("delete", "pod/guarded", "--wait=false")
    for daemon in kube_node.daemons + kube_node.control_plane.daemons:
        assert daemon.pid in watched, daemon.name
    kubelet_pids = [p for p in watched if _cmdline(p).split(" ")[0].endswith("/kubelet")]
    assert kubelet_pids, "the kubelet is not under watch"
    environ = Path(f"/proc/{kubelet_pids[0]}/environ").read_bytes().split(b"\0")
    assert b"AWS_EC2_METADATA_DISABLED=true" in environ
    assert guard.check() == []  # (and the autouse check fails any test during which one appeared)


def test_kubernetes_binaries_carry_no_cloud_provider(kube_node: Node) -> None:
    """Built providerless and without the in-tree image credential providers: the kubelet has no
    code left that would ask a cloud metadata address for credentials."""
    assert kube_node.binaries.kubelet is not None
    data = kube_node.binaries.kubelet.read_bytes()
    for gone in (b"credentialprovider/aws", b"credentialprovider/azure", b"credentialprovider/gcp", b"providers/aws"):
        assert b"k8s.io/kubernetes/pkg/" + gone not in data, gone
    assert b"k8s.io/kubernetes/pkg/credentialprovider/plugin" in data  # the search is not vacuous
