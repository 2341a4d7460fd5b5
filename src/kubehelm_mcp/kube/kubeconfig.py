"""Reading kubeconfig files for their contexts, without ever exposing credentials."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubehelm_mcp.errors import InvalidInput, NotFound
from kubehelm_mcp.kube.manifests import load_bounded

DEFAULT_KUBECONFIG = "~/.kube/config"

_written: dict[str, str] = {}  # content digest -> private file written for it
_directory: str | None = None


@dataclass(frozen=True)
class ContextInfo:
    name: str
    cluster: str
    user: str
    namespace: str | None
    server: str | None


@dataclass(frozen=True)
class KubeconfigView:
    """The non-secret parts of one or more merged kubeconfig files."""

    paths: tuple[str, ...]
    contexts: tuple[ContextInfo, ...]
    current_context: str | None

    def context(self, name: str | None) -> ContextInfo:
        wanted = name or self.current_context
        if not wanted:
            raise InvalidInput(
                "The kubeconfig sets no current-context; pass 'context' with one of: "
                f"{', '.join(c.name for c in self.contexts) or '(none defined)'}."
            )
        for ctx in self.contexts:
            if ctx.name == wanted:
                return ctx
        raise NotFound(
            f"Context '{wanted}' is not in the kubeconfig; known contexts: "
            f"{', '.join(c.name for c in self.contexts) or '(none)'}."
        )


def kubeconfig_paths(explicit: str | None) -> tuple[str, ...]:
    """The files to read, in kubectl's order: an explicit path, else $KUBECONFIG, else ~/.kube/config."""
    raw = explicit or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    return tuple(str(Path(p).expanduser()) for p in raw.split(os.pathsep) if p)


def load_kubeconfig_file(path: str) -> dict[str, Any]:
    """One kubeconfig file as a mapping, parsed by the bounded loader (a billion-laughs file is refused)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            f"Kubeconfig file {path} does not exist.",
            hint="Pass --kubeconfig, set KUBECONFIG, or run the server with --in-cluster.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Kubeconfig file {path} cannot be read: {exc.__class__.__name__}.") from None
    data = load_bounded(text, f"Kubeconfig file {path}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"Kubeconfig file {path} is not a kubeconfig (expected a YAML mapping).")
    return data


def _named(entries: Any, path: str, section: str) -> dict[str, dict[str, Any]]:
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise InvalidInput(f"Kubeconfig file {path} is malformed: '{section}' must be a list.")
    named: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InvalidInput(f"Kubeconfig file {path} is malformed: every '{section}' entry needs a name.")
        body = entry.get(section.rstrip("s"), {})
        named[entry["name"]] = body if isinstance(body, dict) else {}
    return named


def read_kubeconfig(paths: tuple[str, ...]) -> KubeconfigView:
    """Merge the files like kubectl does: the first file to define a name wins."""
    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    current: str | None = None
    for path in paths:
        data = load_kubeconfig_file(path)
        for name, body in _named(data.get("contexts"), path, "contexts").items():
            contexts.setdefault(name, body)
        for name, body in _named(data.get("clusters"), path, "clusters").items():
            clusters.setdefault(name, body)
        if current is None and isinstance(data.get("current-context"), str) and data["current-context"]:
            current = data["current-context"]
    infos = tuple(
        ContextInfo(
            name=name,
            cluster=str(body.get("cluster", "")),
            user=str(body.get("user", "")),
            namespace=body.get("namespace") or None,
            server=clusters.get(str(body.get("cluster", "")), {}).get("server"),
        )
        for name, body in contexts.items()
    )
    return KubeconfigView(paths=paths, contexts=infos, current_context=current)


def private_directory() -> Path | None:
    """Where the server's own kubeconfig copies are (made on first use): no tool reads or writes there."""
    return Path(_directory).resolve() if _directory is not None else None


def private_kubeconfig_file(config: dict[str, Any]) -> str:
    """A kubeconfig the server built, as a 0600 file in a 0700 directory removed at exit; one file per
    content, so the same config always has the same path (the client pool keys by it)."""
    global _directory
    text = json.dumps(config, sort_keys=True)  # JSON is YAML: any kubeconfig reader takes it
    digest = hashlib.sha256(text.encode()).hexdigest()
    path = _written.get(digest)
    if path is None or not os.path.exists(path):
        if _directory is None or not os.path.isdir(_directory):
            _directory = tempfile.mkdtemp(prefix="kubehelm-mcp-kubeconfig-")  # 0700
            atexit.register(shutil.rmtree, _directory, ignore_errors=True)
        path = os.path.join(_directory, f"{digest[:32]}.json")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
            sink.write(text)
        _written[digest] = path
    return path
