"""The repositories a chart's Chart.yaml and Chart.lock name, checked like URL arguments before
helm fetches from them (dependency update and build, package --dependency-update).

The egress proxy checks these fetches too, but Go reaches `localhost` and loopback addresses
without any proxy, so a dependency there is refused here, at the argument, where every form is seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationInfo
from pydantic_core import PydanticCustomError

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.manifests import load_bounded
from kubehelm_mcp.validators import check_source

_FILES = ("Chart.yaml", "Chart.lock")
_SCHEMES = ("http", "https", "oci", "file")
MAX_FILE = 1024 * 1024


def _dependencies(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")[:MAX_FILE]
    except (OSError, UnicodeDecodeError):
        return []  # helm reports a missing or unreadable file in its own words
    try:
        doc = load_bounded(text, str(path))
    except InvalidInput as exc:
        raise PydanticCustomError("invalid_input", str(exc).rstrip(".")) from None
    found = doc.get("dependencies") if isinstance(doc, dict) else None
    return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []


def _source(repository: str, chart_dir: Path) -> str | None:
    """What helm fetches for a repository entry: a URL, a local directory, or None for a
    repository configured with helm_repo_add ('@name', 'alias:name') or the chart's own charts/."""
    if not repository or repository.startswith(("@", "alias:")):
        return None
    if repository.startswith("file://"):
        return str(chart_dir / repository.removeprefix("file://"))  # relative to the chart
    return repository


def check_dependency_sources(chart_dir: str, info: ValidationInfo) -> None:
    """Refuse a chart whose dependency repositories the egress rule or the path rules refuse."""
    root = Path(chart_dir).expanduser()
    for name in _FILES:
        for dependency in _dependencies(root / name):
            source = _source(str(dependency.get("repository") or ""), root)
            if source is None:
                continue
            try:
                check_source(source, info, _SCHEMES)
            except PydanticCustomError as exc:
                chart = str(dependency.get("name") or "?")[:80]
                message = f"the chart's {name} dependency {chart!r} is refused: {exc.message()}"
                raise PydanticCustomError("invalid_input", message) from None
