"""Text rendering shared by every toolset (Kubernetes and Helm alike)."""

from __future__ import annotations

from typing import Any


def render_table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """kubectl-style aligned columns."""
    header = [c.upper() for c in columns]
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = ["   ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in [header, *cells]]
    return "\n".join(lines)
