"""k8s_apply_resource: create or update objects of any kind from YAML or JSON, by server-side apply."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import Conflict, NotFound, ToolError
from kubehelm_mcp.kube.clients import KubeCluster
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.kube.manifests import parse_manifest, place
from kubehelm_mcp.kube.mutations import apply_object, create_object
from kubehelm_mcp.kube.resources import get_object
from kubehelm_mcp.tooling import OBJECTS, WRITES, AnyTool, Category, Target, Tool, ToolInput
from kubehelm_mcp.toolsets.kubernetes.common import ChangeSet, ObjectChange, comparable

MAX_MANIFEST_CHARS = 4 * 1024 * 1024
CRD_WAIT_SECONDS = 15.0  # how long a custom resource waits for a CRD applied earlier in the same call


class ManifestInput(ToolInput):
    manifest: str = Field(
        min_length=1,
        max_length=MAX_MANIFEST_CHARS,
        description="YAML/JSON, one or more objects",
    )

    def target(self) -> Target:
        return replace(super().target(), manifest=self.manifest)


class ApplyInput(ManifestInput):
    dry_run: bool = Field(False, description="Preview the diff only")
    force_conflicts: bool = Field(False, description="Take fields another manager owns.")


@dataclass(frozen=True)
class ApplyMode:
    dry_run: bool
    force: bool
    diff_new: bool = False  # diff created objects too (against nothing), as k8s_diff_resource shows them
    done: str = "applied"  # the word for success in the all-failed sentence


class _Applier:
    """One call's objects, applied in document order; a failure does not stop the rest."""

    def __init__(self, cluster: KubeCluster, mode: ApplyMode, asked_namespace: str | None, default: str) -> None:
        self.cluster = cluster
        self.mode = mode
        self.asked_namespace = asked_namespace
        self.default_namespace = default
        self.crd_kinds: set[tuple[str, str]] = set()  # (group, kind) of CRDs this call applied

    async def _resolve(self, kind: str, api_version: str) -> ResourceType:
        group = api_version.rpartition("/")[0]
        deadline = time.monotonic() + CRD_WAIT_SECONDS
        while True:
            try:
                return await self.cluster.discovery.resolve(kind, api_version)
            except NotFound:
                # A CRD applied a moment ago is served only once it is established.
                if (group, kind) not in self.crd_kinds or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.5)

    async def apply(self, obj: dict[str, Any], index: int, states: list[dict[str, Any]]) -> ObjectChange:
        meta = obj["metadata"]
        change = ObjectChange.of(obj, "failed")
        dry_run = self.mode.dry_run
        try:
            rt = await self._resolve(obj["kind"], obj["apiVersion"])
            body = place(obj, rt, self.asked_namespace, self.default_namespace)
            namespace = body["metadata"].get("namespace")
            change.kind, change.namespace = rt.kind, namespace
            if not meta.get("name"):  # only generateName: a create, which apply cannot do
                created = await create_object(self.cluster.api, rt, body, dry_run=dry_run)
                change.name, change.action = created["metadata"]["name"], "created"
                if self.mode.diff_new:
                    states.append({"index": index, "before": None, "after": created})
                return change
            try:
                before: dict[str, Any] | None = await get_object(self.cluster.api, rt, meta["name"], namespace)
            except NotFound:
                before = None
            after, created_now = await apply_object(self.cluster.api, rt, body, force=self.mode.force, dry_run=dry_run)
            if created_now or before is None:
                change.action = "created"
                if self.mode.diff_new:
                    states.append({"index": index, "before": None, "after": after})
            elif comparable(before) == comparable(after):
                change.action = "unchanged"
            else:
                change.action = "configured"
                states.append({"index": index, "before": before, "after": after})
            if rt.kind == "CustomResourceDefinition" and not dry_run:
                spec = obj.get("spec") or {}
                self.crd_kinds.add((spec.get("group", ""), (spec.get("names") or {}).get("kind", "")))
        except Conflict as exc:
            change.error = f"{exc.message} Pass force_conflicts=true to take those fields over from their manager."
        except ToolError as exc:
            change.error = str(exc)
        return change


async def apply_objects(manifest: str, ctx: CallContext, mode: ApplyMode) -> ChangeSet:
    """Server-side apply of every object of a manifest, in order; also behind k8s_diff_resource."""
    objects = parse_manifest(manifest)
    applier = _Applier(await ctx.cluster(), mode, ctx.namespace_arg, await ctx.namespace())
    items: list[ObjectChange] = []
    states: list[dict[str, Any]] = []
    for index, obj in enumerate(objects):
        items.append(await applier.apply(obj, index, states))
    failures = [item for item in items if item.error]
    if len(failures) == len(items):
        if len(items) == 1:
            raise ToolError(f"{items[0].label} was not {mode.done}: {items[0].error}")
        details = "; ".join(f"{item.label}: {item.error}" for item in items)
        raise ToolError(f"None of the {len(items)} objects was {mode.done}. {details}")
    return ChangeSet(dry_run=mode.dry_run, items=items, states=states)


async def apply_manifest(args: ApplyInput, ctx: CallContext) -> ChangeSet:
    return await apply_objects(args.manifest, ctx, ApplyMode(dry_run=args.dry_run, force=args.force_conflicts))


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_apply_resource",
        touches=OBJECTS,
        description="Create or update objects from a YAML/JSON manifest (server-side apply); each change with a diff.",
        input_model=ApplyInput,
        output_model=ChangeSet,
        annotations=WRITES,
        category=Category.MUTATE,
        handler=apply_manifest,
    ),
]
