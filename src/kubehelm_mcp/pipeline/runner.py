"""Running one tool call through every cross-cutting step, in order."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio

from kubehelm_mcp.audit import AuditLog
from kubehelm_mcp.caller import ANONYMOUS, Caller
from kubehelm_mcp.clusters.provider import ClusterChoice, provider_for
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
from kubehelm_mcp.expiring import ExpiringLru
from kubehelm_mcp.helm.service import HelmService
from kubehelm_mcp.kube.api import KubeApi
from kubehelm_mcp.kube.caller_kubeconfig import caller_kubeconfig
from kubehelm_mcp.kube.clients import ClientPool, KubeCluster, import_client_library
from kubehelm_mcp.kube.portforward import PortForwards
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.localfiles import read_local_file, recheck_paths, server_files
from kubehelm_mcp.metrics import Metrics
from kubehelm_mcp.paging import decode_cursor
from kubehelm_mcp.pipeline.confirm import confirm_call
from kubehelm_mcp.pipeline.fleet import ClusterAnswer, FleetResult, merge
from kubehelm_mcp.pipeline.identity import CallerIdentity, identity_secrets
from kubehelm_mcp.pipeline.inflight import InFlight
from kubehelm_mcp.pipeline.policy import DRY_RUN_MARKER, Policy
from kubehelm_mcp.pipeline.scope import CallScope, call_scope
from kubehelm_mcp.pipeline.scrub import remove_known, scrub, scrub_bounded, shorten
from kubehelm_mcp.pipeline.shaping import Form, sanitize_result, shape
from kubehelm_mcp.pipeline.validation import validate_input
from kubehelm_mcp.resilience import Resilience, call_timeout
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.telemetry.observer import Telemetry
from kubehelm_mcp.tooling import (
    AnyTool,
    ClusterCredentials,
    FleetInput,
    KubeconfigCredential,
    Resumable,
    ToolInput,
    ToolResult,
)

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

VISIBILITY_CACHE_SIZE = 4096
MAX_FLEET_ERROR_CHARS = 600  # one cluster's error beside the others' answers

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


@dataclass
class _Attempt:
    """What a call learned while running, kept even when it fails: the audit log and metrics read it."""

    scope: CallScope | None = None
    secrets: tuple[str, ...] = ()  # tokens it held because of who called it: scrubbed from its every answer
    clusters: dict[str, str | None] = field(default_factory=dict)  # named cluster -> its own outcome (fleet)


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
        watched = clients.watched
        self.resilience = Resilience(
            settings.resilience, metrics, on_change=watched.invalidate if watched is not None else None
        )
        self.provider = provider_for(settings, self._management, clients)
        self._visible: ExpiringLru[bool] = ExpiringLru(VISIBILITY_CACHE_SIZE, time.monotonic)  # (identity, cluster)
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

    def _base_target(self, args: ToolInput, session: SessionState, kubeconfig: str | None) -> ClusterTarget:
        """The configured cluster, as this call's context and per-call credentials change it."""
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

    async def _target(
        self, args: ToolInput, session: SessionState, kubeconfig: str | None, caller: Caller
    ) -> ClusterTarget:
        """The cluster the call names (clusters/provider.py), reached as whom the identity mode says."""
        base = self._base_target(args, session, kubeconfig)
        asked = args.cluster
        if asked and (kubeconfig or base.apiserver):
            raise InvalidInput("`cluster` and per-call credentials name two clusters: give one of them.")
        if self.provider.kind == "kubeconfig":
            if asked and args.context and asked != args.context:
                raise InvalidInput(f"`cluster` ({asked}) and `context` ({args.context}) disagree: give one of them.")
            asked = asked or args.context  # a context is a cluster here: the allow/deny globs see it
        choice = await self.provider.choose(asked)
        if choice.name is not None:
            self.policy.check_cluster(choice.name)
        mode = self.identity.mode_for(caller, choice.identity, choice.name)
        if choice.name is not None and self.identity.mode_for(caller) != "server":
            await self._check_visible(choice, base, caller, args)
        target = await self.provider.target(choice, base, with_credentials=mode in ("server", "impersonate"))
        return await self.identity.resolve(target, caller, args, mode, choice.audience)

    async def _check_visible(self, choice: ClusterChoice, base: ClusterTarget, caller: Caller, args: ToolInput) -> None:
        """A caller reaches only the clusters its provider lets it see (Cluster API: the Clusters it
        may read on the management cluster); an unknown name and a hidden one get the same answer.
        Answers are kept for --capi-refresh seconds."""
        principal = caller.principal
        who = (principal.issuer, principal.subject, principal.groups) if principal else caller.key
        key = hashlib.sha256(repr((base.pool_key, who, choice.name)).encode()).hexdigest()
        visible = self._visible.get(key)
        if visible is None:

            async def as_caller() -> KubeApi:
                """The caller on the server's own cluster: resolved only when the provider asks (an
                exchange or a new client is not worth making for a provider that restricts nothing)."""
                return (await self.clients.get(await self.identity.resolve(base, caller, args))).api

            visible = await self.provider.visible(choice, as_caller)
            self._visible.put(key, visible, time.monotonic() + self.settings.clusters.capi_refresh)
        if not visible:
            raise NotFound(f"No cluster '{choice.name}' is known.", hint="capi_list_clusters lists them.")

    async def _management(self) -> KubeCluster:
        """The server's own client of its configured cluster (the Cluster API management cluster)."""
        return await self.clients.get(self._base_target(ToolInput(), SessionState(), None))

    async def warm_up(self) -> None:
        """What the first cluster call would otherwise wait for, done once the client has listed
        the tools: the Kubernetes client library's import and, when calls run as the server's own
        identity, its connection and the API discovery. Failures are left to that first call,
        which reports them clearly."""
        try:
            await anyio.to_thread.run_sync(import_client_library)
            if self.settings.identity.cluster_identity != "server":
                return  # connections are per caller: none to make ahead
            cluster = await self._management()
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
        attempt = _Attempt()
        with self.telemetry.tool_call(label, arguments) as traced:  # the span Kubernetes and Helm spans nest in
            running = self._run(tool, name, arguments, session, report_progress, caller, attempt)
            outcome = await self.calls.run(running, otherwise=SHUT_DOWN)
            traced.outcome = outcome.outcome
        self.metrics.tool_calls.labels(label, outcome.outcome).inc()
        for reached, reached_outcome in attempt.clusters.items():
            self.metrics.cluster_calls.labels(reached, reached_outcome or outcome.outcome).inc()
        duration = time.perf_counter() - started
        self.metrics.tool_duration.labels(label).observe(duration)
        mode = self.identity.mode_for(caller)
        cluster = ",".join(attempt.clusters) or None
        self.audit.call(
            caller, name, arguments, session.context, outcome.outcome, duration, mode, outcome.scope, cluster=cluster
        )
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

    def _context(
        self,
        args: ToolInput,
        target: ClusterTarget,
        session: SessionState,
        caller: Caller,
        report: ProgressReporter | None,
    ) -> CallContext:
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
            provider=self.provider,
            reach=partial(self._reach, args, session, caller),
        )
        if report is not None:
            ctx.report_progress = report
        return ctx

    async def _reach(self, args: ToolInput, session: SessionState, caller: Caller, cluster: str) -> KubeCluster:
        """Another cluster, as this call's caller (capi_cluster_health's live checks)."""
        named = args.model_copy(update={"cluster": cluster, "context": None})
        return await self.clients.get(await self._target(named, session, None, caller))

    async def _execute(
        self, tool: AnyTool, args: ToolInput, ctx: CallContext, paths: list[str], attempt: _Attempt
    ) -> ToolResult:
        """Scope and policy, confirmation, the path re-check and the handler, inside the call's deadline."""
        attempt.scope = await self._scope(tool, args, ctx)
        if attempt.scope is not None and self.policy.scoped:  # before the handler: a refused call changes nothing
            self.policy.check_scope(attempt.scope)
        await confirm_call(tool, args, ctx)  # --confirm rules: the user's yes, asked through the client
        if paths:  # a realpath and a stat per path (~20 µs): cheaper on the loop than a thread hop (~55 µs)
            recheck_paths(paths, self.settings, self.files)
        return await self.resilience.run(tool, args, ctx)

    async def _one_cluster(
        self,
        tool: AnyTool,
        args: ToolInput,
        session: SessionState,
        caller: Caller,
        kubeconfig: str | None,
        paths: list[str],
        report: ProgressReporter | None,
        attempt: _Attempt,
    ) -> ToolResult:
        timeout = call_timeout(self.settings.resilience, tool, args)
        try:
            with anyio.fail_after(timeout):
                target = await self._target(args, session, kubeconfig, caller)
                attempt.secrets += identity_secrets(caller, target)
                if target.cluster is not None:
                    attempt.clusters[target.cluster] = None  # the call's own outcome, once known
                return await self._execute(
                    tool, args, self._context(args, target, session, caller, report), paths, attempt
                )
        except TimeoutError:
            raise ToolTimeout(f"{tool.name} did not finish within {timeout:g} seconds.") from None

    async def _fleet(
        self,
        tool: AnyTool,
        args: FleetInput,
        session: SessionState,
        caller: Caller,
        paths: list[str],
        attempt: _Attempt,
    ) -> FleetResult:
        """The call on every cluster it names, a few at a time, each within --fleet-timeout; one
        cluster's failure or silence is its own row, never the others'."""
        names = await self.provider.fleet(list(args.clusters or []), args.cluster_selector)
        names = [n for n in names if self.policy.cluster_allowed(n)]
        if not names:
            raise NotFound("No cluster the server may reach matches clusters/cluster_selector.")
        answers = [ClusterAnswer(name) for name in names]
        limit = anyio.Semaphore(self.settings.clusters.fleet_concurrency)
        reveal = self.settings.output.reveal_secrets

        async def ask(answer: ClusterAnswer) -> None:
            update: dict[str, Any] = {"clusters": None, "cluster_selector": None, "cluster": answer.cluster}
            if isinstance(args, Resumable):
                update["continue_token"] = None  # the fleet's token pages the merged rows, not a cluster's
            single = args.model_copy(update=update)
            own = _Attempt()
            async with limit:
                with anyio.move_on_after(self.settings.clusters.fleet_timeout) as waited:
                    try:
                        result = await self._one_cluster(tool, single, session, caller, None, paths, None, own)
                        answer.result = sanitize_result(result, reveal_secrets=reveal)
                    except ToolError as exc:
                        answer.error, answer.outcome = scrub_bounded(str(exc), MAX_FLEET_ERROR_CHARS), _label(exc)
            if waited.cancelled_caught:
                answer.error = f"no answer within {self.settings.clusters.fleet_timeout:g} seconds"
                answer.outcome = "timeout"
            attempt.secrets += own.secrets
            attempt.clusters[answer.cluster] = answer.outcome

        async with anyio.create_task_group() as group:
            for answer in answers:
                group.start_soon(ask, answer)
        return merge(answers, decode_cursor(args.continue_token if isinstance(args, Resumable) else None).skip)

    async def _run(
        self,
        tool: AnyTool | None,
        name: str,
        arguments: dict[str, Any] | None,
        session: SessionState,
        report_progress: ProgressReporter | None,
        caller: Caller,
        attempt: _Attempt,
    ) -> Outcome:
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
                attempt.secrets = (args.kube_token,)
            if isinstance(args, FleetInput) and args.fleet_wide:
                result: ToolResult = await self._fleet(tool, args, session, caller, paths, attempt)
            else:
                kubeconfig = await self._caller_kubeconfig(args)
                result = await self._one_cluster(
                    tool, args, session, caller, kubeconfig, paths, report_progress, attempt
                )
            marker = DRY_RUN_MARKER if self.policy.forces_dry_run(tool) else ""
            output = self.settings.output
            secrets = attempt.secrets
            form = Form(
                budget=output.max_response_bytes,
                structured=output.result_format == "structured",
                reveal_secrets=output.reveal_secrets,
                resumable="continue_token" in tool.input_model.model_fields,
                finish=lambda text: marker + remove_known(text, secrets),
            )
            shaped = shape(result, form, decode_cursor(getattr(args, "continue_token", None)))
            return Outcome(shaped.text, shaped.structured, False, "ok", attempt.scope)
        except ToolError as exc:
            text = scrub_bounded(str(exc), MAX_ERROR_CHARS, attempt.secrets)
            return Outcome(text, None, True, _label(exc), attempt.scope)
        except Exception as exc:  # a bug: log it with its id, show the client no internals
            error_id = uuid.uuid4().hex[:12]
            log.error(
                "internal error %s in %s: %s",
                error_id,
                name,
                scrub(repr(exc), attempt.secrets),
                exc_info=True,
                extra={"error_id": error_id},  # a field of its own in JSON logs
            )
            return Outcome(
                f"Internal error while running {name} (error id {error_id}); the server log has the details.",
                None,
                True,
                "internal",
                attempt.scope,
            )
