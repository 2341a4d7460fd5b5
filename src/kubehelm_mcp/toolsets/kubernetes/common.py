"""Inputs and rendering shared by the Kubernetes resource tools (tables: toolsets/rendering.py)."""

from __future__ import annotations

import difflib
import json
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import NotFound
from kubehelm_mcp.kube.clients import KubeCluster
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.tooling import Target, ToolInput, ToolResult, WriteStates
from kubehelm_mcp.yamltext import dump_yaml, dump_yaml_all

Output = Literal["summary", "yaml", "json"]


class KindInput(ToolInput):
    kind: str = Field(min_length=1, max_length=253, description="e.g. Deployment, cm")
    api_version: str | None = Field(None)

    def target(self) -> Target:
        return replace(super().target(), kind=self.kind, api_version=self.api_version)


async def resolve_kind(args: KindInput, ctx: CallContext) -> tuple[KubeCluster, ResourceType]:
    cluster = await ctx.cluster()
    return cluster, await cluster.discovery.resolve(args.kind, args.api_version)


async def explain_not_found(cluster: KubeCluster, rt: ResourceType, namespace: str | None, error: NotFound) -> NotFound:
    """A 404 for a namespaced object is often a missing namespace: say which."""
    if rt.namespaced and namespace:
        try:
            await cluster.api.request("GET", f"/api/v1/namespaces/{namespace}", what=f"Namespace '{namespace}'")
        except NotFound:
            return NotFound(f"Namespace '{namespace}' does not exist.")
    return error


def render_objects(objects: list[dict[str, Any]], output: Output) -> str:
    if output == "json":
        return json.dumps(objects[0] if len(objects) == 1 else objects, separators=(",", ":"))
    return dump_yaml_all(objects)


# Fields that change on every write and say nothing about what changed.
_VOLATILE_METADATA = ("resourceVersion", "generation", "managedFields")


def comparable(obj: dict[str, Any] | None) -> dict[str, Any]:
    if not obj:
        return {}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    return {**obj, "metadata": meta}


def object_diff(before: dict[str, Any] | None, after: dict[str, Any] | None, label: str, after_label: str) -> str:
    """A unified diff of two objects' YAML, like kubectl diff."""

    def lines(obj: dict[str, Any] | None) -> list[str]:
        text = dump_yaml(comparable(obj)) + "\n" if obj else ""
        return text.splitlines(keepends=True)

    diff = difflib.unified_diff(lines(before), lines(after), f"{label} (live)", f"{label} ({after_label})")
    return "".join(diff).rstrip("\n")


class ObjectChange(BaseModel):
    kind: str
    api_version: str
    name: str
    namespace: str | None = None
    action: str
    error: str | None = None

    @classmethod
    def of(cls, obj: dict[str, Any], action: str) -> ObjectChange:
        """Named as the manifest names it (`prefix*` for a generateName) until the cluster says more."""
        meta = obj["metadata"]
        name = meta.get("name") or f"{meta.get('generateName')}*"
        return cls(
            kind=obj["kind"], api_version=obj["apiVersion"], name=name, namespace=meta.get("namespace"), action=action
        )

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def _diff_not_required(schema: dict[str, Any]) -> None:
    """Results are dumped without nulls, so a computed `diff` of None is simply absent."""
    required = schema.get("required")
    if isinstance(required, list) and "diff" in required:
        required.remove("diff")


class ChangeSet(ToolResult):
    """What a write did to each object, with a diff of every object it changed."""

    model_config = ConfigDict(json_schema_extra=_diff_not_required)

    dry_run: bool = False
    items: list[ObjectChange]
    # The live and resulting object of each changed item: {"index": i, "before": ..., "after": ...}.
    # Kept out of the structured result. The pipeline sanitises every field of a result, these
    # too (managedFields gone, Secret values redacted, and what the write put on a Secret), so the
    # diff only ever shows those copies.
    states: WriteStates = Field(None, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def diff(self) -> str | None:
        after_label = "dry run" if self.dry_run else "now"
        parts = []
        for state in self.states or []:
            label = self.items[state["index"]].label
            text = object_diff(state.get("before"), state.get("after"), label, after_label)
            parts.append(text or f"{label} (no diff shown: only redacted Secret values differ)")
        return "\n".join(parts) or None

    def to_text(self) -> str:
        failed = sum(1 for item in self.items if item.error)
        lines = []
        if self.dry_run:
            lines.append("Dry run: the cluster validated the change and stored nothing.")
        if failed:
            lines.append(f"{len(self.items) - failed} of {len(self.items)} object(s) done; {failed} failed.")
        for item in self.items:
            action = f"failed: {item.error}" if item.error else item.action
            lines.append(f"{item.label} {action}")  # no colon: "token: x" would read as a credential
        diff = self.diff
        return "\n".join([*lines, *([diff] if diff else [])])
