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
from kubehelm_mcp.tooling import DESTRUCTIVE, READ_ONLY, AnyTool, Category, Target, Tool, ToolInput, ToolResult, Touches
from kubehelm_mcp.validators import LabelName, ObjectName

# Room in the response budget for everything but the log or output itself.
RESULT_OVERHEAD = 768


class PodInput(ToolInput):
    name: ObjectName = Field(min_length=1, max_length=253, description="Pod name.")
    container: LabelName | None = Field(
        None, max_length=253, description="Container; default: the pod's only/default one."
    )

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class LogsInput(PodInput):
    tail_lines: int = Field(200, ge=1, le=10000, description="How many newest lines to read.")
    since_seconds: int | None = Field(None, ge=1, description="Only lines newer than this many seconds.")
    previous: bool = Field(False, description="The previous (restarted) container's log.")
    timestamps: bool = Field(False, description="Prefix lines with their timestamp.")
    grep: str | None = Field(None, max_length=500, description="Regex: keep only matching lines.")

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
        notes = [self.truncated_note] if self.truncated_note else []
        if self.dropped_lines:
            notes.append(
                f"[{self.dropped_lines} older line(s) dropped to fit the response budget; "
                "narrow with grep, tail_lines or since_seconds]"
            )
        return "\n".join([*notes, self.log or ""])


async def get_pod_logs(args: LogsInput, ctx: CallContext) -> PodLogs:
    cluster, namespace = await ctx.cluster(), await ctx.namespace()
    pod = await read_pod(cluster.api, namespace, args.name)
    container = pick_container(pod, args.container)
    query = LogQuery(container, args.tail_lines, args.since_seconds, args.previous, args.timestamps)
    lines = grep_lines(await read_log_lines(cluster.api, namespace, args.name, query), args.grep)
    kept, dropped = keep_newest(lines, max(ctx.settings.output.max_response_bytes - RESULT_OVERHEAD, 0))
    return PodLogs(
        pod=args.name,
        namespace=namespace,
        container=container,
        lines=len(kept),
        dropped_lines=dropped,
        log="\n".join(kept) if kept else None,
    )


class ExecInput(PodInput):
    command: list[Annotated[str, Field(max_length=4096)]] = Field(
        min_length=1, max_length=256, description='Program and arguments, run without a shell, e.g. ["ls", "/"].'
    )
    timeout_seconds: int = Field(30, ge=1, le=300, description="Stop waiting after this many seconds.")

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
        description="Read a container's log (newest lines; grep filter; previous instance).",
        input_model=LogsInput,
        output_model=PodLogs,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=get_pod_logs,
    ),
    Tool(
        name="k8s_exec_pod",
        touches=Touches(kinds=("pods/exec",)),
        description="Run a command (argv list, no shell) in a pod's container; returns exit code, stdout, stderr.",
        input_model=ExecInput,
        output_model=ExecResult,
        annotations=DESTRUCTIVE,
        category=Category.MUTATE,
        handler=exec_pod,
    ),
]
