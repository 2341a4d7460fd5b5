"""Continue tokens that can point inside an apiserver page, and inside one item.

When the response budget cuts a page after k items, the next call must resume at item k of
that same page. A token therefore carries the apiserver's continue token that produced the
page plus how many of its items to skip; when one item (or a whole answer) is larger than a
response, also the byte offset in its text where the next part starts. It is opaque to clients.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from kubehelm_mcp.errors import InvalidInput


@dataclass(frozen=True)
class Cursor:
    api_token: str | None = None
    skip: int = 0
    offset: int = 0  # bytes of the first item's text already sent


def encode_cursor(cursor: Cursor) -> str:
    fields: dict[str, object] = {"c": cursor.api_token, "s": cursor.skip}
    if cursor.offset:
        fields["o"] = cursor.offset
    raw = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str | None) -> Cursor:
    if not token:
        return Cursor()
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        api_token, skip, offset = data["c"], int(data["s"]), int(data.get("o", 0))
        if (api_token is not None and not isinstance(api_token, str)) or skip < 0 or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "continue_token is not one this server issued; pass the continue_token of a previous result."
        ) from None
    return Cursor(api_token=api_token, skip=skip, offset=offset)
