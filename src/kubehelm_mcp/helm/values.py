"""Chart values: turning value sources into helm arguments, merging them as Helm does, and
redacting the ones that look like credentials (one function, used by every read engine)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.manifests import load_bounded

REDACTED = "[REDACTED]"
# password, passwd, token, secret, credential(s) anywhere; "key" as a word or a suffix (tls_key, apiKey)
_CREDENTIAL_WORD = re.compile(r"(?i)passw(or)?d|token|secret|credential|(^|[_.-])key$")
_CAMEL_KEY = re.compile(r"[a-z0-9]Key$")


@dataclass(frozen=True)
class ValueSources:
    """Where values come from, in Helm's precedence order: files, then the inline object, then --set*."""

    values: dict[str, Any] | None = None
    values_files: list[str] = field(default_factory=list)
    set: list[str] = field(default_factory=list)
    set_string: list[str] = field(default_factory=list)
    set_file: list[str] = field(default_factory=list)


def _check_values_file(path: str) -> None:
    if re.match(r"^[a-z]+://", path):
        return  # a URL: helm fetches and checks it
    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidInput(f"values file '{path}' does not exist.")
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(f"values file '{path}' cannot be read as text.") from None
    content = load_bounded(text, f"values file '{path}'")
    if content is not None and not isinstance(content, dict):
        raise InvalidInput(f"values file '{path}' must hold a YAML mapping, not a {type(content).__name__}.")


@contextlib.contextmanager
def values_args(sources: ValueSources) -> Iterator[list[str]]:
    """helm arguments for the sources; the inline object travels in a 0600 temp file removed afterwards
    (not on the command line, where other users could read it)."""
    for path in sources.values_files:
        _check_values_file(path)
    args = [arg for path in sources.values_files for arg in ("--values", path)]
    temp: str | None = None
    try:
        if sources.values:
            fd, temp = tempfile.mkstemp(prefix="kubehelm-values-", suffix=".yaml")  # mode 0600
            with os.fdopen(fd, "w") as out:
                yaml.safe_dump(sources.values, out, sort_keys=False)
            args += ["--values", temp]
        for flag, items in (("--set", sources.set), ("--set-string", sources.set_string)):
            args += [arg for item in items for arg in (flag, item)]
        args += [arg for item in sources.set_file for arg in ("--set-file", item)]
        yield args
    finally:
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)


def looks_like_credential(key: str) -> bool:
    return bool(_CREDENTIAL_WORD.search(key) or _CAMEL_KEY.search(key))


def redact_values(values: Any, *, reveal: bool = False, _inside: bool = False) -> Any:
    """Values with every leaf under a credential-looking key replaced by [REDACTED]."""
    if reveal:
        return values
    if isinstance(values, dict):
        return {k: redact_values(v, _inside=_inside or looks_like_credential(str(k))) for k, v in values.items()}
    if isinstance(values, list):
        return [redact_values(v, _inside=_inside) for v in values]
    return REDACTED if _inside and values is not None else values


def coalesce_values(defaults: dict[str, Any] | None, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The computed values (`helm get values --all`): user values deep-merged over the chart's,
    where a null removes the key."""
    merged: dict[str, Any] = dict(defaults or {})
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce_values(merged[key], value)
        else:
            merged[key] = value
    return merged
