"""Reading objects of any kind: single gets and paged lists, as objects or as kubectl-style rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.kube.api import TABLE_ACCEPT, KubeApi
from kubehelm_mcp.kube.discovery import ResourceType

DEFAULT_PAGE_SIZE = 500


@dataclass
class Page:
    """One page of a list; `next_token` is the apiserver's continue token, if more remain."""

    items: list[dict[str, Any]]
    columns: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)  # list_rows: the object behind each row
    next_token: str | None = None
    remaining: int | None = None


@dataclass(frozen=True)
class ListQuery:
    namespace: str | None  # None means all namespaces
    label_selector: str | None = None
    field_selector: str | None = None
    limit: int = DEFAULT_PAGE_SIZE
    continue_token: str | None = None

    def params(self) -> list[tuple[str, Any]]:
        params: list[tuple[str, Any]] = [("limit", self.limit)]
        if self.label_selector:
            params.append(("labelSelector", self.label_selector))
        if self.field_selector:
            params.append(("fieldSelector", self.field_selector))
        if self.continue_token:
            params.append(("continue", self.continue_token))
        return params


def describe_target(rt: ResourceType, name: str | None, namespace: str | None) -> str:
    where = f" in namespace '{namespace}'" if rt.namespaced and namespace else ""
    return f"{rt.kind} '{name}'{where}" if name else f"{rt.kind} list{where}"


def require_verb(rt: ResourceType, verb: str) -> None:
    if rt.verbs and verb not in rt.verbs:
        raise InvalidInput(f"{rt.kind} ({rt.api_version}) does not support '{verb}'.")


async def get_object(
    api: KubeApi, rt: ResourceType, name: str, namespace: str | None, *, may_watch: bool = False
) -> dict[str, Any]:
    """`may_watch`: for read-only calls, which a watch kept on an object read again may answer."""
    require_verb(rt, "get")
    path = rt.object_path(name, namespace if rt.namespaced else None)
    watchable = may_watch and (not rt.verbs or "watch" in rt.verbs)
    return await api.get(path, describe_target(rt, name, namespace), may_watch=watchable)


async def list_objects(api: KubeApi, rt: ResourceType, query: ListQuery) -> Page:
    require_verb(rt, "list")
    path = rt.collection_path(query.namespace if rt.namespaced else None)
    doc = await api.request("GET", path, query=query.params(), what=describe_target(rt, None, query.namespace))
    items = doc.get("items") or []
    for item in items:  # list items omit these; restore them so each item stands alone
        item.setdefault("apiVersion", rt.api_version)
        item.setdefault("kind", rt.kind)
    meta = doc.get("metadata") or {}
    return Page(items=items, next_token=meta.get("continue") or None, remaining=meta.get("remainingItemCount"))


async def list_rows(api: KubeApi, rt: ResourceType, query: ListQuery, *, full_objects: bool = False) -> Page:
    """The server-side Table view: the same columns kubectl shows, CRD printer columns included;
    `full_objects` puts each whole object (not only its metadata) in `Page.objects`. Without it, the
    rows carry each object's metadata only where a row needs its namespace (all namespaces), else
    nothing: metadata with its managedFields is most of a Table's bytes, and of decoding it."""
    require_verb(rt, "list")
    path = rt.collection_path(query.namespace if rt.namespaced else None)
    with_namespace = query.namespace is None and rt.namespaced
    include = "Object" if full_objects else "Metadata" if with_namespace else "None"
    doc = await api.request(
        "GET",
        path,
        query=[*query.params(), ("includeObject", include)],
        headers={"Accept": TABLE_ACCEPT},
        what=describe_target(rt, None, query.namespace),
    )
    meta = doc.get("metadata") or {}
    if doc.get("kind") != "Table":  # an aggregated API without Table support: build rows ourselves
        page = Page(items=doc.get("items") or [], next_token=meta.get("continue") or None)
        page.columns, page.objects = ["name", "age"], page.items
        page.items = [_fallback_row(item, rt, query.namespace is None) for item in page.items]
        return page
    return table_page(doc, rt, with_namespace=with_namespace)


def table_page(doc: dict[str, Any], rt: ResourceType, *, with_namespace: bool) -> Page:
    definitions = [c for c in doc.get("columnDefinitions") or [] if c.get("priority", 0) == 0]
    keys = [_column_key(c["name"]) for c in definitions]
    formats = [c.get("format") or c.get("type") for c in definitions]
    rows = []
    now = dt.datetime.now(dt.UTC)
    for row in doc.get("rows") or []:
        cells = row.get("cells", [])
        out: dict[str, Any] = {}
        if with_namespace:
            out["namespace"] = ((row.get("object") or {}).get("metadata") or {}).get("namespace", "")
        for key, fmt, value in zip(keys, formats, cells, strict=False):
            out[key] = age(value, now) if fmt == "date" and isinstance(value, str) else value
        rows.append(out)
    columns = (["namespace"] if with_namespace else []) + keys
    meta = doc.get("metadata") or {}
    return Page(
        items=rows,
        columns=columns,
        objects=[row.get("object") or {} for row in doc.get("rows") or []],
        next_token=meta.get("continue") or None,
        remaining=meta.get("remainingItemCount"),
    )


def _fallback_row(item: dict[str, Any], rt: ResourceType, with_namespace: bool) -> dict[str, Any]:
    meta = item.get("metadata") or {}
    row = {"name": meta.get("name", ""), "age": age(meta.get("creationTimestamp", ""), dt.datetime.now(dt.UTC))}
    if with_namespace and rt.namespaced:
        row = {"namespace": meta.get("namespace", ""), **row}
    return row


def _column_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def age(timestamp: str, now: dt.datetime) -> str:
    """kubectl's short age format: 45s, 12m, 5h, 3d."""
    try:
        then = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
