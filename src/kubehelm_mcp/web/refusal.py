"""The one shape of an HTTP-level refusal: JSON with an error code and one clear sentence."""

from __future__ import annotations

from starlette.responses import JSONResponse


def refusal(status: int, error: str, description: str, *, close: bool = False) -> JSONResponse:
    """close=True also ends the connection (its request was not read to the end, or the server stops)."""
    headers = {"Connection": "close"} if close else None
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)
