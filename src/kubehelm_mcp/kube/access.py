"""Access checks: may an identity do a verb on a resource? The caller's own through a
SelfSubjectAccessReview; a given user, groups or service account through a SubjectAccessReview."""

from __future__ import annotations

from dataclasses import dataclass

from kubehelm_mcp.errors import Forbidden
from kubehelm_mcp.kube.clients import KubeCluster


@dataclass(frozen=True)
class AccessQuery:
    verb: str
    resource: str
    name: str | None = None
    subresource: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class Someone:
    """Another identity to check: a user with groups, or a service account (which is a user too)."""

    user: str | None = None
    groups: tuple[str, ...] = ()

    @classmethod
    def service_account(cls, namespace: str, name: str, groups: tuple[str, ...] = ()) -> Someone:
        # the groups the API server gives every service-account token
        implied = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
        return cls(f"system:serviceaccount:{namespace}:{name}", tuple(dict.fromkeys((*groups, *implied))))

    @classmethod
    def person(cls, user: str | None, groups: tuple[str, ...]) -> Someone:
        # every authenticated request carries system:authenticated; a review is told its groups explicitly
        return cls(user, tuple(dict.fromkeys((*groups, "system:authenticated"))) if user else groups)


@dataclass(frozen=True)
class AccessAnswer:
    allowed: bool
    group: str
    resource: str
    namespace: str | None
    reason: str | None


async def can_i(
    cluster: KubeCluster, query: AccessQuery, someone: Someone | None = None, asker: str = "this identity"
) -> AccessAnswer:
    """Resolve the resource through discovery (plural, kind or plural.group), then ask the apiserver;
    `asker` names who asks, for the refusal when it may not review someone else."""
    if query.resource == "*":
        group, plural, namespaced = "*", "*", True
    else:
        rt = await cluster.discovery.resolve(query.resource)
        group, plural, namespaced = rt.group, rt.plural, rt.namespaced
    namespace = query.namespace if namespaced else None
    attributes = {
        "verb": query.verb,
        "group": group,
        "resource": plural,
        "subresource": query.subresource or "",
        "name": query.name or "",
        "namespace": namespace or "",
    }
    spec: dict[str, object] = {"resourceAttributes": attributes}
    if someone is None:
        review_type = await cluster.discovery.resolve("selfsubjectaccessreviews.authorization.k8s.io")
    else:
        review_type = await cluster.discovery.resolve("subjectaccessreviews.authorization.k8s.io")
        spec.update({"user": someone.user or "", "groups": list(someone.groups)})
    body = {"apiVersion": review_type.api_version, "kind": review_type.kind, "spec": spec}
    try:
        review = await cluster.api.request(
            "POST", review_type.collection_path(None), body=body, what="The access review"
        )
    except Forbidden:
        if someone is None:
            raise
        raise Forbidden(
            f"Cannot check another identity: {asker} may not create subjectaccessreviews "
            "(authorization.k8s.io, cluster-wide); RBAC must grant that verb on that resource first.",
            hint="Ask without user, groups or service_account to check this identity itself.",
        ) from None
    status = review.get("status", {})
    reason = status.get("reason") or status.get("evaluationError") or None
    return AccessAnswer(bool(status.get("allowed")), group, plural, namespace, reason)
