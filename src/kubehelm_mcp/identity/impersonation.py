"""The user and groups an authenticated caller is impersonated as.

The server's own identity may impersonate anyone, so nothing the token says may reach a name
Kubernetes reserves: 'system:masters' in a groups claim must not make a caller cluster-admin.
"""

from __future__ import annotations

from kubehelm_mcp.caller import Principal
from kubehelm_mcp.errors import PolicyDenied
from kubehelm_mcp.settings import IdentitySettings

RESERVED_PREFIX = "system:"
MAX_NAME_LENGTH = 1024


def _checked(name: str, what: str) -> str:
    if name.startswith(RESERVED_PREFIX):
        raise PolicyDenied(
            f"The token's {what} '{name[:100]}' is reserved by Kubernetes (system:...) and is never impersonated.",
            hint="Set --impersonation-prefix / --impersonation-groups-prefix to keep token names apart from them.",
        )
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise PolicyDenied(f"The token's {what} cannot be impersonated: it is empty, too long or not printable.")
    return name


def impersonated(principal: Principal, settings: IdentitySettings) -> tuple[str, tuple[str, ...]]:
    """The prefixed user name and groups (each at most once, in the token's order)."""
    if not principal.username:
        claim = settings.impersonation_user_claim
        raise PolicyDenied(
            f"The token has no usable '{claim}' claim to name its user on the cluster (--impersonation-user-claim)."
        )
    user = _checked(settings.impersonation_prefix + principal.username, "user name")
    groups = dict.fromkeys(_checked(settings.impersonation_groups_prefix + g, "group") for g in principal.groups)
    return user, tuple(groups)
