"""Names in the combined endpoint: `<server>__<tool>`, valid MCP tool names by construction
(only [A-Za-z0-9_-], at most 64 characters) and unique however the servers name their tools.

A name that had to be changed (characters replaced, or cut to fit) carries a short hash of the
original pair, so two tools that would map to the same name never do."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MAX_NAME = 64
SEPARATOR = "__"
_INVALID = re.compile(r"[^A-Za-z0-9_-]")
HASH_LENGTH = 8


def _digest(server: str, tool: str) -> str:
    return hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:HASH_LENGTH]


def combined_name(server: str, tool: str) -> str:
    """The plain `server__tool` when it is already valid, else a cleaned, cut name with a hash."""
    plain = f"{server}{SEPARATOR}{tool}"
    if len(plain) <= MAX_NAME and not _INVALID.search(plain):
        return plain
    cleaned = _INVALID.sub("_", plain)
    suffix = "-" + _digest(server, tool)
    return cleaned[: MAX_NAME - len(suffix)] + suffix


class NameMap:
    """Combined names for (server, tool) pairs, both ways. A clash left after hashing (two plain
    names equal to another's hashed one) is settled by a longer hash, in a stable order."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.to_pair: dict[str, tuple[str, str]] = {}
        self.to_name: dict[tuple[str, str], str] = {}
        for server, tool in sorted(set(pairs)):
            name = combined_name(server, tool)
            if name in self.to_pair:
                full = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()
                name = _INVALID.sub("_", f"{server}{SEPARATOR}{tool}")[: MAX_NAME - 17] + "-" + full[:16]
            self.to_pair[name] = (server, tool)
            self.to_name[(server, tool)] = name

    def name(self, server: str, tool: str) -> str:
        return self.to_name[(server, tool)]

    def pair(self, name: str) -> tuple[str, str] | None:
        return self.to_pair.get(name)
