"""Objects read again soon are answered from a watch on them, not from a new GET each time.

An assistant re-reads what it is working on (a Deployment while it rolls out, a pod it is fixing).
The second read of an object within IDLE_SECONDS opens a watch on that one object, starting at the
resourceVersion that read returned; later reads are answered from the last version the watch
delivered: no apiserver round trip, and no load on the apiserver. This is how client-go's informers
read, kept to single objects that are asked for again.

What keeps it correct:
- The watch starts at the version the GET returned, so no change between the two is missed.
- A deleted object, an ERROR event, a watch that ends (the apiserver closes it after IDLE_SECONDS)
  or fails drops the entry: the next read is a GET again (and may open a new watch).
- `invalidate()` (called before and after every call that may change something, pipeline-wide)
  drops every entry, so a read after a change made through this server is a GET. A read that began
  before the change cannot keep what it saw (the generation moved on).
- Secrets are never kept, nor objects whose kind cannot be watched. Entries are per client
  (cluster and identity), so RBAC is the caller's.
- A change made elsewhere (kubectl, a controller) is seen as soon as the apiserver delivers its
  watch event, typically milliseconds after the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubehelm_mcp.errors import ToolError
from kubehelm_mcp.expiring import ExpiringLru
from kubehelm_mcp.kube.api import is_secret_path

if TYPE_CHECKING:
    from kubehelm_mcp.kube.api import KubeApi

log = logging.getLogger("kubehelm_mcp.kube.watched")

IDLE_SECONDS = 60  # a read this soon after another opens a watch; the apiserver ends it this much later
CONNECT_SECONDS = 10.0
REFUSED_SECONDS = 600.0  # an object whose watch was refused (RBAC: get without watch) is not tried again so soon


@dataclass
class _Entry:
    text: str  # the object's JSON as last delivered: parsed anew per read, so no caller changes it
    task: asyncio.Task[None] | None = field(default=None, repr=False)


Lookup = Callable[[str], None]  # told "hit" or "miss" per read that could have been answered


class WatchedReads:
    """At most `capacity` objects watched at once, across every client; the least recently read
    goes first. `capacity` 0 turns it off: every read is a GET."""

    def __init__(self, capacity: int, on_lookup: Lookup | None = None, clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.generation = 0
        self._on_lookup = on_lookup or (lambda _result: None)
        self._live: OrderedDict[tuple[int, str], _Entry] = OrderedDict()
        self._recent: ExpiringLru[bool] = ExpiringLru(max(capacity, 1) * 8, clock)
        self._refused: ExpiringLru[bool] = ExpiringLru(max(capacity, 1) * 8, clock)

    def __len__(self) -> int:
        return len(self._live)

    async def get(self, api: KubeApi, path: str, what: str) -> dict[str, Any]:
        """The object at `path` (a single object's URL), from its watch when one is open."""
        if self.capacity <= 0 or is_secret_path(path):
            obj: dict[str, Any] = await api.request("GET", path, what=what)
            return obj
        key = (id(api), path)
        entry = self._live.get(key)
        if entry is not None:
            self._live.move_to_end(key)
            self._on_lookup("hit")
            parsed: dict[str, Any] = json.loads(entry.text)
            return parsed
        self._on_lookup("miss")
        generation = self.generation
        obj = await api.request("GET", path, what=what)
        if generation == self.generation:
            self._remember(api, key, obj)
        return obj

    def invalidate(self) -> None:
        """Something may have changed through this server: every read after this asks the apiserver."""
        self.generation += 1
        for key in list(self._live):
            self._drop(key)

    async def forget(self, api: KubeApi) -> None:
        """The client is closing: its watches end with it, before its connections do."""
        keys = [k for k in self._live if k[0] == id(api)]
        tasks = [self._live[k].task for k in keys]
        for key in keys:
            self._drop(key)
        for task in tasks:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _remember(self, api: KubeApi, key: tuple[int, str], obj: dict[str, Any]) -> None:
        """A first read is noted; a second one opens the watch."""
        token = f"{key[0]}:{key[1]}"
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if not version or key in self._live or self._refused.get(token):
            return
        if not self._recent.get(token):
            self._recent.put(token, True, self._recent.clock() + IDLE_SECONDS)
            return
        while len(self._live) >= self.capacity:
            self._drop(next(iter(self._live)))
        entry = _Entry(json.dumps(obj, separators=(",", ":")))
        self._live[key] = entry
        entry.task = asyncio.get_running_loop().create_task(self._follow(api, key, token, str(version), entry))

    def _drop(self, key: tuple[int, str], entry: _Entry | None = None) -> None:
        """Remove the entry (only `entry`, when given: a newer one may have taken its place)."""
        current = self._live.get(key)
        if current is None or (entry is not None and current is not entry):
            return
        del self._live[key]
        if current.task is not None and current.task is not asyncio.current_task():
            current.task.cancel()

    async def _follow(self, api: KubeApi, key: tuple[int, str], token: str, version: str, entry: _Entry) -> None:
        collection, name = key[1].rsplit("/", 1)
        query = [
            ("fieldSelector", f"metadata.name={name}"),
            ("watch", "true"),
            ("resourceVersion", version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", IDLE_SECONDS),
        ]
        try:
            async with contextlib.aclosing(api.watch(collection, query, connect_timeout=CONNECT_SECONDS)) as events:
                async for event in events:
                    kind, obj = event.get("type"), event.get("object")
                    if kind in ("ADDED", "MODIFIED") and isinstance(obj, dict):
                        entry.text = json.dumps(obj, separators=(",", ":"))
                    elif kind != "BOOKMARK":  # DELETED, or ERROR (the version is too old, say)
                        break
            # Ended by the apiserver (after IDLE_SECONDS) or by an event: the next read is a GET,
            # which opens a new watch at once (the object counts as recently read).
            self._recent.put(token, True, self._recent.clock() + IDLE_SECONDS)
        except ToolError as exc:  # refused: RBAC may allow get and not watch; or unreachable
            self._refused.put(token, True, self._refused.clock() + REFUSED_SECONDS)
            log.info("no watch on %s: %s", key[1], exc.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # unreachable, or a broken stream: the next read is a GET
            log.info("the watch on %s ended: %s", key[1], getattr(exc, "message", type(exc).__name__))
        finally:
            with contextlib.suppress(Exception):
                self._drop(key, entry)
