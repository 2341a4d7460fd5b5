"""Changing objects of any kind: server-side apply, create, patch, delete and scale."""

from __future__ import annotations

from typing import Any, Literal

from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.kube.resources import describe_target, require_verb

Propagation = Literal["Foreground", "Background", "Orphan"]
PatchType = Literal["strategic", "merge", "json"]
MERGE_PATCH = "application/merge-patch+json"
PATCH_CONTENT_TYPES: dict[PatchType, str] = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": MERGE_PATCH,
    "json": "application/json-patch+json",
}
APPLY_PATCH = "application/apply-patch+yaml"
FIELD_MANAGER = "kubehelm-mcp"


def _dry_run(dry_run: bool) -> list[tuple[str, Any]]:
    return [("dryRun", "All")] if dry_run else []


async def delete_object(
    api: KubeApi,
    rt: ResourceType,
    name: str,
    namespace: str | None,
    *,
    propagation: Propagation | None,
    grace_period_seconds: int | None,
    dry_run: bool = False,
) -> dict[str, Any]:
    require_verb(rt, "delete")
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
    if propagation:
        body["propagationPolicy"] = propagation
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    if dry_run:  # with a DeleteOptions body the apiserver reads dryRun from it, not from the query
        body["dryRun"] = ["All"]
    path = rt.object_path(name, namespace if rt.namespaced else None)
    result: dict[str, Any] = await api.request("DELETE", path, body=body, what=describe_target(rt, name, namespace))
    return result


async def scale_object(
    api: KubeApi, rt: ResourceType, name: str, namespace: str | None, replicas: int, *, dry_run: bool = False
) -> dict[str, Any]:
    """Through the /scale subresource, so any kind that has one (CRDs included) works."""
    path = rt.object_path(name, namespace if rt.namespaced else None) + "/scale"
    what = describe_target(rt, name, namespace)
    try:
        scale: dict[str, Any] = await api.request(
            "PATCH",
            path,
            query=_dry_run(dry_run),
            body={"spec": {"replicas": replicas}},
            headers={"Content-Type": MERGE_PATCH},
            what=what,
        )
    except NotFound:
        # Either the object is missing or its kind has no /scale subresource: tell which.
        await api.request("GET", path.removesuffix("/scale"), what=what)
        raise InvalidInput(f"{rt.kind} objects cannot be scaled (no /scale subresource).") from None
    return scale


async def apply_object(
    api: KubeApi, rt: ResourceType, obj: dict[str, Any], *, force: bool, dry_run: bool = False
) -> tuple[dict[str, Any], bool]:
    """Server-side apply of a whole object (its namespace already set); returns what the server
    stored and whether it created the object."""
    require_verb(rt, "patch")
    meta = obj["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    query: list[tuple[str, Any]] = [("fieldManager", FIELD_MANAGER), *_dry_run(dry_run)]
    if force:
        query.append(("force", "true"))
    result, status = await api.request_with_status(
        "PATCH",
        rt.object_path(name, namespace if rt.namespaced else None),
        query=query,
        body=obj,
        headers={"Content-Type": APPLY_PATCH},
        what=describe_target(rt, name, namespace),
    )
    return result, status == 201


async def create_object(
    api: KubeApi, rt: ResourceType, obj: dict[str, Any], *, dry_run: bool = False
) -> dict[str, Any]:
    """A plain create (POST): a Conflict when the object exists; also for objects that only have
    metadata.generateName (apply needs a name)."""
    require_verb(rt, "create")
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    result: dict[str, Any] = await api.request(
        "POST",
        rt.collection_path(namespace if rt.namespaced else None),
        query=[("fieldManager", FIELD_MANAGER), *_dry_run(dry_run)],
        body=obj,
        what=describe_target(rt, meta.get("name") or meta.get("generateName", "") + "*", namespace),
    )
    return result


async def patch_object(
    api: KubeApi,
    rt: ResourceType,
    name: str,
    namespace: str | None,
    patch: Any,
    patch_type: PatchType,
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    require_verb(rt, "patch")
    if patch_type == "json" and not isinstance(patch, list):
        raise InvalidInput('A json patch is a list of operations, e.g. [{"op": "replace", "path": ..., "value": ...}].')
    if patch_type != "json" and not isinstance(patch, dict):
        raise InvalidInput(f"A {patch_type} patch is an object holding the fields to change.")
    result: dict[str, Any] = await api.request(
        "PATCH",
        rt.object_path(name, namespace if rt.namespaced else None),
        query=[("fieldManager", FIELD_MANAGER), *_dry_run(dry_run)],
        body=patch,
        headers={"Content-Type": PATCH_CONTENT_TYPES[patch_type]},
        what=describe_target(rt, name, namespace),
    )
    return result
