"""Access checks: may the caller's identity do a verb on a resource? (SelfSubjectAccessReview)"""

from __future__ import annotations

from dataclasses import dataclass

from kubehelm_mcp.kube.clients import KubeCluster


@dataclass(frozen=True)
class AccessQuery:
    verb: str
    resource: str
    name: str | None = None
    subresource: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class AccessAnswer:
    allowed: bool
    group: str
    resource: str
    namespace: str | None
    reason: str | None


async def can_i(cluster: KubeCluster, query: AccessQuery) -> AccessAnswer:
    """Resolve the resource through discovery (plural, kind or plural.group), then ask the apiserver."""
    if query.resource == "*":
        group, plural, namespaced = "*", "*", True
    else:
        rt = await cluster.discovery.resolve(query.resource)
        group, plural, namespaced = rt.group, rt.plural, rt.namespaced
    review_type = await cluster.discovery.resolve("selfsubjectaccessreviews.authorization.k8s.io")
    namespace = query.namespace if namespaced else None
    attributes = {
        "verb": query.verb,
        "group": group,
        "resource": plural,
        "subresource": query.subresource or "",
        "name": query.name or "",
        "namespace": namespace or "",
    }
    review = await cluster.api.request(
        "POST",
        review_type.collection_path(None),
        body={
            "apiVersion": review_type.api_version,
            "kind": review_type.kind,
            "spec": {"resourceAttributes": attributes},
        },
        what="The access review",
    )
    status = review.get("status", {})
    reason = status.get("reason") or status.get("evaluationError") or None
    return AccessAnswer(bool(status.get("allowed")), group, plural, namespace, reason)
