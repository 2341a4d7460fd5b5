"""The running gateway: a pool of children for each configured server, the idle reaper, reload
(only changed servers are touched), and the state /status and /readyz report."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

from kubehelm_mcp.gateway.config import GatewayConfig
from kubehelm_mcp.gateway.pool import ServerPool, reaper

log = logging.getLogger("kubehelm_mcp.gateway")

ChangeListener = Callable[[str, str], Awaitable[None]]  # (server, "tools"|"prompts"|"resources")


class Gateway:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.pools: dict[str, ServerPool] = {}
        self.listeners: list[ChangeListener] = []
        self._tg: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            for server in self.config.servers.values():
                self.pools[server.name] = ServerPool(server, self.config.supervision, tg, self._changed)
            tg.start_soon(reaper, lambda: list(self.pools.values()))
            try:
                yield self
            finally:
                for pool in self.pools.values():
                    pool.close()
                tg.cancel_scope.cancel()

    async def _changed(self, server: str, what: str) -> None:
        for listener in list(self.listeners):
            await listener(server, what)

    def reload(self, config: GatewayConfig) -> list[str]:
        """Apply a new configuration: servers whose settings changed (or the supervision) restart,
        removed ones stop, added ones start; the others keep their children. Returns the names touched."""
        assert self._tg is not None, "reload() needs a running gateway"
        touched: list[str] = []
        same_supervision = config.supervision == self.config.supervision
        for name in list(self.pools):
            if name not in config.servers:
                self.pools.pop(name).close()
                touched.append(name)
        for name, server in config.servers.items():
            pool = self.pools.get(name)
            if pool is not None and pool.config == server and same_supervision:
                continue
            if pool is not None:
                pool.close()
            self.pools[name] = ServerPool(server, config.supervision, self._tg, self._changed)
            touched.append(name)
        self.config = config
        for name in touched:
            self._tg.start_soon(self._changed, name, "tools")
        log.info("configuration reloaded; servers restarted, added or removed: %s", ", ".join(touched) or "none")
        return touched

    def ready(self) -> tuple[bool, list[str]]:
        """Ready when every required server's shared child answers pings; the ones that do not."""
        waiting = [name for name, pool in sorted(self.pools.items()) if pool.config.required and not pool.ready]
        return not waiting, waiting

    def status(self) -> dict[str, Any]:
        ready, _ = self.ready()
        return {
            "ready": ready,
            "default": self.config.default,
            "combined": self.config.combined,
            "servers": {name: pool.status() for name, pool in sorted(self.pools.items())},
        }
