"""k8s_create_resource: create objects from YAML or JSON; every one is checked by a server dry
run before any is created, so a manifest with a bad or existing object changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import Conflict, NotFound, ToolError
from kubehelm_mcp.kube.clients import KubeCluster
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.kube.manifests import parse_manifest, place
from kubehelm_mcp.kube.mutations import create_object
from kubehelm_mcp.tooling import OBJECTS, WRITES, AnyTool, Category, Tool
from kubehelm_mcp.toolsets.kubernetes.apply import ManifestInput
from kubehelm_mcp.toolsets.kubernetes.common import ChangeSet, ObjectChange


@dataclass
class _Planned:
    change: ObjectChange
    rt: ResourceType
    body: dict[str, Any]


def _problem(change: ObjectChange, exc: ToolError) -> str:
    if isinstance(exc, Conflict) and "already exists" in exc.message:
        return f"{change.label} already exists (k8s_apply_resource updates it)"
    return f"{change.label}: {str(exc).rstrip('.')}"


def _labels(changes: list[ObjectChange]) -> str:
    return ", ".join(change.label for change in changes) or "none"


async def _validate(
    cluster: KubeCluster, objects: list[dict[str, Any]], asked: str | None, default: str
) -> list[_Planned]:
    """A dry-run create of every object; one sentence naming each that would fail."""
    planned: list[_Planned] = []
    problems: list[tuple[str, ToolError]] = []
    new_namespaces: set[str] = set()
    for obj in objects:
        change = ObjectChange.of(obj, "created")
        try:
            rt = await cluster.discovery.resolve(obj["kind"], obj["apiVersion"])
            body = place(obj, rt, asked, default)
            change.kind, change.namespace = rt.kind, body["metadata"].get("namespace")
            try:
                await create_object(cluster.api, rt, body, dry_run=True)
            except NotFound:
                # The namespace an earlier document creates does not exist before the real create.
                if change.namespace not in new_namespaces:
                    raise
            if rt.kind == "Namespace" and rt.group == "" and body["metadata"].get("name"):
                new_namespaces.add(body["metadata"]["name"])
            planned.append(_Planned(change, rt, body))
        except ToolError as exc:
            problems.append((_problem(change, exc), exc))
    if problems:
        details = "; ".join(text for text, _ in problems)
        first = problems[0][1]
        if len(objects) == 1:
            raise type(first)(f"Nothing was created: {details}.")
        raise type(first)(f"Nothing was created: {len(problems)} of {len(objects)} objects would fail. {details}.")
    return planned


async def create_resources(args: ManifestInput, ctx: CallContext) -> ChangeSet:
    objects = parse_manifest(args.manifest)
    cluster = await ctx.cluster()
    planned = await _validate(cluster, objects, args.namespace, await ctx.namespace())
    created: list[ObjectChange] = []
    for index, item in enumerate(planned):
        try:
            result = await create_object(cluster.api, item.rt, item.body)
        except ToolError as exc:
            # Something changed between the dry run and now: say exactly what exists and what does not.
            problem = _problem(item.change, exc)
            if not created:
                raise type(exc)(f"Nothing was created: {problem}.") from None
            rest = [p.change for p in planned[index:]]
            raise type(exc)(
                f"Only {len(created)} of {len(planned)} objects were created ({_labels(created)}): {problem}; "
                f"not created: {_labels(rest)}."
            ) from None
        item.change.name = result["metadata"]["name"]
        created.append(item.change)
    return ChangeSet(items=created)


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_create_resource",
        touches=OBJECTS,
        description=("Create objects from a YAML/JSON manifest; fails if one exists."),
        input_model=ManifestInput,
        output_model=ChangeSet,
        annotations=WRITES,
        category=Category.MUTATE,
        handler=create_resources,
    ),
]
