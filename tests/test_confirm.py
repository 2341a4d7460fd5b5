"""Confirmation rules through MCP elicitation, against the real cluster: a matching call runs only
when the user accepts; declined, cancelled or unanswerable (fallback deny) calls change nothing.
Both protocol eras: the stateless 2026-07-28 round trip (InputRequiredResult, then a retry) and the
handshake-era elicitation/create request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.shared.exceptions import MCPError

from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.elicitation import INPUT_KEY
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

NS = "khm-confirm"
OTHER_NS = "khm-confirm-other"
RULES = ("delete:ConfigMap:khm-confirm", "k8s_patch_*")
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])  # auto negotiates 2026-07-28 in-process


class User:
    """Answers every question the same way and remembers what was asked."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.questions.append(params.message)
        return types.ElicitResult.model_validate({"action": self.action})


@pytest.fixture
def configmaps(kubectl: Any) -> Callable[[], set[str]]:
    """Fresh ConfigMaps a, b in NS and c in OTHER_NS; returns a lister of what exists."""
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n" for ns in (NS, OTHER_NS)]
    docs += [
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\ndata: {{k: v1}}\n"
        for name, ns in (("a", NS), ("b", NS), ("c", OTHER_NS))
    ]
    kubectl("apply", "-f", "-", stdin="---\n".join(docs))

    def existing() -> set[str]:
        found = set()
        for ns in (NS, OTHER_NS):
            out = kubectl("get", "configmaps", "-n", ns, "-o", "name")
            found |= {
                f"{ns}/{line.removeprefix('configmap/')}"
                for line in out.split()
                if line != "configmap/kube-root-ca.crt"
            }
        return found

    return existing


@asynccontextmanager
async def connect(settings: Settings, mode: str, user: User | None) -> AsyncIterator[Client]:
    server = create_server(settings)
    try:
        async with Client(server, raise_exceptions=False, mode=mode, elicitation_callback=user) as client:
            yield client
    finally:
        await server_parts(server).close()


@pytest.fixture
def confirming(server_settings: Settings) -> Settings:
    return server_settings.replace(allow_destructive=True, confirm=RULES)


def delete(name: str, namespace: str = NS, **extra: Any) -> dict[str, Any]:
    return {"kind": "ConfigMap", "name": name, "namespace": namespace, **extra}


async def context_name(settings: Settings) -> str:
    async with create_client(settings=settings) as client:
        return str((await call_ok(client, "k8s_get_current_context"))["name"])


@MODES
async def test_accepted_calls_run(confirming: Settings, configmaps: Callable[[], set[str]], mode: str) -> None:
    user = User("accept")
    async with connect(confirming, mode, user) as client:
        await call_ok(client, "k8s_delete_resource", delete("a"))
    assert configmaps() == {f"{NS}/b", f"{OTHER_NS}/c"}
    context = await context_name(confirming)
    assert user.questions == [
        f"Allow k8s_delete_resource to delete ConfigMap 'a' in namespace '{NS}' on context '{context}'?"
    ]


@MODES
@pytest.mark.parametrize(("action", "said"), [("decline", "declined"), ("cancel", "cancelled")])
async def test_declined_or_cancelled_calls_change_nothing(
    confirming: Settings, configmaps: Callable[[], set[str]], kubectl: Any, mode: str, action: str, said: str
) -> None:
    user = User(action)
    async with connect(confirming, mode, user) as client:
        message = await call_error(client, "k8s_delete_resource", delete("a"))
        assert message == f"The user {said} k8s_delete_resource; nothing was changed."
        patch = {"kind": "ConfigMap", "name": "b", "namespace": NS, "patch": '{"data": {"k": "v2"}}'}
        message = await call_error(client, "k8s_patch_resource", {**patch, "patch_type": "merge"})
        assert message == f"The user {said} k8s_patch_resource; nothing was changed."
    assert configmaps() == {f"{NS}/a", f"{NS}/b", f"{OTHER_NS}/c"}
    assert kubectl("get", "configmap", "b", "-n", NS, "-o", "jsonpath={.data.k}") == "v1"
    assert len(user.questions) == 2 and user.questions[1].startswith("Allow k8s_patch_resource to patch ConfigMap 'b'")


@MODES
async def test_calls_no_rule_matches_are_not_asked(
    confirming: Settings, configmaps: Callable[[], set[str]], mode: str
) -> None:
    user = User("decline")
    async with connect(confirming, mode, user) as client:
        await call_ok(client, "k8s_delete_resource", delete("c", OTHER_NS))  # another namespace
        await call_ok(client, "k8s_delete_resource", delete("a", dry_run=True))  # a dry run changes nothing
        await call_ok(client, "k8s_get_resource", delete("a"))  # a read
    assert user.questions == []
    assert configmaps() == {f"{NS}/a", f"{NS}/b"}


@MODES
async def test_clients_that_cannot_ask_fall_back(
    confirming: Settings, configmaps: Callable[[], set[str]], mode: str
) -> None:
    async with connect(confirming, mode, None) as client:
        message = await call_error(client, "k8s_delete_resource", delete("a"))
    assert message == (
        "k8s_delete_resource needs the user's confirmation (rule 'delete:ConfigMap:khm-confirm') and this client "
        "cannot ask for it; nothing was changed. Use a client that supports MCP elicitation, or start the server "
        "with --confirm-fallback allow."
    )
    assert f"{NS}/a" in configmaps()
    async with connect(confirming.replace(confirm_fallback="allow"), mode, None) as client:
        await call_ok(client, "k8s_delete_resource", delete("a"))
    assert f"{NS}/a" not in configmaps()


async def test_answers_count_only_for_the_call_that_asked(
    confirming: Settings, configmaps: Callable[[], set[str]]
) -> None:
    """The stateless round trip driven by hand: an answer needs the sealed state minted for this very
    call; without it the server asks again, with another call's state it refuses."""
    accept: types.InputResponses = {INPUT_KEY: types.ElicitResult(action="accept")}
    async with connect(confirming, "auto", User("accept")) as client:
        session = client.session
        unasked = await session.call_tool(
            "k8s_delete_resource", delete("a"), input_responses=accept, allow_input_required=True
        )
        assert isinstance(unasked, types.InputRequiredResult) and unasked.request_state
        (request,) = (unasked.input_requests or {}).values()
        assert isinstance(request, types.ElicitRequest) and request.params.message.startswith(
            "Allow k8s_delete_resource"
        )
        for forged in ("forged", unasked.request_state):
            with pytest.raises(MCPError, match="Invalid or expired requestState"):
                await session.call_tool(
                    "k8s_delete_resource", delete("b"), input_responses=accept, request_state=forged
                )
        assert configmaps() == {f"{NS}/a", f"{NS}/b", f"{OTHER_NS}/c"}
        done = await session.call_tool(
            "k8s_delete_resource", delete("a"), input_responses=accept, request_state=unasked.request_state
        )
        assert not done.is_error, done
    assert configmaps() == {f"{NS}/b", f"{OTHER_NS}/c"}


async def test_the_question_round_is_counted_apart_from_refusals(
    confirming: Settings, configmaps: Callable[[], set[str]]
) -> None:
    """On the stateless protocol a confirmed call is two rounds: the question, then the run."""
    server = create_server(confirming)
    try:
        async with Client(server, raise_exceptions=False, mode="auto", elicitation_callback=User("accept")) as client:
            await call_ok(client, "k8s_delete_resource", delete("a"))
        registry = server_parts(server).metrics.registry

        def calls(outcome: str) -> float | None:
            labels = {"tool": "k8s_delete_resource", "outcome": outcome}
            return registry.get_sample_value("kubehelm_mcp_tool_calls_total", labels)

        assert (calls("awaiting_confirmation"), calls("ok"), calls("denied")) == (1.0, 1.0, None)
    finally:
        await server_parts(server).close()
