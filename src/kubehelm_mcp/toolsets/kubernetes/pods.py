"""Pod logs and commands in containers: k8s_get_pod_logs and k8s_exec_pod."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated

from pydantic import Field, field_validator

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.kube.logs import LogQuery, grep_lines, keep_newest, read_log_lines
from kubehelm_mcp.kube.pods import pick_container, read_pod, require_running
from kubehelm_mcp.kube.streams import exec_command
from kubehelm_mcp.paging import Cursor, decode_cursor, encode_cursor
from kubehelm_mcp.tooling import (
    DESTRUCTIVE,
    READ_ONLY,
    AnyTool,
    Category,
    Resumable,
    Target,
    Tool,
    ToolInput,
    ToolResult,
    Touches,
)
from kubehelm_mcp.validators import LabelName, ObjectName

# Room in the response budget for everything but the log or output itself.
RESULT_OVERHEAD = 1024


class PodInput(ToolInput):
    name: ObjectName = Field(min_length=1, max_length=253)
    container: LabelName | None = Field(None, max_length=253)

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class LogsInput(Resumable, PodInput):
    tail_lines: int = Field(200, ge=1, le=10000)
    since_seconds: int | None = Field(None, ge=1)
    previous: bool = Field(False)
    timestamps: bool = False
    grep: str | None = Field(None, max_length=500, description="Regex lines must match.")

    @field_validator("grep")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a valid regular expression ({exc})") from None
        return value


class PodLogs(ToolResult):
    pod: str
    namespace: str
    container: str
    lines: int
    dropped_lines: int = 0
    log: str | None = None

    def to_text(self) -> str:
        if not self.lines:
            return f"No log lines from container '{self.container}' of pod '{self.pod}' match the request."
        notes = []
        if self.dropped_lines:
            notes.append(
                f"[{self.dropped_lines} older line(s) not shown to fit the response budget; "
                "continue_token pages back through them, or narrow with grep, tail_lines or since_seconds]"
            )
        return "\n".join([*notes, self.log or ""])


async def get_pod_logs(args: LogsInput, ctx: CallContext) -> PodLogs:
    cluster, namespace = await ctx.cluster(), await ctx.namespace()
    pod = await read_pod(cluster.api, namespace, args.name)
    container = pick_container(pod, args.container)
    query = LogQuery(container, args.tail_lines, args.since_seconds, args.previous, args.timestamps)
    lines = grep_lines(await read_log_lines(cluster.api, namespace, args.name, query), args.grep)
    # Newest first, as one reads a log: a page holds the newest lines that fit, and its continue
    # token (how many newest lines were shown) pages back through the older ones.
    shown = decode_cursor(args.continue_token).skip
    older = lines[: max(len(lines) - shown, 0)]
    output = ctx.settings.output
    room = max(output.max_response_bytes - RESULT_OVERHEAD, 0)
    # keep_newest counts each line twice (text and structured copy); the text form sends it once
    kept, dropped = keep_newest(older, room if output.result_format == "structured" else 2 * room)
    return PodLogs(
        pod=args.name,
        namespace=namespace,
        container=container,
        lines=len(kept),
        dropped_lines=dropped,
        log="\n".join(kept) if kept else None,
        continue_token=encode_cursor(Cursor(skip=shown + len(kept))) if dropped else None,
    )


class ExecInput(PodInput):
    command: list[Annotated[str, Field(max_length=4096)]] = Field(
        min_length=1, max_length=256, description='argv, no shell, e.g. ["ls", "/"]'
    )
    timeout_seconds: int = Field(30, ge=1, le=300)

    def requested_wait(self) -> float:
        return float(self.timeout_seconds)


class ExecResult(ToolResult):
    pod: str
    namespace: str
    container: str
    exit_code: int | None = None
    timed_out: bool = False
    stdout: str | None = None
    stderr: str | None = None
    stdout_dropped_bytes: int | None = None
    stderr_dropped_bytes: int | None = None

    def to_text(self) -> str:
        if self.timed_out:
            head = "The command did not finish in time (it may still run in the container)."
        else:
            head = f"exit code {self.exit_code if self.exit_code is not None else 'unknown'}"
        parts = [head]
        for label, text, dropped in (
            ("stdout", self.stdout, self.stdout_dropped_bytes),
            ("stderr", self.stderr, self.stderr_dropped_bytes),
        ):
            if text:
                cut = f" (first {dropped} bytes dropped)" if dropped else ""
                parts.append(f"--- {label}{cut} ---\n{text.rstrip()}")
        return "\n".join(parts)


async def exec_pod(args: ExecInput, ctx: CallContext) -> ExecResult:
    cluster, namespace = await ctx.cluster(), await ctx.namespace()
    pod = await read_pod(cluster.api, namespace, args.name)
    container = pick_container(pod, args.container)
    require_running(pod)
    # stdout and stderr each appear twice (text and structured): a quarter of the budget each.
    max_bytes = max((ctx.settings.output.max_response_bytes - RESULT_OVERHEAD) // 4, 256)
    outcome = await exec_command(
        cluster.api, namespace, args.name, container, args.command, timeout=args.timeout_seconds, max_bytes=max_bytes
    )
    return ExecResult(
        pod=args.name,
        namespace=namespace,
        container=container,
        exit_code=outcome.exit_code,
        timed_out=outcome.timed_out,
        stdout=outcome.stdout.text() or None,
        stderr=outcome.stderr.text() or None,
        stdout_dropped_bytes=outcome.stdout.dropped or None,
        stderr_dropped_bytes=outcome.stderr.dropped or None,
    )


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_get_pod_logs",
        touches=Touches(kinds=("pods/log",)),
        description="A container's log: newest lines, grep, previous instance.",
        input_model=LogsInput,
        output_model=PodLogs,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=get_pod_logs,
    ),
    Tool(
        name="k8s_exec_pod",
        touches=Touches(kinds=("pods/exec",)),
        description="Run a command (no shell) in a pod's container.",
        input_model=ExecInput,
        output_model=ExecResult,
        annotations=DESTRUCTIVE,
        category=Category.MUTATE,
        handler=exec_pod,
    ),
]
