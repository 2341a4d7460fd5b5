"""Helm's rendered manifests (`# Source:` comments between `---` separators) as parsed documents,
so results carry objects the pipeline can sanitise and page."""

from __future__ import annotations

import re
from typing import Any

import yaml

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.kube.manifests import BoundedLoader, YamlBomb
from kubehelm_mcp.yamltext import dump_yaml

_SEPARATOR = re.compile(r"^---\s*$", re.M)
_SOURCE = re.compile(r"^# Source: (.+)$", re.M)


class _AnchorlessLoader(getattr(yaml, "CSafeLoader", BoundedLoader)):  # type: ignore[misc]
    """libyaml's C parser with BoundedLoader's constructors, for a document that holds no anchor:
    without one there is no alias to expand, and libyaml itself refuses nesting deeper than 1000.
    Parsing is most of a render's cost; the pure-Python parser takes ~10x longer."""


_AnchorlessLoader.yaml_constructors = dict(BoundedLoader.yaml_constructors)


def manifest_loader(chunk: str) -> type[yaml.SafeLoader]:
    """BoundedLoader (which counts aliases) where an anchor may be, the C parser elsewhere."""
    return BoundedLoader if "&" in chunk else _AnchorlessLoader


def split_manifest(text: str) -> list[dict[str, Any]]:
    """One {'source', 'object'} item per non-empty document, in helm's order."""
    docs: list[dict[str, Any]] = []
    for chunk in _SEPARATOR.split(text):
        source = _SOURCE.search(chunk)
        where = source.group(1) if source else "unknown source"
        try:  # a chart's templates can render anchors and aliases too
            parsed = list(yaml.load_all(chunk, Loader=manifest_loader(chunk)))
        except YamlBomb as exc:
            raise ToolError(f"helm rendered a document that is refused because {exc} ({where}).") from None
        except (yaml.YAMLError, RecursionError):
            raise ToolError(f"helm rendered a document that is not valid YAML ({where}).") from None
        for obj in parsed:
            if obj is not None:
                docs.append({"source": source.group(1).strip() if source else None, "object": obj})
    return docs


def hooks_text(hooks: list[dict[str, Any]]) -> str:
    """Hooks as `helm get hooks` prints them, from the hooks of a stored release record."""
    return "".join(f"---\n# Source: {h.get('path', '')}\n{h.get('manifest', '')}\n" for h in hooks)


def render_documents(docs: list[dict[str, Any]]) -> str:
    """The documents back as helm-style YAML, for the text form of a result."""
    parts = []
    for doc in docs:
        source = f"# Source: {doc['source']}\n" if doc.get("source") else ""
        body = dump_yaml(doc.get("object")) + "\n"
        parts.append(f"---\n{source}{body}")
    return "".join(parts).rstrip()
