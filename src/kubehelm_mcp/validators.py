"""Reusable input types for tool arguments: each refuses a bad value with one sentence before any
handler runs, so a name, selector, path or URL never reaches the cluster or the helm CLI malformed.

Path and URL checks read the server's settings (`allowed_paths`, `allowed_hosts`) from pydantic's
validation context (`{"settings": Settings}`, passed by the pipeline); without it the defaults apply.
The server's own credential files come in the same context (SERVER_FILES); a checked path is
returned resolved and absolute, so the tool uses exactly the path that was checked.
A host name in a URL is resolved to check its addresses; when the context holds a PENDING_HOSTS list
the name is put there instead and the pipeline resolves it off the event loop (`check_pending_host`).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import anyio
from pydantic import AfterValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from kubehelm_mcp.egress import rules as egress_rules
from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.args import duration_seconds
from kubehelm_mcp.localfiles import ServerFiles, chart_tree_refusal, refusal, stat_of
from kubehelm_mcp.settings import Settings

MAX_DURATION_SECONDS = 24 * 3600
MAX_PATH = 4096
MAX_URL = 2048
MAX_SELECTOR = 4096

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(rf"^{_LABEL}$")
_DNS_SUBDOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# Object names: DNS-1123 subdomains, plus ':' which RBAC and system objects use (system:node-proxier).
_OBJECT_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9.:]*[a-z0-9])?$")
_LABEL_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = rf"(?:[a-z0-9](?:[-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}"
_LABEL_VALUE = rf"(?:{_LABEL_NAME})?"
_SELECTOR_TERM = re.compile(
    rf"^\s*(?:!\s*{_LABEL_KEY}|{_LABEL_KEY}(?:\s*(?:==|!=|=)\s*{_LABEL_VALUE}"
    rf"|\s+(?:in|notin)\s*\(\s*{_LABEL_VALUE}(?:\s*,\s*{_LABEL_VALUE})*\s*\))?)\s*$"
)
_FIELD_TERM = re.compile(r"^\s*[A-Za-z0-9_.\[\]-]+\s*(?:==|!=|=)\s*(?:[^,\\]|\\.)*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_input", message)


def _shown(value: str) -> str:
    """A value quoted in a refusal, cut so the sentence stays short."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


PENDING_HOSTS = "pending_hosts"


@dataclass(frozen=True)
class PendingHost:
    """A URL host name whose addresses are still to be checked, and the argument it came in."""

    field: str
    host: str


def _settings(info: ValidationInfo | None) -> Settings:
    context = info.context if info is not None else None
    found = context.get("settings") if isinstance(context, dict) else None
    return found if isinstance(found, Settings) else Settings()


def _pending(info: ValidationInfo) -> tuple[list[PendingHost] | None, str]:
    context = info.context
    found = context.get(PENDING_HOSTS) if isinstance(context, dict) else None
    return (found if isinstance(found, list) else None), info.field_name or "arguments"


def _plain(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise _refuse(f"{what} is longer than {limit} characters")
    if _CONTROL.search(value):
        raise _refuse(f"{what} contains control characters")
    return value


def _pattern(regex: re.Pattern[str], what: str, limit: int, rule: str) -> Any:
    def check(value: str) -> str:
        _plain(value, what, limit)
        if not regex.match(value):
            raise _refuse(f"{_shown(value)} is not a valid {what}: {rule}")
        return value

    return AfterValidator(check)


def _cli_word(value: str) -> str:
    """A value passed to helm as its own argument: a leading dash would turn it into a flag."""
    _plain(value, "value", 1024)
    if value.startswith("-"):
        raise _refuse(f"{_shown(value)} starts with '-', which helm would read as a flag")
    return value


def _selector(value: str) -> str:
    _plain(value, "selector", MAX_SELECTOR)
    terms = re.split(r",(?![^(]*\))", value)
    bad = next((t for t in terms if not _SELECTOR_TERM.match(t)), None) if value.strip() else None
    if bad is not None:
        raise _refuse(
            f"label selector term {_shown(bad.strip())} is not valid; use e.g. app=web,tier!=cache or env in (a)"
        )
    return value


def _field_selector(value: str) -> str:
    _plain(value, "field selector", MAX_SELECTOR)
    bad = next((t for t in re.split(r"(?<!\\),", value) if not _FIELD_TERM.match(t)), None) if value else None
    if bad is not None:
        raise _refuse(f"field selector term {_shown(bad.strip())} is not valid; use e.g. status.phase=Running")
    return value


def _duration(value: str) -> str:
    _plain(value, "duration", 64)
    try:
        seconds = duration_seconds(value)
    except InvalidInput as exc:
        raise _refuse(exc.message.rstrip(".")) from None
    if seconds > MAX_DURATION_SECONDS:
        raise _refuse(f"duration {_shown(value)} is longer than the 24h maximum")
    return value


# --- paths -------------------------------------------------------------------------------------

SERVER_FILES = "server_files"
CHECKED_PATHS = "checked_paths"  # context list the resolved local paths are added to, for a recheck at use


def _resolve(value: str) -> Path:
    try:
        return Path(value).expanduser().resolve()
    except (OSError, ValueError, RuntimeError):  # unencodable text, a symlink loop, no home directory
        raise _refuse(f"path {_shown(value)} cannot be resolved") from None


def _server_files(info: ValidationInfo | None) -> ServerFiles:
    context = info.context if info is not None else None
    found = context.get(SERVER_FILES) if isinstance(context, dict) else None
    return found if isinstance(found, ServerFiles) else ServerFiles()


def check_path(value: str, settings: Settings, files: ServerFiles | None = None, *, kubeconfig: bool = False) -> str:
    """A local path that resolves (symlinks followed) outside the places no tool may read or write
    (kubehelm_mcp.localfiles); the resolved absolute path, which is what the tool then uses, so what
    was checked is what helm gets, whatever a symlink on the way points at later."""
    _plain(value, "path", MAX_PATH)
    if not value:
        raise _refuse("path is empty")
    if value.startswith("-"):
        raise _refuse(f"path {_shown(value)} starts with '-', which helm would read as a flag; prefix it with ./")
    resolved = _resolve(value)
    reason = refusal(resolved, settings, files or ServerFiles(), stat_of(resolved), kubeconfig=kubeconfig)
    if reason:
        raise _refuse(f"path {_shown(value)} {reason}")
    return str(resolved)


def local_path(value: str, info: ValidationInfo, *, kubeconfig: bool = False) -> str:
    """check_path with the settings and server files of the validation context; the resolved path
    is also noted there (CHECKED_PATHS) so the pipeline can recheck it right before the tool runs."""
    resolved = check_path(value, _settings(info), _server_files(info), kubeconfig=kubeconfig)
    context = info.context
    checked = context.get(CHECKED_PATHS) if isinstance(context, dict) else None
    if isinstance(checked, list):
        checked.append(resolved)
    return resolved


def _path(value: str, info: ValidationInfo) -> str:
    return local_path(value, info)


def _kubeconfig_path(value: str, info: ValidationInfo) -> str:
    return local_path(value, info, kubeconfig=True)


def chart_path(value: str, info: ValidationInfo) -> str:
    """A local chart (directory or archive): a path, and a directory must hold no symlink to a place
    no tool may read (helm would follow it while rendering)."""
    resolved = local_path(value, info)
    reason = chart_tree_refusal(Path(resolved), _settings(info), _server_files(info))
    if reason:
        raise _refuse(f"chart directory {_shown(value)} {reason}")
    return resolved


# --- URLs --------------------------------------------------------------------------------------


def _addresses(host: str) -> list[egress_rules.Address]:
    try:  # blocking (bounded by the resolver's own timeout): the pipeline runs it in a worker thread
        return egress_rules.resolve(host)
    except egress_rules.Unresolvable:
        raise _refuse(f"the URL host {_shown(host)} cannot be resolved") from None


def _check_addresses(host: str, addresses: list[egress_rules.Address], settings: Settings) -> None:
    """The egress rule (kubehelm_mcp.egress.rules), which the egress proxy applies to helm's fetches too."""
    refused = egress_rules.refusal(host, addresses, settings.files.allowed_hosts)
    if refused is not None:
        raise _refuse(refused.sentence(f"the URL host {_shown(host)}"))


async def check_pending_host(pending: PendingHost, settings: Settings) -> None:
    """The SSRF check of a host name validation left pending, resolved in a worker thread."""
    addresses = await anyio.to_thread.run_sync(_addresses, pending.host)
    _check_addresses(pending.host, addresses, settings)


def check_url(
    value: str,
    settings: Settings,
    schemes: tuple[str, ...],
    pending: list[PendingHost] | None = None,
    where: str = "",
    files: ServerFiles | None = None,
) -> str:
    """A URL with an allowed scheme whose host resolves to public addresses only, unless
    --allowed-hosts names the host or one of its addresses (SSRF guard). With `pending`, a host
    name is added there for the caller to check instead of being resolved here."""
    _plain(value, "URL", MAX_URL)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise _refuse(f"{_shown(value)} is not a valid URL") from None
    if parts.scheme.lower() not in schemes:
        raise _refuse(f"the URL {_shown(value)} must use one of the schemes {', '.join(schemes)}")
    if parts.scheme.lower() == "file":
        check_path(unquote(parts.path), settings, files)
        return value
    if not host:
        raise _refuse(f"the URL {_shown(value)} has no host")
    if pending is not None and egress_rules.literal(host) is None and not egress_rules.is_localhost_name(host):
        pending.append(PendingHost(where, host))
        return value
    _check_addresses(host, _addresses(host), settings)
    return value


def _url(*schemes: str) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        return check_url(value, _settings(info), schemes, *_pending(info), _server_files(info))

    return AfterValidator(check)


def _url_or_local(value: str, info: ValidationInfo, schemes: tuple[str, ...]) -> str:
    """A value that is a URL when it has a scheme, else a local path (returned resolved)."""
    if _SCHEME.match(value):
        return check_url(value, _settings(info), schemes, *_pending(info), _server_files(info))
    return local_path(value, info)


def check_source(value: str, info: ValidationInfo, schemes: tuple[str, ...]) -> str:
    """A URL or local path helm will fetch from though no argument names it (a Chart.yaml dependency
    repository): held to the rules of a URL or path argument."""
    return _url_or_local(value, info, schemes)


def _url_or_path(*schemes: str) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        return _url_or_local(value, info, schemes)

    return AfterValidator(check)


def _chart_ref(value: str, info: ValidationInfo) -> str:
    """A chart: an oci/http(s) URL, a local path, or repo/name (a path only when it looks like one
    or exists, since helm looks for a local directory first)."""
    settings, files = _settings(info), _server_files(info)
    _cli_word(value)
    if _SCHEME.match(value):
        return check_url(value, settings, ("oci", "http", "https", "file"), *_pending(info), files)
    looks_local = value.startswith(("/", ".", "~")) or value.endswith((".tgz", ".tar.gz"))
    if looks_local or _resolve(value).exists():
        return chart_path(value, info)
    return value


def _key_path(value: str, info: ValidationInfo) -> str:
    """--set-file's key=path: the path part is checked like any path, and made absolute."""
    key, sep, path = value.partition("=")
    if not sep or not key:
        raise _refuse(f"set_file item {_shown(value)} must be key=path")
    return f"{key}={local_path(path, info)}"


def _plugin_source(value: str, info: ValidationInfo) -> str:
    """A plugin directory, archive or URL, which must also match --allowed-plugin-sources: installing
    a plugin runs its code (its install hook, then every command) as the server's user."""
    source = _url_or_local(value, info, ("http", "https", "file", "git", "ssh"))
    if not any(fnmatch.fnmatchcase(source, pattern) for pattern in _settings(info).helm.allowed_plugin_sources):
        raise _refuse(
            f"plugin source {_shown(source)} is not among the server's --allowed-plugin-sources "
            "(installing a plugin runs its code on the server)"
        )
    return source


def _starter(value: str, info: ValidationInfo) -> str:
    """helm create's starter: a name under helm's starters directory, or a path checked like any other."""
    _cli_word(value)
    return local_path(value, info) if "/" in value or value.startswith((".", "~")) else value


ContextName = Annotated[str, AfterValidator(lambda v: _plain(v, "context name", 253))]


def is_namespace_name(value: str) -> bool:
    """The NamespaceName rule as a test, for places that must not raise (telemetry labels)."""
    return len(value) <= 63 and _DNS_LABEL.match(value) is not None


NamespaceName = Annotated[str, _pattern(_DNS_LABEL, "namespace", 63, "lowercase letters, digits and '-', at most 63")]
ObjectName = Annotated[
    str, _pattern(_OBJECT_NAME, "object name", 253, "lowercase letters, digits, '-', '.' and ':', at most 253")
]
LabelName = Annotated[str, _pattern(_DNS_LABEL, "DNS-1123 label", 63, "lowercase letters, digits and '-', at most 63")]
ReleaseName = Annotated[
    str, _pattern(_DNS_SUBDOMAIN, "release name", 53, "lowercase letters, digits, '-' and '.', at most 53")
]
LabelSelector = Annotated[str, AfterValidator(_selector)]
FieldSelector = Annotated[str, AfterValidator(_field_selector)]
Duration = Annotated[str, AfterValidator(_duration)]
CliWord = Annotated[str, AfterValidator(_cli_word)]
LocalPath = Annotated[str, AfterValidator(_path)]
ChartPath = Annotated[str, AfterValidator(chart_path)]
KubeconfigPath = Annotated[str, AfterValidator(_kubeconfig_path)]
KeyPath = Annotated[str, AfterValidator(_key_path)]
ChartRef = Annotated[str, AfterValidator(_chart_ref)]
StarterRef = Annotated[str, AfterValidator(_starter)]
RepoUrl = Annotated[str, _url("http", "https")]
RegistryUrl = Annotated[str, _url("oci")]
ValuesFile = Annotated[str, _url_or_path("http", "https")]
PluginSource = Annotated[str, AfterValidator(_plugin_source)]


def _registry_host(value: str, info: ValidationInfo) -> str:
    """host[:port] of an OCI registry: guarded like the URL helm will reach."""
    _cli_word(value)
    if not re.match(r"^[^\s/]+$", value):
        raise _refuse(f"{_shown(value)} is not a registry host[:port]; leave out oci:// and any path")
    check_url(f"oci://{value}", _settings(info), ("oci",), *_pending(info))
    return value


RegistryHost = Annotated[str, AfterValidator(_registry_host)]


# Free text that still travels to helm as an argument (versions, --set items, descriptions, filters).
CliText = Annotated[str, AfterValidator(lambda v: _plain(v, "value", 4096))]
