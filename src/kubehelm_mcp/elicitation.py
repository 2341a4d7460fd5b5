"""Putting a yes/no question to the user behind an MCP client (form elicitation), in either
protocol era, as the plain `Ask` callable the pipeline uses:

- handshake-era sessions (up to 2025-11-25): an `elicitation/create` request on the call's own
  stream, awaited;
- the stateless 2026-07-28 protocol: the call answers with an InputRequiredResult carrying the
  question, and the client retries it with the answer in `input_responses`. The request state
  pins the answer to the exact question; the SDK's RequestStateBoundary (installed in server.py)
  seals it and binds it to the same tool and arguments.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from kubehelm_mcp.caller import Answer

log = logging.getLogger(__name__)

INPUT_KEY = "kubehelm-mcp/confirm"
# Nothing to fill in: accept, decline and cancel are the whole answer.
_SCHEMA: types.ElicitRequestedSchema = {"type": "object", "properties": {}}


def _digest(question: str) -> str:
    return hashlib.sha256(question.encode()).hexdigest()[:32]


class Elicitor:
    """Asks on behalf of one tools/call request."""

    def __init__(self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> None:
        self._ctx = ctx
        self._params = params
        self.pending: str | None = None  # the question to send back (stateless protocol)

    def _can_elicit(self) -> bool:
        capabilities = self._ctx.session.client_capabilities
        elicitation = capabilities.elicitation if capabilities is not None else None
        # a bare `elicitation: {}` (before modes existed) means form support; url-only does not
        return elicitation is not None and (elicitation.form is not None or elicitation.url is None)

    async def ask(self, question: str) -> Answer:
        if not self._can_elicit():
            return Answer.UNSUPPORTED
        if self._ctx.session.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return self._answer_from_retry(question)
        if not self._ctx.session.can_send_request:
            return Answer.UNSUPPORTED  # a stateless handshake-era request has no stream to ask on
        try:
            result = await self._ctx.session.elicit_form(question, _SCHEMA, related_request_id=self._ctx.request_id)
        except Exception as exc:  # fail closed: an unanswerable question is no permission
            log.warning("elicitation failed: %s", exc.__class__.__name__)
            return Answer.CANCEL
        return Answer(result.action)

    def _answer_from_retry(self, question: str) -> Answer:
        response = (self._params.input_responses or {}).get(INPUT_KEY)
        if isinstance(response, types.ElicitResult) and self._params.request_state == _digest(question):
            return Answer(response.action)
        self.pending = question
        return Answer.PENDING

    def input_required(self) -> types.InputRequiredResult:
        assert self.pending is not None
        ask = types.ElicitRequestFormParams(message=self.pending, requested_schema=_SCHEMA)
        return types.InputRequiredResult(
            input_requests={INPUT_KEY: types.ElicitRequest(params=ask)}, request_state=_digest(self.pending)
        )
