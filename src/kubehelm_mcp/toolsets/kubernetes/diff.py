"""k8s_diff_resource: what applying a manifest would change, like `kubectl diff --server-side`."""

from __future__ import annotations

from pydantic import Field

from kubehelm_mcp.context import CallContext
from kubehelm_mcp.tooling import OBJECTS, READ_ONLY, AnyTool, Category, Tool
from kubehelm_mcp.toolsets.kubernetes.apply import ApplyMode, ManifestInput, apply_objects
from kubehelm_mcp.toolsets.kubernetes.common import ChangeSet


class DiffInput(ManifestInput):
    force_conflicts: bool = Field(False, description="As if taking fields another manager owns.")


async def diff_manifest(args: DiffInput, ctx: CallContext) -> ChangeSet:
    # A server-side apply with dryRun=All: the cluster computes the result and stores nothing.
    mode = ApplyMode(dry_run=True, force=args.force_conflicts, diff_new=True, done="compared")
    return await apply_objects(args.manifest, ctx, mode)


TOOLS: list[AnyTool] = [
    Tool(
        name="k8s_diff_resource",
        touches=OBJECTS,
        description="What applying a YAML/JSON manifest would change, per object (server-side dry run).",
        input_model=DiffInput,
        output_model=ChangeSet,
        annotations=READ_ONLY,
        category=Category.QUERY,
        handler=diff_manifest,
    ),
]
