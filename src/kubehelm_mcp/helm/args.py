"""Building helm command lines: flags from typed options, checked against what each major offers.

Helm v3 and v4 differ in flag names (--atomic became --rollback-on-failure) and in flags only
one of them has (--server-side, --force-conflicts); callers describe what they want once and
the major-specific spelling is chosen here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.models import HelmMajor
from kubehelm_mcp.kube.target import ClusterTarget

_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

# One Masterminds/semver constraint term: an operator and a (possibly wildcarded) version.
_VERSION = r"v?(?:\d+|[xX*])(?:\.(?:\d+|[xX*])){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
_TERM = re.compile(rf"^(?:(?:=|!=|>=|<=|>|<|~>|~|\^)\s*)?{_VERSION}$")
_HYPHEN_RANGE = re.compile(rf"^{_VERSION}\s+-\s+{_VERSION}$")

_V4_ONLY = {"server_side_apply": "--server-side", "force_conflicts": "--force-conflicts"}


def duration_seconds(value: str) -> float:
    """Seconds in a Go duration such as 5m0s or 90s; refuses anything helm would refuse."""
    if not _DURATION.match(value):
        raise InvalidInput(f"timeout '{value}' is not a duration; use Go syntax such as 90s, 5m or 1h30m.")
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))


def check_version_constraint(value: str) -> str:
    """Helm silently ignores --version for a local chart, so a malformed constraint is caught here."""
    for alternative in value.split("||"):
        alternative = alternative.strip()
        if _HYPHEN_RANGE.match(alternative):
            continue
        terms = [t for t in re.split(r"\s*,\s*|(?<=[\w*])\s+(?=[=!<>~^v\d*xX])", alternative) if t]
        if not terms or not all(_TERM.match(t) for t in terms):
            raise InvalidInput(
                f"version '{value}' is not a valid version constraint; use e.g. 1.2.3, ^1.2, ~1.2.0 or >=1.0 <2.0."
            )
    return value


def rollback_on_failure_flag(major: HelmMajor) -> str:
    """Helm v3 calls it --atomic; Helm v4 renamed it --rollback-on-failure."""
    return "--atomic" if major == "v3" else "--rollback-on-failure"


def force_replace_flag(major: HelmMajor) -> str:
    """Helm v3 calls it --force; Helm v4 renamed it --force-replace."""
    return "--force" if major == "v3" else "--force-replace"


def require_v4(major: HelmMajor, requested: Iterable[str]) -> None:
    """Refuse v4-only options on v3 before anything runs, naming the first one asked for."""
    if major == "v4":
        return
    for option in requested:
        if option in _V4_ONLY:
            raise InvalidInput(f"{option} ({_V4_ONLY[option]}) exists only in Helm v4; call with helm_version v4.")


def impersonation_flags(target: ClusterTarget) -> list[str]:
    """Helm's global --kube-as-user/--kube-as-group for an impersonated caller. In --flag=value form
    they may precede the subcommand; each group is its own flag, so a comma in a name stays in it."""
    if not target.impersonate_user:
        return []
    return [f"--kube-as-user={target.impersonate_user}", *(f"--kube-as-group={g}" for g in target.impersonate_groups)]


class ArgList(list[str]):
    """A helm argument list grown by typed helpers, so no tool hand-formats a flag."""

    def flag(self, name: str, on: bool | None) -> ArgList:
        if on:
            self.append(name)
        return self

    def opt(self, name: str, value: str | int | None) -> ArgList:
        if value is not None and value != "":
            self += [name, str(value)]
        return self

    def each(self, name: str, values: Iterable[str] | None) -> ArgList:
        for value in values or ():
            self += [name, value]
        return self
