"""A kubeconfig the caller names (--per-call-kubeconfig), made safe to use.

It is read once, through the local-file checks, and refused when any user in it would run a
command on the server: an `exec` credential plugin, or an `auth-provider` (gcp's cmd-path, oidc's
refresh). The files it names (client certificate and key, token file, cluster CA) are read the same
way and inlined, and the result is written to a private file: kubernetes-asyncio and the helm
subprocess both read that copy, so nothing in the caller's file is ever executed, and a file
changed or re-linked after the check is never what they see.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.kubeconfig import private_kubeconfig_file
from kubehelm_mcp.kube.manifests import load_bounded
from kubehelm_mcp.localfiles import FileReader

PLUGIN_KEYS = ("exec", "auth-provider")
# A key naming a file -> the key that holds its content inline, and whether that content is base64.
_USER_FILES = {"client-certificate": "client-certificate-data", "client-key": "client-key-data", "tokenFile": "token"}
_CLUSTER_FILES = {"certificate-authority": "certificate-authority-data"}


def _inline(body: dict[str, Any], keys: dict[str, str], base: Path, source: str, read: FileReader) -> dict[str, Any]:
    inlined = dict(body)
    for key, data_key in keys.items():
        named = inlined.pop(key, None)
        if not isinstance(named, str) or not named or data_key in inlined:
            continue
        content = read(str(base / Path(named).expanduser()), f"File '{key}' of kubeconfig {source}")
        inlined[data_key] = (
            content.decode("utf-8", "replace").strip() if data_key == "token" else base64.b64encode(content).decode()
        )
    return inlined


def _entries(config: dict[str, Any], section: str, source: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    entries = config.get(section) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInput(f"Kubeconfig file {source} is malformed: '{section}' must be a list of entries.")
    inner = section.rstrip("s")
    return [(entry, entry.get(inner) if isinstance(entry.get(inner), dict) else {}) for entry in entries]


def caller_kubeconfig(path: str, read: FileReader) -> str:
    """The private copy of the caller's kubeconfig at `path` (validated, absolute) to connect with."""
    try:
        text = read(path, "Kubeconfig file").decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"Kubeconfig file {path} is not UTF-8 text.") from None
    config = load_bounded(text, f"Kubeconfig file {path}")
    if not isinstance(config, dict):
        raise InvalidInput(f"Kubeconfig file {path} is not a kubeconfig (expected a YAML mapping).")
    base = Path(path).parent  # relative file names are relative to the kubeconfig, as kubectl reads them
    users = []
    for entry, user in _entries(config, "users", path):
        plugin = next((key for key in PLUGIN_KEYS if user.get(key)), None)
        if plugin is not None:
            raise InvalidInput(
                f"Kubeconfig file {path} is refused: user '{entry.get('name')}' uses an {plugin} credential "
                "plugin, and a per-call kubeconfig may not run anything on the server."
            )
        users.append({**entry, "user": _inline(user, _USER_FILES, base, path, read)})
    clusters = [
        {**entry, "cluster": _inline(cluster, _CLUSTER_FILES, base, path, read)}
        for entry, cluster in _entries(config, "clusters", path)
    ]
    return private_kubeconfig_file({**config, "users": users, "clusters": clusters})
