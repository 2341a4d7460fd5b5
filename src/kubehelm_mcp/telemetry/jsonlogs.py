"""JSON log lines (setting log_format=json): one object per line with time, level, logger and
message, plus exception, error_id and the current trace and span ids when there are any.

Only a formatter: the handler's and loggers' filters (e.g. the credential scrubber) run before
it, and it formats the record they left (getMessage(), a pre-set exc_text) like logging's own."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        error_id = getattr(record, "error_id", None)
        if error_id is not None:
            entry["error_id"] = str(error_id)
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # correlates the line with its trace when tracing is on
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
