"""Reading manifests the way kubectl does: YAML or JSON, many documents, `List` kinds flattened."""

from __future__ import annotations

from typing import Any

import yaml

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.discovery import ResourceType

# A YAML bomb (billion laughs) is a few lines of anchors that alias each other: PyYAML shares the
# nodes, but every later dump or request expands them. Documents using aliases are measured first.
MAX_ALIASES = 1000
MAX_EXPANDED_NODES = 100_000


class YamlBomb(yaml.YAMLError):
    """Aliases that would expand past the limits, or refer to themselves."""


class NotJson(YamlBomb):
    """A value JSON (and so Kubernetes and Helm) has no form for; refused like a bomb, by name."""


# Python refuses to parse longer integer literals (and Kubernetes numbers are 64-bit anyway).
MAX_INTEGER_DIGITS = 40
# Tags whose values have no JSON form: bytes, sets, ordered pairs.
NON_JSON_TAGS = ("binary", "set", "omap", "pairs")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def expanded_size(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """Nodes the document would have with every alias copied out; iterative, so deep nesting is safe."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > limit:
                raise YamlBomb(f"its aliases expand to more than {limit} nodes")
        elif key in active:
            raise YamlBomb("an alias refers to the node that contains it")
        elif key not in sizes:
            active.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    return sizes[id(root)]


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents whose aliases are too many or expand too far."""

    aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YamlBomb(f"it uses more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)

    def compose_document(self) -> yaml.Node | None:
        node: yaml.Node | None = super().compose_document()
        if self.aliases and node is not None:
            expanded_size(node)
        return node


def _refuse_tag(tag: str) -> Any:
    def refuse(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        raise NotJson(f"it uses the YAML tag !!{tag}, which has no JSON form")

    return refuse


def _bounded_int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    digits = sum(ch.isdigit() for ch in str(node.value))
    if digits > MAX_INTEGER_DIGITS:
        raise NotJson(f"it holds an integer of {digits} digits (at most {MAX_INTEGER_DIGITS})")
    return yaml.SafeLoader.construct_yaml_int(loader, node)  # type: ignore[arg-type]


def _finite_float(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)  # type: ignore[arg-type]
    if value != value or value in (float("inf"), float("-inf")):
        raise NotJson(f"it holds the number {node.value}, which has no JSON form")
    return value


for _tag in NON_JSON_TAGS:
    BoundedLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag(_tag))
BoundedLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
BoundedLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)


class _Loader(BoundedLoader):
    """YAML as Kubernetes reads it: an unquoted date stays a string (PyYAML would make it a
    datetime, which is not JSON), everything else as SafeLoader."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _refuse_tag("timestamp"))


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "it cannot be parsed"
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else str(problem)


def load_bounded(text: str, what: str) -> Any:
    """One YAML document the server did not write (kubeconfig, Chart.yaml, index.yaml, values)
    through BoundedLoader; `what` starts the one-sentence refusal ("Kubeconfig file /x")."""
    try:
        return yaml.load(text, Loader=BoundedLoader)  # noqa: S506  (a SafeLoader)
    except YamlBomb as exc:
        raise InvalidInput(f"{what} is refused because {exc}.") from None
    except RecursionError:
        raise InvalidInput(f"{what} is nested too deeply to be read.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidInput(f"{what} is not valid YAML{where}.") from None


def load_yaml(text: str, what: str) -> list[Any]:
    """Every document of a YAML (or JSON) text; empty documents are dropped."""
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except YamlBomb as exc:
        raise InvalidInput(f"The {what} is refused because {exc}.") from None
    except RecursionError:
        raise InvalidInput(f"The {what} is nested too deeply to be read.") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"The {what} is not valid YAML or JSON: {_yaml_problem(exc)}.") from None


def _flatten(doc: Any, number: int) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise InvalidInput(f"Document {number} of the manifest is not an object.")
    if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
        return [obj for item in doc["items"] for obj in _flatten(item, number)]
    return [doc]


def _check(obj: dict[str, Any], number: int) -> None:
    missing = [key for key in ("apiVersion", "kind") if not isinstance(obj.get(key), str) or not obj[key]]
    if missing:
        raise InvalidInput(f"Document {number} of the manifest has no {' or '.join(missing)}.")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        raise InvalidInput(f"Document {number} of the manifest ({obj['kind']}) has no metadata.name.")


def parse_manifest(text: str) -> list[dict[str, Any]]:
    """The objects of a manifest in document order; every one has apiVersion, kind and a name."""
    objects: list[dict[str, Any]] = []
    for number, doc in enumerate(load_yaml(text, "manifest"), start=1):
        for obj in _flatten(doc, number):
            _check(obj, number)
            objects.append(obj)
    if not objects:
        raise InvalidInput("The manifest holds no objects.")
    return objects


def place(obj: dict[str, Any], rt: ResourceType, asked: str | None, default: str) -> dict[str, Any]:
    """The object as it is sent: a namespaced kind in the manifest's namespace, else the asked
    one, else the default (a manifest naming another namespace than the asked one is refused);
    a cluster-scoped kind without one."""
    meta = {k: v for k, v in obj["metadata"].items() if k != "namespace"}
    if rt.namespaced:
        declared = obj["metadata"].get("namespace")
        if declared and asked and declared != asked:
            raise InvalidInput(
                f"{rt.kind} '{meta.get('name')}' names namespace '{declared}' "
                f"but the call asks for namespace '{asked}'."
            )
        meta["namespace"] = str(declared or asked or default)
    return {**obj, "metadata": meta}
