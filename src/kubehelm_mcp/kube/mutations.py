"""Changing objects of any kind: delete and scale."""

from __future__ import annotations

from typing import Any, Literal

from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.discovery import ResourceType
from kubehelm_mcp.kube.resources import describe_target

Propagation = Literal["Foreground", "Background", "Orphan"]
MERGE_PATCH = "application/merge-patch+json"


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
    if rt.verbs and "delete" not in rt.verbs:
        raise InvalidInput(f"{rt.kind} ({rt.api_version}) cannot be deleted.")
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
    if propagation:
        body["propagationPolicy"] = propagation
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    path = rt.object_path(name, namespace if rt.namespaced else None)
    result: dict[str, Any] = await api.request(
        "DELETE", path, query=_dry_run(dry_run), body=body, what=describe_target(rt, name, namespace)
    )
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
