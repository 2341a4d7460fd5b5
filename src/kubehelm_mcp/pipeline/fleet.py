"""One answer from many clusters: a fleet-wide call's per-cluster answers merged.

Tables (lists whose text is one table, `PagedResult.table`) become one table with a CLUSTER
column; other answers (health, a diagnosis, whole objects) follow one another under their
cluster's name. A cluster that failed or did not answer in time is reported beside the others'
answers. The merged items page like any list: a continue_token resumes after the rows sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from kubehelm_mcp.tooling import PagedResult, ToolResult
from kubehelm_mcp.toolsets.rendering import render_table

CLUSTER_COLUMN = "cluster"


class ClusterError(BaseModel):
    cluster: str
    error: str


@dataclass
class ClusterAnswer:
    cluster: str
    result: ToolResult | None = None  # already sanitized (secrets redacted) by the caller
    error: str | None = None
    outcome: str = "ok"


class FleetResult(PagedResult):
    clusters: list[str]
    columns: list[str] | None = None  # CLUSTER first, when every answer is a table
    items: list[dict[str, Any]]
    errors: list[ClusterError] | None = None
    more: list[str] | None = None  # clusters with more than their first page

    def to_text(self) -> str:
        answered = len(self.clusters) - len(self.errors or [])
        lines = [f"{answered} of {len(self.clusters)} cluster(s) answered."]
        if self.columns is not None:
            lines.append(render_table(self.columns, self.items) if self.items else "No items found.")
        else:
            for item in self.items:
                lines += [f"== {item[CLUSTER_COLUMN]} ==", str(item.get("text", ""))]
        for failed in self.errors or []:
            lines.append(f"{failed.cluster}: ERROR {failed.error}")
        if self.more:
            lines.append(f"Each cluster's first page only; {', '.join(self.more)} have more: ask one with `cluster`.")
        return "\n".join(lines)


def _table(result: ToolResult) -> tuple[list[str], list[dict[str, Any]]] | None:
    return result.table() if isinstance(result, PagedResult) else None


def _has_more(result: ToolResult) -> bool:
    return bool(result.continue_token or (isinstance(result, PagedResult) and result.remaining_item_count))


def merge(answers: list[ClusterAnswer], skip: int = 0) -> FleetResult:
    answered = [(a.cluster, a.result) for a in answers if a.result is not None]
    tables = [(cluster, _table(result)) for cluster, result in answered]
    items: list[dict[str, Any]]
    columns: list[str] | None = None
    if answered and all(table is not None for _, table in tables):
        columns = [CLUSTER_COLUMN]
        items = []
        for cluster, table in tables:
            assert table is not None
            columns += [c for c in table[0] if c not in columns]
            items += [{CLUSTER_COLUMN: cluster, **row} for row in table[1]]
    else:
        items = [{CLUSTER_COLUMN: cluster, "text": result.to_text()} for cluster, result in answered]
    errors = [ClusterError(cluster=a.cluster, error=a.error or "failed") for a in answers if a.result is None]
    more = [cluster for cluster, result in answered if _has_more(result)]
    return FleetResult(
        clusters=[a.cluster for a in answers],
        columns=columns,
        items=items[skip:],
        errors=errors or None,
        more=more or None,
        page_skip=skip,
    )
