"""The scrubbing log filter: messages, their arguments and tracebacks lose every
credential-shaped value, for records of any logger that reach a filtered handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from kubehelm_mcp import cli
from kubehelm_mcp.logfilter import ScrubFilter, install_scrub_filter

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtY3AtbGVhayJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
OPAQUE = "s3cr3t-opaque-value-4242"


@pytest.fixture
def sink() -> Iterator[io.StringIO]:
    """A handler on a private logger, filtered as cli.py filters the real ones."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    parent = logging.getLogger("khm-test-scrub")
    parent.addHandler(handler)
    parent.setLevel(logging.DEBUG)
    install_scrub_filter("khm-test-scrub")
    yield out
    parent.removeHandler(handler)


def test_messages_and_arguments_are_scrubbed(sink: io.StringIO) -> None:
    log = logging.getLogger("khm-test-scrub.child")  # propagated records pass the handler's filter too
    log.info("calling %s with Authorization: Bearer %s", "https://u:pa55word@api.example/x", OPAQUE)
    log.warning("token=%s client-key-data: %s", OPAQUE, "LS0tLS1CRUdJTi")
    log.error("got %r", {"jwt": JWT})
    text = sink.getvalue()
    for secret in (OPAQUE, "pa55word", "LS0tLS1CRUdJTi", JWT):
        assert secret not in text, text
    assert "khm-test-scrub.child calling https://u:[REDACTED]@api.example/x" in text
    assert text.count("[REDACTED]") >= 5


def test_tracebacks_are_scrubbed(sink: io.StringIO) -> None:
    log = logging.getLogger("khm-test-scrub")
    try:
        raise RuntimeError(f"apiserver said no to Bearer {OPAQUE}")
    except RuntimeError:
        log.exception("request failed")
    text = sink.getvalue()
    assert (
        "Traceback (most recent call last)" in text and "RuntimeError: apiserver said no to Bearer [REDACTED]" in text
    )
    assert OPAQUE not in text


def test_arguments_that_do_not_fit_still_log_scrubbed(sink: io.StringIO) -> None:
    logging.getLogger("khm-test-scrub").info("one %s two %s", f"password={OPAQUE}")
    assert OPAQUE not in sink.getvalue() and "password=[REDACTED]" in sink.getvalue()


def test_argument_shapes_survive_for_formatters_that_unpack_them(sink: io.StringIO) -> None:
    """uvicorn's access formatter unpacks record.args as a 5-tuple."""
    seen: list[object] = []

    class Unpacking(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(record.args)
            return True

    (handler,) = logging.getLogger("khm-test-scrub").handlers
    handler.addFilter(Unpacking())  # after the scrubber
    log = logging.getLogger("khm-test-scrub")
    log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/charts?token={OPAQUE}", "1.1", 200)
    log.info("plain %s", "text")
    assert seen == [("127.0.0.1:5", "GET", "/charts?token=[REDACTED]", "1.1", 200), ("text",)]
    assert OPAQUE not in sink.getvalue()


def test_installed_once_per_handler(sink: io.StringIO) -> None:
    install_scrub_filter("khm-test-scrub")
    (handler,) = logging.getLogger("khm-test-scrub").handlers
    assert sum(isinstance(f, ScrubFilter) for f in handler.filters) == 1


def test_the_cli_logging_setup_installs_it() -> None:
    root = logging.getLogger()
    out = io.StringIO()
    handler = logging.StreamHandler(out)  # already there, so basicConfig adds none and this one is filtered
    root.addHandler(handler)
    try:
        cli._configure_logging("info")
        assert any(isinstance(f, ScrubFilter) for f in handler.filters)
        logging.getLogger("kubehelm_mcp.calls").warning("kube_token=%s", OPAQUE)
        assert out.getvalue() == "kube_token=[REDACTED]\n"
    finally:
        root.removeHandler(handler)
        for other in root.handlers:
            for f in [f for f in other.filters if isinstance(f, ScrubFilter)]:
                other.removeFilter(f)
