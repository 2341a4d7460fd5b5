"""Running a command in a container over the apiserver's exec websocket (v4.channel.k8s.io).

Each binary frame starts with its channel: 1 stdout, 2 stderr, 3 the final status (JSON).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.pods import pod_path

if TYPE_CHECKING:
    import aiohttp

STDOUT, STDERR, STATUS = 1, 2, 3


@dataclass
class TailBuffer:
    """Keeps the last `limit` bytes of a stream and counts what it let go."""

    limit: int
    data: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        excess = len(self.data) - self.limit
        if excess > 0:
            del self.data[:excess]
            self.dropped += excess

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@dataclass
class ExecOutcome:
    stdout: TailBuffer
    stderr: TailBuffer
    exit_code: int | None = None
    timed_out: bool = False


def parse_status(payload: bytes) -> tuple[int | None, str | None]:
    """The exit code from a Status on channel 3, or the reason the command could not run."""
    try:
        status = json.loads(payload)
    except ValueError:
        return None, payload.decode("utf-8", "replace").strip() or None
    if status.get("status") == "Success":
        return 0, None
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", "")), None
            except ValueError:
                break
    return None, str(status.get("message") or "the command failed to start")


async def _pump(ws: aiohttp.ClientWebSocketResponse, outcome: ExecOutcome, container: str) -> None:
    import aiohttp  # loaded with kubernetes_asyncio, before any stream opens

    async for message in ws:
        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        if channel == STDOUT:
            outcome.stdout.add(payload)
        elif channel == STDERR:
            outcome.stderr.add(payload)
        elif channel == STATUS and payload:
            code, failure = parse_status(payload)
            if code is None:
                reason = (failure or "it failed to start").rstrip(".")
                raise InvalidInput(f"The command could not run in container '{container}': {reason}.")
            outcome.exit_code = code


async def exec_command(
    api: KubeApi,
    namespace: str,
    pod: str,
    container: str,
    command: list[str],
    *,
    timeout: float,
    max_bytes: int,
) -> ExecOutcome:
    """Run `command` without a shell or stdin; output past `max_bytes` per stream keeps its tail."""
    query = [("container", container), ("stdout", "true"), ("stderr", "true"), ("stdin", "false"), ("tty", "false")]
    query += [("command", part) for part in command]
    outcome = ExecOutcome(TailBuffer(max_bytes), TailBuffer(max_bytes))
    async with api.websocket(f"{pod_path(namespace, pod)}/exec", query=query) as ws:
        try:
            async with asyncio.timeout(timeout):
                await _pump(ws, outcome, container)
        except TimeoutError:
            outcome.timed_out = True
    return outcome
