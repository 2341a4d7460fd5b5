"""Which cluster a call talks to, and as whom."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClusterTarget:
    """Everything needed to build a client. The token never appears in repr or in the pool key."""

    kubeconfig: str | None = None
    context: str | None = None
    # The cluster as calls name it (a context, or a Cluster API namespace/name): audit, metrics, errors.
    cluster: str | None = None
    in_cluster: bool = False
    apiserver: str | None = None
    token: str | None = field(default=None, repr=False)
    tls_server_name: str | None = None
    insecure_tls: bool = False
    # The caller's identity (--cluster-identity): impersonated on top of the server's credentials ...
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    # ... or, when False, `token` is the only credential: the kubeconfig (or the pod) gives the cluster's
    # address and CA but never its user's certificate, token or exec plugin.
    user_credentials: bool = True
    expires_at: float | None = field(default=None, compare=False)  # when `token` expires (epoch seconds)

    @property
    def pool_key(self) -> tuple[object, ...]:
        token_digest = hashlib.sha256(self.token.encode()).hexdigest() if self.token else None
        return (
            self.kubeconfig,
            self.context,
            self.cluster,
            self.in_cluster,
            self.apiserver,
            token_digest,
            self.tls_server_name,
            self.insecure_tls,
            self.impersonate_user,
            self.impersonate_groups,
            self.user_credentials,
        )

    def impersonation_headers(self) -> list[tuple[str, str]]:
        """Impersonate-User, then one Impersonate-Group per group (the apiserver reads repeated headers)."""
        if not self.impersonate_user:
            return []
        groups = [("Impersonate-Group", group) for group in self.impersonate_groups]
        return [("Impersonate-User", self.impersonate_user), *groups]

    @property
    def uses_kubeconfig(self) -> bool:
        return not self.in_cluster and not (self.apiserver and self.token)
