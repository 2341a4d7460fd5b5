"""Process plumbing shared by the installer, control plane and node: run, spawn, stop, wait."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .netguard import harness_guard


def log(message: str) -> None:
    """Progress for humans; stderr so stdout stays machine-readable (KUBECONFIG=...)."""
    print(f"[testcluster] {message}", file=sys.stderr, flush=True)


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log_file: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    echo: Callable[[str], bool] = lambda line: False,
    heartbeat: str | None = None,
    heartbeat_every: float = 30.0,
) -> None:
    """Run a command to completion with all output in log_file.

    Lines for which `echo` is true are repeated on stderr, and a heartbeat line is printed
    while the command is quiet, so a five-minute build is never silent. On failure the
    error carries the tail of the output, which is what a reader needs first.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    tail: collections.deque[str] = collections.deque(maxlen=40)
    started = time.monotonic()
    with open(log_file, "a", encoding="utf-8") as sink:
        sink.write(f"$ {' '.join(map(str, argv))}\n")
        sink.flush()
        proc = subprocess.Popen(
            [str(a) for a in argv],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                sink.write(line)
                sink.flush()  # so `tail -f` on the log follows a long build
                tail.append(line.rstrip())
                if echo(line):
                    log("  " + line.rstrip())

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        while proc.poll() is None:
            reader.join(timeout=heartbeat_every)
            if heartbeat and proc.poll() is None:
                log(f"{heartbeat} ({time.monotonic() - started:.0f} s so far)")
        reader.join()
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed with exit {proc.returncode}: {' '.join(map(str, argv))}\n"
            f"(full log: {log_file})\n" + "\n".join(tail)
        )


def capture(
    argv: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> str:
    """Run a short command and return its stdout; raise with its stderr on failure."""
    done = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


def free_ports(count: int) -> list[int]:
    """Ports the kernel calls free right now; all held open together so none repeats."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Daemon:
    """A long-running child in its own process group (so stop() reaches its children too)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


def daemon_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every daemon's environment: the AWS SDK linked into Kubernetes 1.20 must never ask the
    cloud metadata address for credentials (belt and braces beside the providerless build),
    and the guard's mark puts the daemon and all its children under watch."""
    base = env if env is not None else os.environ
    return {**base, "AWS_EC2_METADATA_DISABLED": "true", **harness_guard().environment}


def spawn(
    name: str, argv: Sequence[str | os.PathLike[str]], log_dir: Path, env: Mapping[str, str] | None = None
) -> Daemon:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as sink:
        proc = subprocess.Popen(
            [str(a) for a in argv],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=daemon_environment(env),
        )
    return Daemon(name, proc, log_path)


def group_members(pgid: int) -> list[int]:
    """Live PIDs whose process group is pgid (read from /proc: no ps needed)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_daemons(daemons: Sequence[Daemon], grace: float = 10.0) -> None:
    """SIGTERM each group (last started first), then SIGKILL whatever is left after grace."""
    for daemon in reversed(daemons):
        signal_group(daemon.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.proc.wait(timeout=grace)
        signal_group(daemon.pid, signal.SIGKILL)
        daemon.proc.wait()
        deadline = time.monotonic() + grace
        while group_members(daemon.pid) and time.monotonic() < deadline:
            signal_group(daemon.pid, signal.SIGKILL)
            time.sleep(0.1)


def wait_for(
    check: Callable[[], bool], *, timeout: float, what: str, watch: Sequence[Daemon] = (), interval: float = 0.25
) -> None:
    """Poll check() until true; fail fast if a watched daemon dies, with its log tail."""
    deadline = time.monotonic() + timeout
    last_error = "not yet"
    while True:
        for daemon in watch:
            if not daemon.alive():
                raise RuntimeError(
                    f"{daemon.name} exited with {daemon.proc.returncode} while "
                    f"waiting for {what}; last log lines:\n{daemon.tail()}"
                )
        try:
            if check():
                return
        except Exception as error:  # a service that is not up yet may fail in any way
            last_error = f"{type(error).__name__}: {error}"
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {d.name} ({d.log_path}):\n{d.tail()}" for d in watch)
            raise TimeoutError(
                f"timed out after {timeout:.0f} s waiting for {what} (last check: {last_error})\n{tails}"
            )
        time.sleep(interval)
