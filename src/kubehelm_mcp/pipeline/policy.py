"""Which tools are served and callable, and which calls go through: read-only mode, the
non-destructive default, dry-run mode, tool filters, namespace scope and denied kinds."""

from __future__ import annotations

import types
from fnmatch import fnmatchcase
from typing import Any, Literal, Union, get_args, get_origin

from kubehelm_mcp.clusters.names import check_cluster_allowed, cluster_allowed
from kubehelm_mcp.errors import PolicyDenied
from kubehelm_mcp.pipeline.scope import CallScope, KindRef
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import AnyTool

DRY_RUN_FIELD = "dry_run"
DRY_RUN_MARKER = "[dry run] "


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def _dry_run_value(annotation: Any) -> Any:
    """True for a bool field; "server" for a Literal[client, server] one (optional or not)."""
    if annotation is bool:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return next((v for arg in get_args(annotation) if (v := _dry_run_value(arg)) is not None), None)
    if get_origin(annotation) is Literal and "server" in get_args(annotation):
        return "server"
    return None


def dry_run_value(tool: AnyTool) -> Any:
    """What the pipeline sets a tool's dry_run input to under --dry-run; None if it has none."""
    declared = tool.input_model.model_fields.get(DRY_RUN_FIELD)
    return _dry_run_value(declared.annotation) if declared is not None else None


class Policy:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _filtered_out(self, tool: AnyTool) -> bool:
        s = self._settings
        if s.policy.enabled_tools and not _matches(tool.name, s.policy.enabled_tools):
            return True
        return _matches(tool.name, s.policy.disabled_tools)

    def listed(self, tool: AnyTool) -> bool:
        """Read-only mode hides every tool that could change something; so do the toolset choice
        and the tool filters."""
        if tool.toolset and tool.toolset not in self._settings.server.toolsets:
            return False
        if not self._provided(tool):
            return False
        if self._filtered_out(tool):
            return False
        return tool.read_only or not self._settings.policy.read_only

    def check(self, tool: AnyTool) -> None:
        if self._filtered_out(tool):
            raise PolicyDenied(f"Tool '{tool.name}' is disabled on this server.")
        if tool.toolset and tool.toolset not in self._settings.server.toolsets:
            raise PolicyDenied(f"Tool '{tool.name}' belongs to the '{tool.toolset}' toolset, which is not enabled.")
        if not self._provided(tool):
            raise PolicyDenied(f"Tool '{tool.name}' needs --cluster-provider {tool.cluster_provider}.")
        if self._settings.policy.read_only and not tool.read_only:
            raise PolicyDenied(f"Tool '{tool.name}' can change the cluster and the server runs in read-only mode.")
        if self.forces_dry_run(tool) and dry_run_value(tool) is None:
            raise PolicyDenied(f"Tool '{tool.name}' cannot run as a dry run; the server runs with --dry-run.")
        if tool.destructive and tool.destructive_when is None:
            self._refuse_destructive(tool)

    def _provided(self, tool: AnyTool) -> bool:
        return tool.cluster_provider in (None, self._settings.clusters.cluster_provider)

    def cluster_allowed(self, name: str) -> bool:
        p = self._settings.policy
        return cluster_allowed(name, p.allowed_clusters, p.denied_clusters)

    def check_cluster(self, name: str) -> None:
        """--allowed-clusters/--denied-clusters, for a cluster a call names (the default one is the server's own)."""
        check_cluster_allowed(name, self._settings.policy.allowed_clusters, self._settings.policy.denied_clusters)

    def check_call(self, tool: AnyTool, args: Any) -> None:
        """After validation: the calls a `destructive_when` tool says destroy something."""
        if tool.destructive_when is not None and tool.destructive_when(args):
            self._refuse_destructive(tool)

    def forces_dry_run(self, tool: AnyTool) -> bool:
        return self._settings.policy.dry_run and not tool.read_only

    def apply_dry_run(self, tool: AnyTool, args: Any) -> Any:
        """Under --dry-run, the arguments with dry_run forced on (check() refused the rest)."""
        if not self.forces_dry_run(tool):
            return args
        return args.model_copy(update={DRY_RUN_FIELD: dry_run_value(tool)})

    def _refuse_destructive(self, tool: AnyTool) -> None:
        # A forced dry run destroys nothing, so it needs no --allow-destructive.
        if not self._settings.policy.allow_destructive and not self.forces_dry_run(tool):
            raise PolicyDenied(
                f"Tool '{tool.name}' is destructive and the server refuses destructive tools by default.",
                hint="Restart the server with --allow-destructive to permit it.",
            )

    @property
    def scoped(self) -> bool:
        """Whether calls need their scope (namespaces, kinds) worked out before they run."""
        s = self._settings
        return bool(s.policy.allowed_namespaces or s.policy.denied_namespaces or s.policy.denied_kinds)

    def check_scope(self, scope: CallScope) -> None:
        for ref in scope.kinds:
            self._check_kind(ref)
        if scope.all_namespaces:
            self._check_all_namespaces()
        for namespace in sorted(scope.namespaces):
            self._check_namespace(namespace)

    def _check_kind(self, ref: KindRef) -> None:
        s = self._settings
        if any(_matches(name, tuple(p.lower() for p in s.policy.denied_kinds)) for name in ref.names):
            raise PolicyDenied(f"Kind '{ref.kind}' is denied on this server (--denied-kinds).")
        if ref.namespaced is False and s.policy.allowed_namespaces and not s.policy.allow_cluster_scoped:
            raise PolicyDenied(
                f"Kind '{ref.kind}' is cluster-scoped and this server limits calls to --allowed-namespaces.",
                hint="Restart the server with --allow-cluster-scoped to permit it.",
            )

    def _check_all_namespaces(self) -> None:
        s = self._settings
        if s.policy.denied_namespaces or (s.policy.allowed_namespaces and "*" not in s.policy.allowed_namespaces):
            raise PolicyDenied("A call across all namespaces is refused: this server limits the namespaces it reaches.")

    def _check_namespace(self, namespace: str) -> None:
        s = self._settings
        if _matches(namespace, s.policy.denied_namespaces):
            raise PolicyDenied(f"Namespace '{namespace}' is denied on this server (--denied-namespaces).")
        if s.policy.allowed_namespaces and not _matches(namespace, s.policy.allowed_namespaces):
            raise PolicyDenied(f"Namespace '{namespace}' is not among this server's --allowed-namespaces.")
