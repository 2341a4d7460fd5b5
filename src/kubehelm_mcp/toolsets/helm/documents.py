"""Results made of rendered manifest documents, paged by document."""

from __future__ import annotations

from typing import Any

from kubehelm_mcp.helm.manifests import render_documents
from kubehelm_mcp.paging import decode_cursor
from kubehelm_mcp.tooling import PagedResult


class Documents(PagedResult):
    """items: {'source': template path, 'object': parsed document}."""

    items: list[dict[str, Any]]

    def to_text(self) -> str:
        if not self.items:
            return "No documents."
        return render_documents(self.items)


def page_of(docs: list[dict[str, Any]], continue_token: str | None) -> dict[str, Any]:
    """The Documents fields for the page a continue token points at (its skip is a document offset)."""
    skip = decode_cursor(continue_token).skip
    return {"items": docs[skip:], "page_skip": skip}
