"""A logging filter that scrubs credentials from every record before any handler writes it: our
own log lines, the libraries' (kubernetes-asyncio, aiohttp, uvicorn) and their tracebacks. It also
bounds how much of any one value a line repeats (a 1 MB tool name is not logged whole)."""

from __future__ import annotations

import dataclasses
import logging

from kubehelm_mcp.logwire import WireFilter
from kubehelm_mcp.pipeline.scrub import scrub_bounded
from kubehelm_mcp.settings import Settings

_TRACEBACKS = logging.Formatter()  # formats exceptions exactly as every standard formatter does
MAX_ARGUMENT_CHARS = 1000  # one argument of a log line (a path, a name, an error) at most
MAX_MESSAGE_CHARS = 8000  # the whole message, and each traceback


class ScrubFilter(logging.Filter):
    """Rewrites the record in place: the format and its arguments (merged into one message only when
    a credential spans both), exception and stack text. Records with nothing to scrub stay as they are.
    `known`: exact secrets of this server (its static token, ...), removed wherever they appear.

    Attach it to handlers, not loggers: a logger's filters skip records propagated from its children.
    """

    def __init__(self, known: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.known = known

    def _scrub(self, text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
        return scrub_bounded(text, limit, self.known)

    def filter(self, record: logging.LogRecord) -> bool:
        message = _message(record)
        if message is None or _too_long(record, message) or self._scrub(message) != message:
            self._scrub_parts(record)  # keeps the arguments' shape, which some formatters unpack (uvicorn's access log)
            merged = _message(record)
            if merged is None or _too_long(record, merged) or self._scrub(merged) != merged:
                # a credential spans the format and an argument, or the line is still too long
                record.msg, record.args = self._scrub(message or f"{record.msg} {record.args!r}"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True

    def _scrubbed(self, value: object, limit: int) -> object:
        return self._scrub(value, limit) if isinstance(value, str) else value

    def _scrub_parts(self, record: logging.LogRecord) -> None:
        record.msg = self._scrubbed(record.msg, MAX_MESSAGE_CHARS)
        if isinstance(record.args, tuple):
            record.args = tuple(self._scrubbed(arg, MAX_ARGUMENT_CHARS) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: self._scrubbed(value, MAX_ARGUMENT_CHARS) for key, value in record.args.items()}


def _too_long(record: logging.LogRecord, message: str) -> bool:
    args = record.args.values() if isinstance(record.args, dict) else record.args or ()
    return len(message) > MAX_MESSAGE_CHARS or any(isinstance(a, str) and len(a) > MAX_ARGUMENT_CHARS for a in args)


def _message(record: logging.LogRecord) -> str | None:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format
        return None


def install_scrub_filter(*logger_names: str, known: tuple[str, ...] = ()) -> ScrubFilter:
    """On every handler of the named loggers (the root logger when none is named): the wire filter
    (no message bodies, no disconnect tracebacks), then the scrubber."""
    wire, scrubber = WireFilter(), ScrubFilter(known)
    for name in logger_names or ("",):
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, ScrubFilter) for f in handler.filters):
                handler.addFilter(wire)
                handler.addFilter(scrubber)
    return scrubber


def server_secrets(settings: Settings) -> tuple[str, ...]:
    """The secrets among the settings (the fields kept out of their repr: the static token, keys,
    client secrets), for the scrubber to remove wherever they show up."""
    found: list[str] = []
    for group in (getattr(settings, name) for name in Settings.GROUPS):
        for spec in dataclasses.fields(group):
            if spec.repr:
                continue
            value = getattr(group, spec.name)
            found += [value] if isinstance(value, str) else [v for v in value or () if isinstance(v, str)]
    return tuple(v for v in found if v)
