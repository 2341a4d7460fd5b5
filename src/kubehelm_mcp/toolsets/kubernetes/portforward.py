"""Port-forwards to pods and Services, listening on 127.0.0.1 only, kept until stopped."""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.kube.pods import read_pod, require_running
from kubehelm_mcp.kube.portforward import ForwardTarget, PortForward
from kubehelm_mcp.kube.services import service_backend
from kubehelm_mcp.tooling import (
    LOCAL_READ_ONLY,
    LOCAL_WRITES,
    WRITES,
    AnyTool,
    Category,
    PagedResult,
    Target,
    Tool,
    ToolInput,
    ToolResult,
    Touches,
)
from kubehelm_mcp.validators import ObjectName


class ForwardInput(ToolInput):
    local_port: int | None = Field(None, ge=1, le=65535)


class PodForwardInput(ForwardInput):
    name: ObjectName = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class ServiceForwardInput(ForwardInput):
    name: ObjectName = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)

    def target(self) -> Target:
        return replace(super().target(), names=(self.name,))


class StopInput(ToolInput):
    id: str = Field(min_length=1, max_length=64, description="e.g. pf-1")


class ForwardInfo(BaseModel):
    id: str
    address: str
    namespace: str
    pod: str
    port: int
    via: str | None = None
    connections: int = 0

    @classmethod
    def of(cls, forward: PortForward) -> ForwardInfo:
        t = forward.target
        return cls(
            id=forward.id,
            address=forward.address,
            namespace=t.namespace,
            pod=t.pod,
            port=t.port,
            via=t.via,
            connections=forward.accepted,
        )

    def line(self) -> str:
        via = f" (via {self.via})" if self.via else ""
        return f"{self.id}: {self.address} -> pod {self.namespace}/{self.pod}:{self.port}{via}"


class ForwardResult(ToolResult):
    forward: ForwardInfo
    state: str

    def to_text(self) -> str:
        return f"{self.state.capitalize()} {self.forward.line()}"


class ForwardList(PagedResult):
    items: list[ForwardInfo]

    def to_text(self) -> str:
        return "\n".join(f.line() + f", {f.connections} connection(s)" for f in self.items) or "No port-forwards open."


async def _start(ctx: CallContext, target: ForwardTarget, local_port: int | None) -> ForwardResult:
    forward = await ctx.forwards.start((await ctx.cluster()).api, target, local_port, ctx.caller.owner)
    return ForwardResult(forward=ForwardInfo.of(forward), state="forwarding")


async def forward_pod(args: PodForwardInput, ctx: CallContext) -> ForwardResult:
    cluster, namespace = await ctx.cluster(), await ctx.namespace()
    require_running(await read_pod(cluster.api, namespace, args.name))
    return await _start(ctx, ForwardTarget(namespace, args.name, args.port), args.local_port)


async def forward_service(args: ServiceForwardInput, ctx: CallContext) -> ForwardResult:
    cluster, namespace = await ctx.cluster(), await ctx.namespace()
    pod, port = await service_backend(cluster.api, namespace, args.name, args.port)
    target = ForwardTarget(namespace, pod, port, via=f"service/{args.name}:{args.port}")
    return await _start(ctx, target, args.local_port)


async def list_forwards(args: ToolInput, ctx: CallContext) -> ForwardList:
    return ForwardList(items=[ForwardInfo.of(f) for f in ctx.forwards.list(ctx.caller.owner)])


async def stop_forward(args: StopInput, ctx: CallContext) -> ForwardResult:
    return ForwardResult(forward=ForwardInfo.of(await ctx.forwards.stop(args.id, ctx.caller.owner)), state="stopped")


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_port_forward_pod",
        touches=Touches(kinds=("pods/portforward",)),
        description="Forward a 127.0.0.1 port to a pod port until stopped.",
        input_model=PodForwardInput,
        output_model=ForwardResult,
        annotations=WRITES,
        category=Category.QUERY,
        handler=forward_pod,
    ),
    Tool(
        name="k8s_port_forward_service",
        touches=Touches(kinds=("services", "pods/portforward")),
        description="Forward a 127.0.0.1 port to a Service port until stopped.",
        input_model=ServiceForwardInput,
        output_model=ForwardResult,
        annotations=WRITES,
        category=Category.QUERY,
        handler=forward_service,
    ),
    Tool(
        name="k8s_list_port_forwards",
        description="List the port-forwards this server has open.",
        input_model=ToolInput,
        output_model=ForwardList,
        annotations=LOCAL_READ_ONLY,
        category=Category.QUERY,
        handler=list_forwards,
    ),
    Tool(
        name="k8s_stop_port_forward",
        description="Stop a port-forward by id.",
        input_model=StopInput,
        output_model=ForwardResult,
        annotations=LOCAL_WRITES,
        category=Category.QUERY,
        handler=stop_forward,
    ),
]
