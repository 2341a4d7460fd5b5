"""Helm's SortManifests (pkg/release/v1/util/manifest_sorter.go) in Python: which rendered documents
are hooks, the order `helm template` prints documents and hooks in, and the manifest text itself.

`sorted_manifest` builds what a client-only `helm install --dry-run` (`helm template`) prints from
one render of every template, where it can vouch for reading each document's head as Helm does;
where it cannot (a document it cannot parse, a head field that is not text) it answers None and
the caller lets Helm itself install-render, so Helm's own checks and error messages decide.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.helm.manifests import manifest_loader
from kubehelm_mcp.kube.manifests import YamlBomb

# Helm's InstallOrder (pkg/release/v1/util/kind_sorter.go): documents and hooks are stably sorted by
# it, unknown kinds last and among themselves by name.
INSTALL_ORDER = {
    kind: i
    for i, kind in enumerate(
        "PriorityClass Namespace NetworkPolicy ResourceQuota LimitRange PodSecurityPolicy PodDisruptionBudget "  # noqa: SIM905
        "ServiceAccount Secret SecretList ConfigMap StorageClass PersistentVolume PersistentVolumeClaim "
        "CustomResourceDefinition ClusterRole ClusterRoleList ClusterRoleBinding ClusterRoleBindingList Role "
        "RoleList RoleBinding RoleBindingList Service DaemonSet Pod ReplicationController ReplicaSet Deployment "
        "HorizontalPodAutoscaler StatefulSet Job CronJob IngressClass Ingress APIService "
        "MutatingWebhookConfiguration ValidatingWebhookConfiguration".split()
    )
}
HOOK_EVENTS = frozenset(
    "pre-install post-install pre-delete post-delete pre-upgrade post-upgrade pre-rollback post-rollback "  # noqa: SIM905
    "test test-success".split()
)
TEST_EVENTS = ("test", "test-success")
HOOK_KEY = "helm.sh/hook"
_SPLIT = re.compile(r"(?:^|\s*\n)---\s*")  # Helm's SplitManifests separator
_STR, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"

Entry = tuple[str, str, str]  # kind, template path, document


class _Unsure(Exception):
    """A document whose head this reader cannot vouch for reading as Helm does."""


def documents(content: str) -> list[str]:
    """Helm's SplitManifests: the trimmed non-empty documents of a rendered file, in order."""
    return [doc.strip() for doc in _SPLIT.split(content.strip()) if doc]


def _sorted_paths(rendered: dict[str, str]) -> list[str]:
    """The rendered templates Helm sorts, in path order: no partials, empty files or NOTES.txt
    (which Helm takes out before sorting)."""
    return [
        path
        for path in sorted(rendered)
        if not Path(path).name.startswith("_") and rendered[path].strip() and not path.endswith("NOTES.txt")
    ]


def _templates(rendered: dict[str, str]) -> list[tuple[str, str]]:
    """(path, document) of every rendered template Helm sorts, split as SplitManifests splits."""
    return [(path, doc) for path in _sorted_paths(rendered) for doc in documents(rendered[path])]


def plain_documents(content: str) -> list[str] | None:
    """A rendered file's documents with the text Helm 4 keeps of each (leading blank lines dropped,
    the last one's trailing ones kept), where the split is plain: separators are bare `---` lines
    between non-empty documents, and no other line starts with `---` or `...` (a block scalar
    holding one, a document marker with content). None otherwise: Helm's own split then decides."""
    text = content.lstrip()
    lines = text.split("\n")
    if text.startswith("---") or text.endswith("\n---"):
        return None
    if any(line.lstrip().startswith(("---", "...")) and line != "---" for line in lines):
        return None
    pieces = text.split("\n---\n")
    docs = [pieces[0], *(piece.lstrip() for piece in pieces[1:])]
    if any(not doc.strip() for doc in docs) or any(doc != doc.rstrip() for doc in docs[:-1]):
        return None
    return docs


def by_kind(entries: list[Entry]) -> list[Entry]:
    unknown = len(INSTALL_ORDER)
    return sorted(entries, key=lambda e: (INSTALL_ORDER.get(e[0], unknown), "" if e[0] in INSTALL_ORDER else e[0]))


def printed(entries: list[Entry]) -> str:
    return "".join(f"---\n# Source: {path}\n{doc}\n" for _, path, doc in by_kind(entries))


def _hook(path: str, doc: str) -> tuple[str, list[str]] | None:
    """(kind, events) when the document is a hook; None for a plain document."""
    if HOOK_KEY not in doc and "\\" not in doc:
        return None  # no annotation key, not even spelled with a YAML escape: no parse needed
    try:
        head = yaml.load(doc, Loader=manifest_loader(doc))  # noqa: S506  (safe loaders)
    except (yaml.YAMLError, YamlBomb, RecursionError):
        raise ToolError(f"helm template: YAML parse error on {path}.") from None
    meta = head.get("metadata") if isinstance(head, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or HOOK_KEY not in annotations:
        return None
    events = [e.strip().lower() for e in str(annotations[HOOK_KEY]).split(",")]
    return str(head.get("kind") or ""), events


def _kept_hook(events: list[str], skip_tests: bool) -> bool:
    """Helm drops a hook with an event it does not know; --skip-tests drops test hooks."""
    return all(e in HOOK_EVENTS for e in events) and not (skip_tests and any(e in TEST_EVENTS for e in events))


def hooks_text(rendered: dict[str, str], skip_tests: bool) -> str:
    """The hooks `helm template` prints after the manifest, from the SDK's render of every template."""
    hooks = []
    for path, doc in _templates(rendered):
        found = _hook(path, doc)
        if found is not None and _kept_hook(found[1], skip_tests):
            hooks.append((found[0], path, doc))
    return printed(hooks)


def _fields(node: Node) -> dict[str, Node]:
    """A mapping's keys (each plain text, once, no merge key) -> value nodes."""
    if not isinstance(node, MappingNode):
        raise _Unsure
    found: dict[str, Node] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode) or key.tag != _STR or key.value in found:
            raise _Unsure
        found[key.value] = value
    return found


def _text(node: Node | None) -> str:
    """A head field Helm reads as a string: text, or absent/null (empty)."""
    if node is None or (isinstance(node, ScalarNode) and node.tag == _NULL):
        return ""
    if isinstance(node, ScalarNode) and node.tag == _STR:
        return str(node.value)
    raise _Unsure


def _plain_kind(doc: str) -> str:
    """The kind of a document without the hook annotation, its head checked as Helm's SimpleHead
    decodes it (apiVersion, kind, metadata.name text; metadata and its annotations mappings). The
    node tree only (libyaml's composer): nothing of the document is built as objects."""
    try:
        root = yaml.compose(doc, Loader=manifest_loader(doc))
    except (yaml.YAMLError, YamlBomb, RecursionError):
        raise _Unsure from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
        return ""
    head = _fields(root)
    _text(head.get("apiVersion"))
    meta = head.get("metadata")
    if meta is not None and not (isinstance(meta, ScalarNode) and meta.tag == _NULL):
        meta_fields = _fields(meta)
        _text(meta_fields.get("name"))
        annotations = meta_fields.get("annotations")
        if annotations is not None and not (isinstance(annotations, ScalarNode) and annotations.tag == _NULL):
            _fields(annotations)
    return _text(head.get("kind"))


def _loaded_head(doc: str) -> tuple[str, list[str] | None]:
    """(kind, the hook's events, or None for a plain document) of a document that may be a hook,
    its head checked as _plain_kind checks it."""
    try:
        head: Any = yaml.load(doc, Loader=manifest_loader(doc))  # noqa: S506  (safe loaders)
    except (yaml.YAMLError, YamlBomb, RecursionError):
        raise _Unsure from None
    if head is None:
        return "", None
    meta = head.get("metadata") if isinstance(head, dict) else None
    meta = {} if meta is None else meta
    if not isinstance(head, dict) or not isinstance(meta, dict):
        raise _Unsure
    kind, annotations = head.get("kind"), meta.get("annotations")
    if any(v is not None and not isinstance(v, str) for v in (kind, head.get("apiVersion"), meta.get("name"))):
        raise _Unsure
    if annotations is not None and not isinstance(annotations, dict):
        raise _Unsure
    if not annotations or HOOK_KEY not in annotations:
        return kind or "", None
    if not isinstance(annotations[HOOK_KEY], str):
        raise _Unsure
    return kind or "", [e.strip().lower() for e in annotations[HOOK_KEY].split(",")]


def _plain_templates(rendered: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for path in _sorted_paths(rendered):
        docs = plain_documents(rendered[path])
        if docs is None:
            raise _Unsure
        found += [(path, doc) for doc in docs]
    return found


def sorted_manifest(rendered: dict[str, str], no_hooks: bool, skip_tests: bool) -> str | None:
    """What `helm template` prints for this render of every template (the manifest sorted by kind,
    then the hooks unless no_hooks), or None where Helm must decide (see the module's note)."""
    manifest: list[Entry] = []
    hooks: list[Entry] = []
    try:
        for path, doc in _plain_templates(rendered):
            if HOOK_KEY in doc or "\\" in doc:
                kind, events = _loaded_head(doc)
            else:
                kind, events = _plain_kind(doc), None
            if events is None:
                manifest.append((kind, path, doc))
            elif _kept_hook(events, skip_tests):
                hooks.append((kind, path, doc))
    except _Unsure:
        return None
    return cli_text(printed(manifest), "" if no_hooks else printed(hooks))


def cli_text(manifest: str, hooks: str) -> str:
    """What `helm template` prints: the manifest trimmed and one newline, then the hooks."""
    return manifest.strip() + "\n" + hooks
