"""k8s_can_i against real RBAC: it names the identity it checked, checks a given user, groups or
ServiceAccount through a SubjectAccessReview, and says which permission is missing when the
caller may not ask about others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok, text_of
from tests.support.rbac import bound_role, reader_account

pytestmark = pytest.mark.anyio

NS = "khm-cani"
POD_GETTER = '[{apiGroups: [""], resources: [pods], verbs: [get]}]'
RBAC = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
{reader_account(NS, "reader", ["pods"])}---
{bound_role(NS, "pod-getters", POD_GETTER, users=("alice",), groups=("khm-team",))}"""
READER = f"system:serviceaccount:{NS}:reader"


@pytest.fixture(scope="module")
def rbac(kube_cluster: Any, kubectl: Any) -> str:
    kubectl("apply", "-f", "-", stdin=RBAC)
    return str(kube_cluster.service_account_token(NS, "reader"))


@pytest.fixture
async def client(server_settings: Settings) -> AsyncIterator[Client]:
    async with create_client(settings=server_settings.replace(per_call_credentials=True)) as connected:
        yield connected


async def ask(client: Client, **spec: Any) -> dict[str, Any]:
    return await call_ok(client, "k8s_can_i", {"namespace": NS, **spec})


async def test_names_the_servers_own_identity(client: Client, rbac: str) -> None:
    result = await client.call_tool("k8s_can_i", {"verb": "delete", "resource": "pods", "namespace": NS})
    answer = result.structured_content or {}
    # 1.20 serves no SelfSubjectReview: the identity comes from the kubeconfig's client certificate
    assert answer["allowed"] is True
    identity = "user 'admin' (groups system:masters) - the server's own credentials (client certificate of context"
    assert answer["identity"].startswith(identity)
    assert f"yes - delete pods in namespace {NS}, as {identity}" in text_of(result)


async def test_another_user_and_groups(client: Client, rbac: str) -> None:
    alice = await ask(client, verb="get", resource="pods", user="alice")
    assert alice["allowed"] is True and alice["identity"] == "user 'alice'" and "pod-getters" in alice["reason"]
    assert (await ask(client, verb="delete", resource="pods", user="alice"))["allowed"] is False
    bob = await ask(client, verb="get", resource="pods", user="bob")
    assert bob["allowed"] is False and bob["identity"] == "user 'bob'"
    team = await ask(client, verb="get", resource="pods", groups=["khm-team"])
    assert team["allowed"] is True and team["identity"] == "groups khm-team"
    bob_in_team = await ask(client, verb="get", resource="pods", user="bob", groups=["khm-team"])
    assert bob_in_team["allowed"] is True and bob_in_team["identity"] == "user 'bob' (groups khm-team)"


async def test_a_service_account(client: Client, rbac: str) -> None:
    for form in (f"{NS}/reader", f"{NS}:reader", "reader", READER):
        listed = await ask(client, verb="list", resource="pods", service_account=form)
        assert listed["allowed"] is True and listed["identity"].startswith(f"user '{READER}' (groups "), form
    secrets = await ask(client, verb="list", resource="secrets", service_account=f"{NS}/reader")
    assert secrets["allowed"] is False
    elsewhere = await call_ok(
        client,
        "k8s_can_i",
        {"verb": "list", "resource": "pods", "namespace": "default", "service_account": f"{NS}/reader"},
    )
    assert elsewhere["allowed"] is False
    both = await call_error(
        client, "k8s_can_i", {"verb": "get", "resource": "pods", "user": "a", "service_account": "b"}
    )
    assert "user or service_account, not both" in both
    bad = await call_error(client, "k8s_can_i", {"verb": "get", "resource": "pods", "service_account": "Not/Valid/"})
    assert "namespace/name" in bad


async def test_refused_without_subjectaccessreview_rights(client: Client, rbac: str, kube_cluster: Any) -> None:
    creds = {"kube_apiserver": kube_cluster.server, "kube_token": rbac, "kube_insecure_tls": True}
    itself = await ask(client, verb="list", resource="pods", **creds)
    assert itself["allowed"] is True
    assert itself["identity"] == f"user '{READER}' - the call's credentials (a service-account token)"
    refused = await call_error(client, "k8s_can_i", {"verb": "get", "resource": "pods", "user": "alice", **creds})
    assert refused.startswith(
        f"Cannot check another identity: user '{READER}' - the call's credentials (a service-account token) "
        "may not create subjectaccessreviews (authorization.k8s.io, cluster-wide)"
    ), refused
    assert rbac not in refused
