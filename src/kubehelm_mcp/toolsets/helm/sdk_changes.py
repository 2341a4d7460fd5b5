"""Which tool inputs the SDK write engine can carry out; anything else goes to the helm CLI."""

from __future__ import annotations

import math
from pathlib import Path

from kubehelm_mcp.helm.sdk_writes import SdkInstall
from kubehelm_mcp.toolsets.helm.inputs import ChangeInput

# Inputs the SDK's install has no option for (or that need Helm's own merge of values files and
# --set strings, or a repository/registry lookup of `version`).
CLI_ONLY = (
    "values_files",
    "set",
    "set_string",
    "set_file",
    "version",
    "dry_run",
    "skip_crds",
    "take_ownership",
    "hide_secret",
    "server_side_apply",
    "force_conflicts",
)


def sdk_install(args: ChangeInput) -> SdkInstall | None:
    """The SDK install for these inputs, or None when only the CLI can express them: the SDK loads
    local charts only (a repo/name or oci:// reference needs the CLI's repositories and logins)."""
    fields = type(args).model_fields
    if any(getattr(args, name) != fields[name].get_default(call_default_factory=True) for name in CLI_ONLY):
        return None  # e.g. server_side_apply=False is a choice, not an absence
    if not Path(args.chart).expanduser().exists():
        return None
    return SdkInstall(
        chart=str(Path(args.chart).expanduser()),
        values=args.values,
        timeout_seconds=math.ceil(args.timeout_seconds()),
        create_namespace=args.create_namespace,
        wait=args.wait,
        rollback_on_failure=args.atomic or args.rollback_on_failure,
        description=args.description,
    )
