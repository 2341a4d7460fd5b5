"""Chart repositories: helm_repo_add, _list, _update, _remove and _index."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.errors import Conflict, InvalidInput, NotFound, ToolError
from kubehelm_mcp.helm.requests import RepoAddRequest, RepoIndexRequest
from kubehelm_mcp.kube.manifests import load_bounded
from kubehelm_mcp.tooling import (
    LOCAL_DESTRUCTIVE,
    LOCAL_READ_ONLY,
    LOCAL_WRITES_IDEMPOTENT,
    WRITES_IDEMPOTENT,
    AnyTool,
    Category,
    PagedResult,
    Switch,
    Tool,
    ToolResult,
)
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.remote import (
    TlsInput,
    commands,
    existing_dir,
    existing_file,
)
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.validators import CliText, CliWord, LocalPath, RepoUrl

REPO_NAME = Field(min_length=1, max_length=100, pattern=r"^[^/\s]+$", description="Repository name.")


class RepoAddInput(TlsInput):
    name: CliWord = REPO_NAME
    url: RepoUrl = Field(min_length=1)
    username: CliText | None = Field(None)
    password: str | None = Field(None)
    force_update: Switch = Field(False, description="Replace an existing entry of the same name.")
    pass_credentials: Switch = Field(False)


class RepoNamesInput(HelmInput):
    names: list[CliWord] = Field(default_factory=list, description="Empty: all")


class RepoRemoveInput(HelmInput):
    names: list[CliWord] = Field(min_length=1, description="Repository names to remove.")


class RepoIndexInput(HelmInput):
    directory: LocalPath = Field(min_length=1, description="Directory of packaged charts.")
    url: CliText | None = Field(None)
    merge: LocalPath | None = Field(None)


class Repo(BaseModel):
    name: str
    url: str


class RepoList(PagedResult):
    items: list[Repo]

    def to_text(self) -> str:
        if not self.items:
            return "No repositories configured."
        return render_table(["name", "url"], [r.model_dump() for r in self.items])


class RepoAdded(ToolResult):
    name: str
    url: str
    message: str


class ReposChanged(ToolResult):
    repositories: list[str]
    message: str


class IndexedChart(BaseModel):
    name: str
    versions: list[str]


class RepoIndex(ToolResult):
    index_file: str
    charts: list[IndexedChart]


async def configured_repos(args: HelmInput, ctx: CallContext) -> list[Repo]:
    """The configured repositories (none is an empty list)."""
    return [Repo(name=repo.name, url=repo.url) for repo in await (await commands(args, ctx)).repo_list()]


async def require_repos(args: HelmInput, ctx: CallContext, names: list[str]) -> None:
    """Refuse before changing anything when a name is unknown (helm would act on the others first)."""
    known = {repo.name for repo in await configured_repos(args, ctx)}
    missing = [name for name in names if name not in known]
    if missing:
        raise NotFound(
            f"No repository named {', '.join(missing)} is configured.", hint="helm_repo_list shows the configured ones."
        )


async def helm_repo_add(args: RepoAddInput, ctx: CallContext) -> RepoAdded:
    if args.password is not None and not args.username:
        raise InvalidInput("A repository password needs a username.")
    request = RepoAddRequest(
        name=args.name,
        url=args.url,
        tls=args.tls(),
        username=args.username,
        password=args.password,
        force_update=args.force_update,
        pass_credentials=args.pass_credentials,
    )
    try:
        out = await (await commands(args, ctx)).repo_add(request)
    except ToolError as exc:
        if "already exists" in str(exc):
            raise Conflict(
                f"A repository named {args.name} already exists with another configuration.",
                hint="Choose another name, or pass force_update to replace it.",
            ) from None
        raise
    return RepoAdded(name=args.name, url=args.url, message=out)


async def helm_repo_list(args: HelmInput, ctx: CallContext) -> RepoList:
    return RepoList(items=await configured_repos(args, ctx))


async def helm_repo_update(args: RepoNamesInput, ctx: CallContext) -> ReposChanged:
    if args.names:
        await require_repos(args, ctx, args.names)
    elif not await configured_repos(args, ctx):
        raise NotFound("No repositories are configured.", hint="Add one with helm_repo_add.")
    updated = await (await commands(args, ctx)).repo_update(args.names)  # fails when one cannot be fetched
    return ReposChanged(repositories=updated, message=f"Updated {len(updated)} repository index(es).")


async def helm_repo_remove(args: RepoRemoveInput, ctx: CallContext) -> ReposChanged:
    await require_repos(args, ctx, args.names)
    await (await commands(args, ctx)).repo_remove(args.names)
    return ReposChanged(repositories=args.names, message=f"Removed {len(args.names)} repository(ies).")


async def helm_repo_index(args: RepoIndexInput, ctx: CallContext) -> RepoIndex:
    directory = existing_dir(args.directory, "Chart directory")
    merge = str(existing_file(args.merge, "Index file")) if args.merge else None
    await (await commands(args, ctx)).repo_index(RepoIndexRequest(str(directory), args.url or None, merge))
    index_file = directory / "index.yaml"
    index = load_bounded(index_file.read_text(), f"File {index_file}")
    entries = (index.get("entries") if isinstance(index, dict) else None) or {}
    charts = [
        IndexedChart(name=name, versions=[str(v.get("version", "")) for v in versions or []])
        for name, versions in sorted(entries.items())
    ]
    return RepoIndex(index_file=str(index_file), charts=charts)


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_repo_add",
        description="Add a chart repository.",
        input_model=RepoAddInput,
        output_model=RepoAdded,
        annotations=WRITES_IDEMPOTENT,
        category=Category.REPO,
        handler=helm_repo_add,
    ),
    Tool(
        name="helm_repo_list",
        description="List the configured chart repositories.",
        input_model=HelmInput,
        output_model=RepoList,
        annotations=LOCAL_READ_ONLY,
        category=Category.REPO,
        handler=helm_repo_list,
    ),
    Tool(
        name="helm_repo_update",
        description="Fetch the latest index of chart repositories (default: all).",
        input_model=RepoNamesInput,
        output_model=ReposChanged,
        annotations=WRITES_IDEMPOTENT,
        category=Category.REPO,
        handler=helm_repo_update,
    ),
    Tool(
        name="helm_repo_remove",
        description="Remove chart repositories (all must exist).",
        input_model=RepoRemoveInput,
        output_model=ReposChanged,
        annotations=LOCAL_DESTRUCTIVE,
        category=Category.REPO,
        handler=helm_repo_remove,
    ),
    Tool(
        name="helm_repo_index",
        description="Write index.yaml for a directory of packaged charts.",
        input_model=RepoIndexInput,
        output_model=RepoIndex,
        annotations=LOCAL_WRITES_IDEMPOTENT,
        category=Category.REPO,
        handler=helm_repo_index,
    ),
]
