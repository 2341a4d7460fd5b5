"""API discovery: which kinds the cluster serves, resolved from what a user types.

The cache is refreshed on a miss, so a CRD installed after the server started is found on
first use; concurrent misses share one refresh.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from typing import Any

from kubehelm_mcp.concurrency import gather
from kubehelm_mcp.errors import NotFound, ToolError
from kubehelm_mcp.kube.api import KubeApi


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...]
    preferred: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_name(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def collection_path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, name: str, namespace: str | None) -> str:
        return f"{self.collection_path(namespace)}/{name}"

    @functools.cached_property  # asked for every type on every kind lookup
    def names(self) -> frozenset[str]:
        lowered = {self.kind.lower(), self.plural.lower(), self.singular.lower(), *self.short_names}
        return frozenset(lowered | {f"{n}.{self.group}" for n in lowered if self.group})


def _parse_resource_list(doc: dict[str, Any], group: str, version: str, preferred: bool) -> list[ResourceType]:
    types = []
    for res in doc.get("resources", []):
        if "/" in res.get("name", ""):
            continue  # subresources such as pods/log are not kinds
        types.append(
            ResourceType(
                group=group,
                version=version,
                kind=res["kind"],
                plural=res["name"],
                singular=res.get("singularName") or res["kind"].lower(),
                namespaced=bool(res.get("namespaced")),
                verbs=tuple(res.get("verbs", [])),
                short_names=tuple(s.lower() for s in res.get("shortNames", []) or []),
                preferred=preferred,
            )
        )
    return types


class Discovery:
    """A per-cluster cache of served resource types."""

    def __init__(self, api: KubeApi) -> None:
        self._api = api
        self._types: list[ResourceType] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._index: tuple[list[ResourceType], dict[str, list[ResourceType]]] | None = None

    async def _fetch_group_version(self, path: str, group: str, version: str, preferred: bool) -> list[ResourceType]:
        try:
            doc = await self._api.request("GET", path, what=f"API group version {path}")
        except ToolError:
            return []  # an unavailable aggregated API must not hide every other kind
        return _parse_resource_list(doc, group, version, preferred)

    async def _fetch(self) -> list[ResourceType]:
        core, groups = await gather(
            self._api.request("GET", "/api/v1", what="The core API"),
            self._api.request("GET", "/apis", what="The API group list"),
        )
        jobs = []
        for grp in groups.get("groups", []):
            preferred = grp.get("preferredVersion", {}).get("version")
            for ver in grp.get("versions", []):
                path = f"/apis/{ver['groupVersion']}"
                jobs.append(self._fetch_group_version(path, grp["name"], ver["version"], ver["version"] == preferred))
        fetched = await gather(*jobs)
        types = _parse_resource_list(core, "", "v1", True)
        for chunk in fetched:
            types.extend(chunk)
        return types

    async def all(self, *, refresh: bool = False) -> list[ResourceType]:
        if self._types is not None and not refresh:
            return self._types  # the lock only keeps fetches from overlapping
        asked_at = time.monotonic()
        async with self._lock:
            # A refresh that started after this request was made is as fresh as a new one.
            if self._types is None or (refresh and self._fetched_at < asked_at):
                started = time.monotonic()
                self._types = await self._fetch()
                self._fetched_at = started
            return self._types

    async def resolve(self, kind: str, api_version: str | None = None) -> ResourceType:
        """Find a kind by Kind, plural, singular or short name, optionally group-qualified."""
        found = self._match(await self.all(), kind, api_version)
        if found is None:
            found = self._match(await self.all(refresh=True), kind, api_version)
        if found is None:
            where = f" in {api_version}" if api_version else ""
            raise NotFound(
                f"The cluster serves no kind '{kind}'{where}.",
                hint="k8s_get_api_resources lists the kinds it serves.",
            )
        return found

    def _match(self, types: list[ResourceType], kind: str, api_version: str | None) -> ResourceType | None:
        """_match with the name index of this list of types (built once per fetch, not per call)."""
        if self._index is None or self._index[0] is not types:
            self._index = (types, name_index(types))
        return _match(types, kind, api_version, self._index[1])


def name_index(types: list[ResourceType]) -> dict[str, list[ResourceType]]:
    """Each name a kind is asked by (ResourceType.names) -> the types answering to it, in order."""
    index: dict[str, list[ResourceType]] = {}
    for found in types:
        for name in found.names:
            index.setdefault(name, []).append(found)
    return index


def _match(
    types: list[ResourceType], kind: str, api_version: str | None, index: dict[str, list[ResourceType]] | None = None
) -> ResourceType | None:
    wanted = kind.strip().lower()
    candidates = (name_index(types) if index is None else index).get(wanted, [])
    if api_version:
        candidates = [t for t in candidates if t.api_version == api_version or t.group == api_version]
    else:
        candidates = [t for t in candidates if t.preferred] or candidates
    if not candidates:
        return None
    # Like kubectl: an exact Kind match first, then the core group, then the server's group order.
    exact = [t for t in candidates if t.kind.lower() == wanted or t.plural == wanted]
    ordered = exact or candidates
    core = [t for t in ordered if t.group == ""]
    return (core or ordered)[0]
