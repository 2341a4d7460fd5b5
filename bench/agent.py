"""What an assistant reads to diagnose a broken cluster: ours beside kubernetes-mcp-server.

  python -m bench.agent [--dump DIR]

Breaks a namespace on a real node (bench.scenarios): a crash loop, an image pull from an address on
loopback, an unschedulable pod, a Service that selects no pods, a failed Helm release, an RBAC
question and a crash loop to fix and verify. For each server a fixed call sequence, the shortest
that reaches every fact with that server's own best tools (as an agent that knows where to look
would call them; pod names are taken from earlier results, as a model would), answers each task
through the same MCP client over stdio; ours twice: with its best tools (k8s_diagnose, k8s_can_i
of a ServiceAccount) and with the generic ones (list, describe, logs), to show what those save.
Per task and in total it counts the calls, the bytes
received (text content, structuredContent as compact JSON, and every message on the wire) and the
facts found: each task names the facts a diagnosis must contain, matched by regex on the text the
model reads (the text content; the structured content's JSON where a result has no text).
Also the tools/list size of each server. Ratios are ours / theirs; asserts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client._transport import TransportStreams
from mcp.client.stdio import stdio_client
from mcp.shared.message import SessionMessage
from mcp.types import CallToolResult, TextContent
from testcluster.controlplane import ControlPlane
from testcluster.images import UNPULLABLE_IMAGE
from testcluster.install import ensure_all
from testcluster.node import Node

from bench import cli, scenarios, seed
from bench.calls import json_bytes
from bench.scenarios import NAMESPACE
from bench.servers import KMS, kms_argv, ours_argv, raw_tools_list, server_env, stdio_params

OURS = "ours"
OURS_GENERIC = "ours-generic"  # ours without k8s_diagnose and k8s_can_i's subject: list, describe, logs
EMPTY = "(empty result)"  # what an empty answer reads as: a model takes it as "nothing matched"


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    facts: dict[str, str]  # what a diagnosis must contain -> a regex over the text the model reads


TASKS = [
    Task(
        "crashloop",
        f"(a) why is Deployment {scenarios.CRASHLOOP} not ready",
        {
            "CrashLoopBackOff": r"CrashLoopBackOff|Back-off restarting",
            f"exit code {scenarios.CRASH_EXIT}": (
                rf"(?i)exit\s*_?code\W{{0,3}}{scenarios.CRASH_EXIT}\b|last exit\W{{0,3}}{scenarios.CRASH_EXIT}\b"
            ),
            "restart count": r"(?i)restart\s*_?count\W{0,3}[1-9]|restarts\W{0,3}[1-9]|\b[1-9]\d* restart",
            "the last log line": re.escape(scenarios.CRASH_LINE),
        },
    ),
    Task(
        "image_pull",
        f"(b) why is Deployment {scenarios.IMAGE_PULL} not ready",
        {
            "ErrImagePull/ImagePullBackOff": r"ErrImagePull|ImagePullBackOff",
            "the image": re.escape(UNPULLABLE_IMAGE),
            "the pull error": r"connection refused",
        },
    ),
    Task(
        "unschedulable",
        f"(c) why is Deployment {scenarios.PENDING} not ready",
        {
            "Pending": r"\bPending\b",
            # the scheduler's words ('' in YAML), or the same reason said of the constraint
            "the scheduler's reason": r"didn'?'?t match (Pod'?'?s )?node (selector|affinity)|matches no node",
            "the node selector": r"disktype\W{1,4}nvme",
        },
    ),
    Task(
        "service",
        f"(d) why does Service {scenarios.SERVICE} not answer",
        {
            "its selector": rf"app\W{{1,4}}{scenarios.SERVICE_SELECTOR}",
            "no pods / no endpoints": (
                r"(?im)no endpoints|endpoints\W{0,4}<none>|matches no pods|no (ready )?(pods|addresses)"
                rf"|no resources found|no \w+ objects found|\"items\":\s*\[\]|^{re.escape(EMPTY)}$"
            ),
        },
    ),
    Task(
        "release",
        f"(e) why did Helm release {scenarios.RELEASE} fail",
        {
            "status failed": r"(?i)status\W{1,4}failed|release\b[^\n]{0,60}\bfailed\b",
            "the failing object": rf"(?i)deployment\W{{1,3}}({NAMESPACE}\W)?{scenarios.RELEASE_DEPLOYMENT}",
            "ErrImagePull/ImagePullBackOff": r"ErrImagePull|ImagePullBackOff",
        },
    ),
    Task(
        "rbac",
        f"(f) can ServiceAccount {scenarios.ACCOUNT} in {NAMESPACE} list secrets",
        {
            "the answer: no": r"(?im)^\W*no\b|\"allowed\":\s*false",
            "the identity checked": (
                rf"system:serviceaccount:{NAMESPACE}:{scenarios.ACCOUNT}"
                rf"|ServiceAccount\W{{1,4}}({NAMESPACE}\W)?{scenarios.ACCOUNT}\b|\b{NAMESPACE}/{scenarios.ACCOUNT}\b|ServiceAccount\s+name:\s*{scenarios.ACCOUNT}"
            ),
        },
    ),
    Task(
        "fix",
        "(g) fix the crash-looping Deployment's command, verify it is ready",
        {
            "the new command": r"sleep 3600",
            "verified ready": r"successfully rolled out|readyReplicas\W{1,3}1\b",
        },
    ),
]


@dataclass
class Received:
    tool: str
    text: int  # bytes of text content
    structured: int  # bytes of structuredContent as compact JSON
    wire: int  # bytes of every message the server sent while the call ran
    error: bool


class _Tap:
    """The client's read stream, counting what the server sends: each message re-serialized as
    compact JSON, as close to the wire as the parsed message allows."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.received = 0

    async def receive(self) -> Any:
        item = await self._inner.receive()
        if isinstance(item, SessionMessage):
            self.received += len(item.message.model_dump_json(by_alias=True, exclude_unset=True).encode())
        return item

    def __aiter__(self) -> _Tap:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except Exception as end:  # anyio.EndOfStream and closed streams end the iteration
            raise StopAsyncIteration from end

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Tap:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __getattr__(self, name: str) -> Any:  # last_context and the like
        return getattr(self._inner, name)


def _read_text(result: CallToolResult) -> str:
    """What the model reads: the text content, or the structured content where there is none."""
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    if not text and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return text or EMPTY


@dataclass
class Agent:
    """One server behind one MCP client: calls tools, keeps what each returned."""

    label: str
    client: Client
    tap: _Tap
    schemas: dict[str, dict[str, Any]]  # tool name -> input schema
    dump: Path | None
    task: str = ""  # names the dumped results
    calls: list[Received] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def has(self, tool: str, field_name: str | None = None) -> bool:
        schema = self.schemas.get(tool)
        return schema is not None and (field_name is None or field_name in schema.get("properties", {}))

    async def call(self, tool: str, **args: Any) -> str:
        before = self.tap.received
        result = await self.client.call_tool(tool, args)
        text = _read_text(result)
        structured = json_bytes(result.structured_content) if result.structured_content is not None else 0
        text_bytes = sum(len(b.text.encode()) for b in result.content if isinstance(b, TextContent))
        self.calls.append(Received(tool, text_bytes, structured, self.tap.received - before, bool(result.is_error)))
        self.texts.append(text)
        if self.dump is not None:
            self.dump.mkdir(parents=True, exist_ok=True)
            path = self.dump / f"{self.label}-{self.task}-{len(self.texts)}-{tool}.json"
            path.write_text(result.model_dump_json(by_alias=True, indent=1))
        return text

    def take(self) -> tuple[list[Received], str]:
        """The calls and text of the task just done; starts the next one empty."""
        taken = self.calls, "\n".join(self.texts)
        self.calls, self.texts = [], []
        return taken


def pod_name(text: str, app: str) -> str:
    """The first pod of a Deployment named in a listing, as a model would pick it out."""
    found = re.search(rf"\b{re.escape(app)}-[a-z0-9]{{6,10}}-[a-z0-9]{{5}}\b", text)
    if found is None:
        raise RuntimeError(f"no pod of {app} in the listing: {text[:300]!r}")
    return found.group(0)


Wait = Callable[[str], Awaitable[None]]  # blocks, uncounted, until a Deployment has rolled out
Settle = Wait  # blocks, uncounted, until a task's failure is steady (by the task's key)


class Ours:
    """kubehelm-mcp: with best, k8s_diagnose and k8s_can_i of a subject where the server has them;
    else list + describe + logs, and the grants read as the peer must."""

    def __init__(self, best: bool) -> None:
        self.best = best

    def _has(self, agent: Agent, tool: str, field_name: str | None = None) -> bool:
        return self.best and agent.has(tool, field_name)

    @staticmethod
    async def _pods(agent: Agent, app: str) -> str:
        listing = await agent.call("k8s_list_resources", kind="Pod", namespace=NAMESPACE, label_selector=f"app={app}")
        return pod_name(listing, app)

    async def _diagnose_or(self, agent: Agent, kind: str, name: str, app: str, logs: bool = False) -> None:
        if self._has(agent, "k8s_diagnose"):
            await agent.call("k8s_diagnose", kind=kind, name=name, namespace=NAMESPACE)
            return
        pod = await self._pods(agent, app)
        await agent.call("k8s_describe_resource", kind="Pod", name=pod, namespace=NAMESPACE)
        if logs:
            await agent.call("k8s_get_pod_logs", name=pod, namespace=NAMESPACE, previous=True, tail_lines=20)

    async def crashloop(self, agent: Agent, wait: Wait) -> None:
        await self._diagnose_or(agent, "Deployment", scenarios.CRASHLOOP, scenarios.CRASHLOOP, logs=True)

    async def image_pull(self, agent: Agent, wait: Wait) -> None:
        await self._diagnose_or(agent, "Deployment", scenarios.IMAGE_PULL, scenarios.IMAGE_PULL)

    async def unschedulable(self, agent: Agent, wait: Wait) -> None:
        await self._diagnose_or(agent, "Deployment", scenarios.PENDING, scenarios.PENDING)

    async def service(self, agent: Agent, wait: Wait) -> None:
        if self._has(agent, "k8s_diagnose"):
            await agent.call("k8s_diagnose", kind="Service", name=scenarios.SERVICE, namespace=NAMESPACE)
            return
        await agent.call("k8s_describe_resource", kind="Service", name=scenarios.SERVICE, namespace=NAMESPACE)
        selector = f"app={scenarios.SERVICE_SELECTOR}"
        await agent.call("k8s_list_resources", kind="Pod", namespace=NAMESPACE, label_selector=selector)

    async def release(self, agent: Agent, wait: Wait) -> None:
        if self._has(agent, "k8s_diagnose"):
            await agent.call("k8s_diagnose", kind="HelmRelease", name=scenarios.RELEASE, namespace=NAMESPACE)
            return
        await agent.call("helm_status", release_name=scenarios.RELEASE, namespace=NAMESPACE)
        pod = await self._pods(agent, scenarios.RELEASE_DEPLOYMENT)
        await agent.call("k8s_describe_resource", kind="Pod", name=pod, namespace=NAMESPACE)

    async def rbac(self, agent: Agent, wait: Wait) -> None:
        if self._has(agent, "k8s_can_i", "service_account"):
            await agent.call(
                "k8s_can_i",
                verb="list",
                resource="secrets",
                service_account=f"{NAMESPACE}/{scenarios.ACCOUNT}",
                namespace=NAMESPACE,
            )
            return
        # Without a subject to ask about, read the grants as the peer must.
        await agent.call("k8s_list_resources", kind="RoleBinding", namespace=NAMESPACE, output="yaml")
        await agent.call("k8s_get_resource", kind="Role", name=scenarios.ROLE, namespace=NAMESPACE)
        await agent.call("k8s_list_resources", kind="ClusterRoleBinding", output="yaml")

    async def fix(self, agent: Agent, wait: Wait) -> None:
        name = scenarios.fix_target(agent.label)
        container = {"name": "main", "command": scenarios.FIXED_COMMAND}
        patch = {"spec": {"template": {"spec": {"containers": [container]}}}}
        await agent.call("k8s_patch_resource", kind="Deployment", name=name, namespace=NAMESPACE, patch=patch)
        await wait(name)
        await agent.call("k8s_rollout_status", name=name, namespace=NAMESPACE)


class Peer:
    """kubernetes-mcp-server (core,config,helm): pods_*, events_list, resources_*, helm_list."""

    @staticmethod
    async def _pods(agent: Agent, app: str) -> str:
        listing = await agent.call("pods_list_in_namespace", namespace=NAMESPACE, labelSelector=f"app={app}")
        return pod_name(listing, app)

    async def _pod_and_events(self, agent: Agent, app: str) -> str:
        pod = await self._pods(agent, app)
        await agent.call("pods_get", name=pod, namespace=NAMESPACE)
        await agent.call("events_list", namespace=NAMESPACE, fieldSelector=f"involvedObject.name={pod}")
        return pod

    async def crashloop(self, agent: Agent, wait: Wait) -> None:
        pod = await self._pods(agent, scenarios.CRASHLOOP)
        await agent.call("pods_get", name=pod, namespace=NAMESPACE)
        await agent.call("pods_log", name=pod, namespace=NAMESPACE, previous=True, tail=20)

    async def image_pull(self, agent: Agent, wait: Wait) -> None:
        await self._pod_and_events(agent, scenarios.IMAGE_PULL)  # the pull error is in the events

    async def unschedulable(self, agent: Agent, wait: Wait) -> None:
        pod = await self._pods(agent, scenarios.PENDING)
        await agent.call("pods_get", name=pod, namespace=NAMESPACE)  # the PodScheduled condition says why

    async def service(self, agent: Agent, wait: Wait) -> None:
        await agent.call("resources_get", apiVersion="v1", kind="Service", name=scenarios.SERVICE, namespace=NAMESPACE)
        selector = f"app={scenarios.SERVICE_SELECTOR}"
        await agent.call("pods_list_in_namespace", namespace=NAMESPACE, labelSelector=selector)

    async def release(self, agent: Agent, wait: Wait) -> None:
        await agent.call("helm_list", namespace=NAMESPACE)  # its only Helm read: status, no reason
        await self._pod_and_events(agent, scenarios.RELEASE_DEPLOYMENT)

    async def rbac(self, agent: Agent, wait: Wait) -> None:
        rbac = "rbac.authorization.k8s.io/v1"
        await agent.call("resources_list", apiVersion=rbac, kind="RoleBinding", namespace=NAMESPACE)
        await agent.call("resources_get", apiVersion=rbac, kind="Role", name=scenarios.ROLE, namespace=NAMESPACE)
        await agent.call("resources_list", apiVersion=rbac, kind="ClusterRoleBinding")

    async def fix(self, agent: Agent, wait: Wait) -> None:
        # No patch tool: read the object, send it whole with the new command (server-side apply).
        name = scenarios.fix_target(agent.label)
        await agent.call("resources_get", apiVersion="apps/v1", kind="Deployment", name=name, namespace=NAMESPACE)
        fixed = scenarios.crashing(name)
        fixed["spec"]["template"]["spec"]["containers"][0]["command"] = scenarios.FIXED_COMMAND
        await agent.call("resources_create_or_update", resource=json.dumps(fixed))
        await wait(name)
        await agent.call("resources_get", apiVersion="apps/v1", kind="Deployment", name=name, namespace=NAMESPACE)


@dataclass(frozen=True)
class Row:
    task: Task
    server: str
    calls: list[Received]
    found: list[str]

    def total(self, part: str) -> int:
        return sum(getattr(call, part) for call in self.calls)


@contextlib.asynccontextmanager
async def _tapped(params: StdioServerParameters, tap: list[_Tap]) -> AsyncIterator[TransportStreams]:
    async with stdio_client(params) as (read, write):
        tap.append(_Tap(read))
        yield tap[-1], write


async def _play(
    playbooks: dict[str, tuple[Ours | Peer, StdioServerParameters]], waits: tuple[Settle, Wait], dump: Path | None
) -> dict[str, list[Row]]:
    """Every server connected at once, each task answered by all of them back to back: they read
    the cluster in the same state (a crash loop changes as it goes)."""
    settle, wait = waits
    rows: dict[str, list[Row]] = {label: [] for label in playbooks}
    async with contextlib.AsyncExitStack() as stack:
        agents = {}
        for label, (_, params) in playbooks.items():
            taps: list[_Tap] = []
            client = await stack.enter_async_context(Client(_tapped(params, taps)))
            schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
            agents[label] = Agent(label, client, taps[0], schemas, dump)
        for task in TASKS:
            await settle(task.key)
            for label, (playbook, _) in playbooks.items():
                agent = agents[label]
                agent.task = task.key
                await getattr(playbook, task.key)(agent, wait)
                calls, text = agent.take()
                found = [fact for fact, pattern in task.facts.items() if re.search(pattern, text)]
                rows[label].append(Row(task, label, calls, found))
    return rows


def _ratio(mine: float, other: float) -> str:
    return f"{mine / other:.2f}" if other else "-"


def _table(rows: list[Row]) -> str:
    head = f"{'task':58} {'server':22} {'calls':>5} {'text B':>8} {'struct B':>8} {'wire B':>8} {'facts':>6}"
    lines = [head]
    for row in rows:
        facts = f"{len(row.found)}/{len(row.task.facts)}"
        errors = sum(call.error for call in row.calls)
        lines.append(
            f"{row.task.title[:58]:58} {row.server:22} {len(row.calls):5d} {row.total('text'):8d} "
            f"{row.total('structured'):8d} {row.total('wire'):8d} {facts:>6}"
            + (f"  ({errors} errors)" if errors else "")
        )
        missing = [fact for fact in row.task.facts if fact not in row.found]
        if missing:
            lines.append(f"{'':58} {'':22} missing: {', '.join(missing)}")
    return "\n".join(lines)


def _sums(rows: list[Row]) -> dict[str, int]:
    return {
        "calls": sum(len(r.calls) for r in rows),
        "text": sum(r.total("text") for r in rows),
        "structured": sum(r.total("structured") for r in rows),
        "wire": sum(r.total("wire") for r in rows),
        "found": sum(len(r.found) for r in rows),
        "facts": sum(len(r.task.facts) for r in rows),
    }


def _totals(runs: dict[str, list[Row]]) -> str:
    """Each server's sums, each of ours over the peer's, and the issue's goal for our best tools."""
    sums = {label: _sums(rows) for label, rows in runs.items()}
    lines = [f"{'total':30} {'calls':>5} {'text B':>8} {'struct B':>8} {'wire B':>8} {'facts':>7}"]
    for label, s in sums.items():
        facts = f"{s['found']}/{s['facts']}"
        lines.append(f"{label:30} {s['calls']:5d} {s['text']:8d} {s['structured']:8d} {s['wire']:8d} {facts:>7}")
    other = sums[KMS]
    for label in (OURS, OURS_GENERIC):
        r = {part: _ratio(sums[label][part], other[part]) for part in ("calls", "text", "structured", "wire")}
        name = f"ratio {label}/peer"
        lines.append(f"{name:30} {r['calls']:>5} {r['text']:>8} {r['structured']:>8} {r['wire']:>8}")
    mine = sums[OURS]
    verdicts = {
        "every fact": mine["found"] == mine["facts"],
        "<= 1/2 the calls": mine["calls"] <= other["calls"] / 2,
        "<= 1/3 the wire bytes": mine["wire"] <= other["wire"] / 3,
    }
    lines.append("goal for ours: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in verdicts.items()))
    return "\n".join(lines)


async def _tools_list(env: dict[str, str], theirs: list[str]) -> str:
    _, mine = await raw_tools_list(ours_argv(), env)
    _, other = await raw_tools_list(theirs, env)
    size_mine, size_other = json_bytes({"tools": mine}), json_bytes({"tools": other})
    return (
        f"tools/list (compact JSON of the tools): ours {len(mine)} tools {size_mine} B, "
        f"{KMS} core,config,helm {len(other)} tools {size_other} B, ratio {_ratio(size_mine, size_other)}"
    )


async def _compare(plane: ControlPlane, env: dict[str, str], theirs: list[str], dump: Path | None) -> None:
    async def wait(name: str) -> None:
        await asyncio.to_thread(seed.wait_until, lambda: scenarios.rolled_out(plane, name), f"{name} to roll out")

    async def settle(task: str) -> None:
        # A crash loop is steady only in back-off: every server reads it early in the same one.
        if task == "crashloop":
            # The kubelet reports the back-off some seconds after the exit; after two restarts it
            # lasts 40 s or more, so 20 s in leaves ample time for every server's calls.
            fresh = functools.partial(scenarios.crash_looping, plane, scenarios.CRASHLOOP, 20.0)
            await asyncio.to_thread(seed.wait_until, fresh, f"{scenarios.CRASHLOOP} to crash again")

    playbooks: dict[str, tuple[Ours | Peer, StdioServerParameters]] = {
        OURS: (Ours(best=True), stdio_params(ours_argv(), env)),
        OURS_GENERIC: (Ours(best=False), stdio_params(ours_argv(), env)),
        KMS: (Peer(), stdio_params(theirs, env)),
    }
    rows = await _play(playbooks, (settle, wait), dump)
    ours, generic, other = rows[OURS], rows[OURS_GENERIC], rows[KMS]
    used = sorted({c.tool for r in ours for c in r.calls} & {"k8s_diagnose", "k8s_can_i"})
    print(f"\n== agent tasks ({OURS} used {', '.join(used) or 'neither k8s_diagnose nor k8s_can_i'}; bytes received:")
    print("   text content, structuredContent as compact JSON, every message on the wire) ==")
    print(_table([row for rows in zip(ours, generic, other, strict=True) for row in rows]))
    print()
    print(_totals({OURS: ours, OURS_GENERIC: generic, KMS: other}))
    print()
    print(await _tools_list(env, theirs))


async def run(dump: Path | None) -> None:
    theirs = kms_argv()
    if theirs is None:
        raise SystemExit(f"{KMS} could not be fetched; nothing to compare against")
    binaries = ensure_all(node=True)
    with tempfile.TemporaryDirectory() as tmp, ControlPlane.start(None, binaries) as plane:
        node = Node.start(plane, binaries)
        try:
            scenarios.break_cluster(plane, binaries, Path(tmp), [OURS, OURS_GENERIC, KMS])
            await _compare(plane, server_env(plane, binaries), theirs, dump)
        finally:
            node.stop()


def main() -> None:
    args = cli.parser(__doc__, dump=True).parse_args()
    with cli.guarded(node=True):
        asyncio.run(run(args.dump))


if __name__ == "__main__":
    main()
