"""The audit log (--audit-log): one JSON line per HTTP auth decision and per tool call.

Lines go through a logger of their own, outside the logging tree, with its own handler: the
server log's level, format and filters never drop or reshape them. Fields are picked one by one
from the principal, so no token or secret can reach a line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kubehelm_mcp.caller import Caller, Principal
from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.kube.kubeconfig import KubeconfigView, kubeconfig_paths, read_kubeconfig
from kubehelm_mcp.settings import Settings

if TYPE_CHECKING:
    from kubehelm_mcp.pipeline.scope import CallScope

STDERR = "-"
MAX_VALUE_LENGTH = 253  # a DNS name's length: namespaces, contexts; longer raw arguments are cut
MAX_LIST_ITEMS = 32  # kinds or namespaces of one call (a manifest may name many); the rest are left off
IN_CLUSTER = "in-cluster"
ALL_NAMESPACES = "*"  # not a namespace name: the call touched every namespace


def _open_private(path: str) -> int:
    # Created 0600 (the umask may only tighten it); an existing file is appended to and keeps its mode.
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def _handler(destination: str) -> logging.Handler:
    if destination == STDERR:
        return logging.StreamHandler(sys.stderr)
    os.close(_open_private(destination))
    return logging.FileHandler(destination, encoding="utf-8")


def _clip(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)[:MAX_VALUE_LENGTH]


def _clip_list(values: Iterable[Any]) -> list[str]:
    """Distinct, clipped values in their first order, at most MAX_LIST_ITEMS of them."""
    clipped: dict[str, None] = {}
    for value in values:
        item = _clip(value)
        if item is not None:
            clipped[item] = None
            if len(clipped) == MAX_LIST_ITEMS:
                break
    return list(clipped)


def _scope_fields(scope: CallScope | None) -> dict[str, list[str]]:
    """The kinds and namespaces the call's declared scope named; none for a call that reaches no cluster."""
    if scope is None:
        return {}
    namespaces = [ALL_NAMESPACES] if scope.all_namespaces else []
    return {
        "kinds": _clip_list(ref.kind for ref in scope.kinds),
        "namespaces": _clip_list([*namespaces, *sorted(scope.namespaces)]),
    }


class AuditLog:
    def __init__(self, settings: Settings, handler: logging.Handler | None = None) -> None:
        self._settings = settings
        self._handler = handler
        self._logger = logging.Logger("kubehelm_mcp.audit", logging.INFO)  # unmanaged: no parent, no propagation
        self._logger.propagate = False
        self._kubeconfig: KubeconfigView | None = None
        if handler is not None:
            handler.setFormatter(logging.Formatter("%(message)s"))
            self._logger.addHandler(handler)

    @classmethod
    def open(cls, settings: Settings) -> AuditLog:
        """The configured log, or one that writes nothing when --audit-log is empty."""
        return cls(settings, _handler(settings.telemetry.audit_log) if settings.telemetry.audit_log else None)

    @property
    def enabled(self) -> bool:
        return self._handler is not None

    def auth(self, principal: Principal | None, outcome: str, remote: str | None, reason: str | None = None) -> None:
        """An HTTP auth decision: 'ok', or why the request was refused (the refusal's own sentence)."""
        if self.enabled:
            caller = Caller(principal=principal, remote=remote)
            self._write("auth", caller, outcome, identity=self._settings.identity.cluster_identity, reason=reason)

    def call(
        self,
        caller: Caller,
        tool: str,
        arguments: Mapping[str, Any] | None,
        session_context: str | None,
        outcome: str,
        duration: float,
        identity: str,
        scope: CallScope | None = None,
        cluster: str | None = None,
    ) -> None:
        """A finished tool call; cluster and namespace as the call named them, else their defaults; with
        `kinds` and `namespaces` from the call's scope when it was worked out (a tool that reaches a cluster).
        `cluster`: the clusters the call resolved to by name (comma-separated for a fleet-wide call)."""
        if not self.enabled:
            return
        worked_out, namespace = self._cluster_and_namespace(arguments or {}, session_context)
        cluster = _clip(cluster) if cluster else worked_out
        self._write(
            "call",
            caller,
            outcome,
            identity=identity,
            tool=_clip(tool),
            cluster=cluster,
            namespace=namespace,
            duration_ms=round(duration * 1000, 1),
            **_scope_fields(scope),
        )

    def relayed_call(self, caller: Caller, server: str, tool: str, outcome: str, duration: float) -> None:
        """A tool call the gateway relayed to one of its MCP servers."""
        if self.enabled:
            self._write(
                "call", caller, outcome, server=_clip(server), tool=_clip(tool), duration_ms=round(duration * 1000, 1)
            )

    def _cluster_and_namespace(self, arguments: Mapping[str, Any], session_context: str | None) -> tuple[Any, Any]:
        s = self._settings
        namespace = arguments.get("namespace") or s.kube.namespace
        if arguments.get("kube_apiserver"):
            return _clip(arguments["kube_apiserver"]), _clip(namespace)
        if s.kube.in_cluster and not arguments.get("kubeconfig"):
            return IN_CLUSTER, _clip(namespace)
        context = arguments.get("context") or arguments.get("kube_context") or session_context or s.kube.context
        view = self._view() if not arguments.get("kubeconfig") else None
        if view is not None and isinstance(context, str | None):
            try:
                info = view.context(context)
            except ToolError:  # an unknown context: recorded as asked
                pass
            else:
                context, namespace = info.name, namespace or info.namespace or "default"
        return _clip(context), _clip(namespace)

    def _view(self) -> KubeconfigView | None:
        """The server kubeconfig's contexts, read once: the pool keeps its first connection too."""
        if self._kubeconfig is None:
            try:
                self._kubeconfig = read_kubeconfig(kubeconfig_paths(self._settings.kube.kubeconfig))
            except ToolError:
                return None
        return self._kubeconfig

    def _write(self, event: str, caller: Caller, outcome: str, **fields: Any) -> None:
        principal = caller.principal
        record: dict[str, Any] = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": event,
            "subject": _clip(principal.subject) if principal else None,
            "client": _clip(principal.client) if principal else None,
            "scopes": list(principal.scopes) if principal else [],
            "tool": None,
            "cluster": None,
            "namespace": None,
            "outcome": outcome,
            "duration_ms": None,
            "remote": caller.remote,
            "identity": None,
            "reason": None,
            **fields,
        }
        self._logger.info(json.dumps(record, ensure_ascii=False))

    def close(self) -> None:
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None
