"""Which cluster a call talks to, and as whom."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClusterTarget:
    """Everything needed to build a client. The token never appears in repr or in the pool key."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    apiserver: str | None = None
    token: str | None = field(default=None, repr=False)
    tls_server_name: str | None = None
    insecure_tls: bool = False

    @property
    def pool_key(self) -> tuple[object, ...]:
        token_digest = hashlib.sha256(self.token.encode()).hexdigest() if self.token else None
        return (
            self.kubeconfig,
            self.context,
            self.in_cluster,
            self.apiserver,
            token_digest,
            self.tls_server_name,
            self.insecure_tls,
        )

    @property
    def uses_kubeconfig(self) -> bool:
        return not self.in_cluster and not (self.apiserver and self.token)
