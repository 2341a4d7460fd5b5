"""Release reads beyond list/status: helm_history and helm_get_* (values, manifest, hooks, notes,
metadata, all), answered by the configured read engine (storage or CLI)."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.context import CallContext
from kubehelm_mcp.helm.engine import ReleaseReader
from kubehelm_mcp.helm.manifests import split_manifest
from kubehelm_mcp.helm.models import HelmTarget, ReleaseMetadata, ReleaseRevision
from kubehelm_mcp.tooling import (
    READ_ONLY,
    RELEASES,
    AnyTool,
    Category,
    HelmValues,
    PagedResult,
    Resumable,
    Switch,
    Tool,
    ToolResult,
)
from kubehelm_mcp.toolsets.helm.documents import Documents, page_of
from kubehelm_mcp.toolsets.helm.inputs import PageInput, ReleaseInput, RevisionInput
from kubehelm_mcp.toolsets.helm.value_keys import KeysInput, picked_values
from kubehelm_mcp.toolsets.rendering import render_table
from kubehelm_mcp.yamltext import dump_yaml


class HistoryInput(ReleaseInput):
    max: int = Field(256, ge=1, le=10000, description="Newest revisions to show.")


class ValuesGetInput(Resumable, KeysInput, RevisionInput):
    all: Switch = Field(False, description="Chart defaults too")


class DocumentsGetInput(PageInput, RevisionInput):
    pass


class History(PagedResult):
    items: list[ReleaseRevision]

    def to_text(self) -> str:
        rows = [dataclasses.asdict(r) for r in self.items]
        table = render_table(["revision", "updated", "status", "chart", "app_version", "description"], rows)
        return table


class ReleaseValues(ToolResult):
    release_name: str
    values: HelmValues = None  # redacted by the pipeline's shaping step

    def to_text(self) -> str:
        body = dump_yaml(self.values) if self.values else "{}"
        return body


class ReleaseNotes(ToolResult):
    release_name: str
    notes: str | None = None

    def to_text(self) -> str:
        return self.notes or "This release has no notes."


class MetadataResult(ToolResult):
    metadata: ReleaseMetadata


class ReleaseAll(Documents):
    """Everything about one revision; items are the manifest's documents."""

    metadata: ReleaseMetadata
    values: HelmValues = None  # redacted by the pipeline's shaping step
    notes: str | None = None
    hooks: list[dict[str, Any]] | None = None

    def to_text(self) -> str:
        head = {
            "metadata": dataclasses.asdict(self.metadata),
            "values": self.values,
            "notes": self.notes,
        }
        parts = [dump_yaml(head), "MANIFEST:", super().to_text()]
        if self.hooks:
            parts += ["HOOKS:", Documents(items=self.hooks).to_text()]
        return "\n".join(parts)


async def _reader(args: ReleaseInput, ctx: CallContext) -> tuple[ReleaseReader, HelmTarget]:
    return await ctx.helm.reader(args.helm_version), await ctx.helm_target()


async def helm_history(args: HistoryInput, ctx: CallContext) -> History:
    reader, target = await _reader(args, ctx)
    return History(items=await reader.history(target, args.release_name, args.max))


async def helm_get_values(args: ValuesGetInput, ctx: CallContext) -> ReleaseValues:
    reader, target = await _reader(args, ctx)
    values = await reader.values(target, args.release_name, args.revision, args.all)
    return ReleaseValues(release_name=args.release_name, values=picked_values(values, args.keys))


async def helm_get_manifest(args: DocumentsGetInput, ctx: CallContext) -> Documents:
    reader, target = await _reader(args, ctx)
    docs = split_manifest(await reader.manifest(target, args.release_name, args.revision), verbatim=True)
    return Documents(**page_of(docs, args.continue_token))


async def helm_get_hooks(args: DocumentsGetInput, ctx: CallContext) -> Documents:
    reader, target = await _reader(args, ctx)
    docs = split_manifest(await reader.hooks(target, args.release_name, args.revision), verbatim=True)
    return Documents(**page_of(docs, args.continue_token))


async def helm_get_notes(args: RevisionInput, ctx: CallContext) -> ReleaseNotes:
    reader, target = await _reader(args, ctx)
    notes = await reader.notes(target, args.release_name, args.revision)
    return ReleaseNotes(release_name=args.release_name, notes=notes or None)


async def helm_get_metadata(args: RevisionInput, ctx: CallContext) -> MetadataResult:
    reader, target = await _reader(args, ctx)
    return MetadataResult(metadata=await reader.metadata(target, args.release_name, args.revision))


async def helm_get_all(args: DocumentsGetInput, ctx: CallContext) -> ReleaseAll:
    reader, target = await _reader(args, ctx)
    name, revision = args.release_name, args.revision
    meta, values, manifest, hooks, notes = await gather(
        reader.metadata(target, name, revision),
        reader.values(target, name, revision, False),
        reader.manifest(target, name, revision),
        reader.hooks(target, name, revision),
        reader.notes(target, name, revision),
    )
    return ReleaseAll(
        **page_of(split_manifest(manifest, verbatim=True), args.continue_token),
        metadata=meta,
        values=values,
        notes=notes or None,
        hooks=split_manifest(hooks, verbatim=True) or None,
    )


TOOLS: list[AnyTool] = [
    Tool(
        name="helm_history",
        description="Show a release's revisions (status, chart, description).",
        input_model=HistoryInput,
        output_model=History,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_history,
        touches=RELEASES,
    ),
    Tool(
        name="helm_get_values",
        description="Get a release's values (all: computed ones).",
        input_model=ValuesGetInput,
        output_model=ReleaseValues,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_get_values,
        touches=RELEASES,
    ),
    Tool(
        name="helm_get_manifest",
        description="Get a release's rendered manifest as documents.",
        input_model=DocumentsGetInput,
        output_model=Documents,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_get_manifest,
        touches=RELEASES,
    ),
    Tool(
        name="helm_get_hooks",
        description="Get a release's hook manifests as documents.",
        input_model=DocumentsGetInput,
        output_model=Documents,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_get_hooks,
        touches=RELEASES,
    ),
    Tool(
        name="helm_get_notes",
        description="Get a release's rendered NOTES.txt.",
        input_model=RevisionInput,
        output_model=ReleaseNotes,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_get_notes,
        touches=RELEASES,
    ),
    Tool(
        name="helm_get_metadata",
        description="A release's chart, versions, status, deploy time and labels.",
        input_model=RevisionInput,
        output_model=MetadataResult,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_get_metadata,
        touches=RELEASES,
    ),
    Tool(
        name="helm_get_all",
        description="All of a release revision: metadata, values, notes, hooks, manifest.",
        input_model=DocumentsGetInput,
        output_model=ReleaseAll,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=helm_get_all,
        touches=RELEASES,
    ),
]
