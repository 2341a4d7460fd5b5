"""Chart values: turning value sources into helm arguments and merging them as Helm does (results'
values are redacted by the pipeline's shaping step: pipeline/helm_values.py)."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.manifests import load_bounded
from kubehelm_mcp.localfiles import FileReader

_URL = re.compile(r"^[a-z]+://")


@dataclass(frozen=True)
class ValueSources:
    """Where values come from, in Helm's precedence order: files, then the inline object, then --set*."""

    values: dict[str, Any] | None = None
    values_files: list[str] = field(default_factory=list)
    set: list[str] = field(default_factory=list)
    set_string: list[str] = field(default_factory=list)
    set_file: list[str] = field(default_factory=list)


def checked_values_file(path: str, read: FileReader) -> bytes:
    content = read(path, "values file")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"values file '{path}' cannot be read as text.") from None
    parsed = load_bounded(text, f"values file '{path}'")
    if parsed is not None and not isinstance(parsed, dict):
        raise InvalidInput(f"values file '{path}' must hold a YAML mapping, not a {type(parsed).__name__}.")
    return content


@contextlib.contextmanager
def values_args(sources: ValueSources, read: FileReader) -> Iterator[list[str]]:
    """helm arguments for the sources. Every local file (values files, set_file files) is read here
    once by `read` (which checks and size-caps it on the descriptor it reads) and handed to helm as a
    private copy, like the inline object: helm gets exactly the bytes that were checked, never a path
    re-linked meanwhile, and nothing travels on the command line where other users could read it."""
    directory = tempfile.mkdtemp(prefix="kubehelm-values-")  # 0700, removed afterwards
    copies = itertools.count()

    def private(content: bytes) -> str:
        path = os.path.join(directory, f"{next(copies)}.yaml")
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(content)
        return path

    try:
        args: list[str] = []
        for path in sources.values_files:
            args += ["--values", path if _URL.match(path) else private(checked_values_file(path, read))]
        if sources.values:
            args += ["--values", private(yaml.safe_dump(sources.values, sort_keys=False).encode())]
        for flag, items in (("--set", sources.set), ("--set-string", sources.set_string)):
            args += [arg for item in items for arg in (flag, item)]
        for item in sources.set_file:
            key, _, path = item.partition("=")
            args += ["--set-file", f"{key}={private(read(path, 'set_file file'))}"]
        yield args
    finally:
        shutil.rmtree(directory, ignore_errors=True)


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
