"""Running one tool call through every cross-cutting step, in order."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio

from kubehelm_mcp.audit import AuditLog
from kubehelm_mcp.caller import ANONYMOUS, Caller
from kubehelm_mcp.context import CallContext, ProgressReporter, SessionState
from kubehelm_mcp.errors import (
    CircuitOpen,
    ConfirmationPending,
    InvalidInput,
    NotFound,
    RateLimited,
    ServerBusy,
    ToolError,
    ToolTimeout,
)
from kubehelm_mcp.helm.service import HelmService
from kubehelm_mcp.kube.caller_kubeconfig import caller_kubeconfig
from kubehelm_mcp.kube.clients import ClientPool, import_client_library
from kubehelm_mcp.kube.portforward import PortForwards
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.localfiles import read_local_file, recheck_paths, server_files
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.paging import decode_cursor
from kubehelm_mcp.pipeline.confirm import confirm_call
from kubehelm_mcp.pipeline.identity import CallerIdentity, identity_secrets
from kubehelm_mcp.pipeline.inflight import InFlight
from kubehelm_mcp.pipeline.policy import DRY_RUN_MARKER, Policy
from kubehelm_mcp.pipeline.scope import CallScope, call_scope
from kubehelm_mcp.pipeline.scrub import remove_known, scrub, scrub_bounded, shorten
from kubehelm_mcp.pipeline.shaping import Form, shape
from kubehelm_mcp.pipeline.validation import validate_input
from kubehelm_mcp.resilience import Resilience, call_timeout
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.telemetry.observer import Telemetry
from kubehelm_mcp.tooling import AnyTool, ClusterCredentials, KubeconfigCredential, ToolInput

log = logging.getLogger("kubehelm_mcp.calls")


@dataclass(frozen=True)
class Outcome:
    """What a call produced, independent of the MCP wire types."""

    text: str
    structured: dict[str, Any] | None
    is_error: bool
    outcome: str  # metrics and audit label (README, /metrics): ok, invalid, denied, not_found, timeout, ...
    scope: CallScope | None = None  # what the call touches, when worked out before it ran (policy, audit)


# An error at most (whatever it quotes from the input, the cluster or helm); longer ones are cut. Room for
# helm's every line: each object the API server refuses is a ~350-character line, and 2000 cut the 6th.
MAX_ERROR_CHARS = 8000

# What a call answers when the server's shutdown grace ran out before it finished.
SHUT_DOWN = Outcome("The server shut down before this call finished; run it again.", None, True, "shutdown")


_OUTCOME_LABELS: dict[type[ToolError], str] = {
    InvalidInput: "invalid",
    NotFound: "not_found",
    ToolTimeout: "timeout",
    CircuitOpen: "circuit_open",
    ConfirmationPending: "awaiting_confirmation",
    ServerBusy: "busy",
    RateLimited: "rate_limited",
}


def _label(exc: ToolError) -> str:
    if exc.__class__.__name__ == "PolicyDenied":
        return "denied"
    return next((label for cls, label in _OUTCOME_LABELS.items() if isinstance(exc, cls)), "error")


class CallPipeline:
    def __init__(
        self,
        settings: Settings,
        tools: list[AnyTool],
        clients: ClientPool,
        helm: HelmService,
        metrics: Metrics,
        forwards: PortForwards,
        telemetry: Telemetry | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.settings = settings
        self.identity = CallerIdentity(settings)
        self.audit = audit or AuditLog(settings)  # a log that writes nothing unless given one
        self.policy = Policy(settings)
        self.files = server_files(settings)  # the server's own credential files: no tool reads or writes them
        self.tools = {tool.name: tool for tool in tools}
        self.clients = clients
        self.forwards = forwards
        self.helm = helm
        self.metrics = metrics
        self.telemetry = telemetry or Telemetry(metrics)
        self.resilience = Resilience(settings.resilience, metrics)
        self.calls = InFlight()  # the calls running now: a graceful shutdown waits for them
        metrics.in_flight.set_function(lambda: self.calls.count)

    def listed_tools(self) -> list[AnyTool]:
        return [tool for tool in self.tools.values() if self.policy.listed(tool)]

    async def _caller_kubeconfig(self, args: ToolInput) -> str | None:
        """The private, checked copy of a per-call kubeconfig (--per-call-kubeconfig), if the call names one."""
        path = args.kubeconfig if isinstance(args, KubeconfigCredential) else None
        if not path:
            return None

        def read(name: str, what: str) -> bytes:
            return read_local_file(name, what, self.settings, self.files)

        return await anyio.to_thread.run_sync(caller_kubeconfig, path, read)

    def _target(self, args: ToolInput, session: SessionState, kubeconfig: str | None) -> ClusterTarget:
        s = self.settings
        creds = args if isinstance(args, ClusterCredentials) else None
        return ClusterTarget(
            kubeconfig=kubeconfig or s.kube.kubeconfig,
            context=args.context or session.context or s.kube.context,
            in_cluster=s.kube.in_cluster and not (kubeconfig or (creds and creds.kube_apiserver)),
            apiserver=creds.kube_apiserver if creds else None,
            token=creds.kube_token if creds else None,
            tls_server_name=creds.kube_tls_server_name if creds else None,
            insecure_tls=bool(creds and creds.kube_insecure_tls),
        )

    async def warm_up(self) -> None:
        """What the first cluster call would otherwise wait for, done once the client has listed
        the tools: the Kubernetes client library's import and, when calls run as the server's own
        identity, its connection and the API discovery. Failures are left to that first call,
        which reports them clearly."""
        try:
            await anyio.to_thread.run_sync(import_client_library)
            if self.settings.identity.cluster_identity != "server":
                return  # connections are per caller: none to make ahead
            cluster = await self.clients.get(self._target(ToolInput(), SessionState(), None))
            await cluster.discovery.all()
        except Exception as exc:
            log.debug("warm-up stopped early: %s", scrub(repr(exc)))

    async def call(
        self,
        name: str,
        arguments: dict[str, Any] | None,
        session: SessionState,
        report_progress: ProgressReporter | None = None,
        caller: Caller = ANONYMOUS,
    ) -> Outcome:
        started = time.perf_counter()
        tool = self.tools.get(name)
        label = name if tool else "unknown"
        with self.telemetry.tool_call(label, arguments) as traced:  # the span Kubernetes and Helm spans nest in
            running = self._run(tool, name, arguments, session, report_progress, caller)
            outcome = await self.calls.run(running, otherwise=SHUT_DOWN)
            traced.outcome = outcome.outcome
        self.metrics.tool_calls.labels(label, outcome.outcome).inc()
        duration = time.perf_counter() - started
        self.metrics.tool_duration.labels(label).observe(duration)
        mode = self.identity.mode_for(caller)
        self.audit.call(caller, name, arguments, session.context, outcome.outcome, duration, mode, outcome.scope)
        return outcome

    async def _scope(self, tool: AnyTool, args: ToolInput, ctx: CallContext) -> CallScope | None:
        """What a cluster tool's call touches, when the policy decides on it or the audit log records it.

        Worked out for the audit alone, a scope that cannot be (an unknown context, a broken manifest)
        is left out of the line: the handler then reports the call's own error, as without the log.
        """
        if tool.touches is None:
            return None
        if self.policy.scoped:
            return await call_scope(tool, args, ctx)
        if self.audit.enabled:
            try:
                return await call_scope(tool, args, ctx)
            except ToolError:
                return None
        return None

    async def _run(
        self,
        tool: AnyTool | None,
        name: str,
        arguments: dict[str, Any] | None,
        session: SessionState,
        report_progress: ProgressReporter | None,
        caller: Caller,
    ) -> Outcome:
        secrets: tuple[str, ...] = ()
        scope: CallScope | None = None
        try:
            if tool is None:
                hint = "tools/list shows the tools this server offers."
                raise NotFound(f"Unknown tool '{shorten(name)}'.", hint=hint)
            self.policy.check(tool)
            paths: list[str] = []
            args: Any = await validate_input(tool.name, tool.input_model, arguments, self.settings, self.files, paths)
            self.policy.check_call(tool, args)
            args = self.policy.apply_dry_run(tool, args)
            if isinstance(args, ClusterCredentials) and args.kube_token:
                secrets = (args.kube_token,)
            kubeconfig = await self._caller_kubeconfig(args)
            target = await self.identity.resolve(self._target(args, session, kubeconfig), caller, args)
            secrets = (*secrets, *identity_secrets(caller, target))
            ctx = CallContext(
                settings=self.settings,
                target=target,
                namespace_arg=args.namespace,
                session=session,
                caller=caller,
                clients=self.clients,
                helm=self.helm,
                forwards=self.forwards,
                files=self.files,
            )
            if report_progress is not None:
                ctx.report_progress = report_progress
            timeout = call_timeout(self.settings.resilience, tool, args)
            try:
                with anyio.fail_after(timeout):
                    scope = await self._scope(tool, args, ctx)
                    if scope is not None and self.policy.scoped:  # before the handler: a refused call changes nothing
                        self.policy.check_scope(scope)
                    await confirm_call(tool, args, ctx)  # --confirm rules: the user's yes, asked through the client
                    if paths:  # a thread hop costs more than most calls' own work
                        await anyio.to_thread.run_sync(recheck_paths, paths, self.settings, self.files)
                    result = await self.resilience.run(tool, args, ctx)
            except TimeoutError:
                raise ToolTimeout(f"{tool.name} did not finish within {timeout:g} seconds.") from None
            marker = DRY_RUN_MARKER if self.policy.forces_dry_run(tool) else ""
            output = self.settings.output
            form = Form(
                budget=output.max_response_bytes,
                structured=output.result_format == "structured",
                reveal_secrets=output.reveal_secrets,
                resumable="continue_token" in tool.input_model.model_fields,
                finish=lambda text: marker + remove_known(text, secrets),
            )
            shaped = shape(result, form, decode_cursor(getattr(args, "continue_token", None)))
            return Outcome(shaped.text, shaped.structured, False, "ok", scope)
        except ToolError as exc:
            return Outcome(scrub_bounded(str(exc), MAX_ERROR_CHARS, secrets), None, True, _label(exc), scope)
        except Exception as exc:  # a bug: log it with its id, show the client no internals
            error_id = uuid.uuid4().hex[:12]
            log.error(
                "internal error %s in %s: %s",
                error_id,
                name,
                scrub(repr(exc), secrets),
                exc_info=True,
                extra={"error_id": error_id},  # a field of its own in JSON logs
            )
            return Outcome(
                f"Internal error while running {name} (error id {error_id}); the server log has the details.",
                None,
                True,
                "internal",
                scope,
            )
