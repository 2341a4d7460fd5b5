"""The children of one configured server: one shared child, or one per MCP session, or one per
authenticated user (bounded, stopped when idle). A per-user child gets that user's identity from
the token's claims as environment (stdio) or headers (remote), and is never handed to anyone else."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from anyio.abc import TaskGroup

from kubehelm_mcp.caller import Principal
from kubehelm_mcp.gateway.child import Child, ChildUnavailable
from kubehelm_mcp.gateway.config import ServerConfig, Supervision

log = logging.getLogger("kubehelm_mcp.gateway")

SHARED = ""
REAP_SECONDS = 5.0


def claim_value(principal: Principal, claim: str) -> str | None:
    """A token claim as the validated principal carries it (the raw token is never kept)."""
    values: dict[str, Any] = {
        "sub": principal.subject,
        "iss": principal.issuer,
        "azp": principal.client,
        "client_id": principal.client,
        "preferred_username": principal.username,
        "username": principal.username,
        "groups": ",".join(principal.groups) or None,
        "roles": ",".join(principal.roles) or None,
        "scope": " ".join(principal.scopes) or None,
    }
    value = values.get(claim)
    return None if value in (None, "") else str(value)


def identity_of(config: ServerConfig, principal: Principal | None) -> tuple[dict[str, str], dict[str, str]]:
    """The environment and headers that carry this user to a per-user child."""
    if principal is None:
        raise ChildUnavailable(f"The MCP server {config.name!r} runs per user and needs an authenticated caller.")

    def fill(mapping: Mapping[str, str]) -> dict[str, str]:
        filled: dict[str, str] = {}
        for target, claim in mapping.items():
            value = claim_value(principal, claim)
            if value is None:
                raise ChildUnavailable(
                    f"The MCP server {config.name!r} needs the token claim {claim!r}, which is missing."
                )
            filled[target] = value
        return filled

    return fill(config.user_env), fill(config.user_headers)


class ServerPool:
    def __init__(
        self,
        config: ServerConfig,
        supervision: Supervision,
        task_group: TaskGroup,
        on_change: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.config = config
        self._supervision = supervision
        self._tg = task_group
        self._on_change = on_change  # (server, "tools"|"prompts"|"resources")
        self.children: dict[str, Child] = {}
        self.closed = False
        if config.mode == "shared":
            self._spawn(SHARED)

    @property
    def name(self) -> str:
        return self.config.name

    def _spawn(self, key: str, env: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> Child:
        child = Child(self.config, self._supervision, env, headers)

        async def changed(what: str) -> None:
            await self._on_change(self.name, what)

        child.listeners.append(changed)
        self.children[key] = child
        self._tg.start_soon(child.run)
        return child

    def child_for(self, session: str | None, principal: Principal | None) -> Child:
        """The child that serves this caller (spawned on first use for pooled modes). session is
        None for a 2026-07-28 request: it has no session, so a per-session server gives it the
        child of its caller (the authenticated user and client; all unauthenticated callers are
        one caller), kept until idle like a per-user child rather than started for each request."""
        if self.closed:
            raise ChildUnavailable(f"The MCP server {self.name!r} was removed from the configuration.")
        if self.config.mode == "shared":
            return self.children[SHARED]
        env: dict[str, str] = {}
        headers: dict[str, str] = {}
        if self.config.mode == "per-user":
            env, headers = identity_of(self.config, principal)
            assert principal is not None
            key = f"user:{principal.issuer or ''}|{principal.subject}"
        elif session is not None:
            key = f"session:{session}"
        elif principal is not None:
            key = f"caller:{principal.issuer or ''}|{principal.subject}|{principal.client}"
        else:
            key = "caller:"
        child = self.children.get(key)
        if child is not None:
            child.last_used = time.monotonic()
            return child
        if len(self.children) >= self.config.max_children:
            raise ChildUnavailable(
                f"The MCP server {self.name!r} already runs its limit of {self.config.max_children} children; "
                "retry later."
            )
        return self._spawn(key, env, headers)

    def discard(self, key: str) -> None:
        child = self.children.pop(key, None)
        if child is not None:
            child.stop()

    def reap_idle(self, now: float) -> None:
        if self.config.mode == "shared":
            return
        for key, child in list(self.children.items()):
            if now - child.last_used > self.config.idle_timeout:
                log.info("server %s: stopping a child idle for %.0f s", self.name, now - child.last_used)
                self.discard(key)

    def close(self) -> None:
        self.closed = True
        for key in list(self.children):
            self.discard(key)

    @property
    def ready(self) -> bool:
        """Ready when its shared child is; a pooled server when it can spawn (checked at /readyz by a probe child)."""
        if self.config.mode == "shared":
            return self.children[SHARED].ready
        return not self.closed

    def status(self) -> dict[str, Any]:
        children = list(self.children.values())
        shared = self.children.get(SHARED)
        return {
            "transport": self.config.transport,
            "mode": self.config.mode,
            "required": self.config.required,
            "state": shared.state if shared is not None else ("ready" if not self.closed else "stopped"),
            "restarts": sum(c.restarts for c in children),
            "last_error": next((c.last_error for c in children if c.last_error), None),
            "children": len(children),
            "children_ready": sum(c.ready for c in children),
            "tools": len(shared.tools) if shared is not None else None,
        }


async def reaper(pools: Callable[[], list[ServerPool]]) -> None:
    while True:
        await anyio.sleep(REAP_SECONDS)
        now = time.monotonic()
        for pool in pools():
            pool.reap_idle(now)
