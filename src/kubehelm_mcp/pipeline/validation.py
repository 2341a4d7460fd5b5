"""Turning raw arguments into a tool's typed input, with one readable sentence on failure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.localfiles import ServerFiles
from kubehelm_mcp.pipeline.scrub import shorten
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.validators import CHECKED_PATHS, PENDING_HOSTS, SERVER_FILES, PendingHost, check_pending_host

MAX_SHOWN_PROBLEMS = 3


def _describe(error: Any) -> str:
    where = shorten(".".join(str(p) for p in error.get("loc", ())) or "arguments")  # names come from the input
    if error.get("type") == "extra_forbidden":
        return f"'{where}' is not an argument of this tool"
    if error.get("type") == "missing":
        return f"'{where}' is required"
    message = str(error.get("msg", "is invalid"))
    return f"'{where}': {message[0].lower()}{message[1:]}"


def validate_arguments(
    tool_name: str, model: type[BaseModel], arguments: dict[str, Any] | None, context: dict[str, Any] | None = None
) -> BaseModel:
    """`context` reaches the field validators (kubehelm_mcp.validators reads the settings from it)."""
    try:
        return model.model_validate(arguments or {}, context=context)
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors(include_url=False, include_input=False)]
        shown = "; ".join(problems[:MAX_SHOWN_PROBLEMS])
        more = f" (and {len(problems) - MAX_SHOWN_PROBLEMS} more)" if len(problems) > MAX_SHOWN_PROBLEMS else ""
        raise InvalidInput(f"Invalid arguments for {tool_name}: {shown}{more}.") from None


async def validate_input(
    tool_name: str,
    model: type[BaseModel],
    arguments: dict[str, Any] | None,
    settings: Settings,
    files: ServerFiles | None = None,
    checked: list[str] | None = None,
) -> BaseModel:
    """validate_arguments, with the URL hosts it leaves pending resolved in a worker thread: a slow
    resolver must not stall every other call on the event loop. `files`: the server's own
    credential files, which no path argument may lead to; `checked` gets the resolved local paths."""
    pending: list[PendingHost] = []
    context = {
        "settings": settings,
        PENDING_HOSTS: pending,
        SERVER_FILES: files or ServerFiles(),
        CHECKED_PATHS: [] if checked is None else checked,
    }
    validated = validate_arguments(tool_name, model, arguments, context)
    for item in pending:
        try:
            await check_pending_host(item, settings)
        except PydanticCustomError as exc:
            raise InvalidInput(f"Invalid arguments for {tool_name}: '{item.field}': {exc.message()}.") from None
    return validated
