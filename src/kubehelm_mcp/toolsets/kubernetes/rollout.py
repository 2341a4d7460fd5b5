"""k8s_rollout: status, restart, undo and history of Deployments, StatefulSets and DaemonSets;
k8s_rollout_status: the same status and history as a read-only tool, so --read-only serves them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.resources import get_object
from kubehelm_mcp.kube.rollout import Revision, require_rollouts, restart, revisions, rollout_status, undo
from kubehelm_mcp.tooling import DESTRUCTIVE, OBJECTS, READ_ONLY, AnyTool, Category, Target, Tool, ToolResult
from kubehelm_mcp.toolsets.kubernetes.common import KindInput, explain_not_found, resolve_kind
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import ObjectName

Action = Literal["status", "restart", "undo", "history"]
ReadAction = Literal["status", "history"]


class RolloutTarget(KindInput):
    kind: str = Field("Deployment", min_length=1, max_length=253)
    name: ObjectName = Field(min_length=1, max_length=253)

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class RolloutReadInput(RolloutTarget):
    action: ReadAction = "status"


class RolloutInput(RolloutTarget):
    action: Action = "status"
    to_revision: int | None = Field(None, ge=1, description="undo: default the previous")


class RevisionRow(BaseModel):
    revision: int
    name: str
    change_cause: str | None = None
    images: list[str] = Field(default_factory=list)


class RolloutResult(ToolResult):
    kind: str
    name: str
    namespace: str
    action: Action
    verdict: str
    done: bool | None = None
    generation: int | None = None
    observed_generation: int | None = None
    replicas: dict[str, int] | None = None
    conditions: list[dict[str, str]] | None = None
    revisions: list[RevisionRow] | None = None

    def to_text(self) -> str:
        lines = [self.verdict]
        if self.replicas is not None:
            counts = ", ".join(f"{k} {v}" for k, v in self.replicas.items())
            lines.append(f"Replicas: {counts} (generation {self.generation}, observed {self.observed_generation})")
        for c in self.conditions or []:
            lines.append(
                f"{c.get('type')}={c.get('status')} {c.get('reason', '')}: {c.get('message', '')}".rstrip(": ")
            )
        if self.revisions:
            rows = [
                {"revision": r.revision, "change_cause": r.change_cause or "<none>", "images": ",".join(r.images)}
                for r in self.revisions
            ]
            lines.append(render_table(["revision", "change_cause", "images"], rows))
        return "\n".join(lines)


def _rows(history: list[Revision]) -> list[RevisionRow]:
    return [RevisionRow(revision=r.number, name=r.name, change_cause=r.change_cause, images=r.images) for r in history]


def _status_fields(obj: dict[str, Any]) -> dict[str, Any]:
    state = rollout_status(obj)
    conditions = [
        {k: str(c[k]) for k in ("type", "status", "reason", "message") if c.get(k) is not None}
        for c in (obj.get("status") or {}).get("conditions") or []
    ]
    return {
        "verdict": state.message,
        "done": state.done,
        "generation": obj["metadata"].get("generation"),
        "observed_generation": (obj.get("status") or {}).get("observedGeneration"),
        "replicas": state.replicas,
        "conditions": conditions or None,
    }


async def rollout(args: RolloutInput, ctx: CallContext) -> RolloutResult:
    if args.to_revision is not None and args.action != "undo":
        raise InvalidInput("to_revision applies only to action undo.")
    cluster, rt = await resolve_kind(args, ctx)
    require_rollouts(rt)
    namespace = await ctx.namespace()
    try:
        obj = await get_object(cluster.api, rt, args.name, namespace)
    except NotFound as error:
        raise await explain_not_found(cluster, rt, namespace, error) from None
    label = f"{rt.kind} '{args.name}'"
    base = {"kind": rt.kind, "name": args.name, "namespace": namespace, "action": args.action}
    if args.action == "status":
        return RolloutResult(**base, **_status_fields(obj))
    if args.action == "history":
        history = await revisions(cluster, obj)
        return RolloutResult(**base, verdict=f"{label} has {len(history)} revision(s).", revisions=_rows(history))
    if args.action == "restart":
        stamp = await restart(cluster, rt, obj)
        return RolloutResult(**base, verdict=f"{label} restarted at {stamp}: its pods are being replaced.")
    target, changed = await undo(cluster, rt, obj, args.to_revision)
    verdict = (
        f"{label} rolled back to revision {target.number}: its pods are being replaced."
        if changed
        else f"{label} already runs the template of revision {target.number}; nothing changed."
    )
    return RolloutResult(**base, verdict=verdict, revisions=_rows([target]))


async def rollout_read(args: RolloutReadInput, ctx: CallContext) -> RolloutResult:
    # Only this model's own fields: with --per-call-credentials the served model has more, and
    # the context already holds the target they chose.
    own = args.model_dump(include=set(RolloutReadInput.model_fields), exclude_unset=True)
    return await rollout(RolloutInput.model_validate(own), ctx)


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_rollout",
        touches=OBJECTS,
        description="Rollout status, history, restart or undo (both destructive) of a workload.",
        input_model=RolloutInput,
        output_model=RolloutResult,
        annotations=DESTRUCTIVE,
        category=Category.MUTATE,
        handler=rollout,
        destructive_when=lambda args: args.action in ("restart", "undo"),
    ),
    Tool(
        name="k8s_rollout_status",
        touches=OBJECTS,
        description="Rollout status or history of a Deployment, StatefulSet or DaemonSet (read-only).",
        input_model=RolloutReadInput,
        output_model=RolloutResult,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=rollout_read,
    ),
]
