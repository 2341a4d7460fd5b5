"""Target resolution, identity part: which credentials a call reaches the cluster with.

'server' leaves the target as configured. The others act as the authenticated HTTP caller:
'impersonate' adds Impersonate-User/Group to the server's own credentials, 'obo' and
'passthrough' replace them with a token (exchanged, or the caller's own) on the same cluster.
The incoming token is forwarded in passthrough only.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from kubehelm_mcp.caller import Caller
from kubehelm_mcp.errors import PolicyDenied
from kubehelm_mcp.identity.exchange import ExchangedToken, TokenExchanger
from kubehelm_mcp.identity.impersonation import impersonated
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import ClusterCredentials, KubeconfigCredential


def _has_own_credentials(args: Any) -> bool:
    if isinstance(args, KubeconfigCredential) and args.kubeconfig:
        return True
    return isinstance(args, ClusterCredentials) and bool(args.kube_apiserver or args.kube_token)


class Exchanger(Protocol):
    async def exchange(
        self, subject_token: str, subject_expires_at: float | None = None, audience: str | None = None
    ) -> ExchangedToken: ...


# A cluster's identity setting -> the --cluster-identity mode it means (both vocabularies are accepted).
CLUSTER_IDENTITY_MODES = {
    "impersonation": "impersonate",
    "impersonate": "impersonate",
    "sso-passthrough": "passthrough",
    "passthrough": "passthrough",
    "token-exchange": "obo",
    "obo": "obo",
    "kubeconfig": "server",
    "server": "server",
}


class CallerIdentity:
    def __init__(self, settings: Settings, exchanger: Exchanger | None = None) -> None:
        self.settings = settings
        exchanger = exchanger or TokenExchanger.from_settings(settings.identity)
        self._exchanger: Exchanger = exchanger  # used in obo mode only

    def mode_for(self, caller: Caller, requested: str | None = None, cluster: str | None = None) -> str:
        """The call's identity mode: the server's, or the one a cluster's own setting asks for
        (`requested`, a Cluster API label or annotation). Stdio (and the in-process client) is one
        local user holding the kubeconfig: always 'server'."""
        if self.settings.server.transport == "stdio":
            return "server"
        configured = self.settings.identity.cluster_identity
        if requested is None:
            return configured
        mode = CLUSTER_IDENTITY_MODES.get(requested.strip().lower())
        if mode is None:
            raise PolicyDenied(
                f"Cluster {cluster} asks for identity '{requested[:60]}', which is not one of "
                f"{', '.join(sorted(CLUSTER_IDENTITY_MODES))}."
            )
        if mode == "server" and configured != "server":  # never the Secret's admin for a server of many callers
            raise PolicyDenied(
                f"Cluster {cluster} asks to be reached with its kubeconfig's own credentials, and this server "
                f"runs calls as their callers (--cluster-identity {configured})."
            )
        return mode

    async def resolve(
        self, target: ClusterTarget, caller: Caller, args: Any, mode: str | None = None, audience: str | None = None
    ) -> ClusterTarget:
        mode = mode or self.mode_for(caller)
        if mode == "server":
            return target
        principal = caller.principal
        if principal is None:  # fail closed: never fall back to the server's own identity
            raise PolicyDenied(
                f"This server runs calls as their caller (--cluster-identity {mode}), "
                "and this request has no authenticated caller."
            )
        if _has_own_credentials(args):
            raise PolicyDenied(f"Per-call cluster credentials cannot be used with --cluster-identity {mode}.")
        if mode == "impersonate":
            user, groups = impersonated(principal, self.settings.identity)
            # The client is built on the server's credentials: it must not outlive the caller's token either.
            return dataclasses.replace(
                target, impersonate_user=user, impersonate_groups=groups, expires_at=principal.expires_at
            )
        if not principal.token:
            raise PolicyDenied(f"--cluster-identity {mode} needs the caller's OIDC access token, and there is none.")
        if mode == "passthrough":
            token, expires_at = principal.token, principal.expires_at
        else:
            exchanged = await self._exchanger.exchange(principal.token, principal.expires_at, audience)
            token, expires_at = exchanged.token, exchanged.expires_at
        return dataclasses.replace(target, token=token, user_credentials=False, expires_at=expires_at)


def identity_secrets(caller: Caller, target: ClusterTarget) -> tuple[str, ...]:
    """The tokens a call holds because of who called it: scrubbed from its every answer."""
    incoming = caller.principal.token if caller.principal else None
    return tuple(t for t in (incoming, target.token) if t)
