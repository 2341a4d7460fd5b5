"""The scrubbing log filter: messages, their arguments and tracebacks lose every
credential-shaped value, for records of any logger that reach a filtered handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from starlette.requests import ClientDisconnect

from kubehelm_mcp import cli
from kubehelm_mcp.logfilter import ScrubFilter, install_scrub_filter, server_secrets
from kubehelm_mcp.logthrottle import LogThrottle
from kubehelm_mcp.logwire import WireFilter
from kubehelm_mcp.settings import Settings

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


@pytest.mark.parametrize(
    "param", ["access_token", "api_token", "id_token", "token", "client_secret", "X-Amz-Signature", "sig", "code"]
)
def test_credential_query_parameters_are_scrubbed(sink: io.StringIO, param: str) -> None:
    logging.getLogger("khm-test-scrub").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/mcp?page=2&{param}={OPAQUE}&x=1", "1.1", 200
    )
    assert OPAQUE not in sink.getvalue() and f"/mcp?page=2&{param}=[REDACTED]&x=1" in sink.getvalue()


def test_the_servers_own_secrets_are_removed_whatever_their_shape() -> None:
    settings = Settings(auth_token="plain-static-9f8e7d", obo_client_secret="obo-client-6a5b4c")
    assert set(server_secrets(settings)) >= {"plain-static-9f8e7d", "obo-client-6a5b4c"}
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s and %s", server_secrets(settings), None)
    ScrubFilter(server_secrets(settings)).filter(record)
    assert "plain-static" not in record.getMessage() and "obo-client" not in record.getMessage()


def test_repeated_input_is_bounded(sink: io.StringIO) -> None:
    logging.getLogger("khm-test-scrub").warning("unknown tool %s", "n" * 1_000_000)
    logging.getLogger("khm-test-scrub").warning("x" * 1_000_000)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 2 and all(len(line) < 9000 for line in lines), [len(line) for line in lines]


BODY = '{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"token: OPAQUE"}]}}'.replace(
    "OPAQUE", OPAQUE
)


@pytest.mark.parametrize(
    ("logger", "level", "message"),
    [
        ("sse_starlette.sse", logging.DEBUG, "chunk: b'data: hello'"),  # a wire logger's debug records
        ("mcp.server.sse", logging.DEBUG, f"Received JSON: b'{BODY}'"),
        ("mcp.client.streamable_http", logging.DEBUG, "SSE message: root=JSONRPCResponse(jsonrpc='2.0', id=1)"),
        ("some.library", logging.DEBUG, f"sending {BODY}"),  # any logger quoting a JSON-RPC message
        ("some.library", logging.INFO, f"sending {BODY}"),
    ],
)
def test_message_bodies_are_never_logged(logger: str, level: int, message: str) -> None:
    record = logging.LogRecord(logger, level, __file__, 1, "%s", (message,), None)
    assert WireFilter().filter(record) is False


def test_a_warning_quoting_a_body_keeps_its_sentence(sink: io.StringIO) -> None:
    logging.getLogger("khm-test-scrub").warning("could not deliver %s", BODY)
    assert sink.getvalue() == "khm-test-scrub could not deliver [message body not logged]\n"


def test_client_disconnect_tracebacks_are_dropped(sink: io.StringIO) -> None:
    try:
        raise ClientDisconnect()
    except ClientDisconnect:
        logging.getLogger("khm-test-scrub.mcp.server.streamable_http").exception("Error handling POST request")
    assert sink.getvalue() == ""


def test_the_throttle_lets_one_line_a_minute_through() -> None:
    now = [0.0]
    throttle = LogThrottle(60.0, clock=lambda: now[0])
    taken = []
    for _ in range(600):
        taken.append(throttle.take())
        now[0] += 0.1
    assert taken[0] == 0 and taken.count(None) == 599
    now[0] = 61.0
    assert throttle.take() == 599
