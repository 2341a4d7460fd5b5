"""The HTTP caller's identity reaches the cluster (--cluster-identity), with real RBAC on real
apiservers, through real MCP clients on loopback: impersonation, on-behalf-of token exchange and
passthrough to an apiserver that trusts the same OIDC issuer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testcluster.controlplane import ControlPlane

from kubehelm_mcp import create_client
from kubehelm_mcp.errors import TokenExchangeFailed
from kubehelm_mcp.identity.exchange import TokenExchanger
from kubehelm_mcp.settings import Settings
from testcluster import pki
from tests.conftest import HttpServer, start_http_server, stop_http_server
from tests.support.cli import run
from tests.support.mcp import bearer_client, call_error, call_ok
from tests.support.oidc import AUDIENCE, Issuer, trusting_apiserver_args, wait_until_trusted
from tests.support.rbac import bound_role, reader_account
from tests.support.token_exchange import TokenEndpoint

pytestmark = pytest.mark.anyio

TEAM = "khm-id-team"  # pods readable by group 'readers'; alice may exec
RELEASES = "khm-id-releases"  # release records (Secrets) readable by alice only
POD = "shell"
OBO_CLIENT, OBO_SECRET, KUBE_AUDIENCE = "kubehelm-obo", "obo-client-secret-0123456789", "kubernetes"


def rules(resource: str, *verbs: str) -> str:
    return f'[{{apiGroups: [""], resources: [{resource}], verbs: [{", ".join(verbs)}]}}]'


RBAC = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {TEAM}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {RELEASES}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: {POD}, namespace: {TEAM}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {{name: main, image: 127.0.0.1/kubehelm/busybox:1, imagePullPolicy: Never, command: [sleep, "3600"]}}
---
{bound_role(TEAM, "pod-reader", rules("pods", "get", "list"), groups=("readers",))}
---
{bound_role(TEAM, "pod-exec", rules("pods/exec", "create", "get"), users=("alice",))}
---
{bound_role(RELEASES, "release-reader", rules("secrets", "get", "list"), users=("alice",))}
---
{reader_account(TEAM, "obo-reader", ["pods"])}"""


def oidc_env(issuer: Issuer, mode: str, **extra: str) -> dict[str, str]:
    return {
        "KUBEHELM_MCP_OIDC_ISSUER": issuer.url,
        "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE,
        "KUBEHELM_MCP_CLUSTER_IDENTITY": mode,
        **extra,
    }


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as running:
        yield running


@pytest.fixture(scope="module")
def team(
    kube_node: Any,
    kubectl: Any,
    helm_binaries: dict[str, Path],
    kubeconfig: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """Namespaces, roles for identities that exist only in tokens, a running pod and a release;
    returns the release's chart."""
    kubectl("apply", "-f", "-", stdin=RBAC)
    chart = tmp_path_factory.mktemp("identity-chart") / "demo"
    run(helm_binaries["v4"], "create", str(chart))
    run(helm_binaries["v4"], "install", "rel", str(chart), "--namespace", RELEASES, kubeconfig=kubeconfig)
    kubectl("wait", "--for=condition=Ready", f"pod/{POD}", "-n", TEAM, "--timeout=120s")
    return chart


@pytest.fixture(scope="module")
def impersonating(
    server_settings: Settings, issuer: Issuer, team: Path, tmp_path_factory: Any
) -> Iterator[dict[str, HttpServer]]:
    """Servers that impersonate their callers, one per release read engine, started on first use."""

    class Servers(dict[str, HttpServer]):
        def __missing__(self, engine: str) -> HttpServer:
            env = oidc_env(issuer, "impersonate", KUBEHELM_MCP_HELM_READ_ENGINE=engine)
            workdir = tmp_path_factory.mktemp(f"impersonate-{engine}")
            self[engine] = start_http_server(server_settings, workdir, "--allow-destructive", env=env)
            return self[engine]

    servers = Servers()
    yield servers
    for server in servers.values():
        stop_http_server(server)


def forbidden_for(message: str, user: str) -> bool:
    return "forbidden" in message.lower() and f'"{user}"' in message


@pytest.mark.parametrize("engine", ["storage", "cli", "sdk"])
async def test_impersonated_helm_reads(engine: str, impersonating: dict[str, HttpServer], issuer: Issuer) -> None:
    url = impersonating[engine].mcp_url
    async with bearer_client(url, issuer.token(sub="alice", groups=["readers"])) as client:
        listed = await call_ok(client, "helm_list", {"namespace": RELEASES})
        assert [r["name"] for r in listed["items"]] == ["rel"]
        status = await call_ok(client, "helm_status", {"namespace": RELEASES, "release_name": "rel"})
        assert status["status"] == "deployed"
        assert forbidden_for(await call_error(client, "helm_list", {"namespace": TEAM}), "alice")
    async with bearer_client(url, issuer.token(sub="bob")) as client:
        assert forbidden_for(await call_error(client, "helm_list", {"namespace": RELEASES}), "bob")


async def test_impersonated_kubernetes_calls(
    impersonating: dict[str, HttpServer], issuer: Issuer, server_settings: Settings, team: Path
) -> None:
    url = impersonating["storage"].mcp_url
    async with bearer_client(url, issuer.token(sub="alice", groups=["readers"])) as client:
        pods = await call_ok(client, "k8s_list_resources", {"kind": "pods", "namespace": TEAM})
        assert POD in json.dumps(pods["items"])
        denied = await call_error(client, "k8s_list_resources", {"kind": "secrets", "namespace": TEAM})
        assert denied.startswith("Forbidden:") and 'User "alice" cannot list resource "secrets"' in denied
        other = await call_error(client, "k8s_list_resources", {"kind": "pods", "namespace": RELEASES})
        assert forbidden_for(other, "alice")
        can_i = await call_ok(client, "k8s_can_i", {"verb": "list", "resource": "secrets", "namespace": TEAM})
        assert can_i["allowed"] is False
        ran = await call_ok(client, "k8s_exec_pod", {"name": POD, "namespace": TEAM, "command": ["echo", "alice"]})
        assert ran["stdout"].strip() == "alice"

    # erin may read pods through the token's group, but not exec: the exec websocket goes out as erin
    async with bearer_client(url, issuer.token(sub="erin", groups=["readers"])) as client:
        pods = await call_ok(client, "k8s_list_resources", {"kind": "pods", "namespace": TEAM})
        assert POD in json.dumps(pods["items"])
        refused = await call_error(client, "k8s_exec_pod", {"name": POD, "namespace": TEAM, "command": ["true"]})
        assert refused.startswith("Forbidden:"), refused
        # and a helm CLI call goes out as erin (--kube-as-user/--kube-as-group): no release Secrets for her
        install = {"namespace": TEAM, "release_name": "erins", "chart": str(team), "dry_run": "server"}
        assert forbidden_for(await call_error(client, "helm_install", install), "erin")

    async with bearer_client(url, issuer.token(sub="bob")) as client:
        denied = await call_error(client, "k8s_list_resources", {"kind": "pods", "namespace": TEAM})
        assert 'User "bob" cannot list resource "pods"' in denied

    # Kubernetes' own names are never impersonated, whatever a token's groups claim says
    async with bearer_client(url, issuer.token(sub="mallory", groups=["readers", "system:masters"])) as client:
        refused = await call_error(client, "k8s_list_resources", {"kind": "secrets", "namespace": TEAM})
        assert "system:masters" in refused and "never impersonated" in refused

    # the server's own identity (stdio) is untouched: it reads secrets and execs
    async with create_client(settings=server_settings.replace(allow_destructive=True)) as admin:
        await call_ok(admin, "k8s_list_resources", {"kind": "secrets", "namespace": TEAM})
        await call_ok(admin, "k8s_exec_pod", {"name": POD, "namespace": TEAM, "command": ["true"]})
        await call_ok(
            admin, "helm_install", {"namespace": TEAM, "release_name": "erins", "chart": str(team), "dry_run": "server"}
        )


# --- on behalf of: the caller's token exchanged (RFC 8693) for a ServiceAccount token ----------

OBO_WRITER = f"system:serviceaccount:{TEAM}:obo-writer"
OBO_ACCOUNTS = f"""apiVersion: v1
kind: ServiceAccount
metadata: {{name: obo-writer, namespace: {TEAM}}}
---
{bound_role(TEAM, "cm-writer", rules("configmaps", "create", "get", "list"), users=(OBO_WRITER,))}"""


@pytest.fixture(scope="module")
def token_endpoint(issuer: Issuer, kube_cluster: Any, kubectl: Any, team: Path) -> Iterator[TokenEndpoint]:
    """Exchanges olivia's tokens for obo-reader's (reads pods) and walter's for obo-writer's (creates ConfigMaps)."""
    kubectl("apply", "-f", "-", stdin=OBO_ACCOUNTS)
    tokens = {
        "olivia": kube_cluster.service_account_token(TEAM, "obo-reader"),
        "walter": kube_cluster.service_account_token(TEAM, "obo-writer"),
    }
    with TokenEndpoint(issuer, OBO_CLIENT, OBO_SECRET, KUBE_AUDIENCE, tokens) as endpoint:
        yield endpoint


def obo_server(settings: Settings, tmp_path: Path, issuer: Issuer, endpoint: TokenEndpoint, secret: str) -> HttpServer:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = oidc_env(
        issuer,
        "obo",
        KUBEHELM_MCP_OBO_TOKEN_URL=endpoint.url,
        KUBEHELM_MCP_OBO_CLIENT_ID=OBO_CLIENT,
        KUBEHELM_MCP_OBO_CLIENT_SECRET=secret,
        KUBEHELM_MCP_OBO_AUDIENCE=KUBE_AUDIENCE,
        KUBEHELM_MCP_AUDIT_LOG=str(tmp_path / "audit.jsonl"),
    )
    return start_http_server(settings, tmp_path, "--allow-destructive", env=env)


async def test_on_behalf_of_runs_as_the_exchanged_identity(
    server_settings: Settings, issuer: Issuer, token_endpoint: TokenEndpoint, team: Path, tmp_path: Path
) -> None:
    account = f"system:serviceaccount:{TEAM}:obo-reader"
    incoming = issuer.token(sub="olivia")
    exchanges = token_endpoint.exchanges
    server = obo_server(server_settings, tmp_path, issuer, token_endpoint, OBO_SECRET)
    try:
        async with bearer_client(server.mcp_url, incoming) as client:
            pods = await call_ok(client, "k8s_list_resources", {"kind": "pods", "namespace": TEAM})
            assert POD in json.dumps(pods["items"])
            denied = await call_error(client, "k8s_list_resources", {"kind": "secrets", "namespace": TEAM})
            assert denied.startswith("Forbidden:") and account in denied
            assert forbidden_for(await call_error(client, "helm_list", {"namespace": TEAM}), account)  # storage
            install = {"namespace": TEAM, "release_name": "olivias", "chart": str(team), "dry_run": "server"}
            assert forbidden_for(await call_error(client, "helm_install", install), account)  # helm CLI
        # every call of that token used one exchange: cached until shortly before the exchanged token expires
        assert token_endpoint.exchanges == exchanges + 1
    finally:
        stop_http_server(server)
    written = (tmp_path / "audit.jsonl").read_text() + server.log.read_text()
    assert '"identity": "obo"' in written
    for secret in (incoming, token_endpoint.tokens["olivia"], OBO_SECRET):
        assert secret not in written


async def test_a_refused_exchange_runs_nothing(
    server_settings: Settings, issuer: Issuer, token_endpoint: TokenEndpoint, kubectl: Any, tmp_path: Path
) -> None:
    incoming = issuer.token(sub="walter")

    def config_map(name: str) -> dict[str, str]:
        return {"manifest": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {TEAM}}}\n"}

    right = obo_server(server_settings, tmp_path / "right", issuer, token_endpoint, OBO_SECRET)
    try:
        async with bearer_client(right.mcp_url, incoming) as client:
            await call_ok(client, "k8s_create_resource", config_map("obo-made"))  # walter's account may create
    finally:
        stop_http_server(right)
    wrong = obo_server(server_settings, tmp_path / "wrong", issuer, token_endpoint, "wrong-client-secret-value")
    try:
        async with bearer_client(wrong.mcp_url, incoming) as client:
            message = await call_error(client, "k8s_create_resource", config_map("obo-never"))
    finally:
        stop_http_server(wrong)
    assert "refused the token exchange (HTTP 401: invalid_client)" in message, message
    assert token_endpoint.refusals[-1] == "invalid_client"
    assert "wrong-client-secret-value" not in message and incoming not in message
    names = kubectl("get", "configmaps", "-n", TEAM, "-o", "name").split()
    assert "configmap/obo-made" in names and "configmap/obo-never" not in names


async def test_exchanged_tokens_are_cached_until_shortly_before_they_expire(issuer: Issuer) -> None:
    now = [1000.0]
    tokens = {"olivia": "cluster-token-for-olivia"}
    with TokenEndpoint(issuer, OBO_CLIENT, OBO_SECRET, KUBE_AUDIENCE, tokens) as endpoint:
        exchanger = TokenExchanger(endpoint.url, OBO_CLIENT, OBO_SECRET, KUBE_AUDIENCE, clock=lambda: now[0])
        incoming = issuer.token(sub="olivia")
        first = await exchanger.exchange(incoming)
        assert (first.token, first.expires_at, endpoint.exchanges) == ("cluster-token-for-olivia", 1600.0, 1)
        now[0] = 1600.0 - 61  # the endpoint said expires_in 600: kept until its last minute
        assert (await exchanger.exchange(incoming)) is first and endpoint.exchanges == 1
        now[0] = 1600.0 - 59
        assert (await exchanger.exchange(incoming)).expires_at == 1541.0 + 600 and endpoint.exchanges == 2
        await exchanger.exchange(issuer.token(sub="olivia", jti="another"))  # another token: its own exchange
        assert endpoint.exchanges == 3

        refused = TokenExchanger(endpoint.url, OBO_CLIENT, "not-the-secret", KUBE_AUDIENCE)
        with pytest.raises(TokenExchangeFailed, match=r"HTTP 401: invalid_client") as failure:
            await refused.exchange(incoming)
        assert incoming not in str(failure.value) and "not-the-secret" not in str(failure.value)
        unknown = TokenExchanger(endpoint.url, OBO_CLIENT, OBO_SECRET, KUBE_AUDIENCE)
        with pytest.raises(TokenExchangeFailed, match=r"HTTP 400: invalid_target"):
            await unknown.exchange(issuer.token(sub="nobody"))
    with pytest.raises(TokenExchangeFailed, match=r"failed \(ConnectError\)"):
        await exchanger.exchange(issuer.token(sub="olivia", jti="after-shutdown"))


# --- passthrough: an apiserver that trusts the same OIDC issuer gets the caller's own token -----

PASSTHROUGH_RBAC = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {TEAM}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {RELEASES}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: carols, namespace: {TEAM}}}
---
{bound_role(TEAM, "cm-reader", rules("configmaps", "get", "list"), users=("carol",))}
---
{bound_role(RELEASES, "release-reader", rules("secrets", "get", "list"), groups=("release-readers",))}"""


@pytest.fixture(scope="module")
def trusting_plane(
    test_binaries: Any, helm_binaries: dict[str, Path], tmp_path_factory: Any
) -> Iterator[tuple[ControlPlane, Issuer, Path]]:
    """A control plane of its own whose apiserver trusts an https Issuer (CA made here): usernames
    are the token's sub, groups its groups claim."""
    directory = tmp_path_factory.mktemp("issuer-tls")
    ca = pki.create_ca(directory, common_name="issuer-test-ca")
    serving = pki.issue(ca, directory, "issuer", common_name="127.0.0.1", sans=["IP:127.0.0.1"], server=True)
    with Issuer(tls=(serving.cert, serving.key)) as issuer:
        plane = ControlPlane.start(
            None,
            test_binaries,
            apiserver_args=trusting_apiserver_args(issuer, ca.cert),
        )
        try:
            plane.kubectl("apply", "-f", "-", stdin=PASSTHROUGH_RBAC)
            chart = directory / "demo"
            run(helm_binaries["v4"], "create", str(chart))
            run(helm_binaries["v4"], "install", "rel", str(chart), "--namespace", RELEASES, kubeconfig=plane.kubeconfig)
            wait_until_trusted(plane, issuer.token(sub="probe"))
            yield plane, issuer, ca.cert
        finally:
            plane.stop()


@pytest.mark.parametrize("engine", ["cli", "sdk"])  # release reads by helm or the Helm SDK, with the token
async def test_passthrough_sends_the_callers_own_token(
    engine: str, trusting_plane: tuple[ControlPlane, Issuer, Path], helm_binaries: dict[str, Path], tmp_path: Path
) -> None:
    plane, issuer, ca = trusting_plane
    settings = Settings(
        result_format="structured",
        kubeconfig=str(plane.kubeconfig),  # an admin client certificate: it must not ride along
        helm_v3_binary=str(helm_binaries["v3"]),
        helm_v4_binary=str(helm_binaries["v4"]),
    )
    env = oidc_env(issuer, "passthrough", KUBEHELM_MCP_HELM_READ_ENGINE=engine, SSL_CERT_FILE=str(ca))
    server = start_http_server(settings, tmp_path, env=env)
    try:
        async with bearer_client(server.mcp_url, issuer.token(sub="carol", groups=["release-readers"])) as client:
            maps = await call_ok(client, "k8s_list_resources", {"kind": "configmaps", "namespace": TEAM})
            assert "carols" in json.dumps(maps["items"])
            # the apiserver names 'carol': it learnt her from the token itself, not from this server
            denied = await call_error(client, "k8s_list_resources", {"kind": "secrets", "namespace": TEAM})
            assert denied.startswith("Forbidden:") and 'User "carol" cannot list resource "secrets"' in denied
            listed = await call_ok(client, "helm_list", {"namespace": RELEASES})  # through the token's group
            assert [r["name"] for r in listed["items"]] == ["rel"]
            assert forbidden_for(await call_error(client, "helm_list", {"namespace": TEAM}), "carol")
        async with bearer_client(server.mcp_url, issuer.token(sub="dave")) as client:
            denied = await call_error(client, "k8s_list_resources", {"kind": "configmaps", "namespace": TEAM})
            assert 'User "dave" cannot list resource "configmaps"' in denied
            assert forbidden_for(await call_error(client, "helm_list", {"namespace": RELEASES}), "dave")
    finally:
        stop_http_server(server)
