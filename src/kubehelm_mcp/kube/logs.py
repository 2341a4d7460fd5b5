"""Reading a container's log and cutting it to what fits: filter first, then keep the newest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.pods import pod_path

# A log read never holds more than this in memory, whatever tail_lines asks.
MAX_LOG_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class LogQuery:
    container: str
    tail_lines: int | None = None
    since_seconds: int | None = None
    previous: bool = False
    timestamps: bool = False

    def params(self) -> list[tuple[str, str]]:
        params = [("container", self.container), ("limitBytes", str(MAX_LOG_BYTES))]
        if self.tail_lines is not None:
            params.append(("tailLines", str(self.tail_lines)))
        if self.since_seconds is not None:
            params.append(("sinceSeconds", str(self.since_seconds)))
        if self.previous:
            params.append(("previous", "true"))
        if self.timestamps:
            params.append(("timestamps", "true"))
        return params


async def read_log_lines(api: KubeApi, namespace: str, pod: str, query: LogQuery) -> list[str]:
    what = f"The log of container '{query.container}' in pod '{pod}'"
    text = await api.request_text(f"{pod_path(namespace, pod)}/log", query=query.params(), what=what)
    return text.splitlines()


def grep_lines(lines: list[str], pattern: str | None) -> list[str]:
    if not pattern:
        return lines
    regex = re.compile(pattern)
    return [line for line in lines if regex.search(line)]


def line_cost(line: str) -> int:
    """Bytes a line adds to a result: once in the text, once JSON-escaped in the structured copy."""
    return len(line.encode()) + 1 + len(json.dumps(line))


def keep_newest(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The newest lines whose cost fits the budget, and how many older ones were dropped."""
    total, start = 0, len(lines)
    while start > 0 and total + line_cost(lines[start - 1]) <= budget:
        start -= 1
        total += line_cost(lines[start])
    if start == len(lines) and lines:  # the newest line alone is too long: show its end
        newest = lines[-1][-max(budget // 3, 1) :]
        while newest and line_cost(newest) > budget:
            newest = newest[len(newest) // 4 + 1 :]
        return ([newest] if newest else []), len(lines) - (1 if newest else 0)
    return lines[start:], start
