"""Kubeconfig contexts: list them and show the one this session uses."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.kubeconfig import ContextInfo, KubeconfigView, kubeconfig_paths, read_kubeconfig
from kubehelm_mcp.tooling import LOCAL_READ_ONLY, AnyTool, Category, PagedResult, Tool, ToolInput, ToolResult
from kubehelm_mcp.validators import ContextName


class ContextEntry(BaseModel):
    name: str
    cluster: str
    user: str
    namespace: str | None = None
    server: str | None = None
    current: bool = False


class ContextList(PagedResult):
    items: list[ContextEntry]

    def to_text(self) -> str:
        lines = [
            f"{'*' if c.current else ' '} {c.name}  cluster={c.cluster} namespace={c.namespace or 'default'}"
            f" server={c.server or '?'}"
            for c in self.items
        ]
        return "\n".join(lines) or "The kubeconfig defines no contexts."


class CurrentContext(ToolResult):
    name: str
    cluster: str
    namespace: str
    server: str | None = None
    source: str

    def to_text(self) -> str:
        return f"{self.name} (cluster {self.cluster}, namespace {self.namespace}, from {self.source})"


def _view(ctx: CallContext) -> KubeconfigView:
    return read_kubeconfig(kubeconfig_paths(ctx.target.kubeconfig))


def _active(ctx: CallContext, view: KubeconfigView) -> tuple[str | None, str]:
    if ctx.target.context:
        source = "session" if ctx.session.context == ctx.target.context else "request or server default"
        return ctx.target.context, source
    return view.current_context, "kubeconfig current-context"


async def list_contexts(args: ToolInput, ctx: CallContext) -> ContextList:
    view = _view(ctx)
    active, _ = _active(ctx, view)
    return ContextList(
        items=[
            ContextEntry(
                name=c.name,
                cluster=c.cluster,
                user=c.user,
                namespace=c.namespace,
                server=c.server,
                current=c.name == active,
            )
            for c in view.contexts
        ]
    )


def _described(info: ContextInfo, args: ToolInput, ctx: CallContext, source: str) -> CurrentContext:
    namespace = args.namespace or ctx.settings.kube.namespace or info.namespace or "default"
    return CurrentContext(name=info.name, cluster=info.cluster, namespace=namespace, server=info.server, source=source)


async def current_context(args: ToolInput, ctx: CallContext) -> CurrentContext:
    view = _view(ctx)
    name, source = _active(ctx, view)
    return _described(view.context(name), args, ctx, source)


class SwitchInput(ToolInput):
    name: ContextName = Field(min_length=1, max_length=253)


async def switch_context(args: SwitchInput, ctx: CallContext) -> CurrentContext:
    if not ctx.session.persistent:
        raise InvalidInput(
            "This client's MCP protocol is stateless, so there is no session whose context could be switched.",
            hint="Pass 'context' on each call instead.",
        )
    info = _view(ctx).context(args.name)  # an unknown name fails here, before anything changes
    ctx.session.context = info.name  # this client's session only: other clients and the server keep theirs
    return _described(info, args, ctx, "session")


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_list_contexts",
        description="List kubeconfig contexts; * marks the one in use.",
        input_model=ToolInput,
        output_model=ContextList,
        annotations=LOCAL_READ_ONLY,
        category=Category.QUERY,
        handler=list_contexts,
    ),
    Tool(
        name="k8s_get_current_context",
        description="The context, cluster and default namespace this session uses.",
        input_model=ToolInput,
        output_model=CurrentContext,
        annotations=LOCAL_READ_ONLY,
        category=Category.QUERY,
        handler=current_context,
    ),
    Tool(
        name="k8s_switch_context",
        description="Use another kubeconfig context for the rest of this session.",
        input_model=SwitchInput,
        output_model=CurrentContext,
        annotations=LOCAL_READ_ONLY,
        category=Category.QUERY,
        handler=switch_context,
    ),
]
