"""Reusable input types for tool arguments: each refuses a bad value with one sentence before any
handler runs, so a name, selector, path or URL never reaches the cluster or the helm CLI malformed.

Path and URL checks read the server's settings (`allowed_paths`, `allowed_hosts`) from pydantic's
validation context (`{"settings": Settings}`, passed by the pipeline); without it the defaults apply.
A host name in a URL is resolved to check its addresses; when the context holds a PENDING_HOSTS list
the name is put there instead and the pipeline resolves it off the event loop (`check_pending_host`).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import anyio
from pydantic import AfterValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.args import duration_seconds
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
_METADATA_HOSTS = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})


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

_SENSITIVE_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-")
_SENSITIVE_TREES = ("/proc", "/sys", "/dev")
_SECRET_DIRS = (".ssh", ".aws")


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _resolve(value: str) -> Path:
    try:
        return Path(value).expanduser().resolve()
    except (OSError, ValueError, RuntimeError):  # unencodable text, a symlink loop, no home directory
        raise _refuse(f"path {_shown(value)} cannot be resolved") from None


def check_path(value: str, settings: Settings, *, kubeconfig: bool = False) -> str:
    """A local path that resolves (symlinks followed) outside the places no tool may read or write."""
    _plain(value, "path", MAX_PATH)
    if not value:
        raise _refuse("path is empty")
    if value.startswith("-"):
        raise _refuse(f"path {_shown(value)} starts with '-', which helm would read as a flag; prefix it with ./")
    resolved = _resolve(value)
    secret_dirs = _SECRET_DIRS if kubeconfig else (*_SECRET_DIRS, ".kube")
    if (
        str(resolved) in _SENSITIVE_FILES
        or any(_under(resolved, Path(tree)) for tree in _SENSITIVE_TREES)
        or any(part in secret_dirs for part in resolved.parts)
    ):
        raise _refuse(f"path {_shown(value)} leads to {resolved}, a place the server never reads or writes")
    roots = [Path(root).expanduser().resolve() for root in settings.allowed_paths]
    if roots and not any(_under(resolved, root) for root in roots):
        raise _refuse(f"path {_shown(value)} is outside the server's --allowed-paths")
    return value


def _path(value: str, info: ValidationInfo) -> str:
    return check_path(value, _settings(info))


def _kubeconfig_path(value: str, info: ValidationInfo) -> str:
    return check_path(value, _settings(info), kubeconfig=True)


# --- URLs --------------------------------------------------------------------------------------


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _host_allowed(host: str, addresses: list[Address], settings: Settings) -> bool:
    for pattern in settings.allowed_hosts:
        try:
            network = ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            if fnmatch.fnmatch(host.lower(), pattern.lower()):
                return True
            continue
        if any(address.version == network.version and address in network for address in addresses):
            return True
    return False


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _addresses(host: str) -> list[Address]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:  # blocking (bounded by the resolver's own timeout): the pipeline runs it in a worker thread
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise _refuse(f"the URL host {_shown(host)} cannot be resolved") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _internal(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA_HOSTS:
        return "a cloud metadata address"
    for attr, what in (
        ("is_loopback", "a loopback address"),
        ("is_unspecified", "an unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_private", "a private address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, attr):
            return what
    return None


def _check_addresses(host: str, addresses: list[Address], settings: Settings) -> None:
    if _host_allowed(host, addresses, settings):
        return
    for address in addresses:
        reason = _internal(address)
        if reason:
            raise _refuse(
                f"the URL host {_shown(host)} is {reason} ({address}), refused unless --allowed-hosts permits it"
            )


async def check_pending_host(pending: PendingHost, settings: Settings) -> None:
    """The SSRF check of a host name validation left pending, resolved in a worker thread."""
    addresses = await anyio.to_thread.run_sync(_addresses, pending.host)
    _check_addresses(pending.host, addresses, settings)


def check_url(
    value: str, settings: Settings, schemes: tuple[str, ...], pending: list[PendingHost] | None = None, where: str = ""
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
        check_path(unquote(parts.path), settings)
        return value
    if not host:
        raise _refuse(f"the URL {_shown(value)} has no host")
    if pending is not None and _literal(host) is None:
        pending.append(PendingHost(where, host))
        return value
    _check_addresses(host, _addresses(host), settings)
    return value


def _url(*schemes: str) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        return check_url(value, _settings(info), schemes, *_pending(info))

    return AfterValidator(check)


def _url_or_path(*schemes: str) -> Any:
    """A value that is a URL when it has a scheme, else a local path."""

    def check(value: str, info: ValidationInfo) -> str:
        settings = _settings(info)
        return (
            check_url(value, settings, schemes, *_pending(info))
            if _SCHEME.match(value)
            else check_path(value, settings)
        )

    return AfterValidator(check)


def _chart_ref(value: str, info: ValidationInfo) -> str:
    """A chart: an oci/http(s) URL, a local path, or repo/name (a path only when it looks like one
    or exists, since helm looks for a local directory first)."""
    settings = _settings(info)
    _cli_word(value)
    if _SCHEME.match(value):
        return check_url(value, settings, ("oci", "http", "https", "file"), *_pending(info))
    looks_local = value.startswith(("/", ".", "~")) or value.endswith((".tgz", ".tar.gz"))
    if looks_local or _resolve(value).exists():
        return check_path(value, settings)
    return value


def _key_path(value: str, info: ValidationInfo) -> str:
    """--set-file's key=path: the path part is checked like any path."""
    key, sep, path = value.partition("=")
    if not sep or not key:
        raise _refuse(f"set_file item {_shown(value)} must be key=path")
    check_path(path, _settings(info))
    return value


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
KubeconfigPath = Annotated[str, AfterValidator(_kubeconfig_path)]
KeyPath = Annotated[str, AfterValidator(_key_path)]
ChartRef = Annotated[str, AfterValidator(_chart_ref)]
RepoUrl = Annotated[str, _url("http", "https")]
RegistryUrl = Annotated[str, _url("oci")]
ValuesFile = Annotated[str, _url_or_path("http", "https")]
PluginSource = Annotated[str, _url_or_path("http", "https", "file", "git", "ssh")]


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
