"""The machine's process tree, read from /proc (no ps needed): for sweeping and for watching."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path


def process_table() -> dict[int, int]:
    """pid -> ppid for every live (non-zombie) process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                table[int(entry)] = int(fields[1])
    return table


def with_descendants(table: dict[int, int], roots: Iterable[int], skip: Collection[int] = ()) -> set[int]:
    """The roots and every descendant of theirs in `table`; pids in `skip` (and what only they
    parent) are left out."""
    found = set(roots) - set(skip)
    grew = True
    while grew:
        children = {pid for pid, parent in table.items() if parent in found} - found - set(skip)
        grew = bool(children)
        found |= children
    return found
