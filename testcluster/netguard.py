"""Fail loudly when a process the harness started has a socket to anything but loopback.

Nothing the harness runs may send a packet beyond 127.0.0.0/8 and ::1 (the kubelet of
Kubernetes 1.20, for one, calls the cloud metadata address unless told not to). The guard
marks every process it is responsible for with an environment variable (children inherit
it: daemons, containerd's shims, helm, the servers tests start), adds their descendants
(container processes get a fresh environment but stay children of their shim), and reads
each one's sockets from /proc: the inodes behind /proc/<pid>/fd matched against the
tables of that process's own network namespace (/proc/<pid>/net/tcp, tcp6, udp, udp6).

A socket whose peer is set and outside loopback is a violation, reported with the process
and the peer. A background sampler checks while clusters run; stop() checks once more.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .proctable import process_table, with_descendants

MARKER_ENV = "KUBEHELM_MCP_NETGUARD"
TABLES = ("tcp", "tcp6", "udp", "udp6")
# /proc/net/tcp state codes worth naming in a report (the rest print as hex).
TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "06": "TIME_WAIT", "08": "CLOSE_WAIT"}


@dataclass(frozen=True)
class Socket:
    """One row of a /proc/<pid>/net/{tcp,tcp6,udp,udp6} table."""

    table: str
    local: tuple[str, int]
    peer: tuple[str, int]
    state: str
    inode: int

    @property
    def leaves_loopback(self) -> bool:
        """True when the socket has a peer (connected) and that peer is not a loopback address."""
        address = ipaddress.ip_address(self.peer[0])
        if address.is_unspecified:  # listening, or an unconnected UDP socket: no peer at all
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return not address.is_loopback

    def describe(self) -> str:
        host, port = self.peer
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        state = TCP_STATES.get(self.state, self.state) if self.table.startswith("tcp") else "connected"
        return f"{self.table} peer {shown} ({state})"


@dataclass(frozen=True)
class Violation:
    pid: int
    process: str
    detail: str  # what left loopback: a socket's peer, or a name looked up in DNS

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.process}): {self.detail}; traffic must stay on loopback"


class NetworkEscape(AssertionError):
    """Raised when a harness process held a socket to a non-loopback address."""


def _hex_address(text: str) -> tuple[str, int]:
    """`0100007F:1F90` or the 32-digit IPv6 form; the kernel writes each 32-bit word little-endian."""
    raw, port = text.split(":")
    words = bytes.fromhex(raw)
    packed = b"".join(words[i : i + 4][::-1] for i in range(0, len(words), 4))
    return str(ipaddress.ip_address(packed)), int(port, 16)


def parse_table(text: str, table: str) -> list[Socket]:
    """Parse one /proc/net/{tcp,tcp6,udp,udp6} table (header line first)."""
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        rows.append(
            Socket(
                table=table,
                local=_hex_address(fields[1]),
                peer=_hex_address(fields[2]),
                state=fields[3],
                inode=int(fields[9]),
            )
        )
    return rows


def violations_in(table: Iterable[Socket], owners: dict[int, tuple[int, str]]) -> list[Violation]:
    """The sockets of `table` that leave loopback and belong to one of `owners` (inode -> pid, name)."""
    found = []
    for sock in table:
        owner = owners.get(sock.inode)
        if owner is not None and sock.leaves_loopback:
            found.append(Violation(owner[0], owner[1], f"a {sock.describe()}"))
    return found


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:  # the process exited, or is not ours to read
        return None


def _process_name(pid: int) -> str:
    cmdline = _read(f"/proc/{pid}/cmdline") or ""
    argv = [part for part in cmdline.split("\0") if part]
    if argv:
        return " ".join([Path(argv[0]).name, *argv[1:3]])[:120]
    return (_read(f"/proc/{pid}/comm") or "?").strip()


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in entries:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


class NetGuard:
    """Watches the marked processes and their descendants; see the module docstring."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_hex(8)
        self.violations: list[Violation] = []
        self._seen: set[Violation] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._users = 0
        self.roots: set[int] = set()  # watched without a mark (the harness process itself)
        # Network namespaces a test made for itself (`ip netns add`): traffic inside them
        # never reaches a real network, so their sockets are not violations.
        self.own_namespaces: set[str] = set()

    @property
    def environment(self) -> dict[str, str]:
        """Put this in a child's environment to put the child (and its children) under watch."""
        return {MARKER_ENV: self.token}

    def _marked(self, pid: int) -> bool:
        environ = _read(f"/proc/{pid}/environ")
        return environ is not None and f"{MARKER_ENV}={self.token}" in environ.split("\0")

    def processes(self) -> list[int]:
        """Live PIDs under watch: marked ones and every descendant of a marked one."""
        table = process_table()
        marked = [pid for pid in table if pid in self.roots or self._marked(pid)]
        return sorted(with_descendants(table, marked))

    def check(self) -> list[Violation]:
        """One pass over every watched process; new violations are recorded and returned."""
        tables: dict[str, list[Socket]] = {}
        owners: dict[str, dict[int, tuple[int, str]]] = {}
        for pid in self.processes():
            inodes = _socket_inodes(pid)
            if not inodes:
                continue
            try:
                netns = os.readlink(f"/proc/{pid}/ns/net")
            except OSError:
                continue
            if netns in self.own_namespaces:
                continue
            if netns not in tables:
                tables[netns] = [
                    sock for table in TABLES for sock in parse_table(_read(f"/proc/{pid}/net/{table}") or "", table)
                ]
            name = _process_name(pid)
            owners.setdefault(netns, {}).update({inode: (pid, name) for inode in inodes})
        return self.record(v for netns, table in tables.items() for v in violations_in(table, owners[netns]))

    def record(self, found: Iterable[Violation]) -> list[Violation]:
        """Keep each violation once; return the ones not seen before."""
        with self._lock:
            fresh = [v for v in dict.fromkeys(found) if v not in self._seen]
            self._seen.update(fresh)
            self.violations.extend(fresh)
        return fresh

    def report(self) -> str:
        return "\n".join(str(v) for v in self.violations)

    def assert_clean(self) -> None:
        if self.violations:
            raise NetworkEscape("network guard: a harness process left loopback\n" + self.report())

    # The sampler runs while at least one cluster or node does (start/stop are counted).
    def start(self, interval: float = 1.0) -> None:
        with self._lock:
            self._users += 1
            if self._sampler is not None:
                return
            self._stop.clear()
            self._sampler = threading.Thread(target=self._sample, args=(interval,), name="netguard", daemon=True)
            self._sampler.start()

    def stop(self) -> None:
        """Check once more, then end the sampler when its last user stops."""
        self.check()
        with self._lock:
            self._users = max(0, self._users - 1)
            sampler = self._sampler if self._users == 0 else None
            if sampler is not None:
                self._sampler = None
                self._stop.set()
        if sampler is not None:
            sampler.join()

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.check()


_harness_guard: NetGuard | None = None


def harness_guard() -> NetGuard:
    """The guard of this process's harness: this process and everything it starts are marked."""
    global _harness_guard
    if _harness_guard is None:
        guard = NetGuard(os.environ.get(MARKER_ENV))
        os.environ.update(guard.environment)  # every child inherits the mark from here on
        guard.roots.add(os.getpid())
        _harness_guard = guard
    return _harness_guard


def _loopback_names(hosts_file: str = "/etc/hosts") -> set[str]:
    """Names /etc/hosts maps to a loopback address (resolved without any DNS query)."""
    names = {"localhost"}
    for line in (_read(hosts_file) or "").splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and _is_loopback_literal(fields[0]):
            names.update(name.lower() for name in fields[1:])
    return names


def _is_loopback_literal(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def lookup_leaves_loopback(host: object, local_names: set[str]) -> bool:
    """True when getaddrinfo(host) would ask a DNS server: a name that is neither an address nor local."""
    if host is None:
        return False
    name = host.decode() if isinstance(host, bytes) else str(host)
    name = name.rstrip(".").lower()
    return not (_is_ip_literal(name) or name in local_names or name.endswith(".localhost"))


def connect_leaves_loopback(address: object) -> str | None:
    """The peer of an AF_INET/AF_INET6 connect or sendto when it is not loopback, else None."""
    if not (isinstance(address, tuple) and address and isinstance(address[0], str)):
        return None  # AF_UNIX paths, netlink and the like stay on this machine
    host = address[0]
    if _is_ip_literal(host):
        return None if _is_loopback_literal(host) or ipaddress.ip_address(host).is_unspecified else host
    return host  # a name here was not resolved by getaddrinfo first: refuse it too


class _RefusedByGuard(OSError):
    pass


def guard_this_process(guard: NetGuard) -> None:
    """Refuse, and record as violations, this process's DNS lookups and its connections to
    non-loopback addresses (a Python audit hook: it sees them before any packet is sent)."""
    local_names = _loopback_names()
    me = os.getpid()

    def hook(event: str, args: tuple[object, ...]) -> None:
        if os.getpid() != me:  # a forked child: its own guard, if any, decides
            return
        if event == "socket.getaddrinfo" and lookup_leaves_loopback(args[0], local_names):
            guard.record([Violation(me, "the test process", f"a DNS lookup of {args[0]!r}")])
            raise socket.gaierror(socket.EAI_NONAME, f"{args[0]!r}: refused by the harness's network guard")
        if event in ("socket.connect", "socket.sendto"):
            peer = connect_leaves_loopback(args[1])
            if peer is not None:
                guard.record([Violation(me, "the test process", f"a connection to {peer}")])
                raise _RefusedByGuard(f"connection to {peer} refused by the harness's network guard")

    sys.addaudithook(hook)


@contextlib.contextmanager
def guarded_run() -> Iterator[NetGuard]:
    """For a whole program (a benchmark): this process and everything it starts are watched
    from the first line; a violation at any time makes the program fail at the end."""
    guard = harness_guard()
    guard_this_process(guard)
    guard.start()
    try:
        yield guard
    finally:
        guard.stop()
    guard.assert_clean()
