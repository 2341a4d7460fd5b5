"""A logging filter that scrubs credentials from every record before any handler writes it: our
own log lines, the libraries' (kubernetes-asyncio, aiohttp, uvicorn) and their tracebacks."""

from __future__ import annotations

import logging

from kubehelm_mcp.pipeline.scrub import scrub

_TRACEBACKS = logging.Formatter()  # formats exceptions exactly as every standard formatter does


class ScrubFilter(logging.Filter):
    """Rewrites the record in place: the format and its arguments (merged into one message only when
    a credential spans both), exception and stack text. Records with nothing to scrub stay as they are.

    Attach it to handlers, not loggers: a logger's filters skip records propagated from its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = _message(record)
        if message is None or scrub(message) != message:
            _scrub_parts(record)  # keeps the arguments' shape, which some formatters unpack (uvicorn's access log)
            merged = _message(record)
            if merged is None or scrub(merged) != merged:  # a credential spans the format and an argument
                record.msg, record.args = scrub(message or f"{record.msg} {record.args!r}"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def _message(record: logging.LogRecord) -> str | None:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format
        return None


def _scrubbed(value: object) -> object:
    return scrub(value) if isinstance(value, str) else value


def _scrub_parts(record: logging.LogRecord) -> None:
    record.msg = _scrubbed(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_scrubbed(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _scrubbed(value) for key, value in record.args.items()}


def install_scrub_filter(*logger_names: str) -> ScrubFilter:
    """The filter on every handler of the named loggers (the root logger when none is named)."""
    scrubber = ScrubFilter()
    for name in logger_names or ("",):
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, ScrubFilter) for f in handler.filters):
                handler.addFilter(scrubber)
    return scrubber
