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


_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _MAP, _SEQ = (_TAG + name for name in ("str", "null", "bool", "map", "seq"))
_PLAIN_KEYS = frozenset({_STR, _NULL, _BOOL, _TAG + "int", _TAG + "float"})


class _Slow(Exception):
    """A node tree _built leaves to the loader's own construction."""


def _built(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """What the loader would construct from an anchorless node tree, without its generic machinery
    (per node: a constructor lookup, a generator, a state check; most of a parse's time): text,
    nulls, booleans, mappings and sequences here, every other tag by the loader itself."""
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP:
        out = {}
        for key, value in node.value:
            if key.tag not in _PLAIN_KEYS:
                raise _Slow  # a merge or `=` key, which the loader rewrites, or one it may refuse
            out[_built(key, loader)] = _built(value, loader)
        return out
    if tag == _SEQ:
        return [_built(item, loader) for item in node.value]
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return loader.bool_values[node.value.lower()]
    return loader.construct_object(node, deep=True)


def load_documents(chunk: str) -> list[Any]:
    """yaml.load_all(chunk) with manifest_loader's loader; where that is the C parser, the objects
    are built by _built from libyaml's node trees (about twice as fast, the same objects)."""
    loader_type = manifest_loader(chunk)
    if loader_type is not _AnchorlessLoader:
        return list(yaml.load_all(chunk, Loader=loader_type))
    nodes = []
    loader = loader_type(chunk)
    try:
        while loader.check_node():
            nodes.append(loader.get_node())
        try:
            return [None if node is None else _built(node, loader) for node in nodes]
        except (_Slow, RecursionError):
            return [None if node is None else loader.construct_document(node) for node in nodes]
    finally:
        loader.dispose()


class RenderedObject(dict):  # type: ignore[type-arg]
    """A parsed document that keeps the text helm rendered it from, to be shown as it is.

    The pipeline's sanitising returns an object it leaves unchanged as that very object and builds a
    plain dict for one it changes (a Secret redacted, managedFields stripped); so an object that is
    still a RenderedObject when the answer is written holds nothing its text would give away."""

    __slots__ = ("text",)

    def __init__(self, value: dict[str, Any], text: str) -> None:
        super().__init__(value)
        self.text = text


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def _own_text(chunk: str, source: re.Match[str] | None) -> str | None:
    """A document's text without helm's `# Source:` line, or None when that line is not its first
    (the line would then be shown twice)."""
    body = _LEADING_BLANK_LINES.sub("", chunk)
    if source is not None:
        if not body.startswith(source.group(0)):
            return None
        body = _LEADING_BLANK_LINES.sub("", body[len(source.group(0)) :].removeprefix("\n"))
    return body.rstrip()


def split_manifest(text: str, *, verbatim: bool = False) -> list[dict[str, Any]]:
    """One {'source', 'object'} item per non-empty document, in helm's order. With verbatim, each
    object that is the one document of its chunk is a RenderedObject holding its own text."""
    docs: list[dict[str, Any]] = []
    for chunk in _SEPARATOR.split(text):
        source = _SOURCE.search(chunk)
        where = source.group(1) if source else "unknown source"
        try:  # a chart's templates can render anchors and aliases too
            parsed = [obj for obj in load_documents(chunk) if obj is not None]
        except YamlBomb as exc:
            raise ToolError(f"helm rendered a document that is refused because {exc} ({where}).") from None
        except (yaml.YAMLError, RecursionError):
            raise ToolError(f"helm rendered a document that is not valid YAML ({where}).") from None
        own = _own_text(chunk, source) if verbatim and len(parsed) == 1 and isinstance(parsed[0], dict) else None
        for obj in parsed:
            shown = RenderedObject(obj, own) if own else obj
            docs.append({"source": source.group(1).strip() if source else None, "object": shown})
    return docs


def hooks_text(hooks: list[dict[str, Any]]) -> str:
    """Hooks as `helm get hooks` prints them, from the hooks of a stored release record."""
    return "".join(f"---\n# Source: {h.get('path', '')}\n{h.get('manifest', '')}\n" for h in hooks)


def render_documents(docs: list[dict[str, Any]]) -> str:
    """The documents back as helm-style YAML, for the text form of a result."""
    parts = []
    for doc in docs:
        source = f"# Source: {doc['source']}\n" if doc.get("source") else ""
        obj = doc.get("object")
        body = (obj.text if isinstance(obj, RenderedObject) else dump_yaml(obj)) + "\n"
        parts.append(f"---\n{source}{body}")
    return "".join(parts).rstrip()
