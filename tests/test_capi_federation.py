"""Cluster API federation on three real control planes (tests/support/capi.py): the server
discovers workload clusters from a management cluster's Cluster objects (written as v1beta1 and
as v1beta2), reaches each through its kubeconfig Secret, asks many at once, isolates one that is
down or hung, follows a rotated Secret, keeps to --allowed/--denied-clusters, and over HTTP runs
each caller's calls as that caller on the workload cluster (impersonation), with RBAC deciding."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries

from kubehelm_mcp import create_client, create_server
from kubehelm_mcp.api import server_parts
from kubehelm_mcp.settings import Settings
from testcluster import pki
from tests.conftest import HttpServer, start_http_server, stop_http_server
from tests.support.capi import (
    CapiFleet,
    capi_secret,
    cluster_v1beta2,
    hang_workload,
    restrict_user,
    resume_workload,
    rotate_kubeconfig,
    secret_kubeconfig,
    start_workload,
    stop_workload,
)
from tests.support.http import get
from tests.support.mcp import bearer_client, call_error, call_ok, call_text
from tests.support.oidc import AUDIENCE, Issuer, trusting_apiserver_args, wait_until_trusted

pytest_plugins = ["tests.support.capi_fixtures"]
pytestmark = pytest.mark.anyio

ALPHA, BETA, OLD = "fleet-a/alpha", "fleet-b/beta", "fleet-a/alpha-old"
# A server process is configured through its environment (tests/conftest.server_env), as a user would.
FLEET_ENV = {
    "KUBEHELM_MCP_CLUSTER_PROVIDER": "capi",
    "KUBEHELM_MCP_CAPI_REFRESH": "0.5",
    "KUBEHELM_MCP_FLEET_TIMEOUT": "4",
}
FLEET_TIMEOUT = 4.0
IDENTITY_ANNOTATION = "kubehelm-mcp.io/cluster-identity"


@pytest.fixture(scope="module")
def fleet_settings(capi_fleet: CapiFleet, helm_binaries: dict[str, Path]) -> Settings:
    """A server that discovers with the management cluster's discovery ServiceAccount."""
    return Settings(
        result_format="structured",
        kubeconfig=str(capi_fleet.server_kubeconfig),
        cluster_provider="capi",
        capi_refresh=0.5,  # Secrets and Clusters are read again after half a second: rotation shows fast
        fleet_timeout=FLEET_TIMEOUT,
        helm_v3_binary=str(helm_binaries["v3"]),
        helm_v4_binary=str(helm_binaries["v4"]),
    )


@pytest.fixture
async def fleet_client(fleet_settings: Settings) -> AsyncIterator[Client]:
    async with create_client(settings=fleet_settings) as connected:
        yield connected


async def eventually(ask: Callable[[], Awaitable[str]], expected: str, seconds: float = 30) -> str:
    """What `ask` answers once it contains `expected` (the server re-reads Clusters and Secrets every 0.5 s)."""
    answer = ""
    for _ in range(int(seconds / 0.2)):
        answer = await ask()
        if expected in answer:
            return answer
        await anyio.sleep(0.2)
    raise AssertionError(f"never answered {expected!r}; last: {answer}")


def annotate(fleet: CapiFleet, cluster: str, value: str | None) -> None:
    namespace, name = cluster.split("/")
    change = f"{IDENTITY_ANNOTATION}={value}" if value else f"{IDENTITY_ANNOTATION}-"
    fleet.management.kubectl("annotate", "--overwrite", f"cluster.cluster.x-k8s.io/{name}", "-n", namespace, change)


def _rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["cluster"]: row for row in result["items"]}


async def test_clusters_are_listed_from_both_api_versions(fleet_client: Client) -> None:
    rows = _rows(await call_ok(fleet_client, "capi_list_clusters"))
    assert set(rows) == {ALPHA, BETA, OLD}
    alpha, beta, old = rows[ALPHA], rows[BETA], rows[OLD]
    # alpha carries a v1beta1 status, beta a v1beta2 one (initialization, metav1 conditions, replica counts)
    assert (alpha["phase"], alpha["version"], alpha["control_plane"], alpha["infrastructure"]) == (
        "Provisioned",
        "v1.31.4",
        "ready",
        "ready",
    )
    assert (beta["phase"], beta["version"], beta["control_plane"]) == ("Provisioned", "v1.33.1", "ready 1/1")
    assert (alpha["workers"], beta["workers"]) == ("4/5", "3/4")  # MachineDeployments, and beta's MachinePool
    assert "env=prod" in alpha["labels"] and "env=dev" in beta["labels"]
    assert old["phase"] == "Deleting"
    prod = _rows(await call_ok(fleet_client, "capi_list_clusters", {"label_selector": "env=prod,team=payments"}))
    assert set(prod) == {ALPHA}
    assert set(_rows(await call_ok(fleet_client, "capi_list_clusters", {"phase": "deleting"}))) == {OLD}
    assert set(_rows(await call_ok(fleet_client, "capi_list_clusters", {"namespace": "fleet-b"}))) == {BETA}
    details = await call_ok(fleet_client, "capi_get_cluster", {"name": "beta"})
    assert details["cluster"] == BETA and details["control_plane_machines"] == "1/1"
    assert {"type": "WorkersAvailable", "status": "True", "reason": "Available"} in details["conditions"]


async def test_a_cluster_is_named_by_namespace_name_or_a_unique_name(fleet_client: Client) -> None:
    async def identity(cluster: str) -> str:
        cm = {"kind": "ConfigMap", "name": "fleet-identity", "namespace": "default", "cluster": cluster}
        return str((await call_ok(fleet_client, "k8s_get_resource", cm))["object"]["data"]["cluster"])

    assert (await identity(ALPHA), await identity("alpha"), await identity(BETA)) == ("alpha", "alpha", "beta")
    unknown = await call_error(fleet_client, "k8s_list_resources", {"kind": "cm", "cluster": "alph"})
    assert "No cluster 'alph' is known" in unknown and f"{ALPHA}, {OLD}" in unknown
    partial = await call_ok(fleet_client, "capi_resolve_cluster", {"name": "alph"})
    assert (partial["exact"], partial["clusters"]) == (False, [ALPHA, OLD])
    exact = await call_ok(fleet_client, "capi_resolve_cluster", {"name": "beta"})
    assert (exact["exact"], exact["clusters"]) == (True, [BETA])


async def test_helm_reaches_the_named_workload_cluster(fleet_settings: Settings, tmp_path: Path) -> None:
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}'}\ndata: {k: v}\n"
    )
    install = {"release_name": "on-alpha", "chart": str(chart), "namespace": "shop", "cluster": "alpha"}
    async with create_client(settings=fleet_settings.replace(allow_destructive=True)) as fleet_client:
        assert (await call_ok(fleet_client, "helm_install", install))["status"] == "deployed"
        await _helm_lists(fleet_client)


async def _helm_lists(fleet_client: Client) -> None:
    on_alpha = await call_ok(fleet_client, "helm_list", {"namespace": "shop", "cluster": "alpha"})
    on_beta = await call_ok(fleet_client, "helm_list", {"namespace": "shop", "cluster": "beta"})
    assert [r["name"] for r in on_alpha["items"]] == ["on-alpha"] and on_beta["items"] == []
    fleet = await call_ok(fleet_client, "helm_list", {"namespace": "shop", "clusters": ["alpha", "beta"]})
    assert [(r["cluster"], r["name"]) for r in fleet["items"]] == [(ALPHA, "on-alpha")]
    assert fleet["columns"][0] == "cluster" and fleet["clusters"] == [ALPHA, BETA]


@pytest.fixture
async def text_client(fleet_settings: Settings) -> AsyncIterator[Client]:
    """The default result form: what an assistant reads."""
    async with create_client(settings=fleet_settings.replace(result_format="text")) as connected:
        yield connected


async def test_one_question_to_the_fleet_answers_in_one_table(fleet_client: Client, text_client: Client) -> None:
    """Which clusters run which image: one call, a CLUSTER column, alpha-old's failure beside the answers."""
    image = "spec.template.spec.containers[0].image"
    started = time.monotonic()
    text = await call_text(
        text_client,
        "k8s_list_resources",
        {"kind": "deploy", "namespace": "shop", "clusters": ["*"], "fields": [image]},
    )
    lines = text.splitlines()
    assert lines[0] == "2 of 3 cluster(s) answered."
    assert lines[1].split()[:2] == ["CLUSTER", "NAME"] and lines[1].split()[-1] == image.upper()
    assert any(line.startswith(ALPHA) and line.endswith("web:1.0") for line in lines)
    assert any(line.startswith(BETA) and line.endswith("web:2.0") for line in lines)
    assert any(line.startswith(f"{OLD}: ERROR Cannot reach the Kubernetes API server") for line in lines)
    assert time.monotonic() - started < FLEET_TIMEOUT  # a refused connection is no reason to wait
    selected = await call_ok(fleet_client, "k8s_list_resources", {"kind": "deploy", "cluster_selector": "env=dev"})
    assert selected["clusters"] == [BETA] and not selected.get("errors")
    health = await call_text(text_client, "k8s_get_cluster_health", {"clusters": ["fleet-?/*a"]})
    assert health.startswith("2 of 2 cluster(s) answered.") and f"== {ALPHA} ==" in health and f"== {BETA} ==" in health
    diagnosis = await call_text(
        text_client, "k8s_diagnose", {"kind": "deploy", "name": "web", "namespace": "shop", "cluster_selector": "env"}
    )
    assert diagnosis.startswith("2 of 3 cluster(s) answered.")
    assert diagnosis.index(f"== {ALPHA} ==") < diagnosis.index(f"== {BETA} ==") and "Deployment shop/web" in diagnosis


async def test_a_cluster_that_is_down_or_hung_fails_alone(capi_fleet: CapiFleet, fleet_client: Client) -> None:
    both = {"kind": "cm", "namespace": "default", "clusters": ["alpha", "beta"]}
    stop_workload(capi_fleet, "beta")
    try:
        for _ in range(4):  # refused, then the circuit opens: every answer is quick, alpha's always there
            started = time.monotonic()
            result = await call_ok(fleet_client, "k8s_list_resources", both)
            assert time.monotonic() - started < FLEET_TIMEOUT
            assert {r["cluster"] for r in result["items"]} == {ALPHA}
            assert [e["cluster"] for e in result["errors"]] == [BETA]
    finally:
        start_workload(capi_fleet, "beta")
    hang_workload(capi_fleet, "alpha")
    try:
        started = time.monotonic()
        result = await call_ok(fleet_client, "k8s_list_resources", both)
        waited = time.monotonic() - started
    finally:
        resume_workload(capi_fleet, "alpha")
    assert FLEET_TIMEOUT <= waited < FLEET_TIMEOUT + 5
    assert result["errors"] == [{"cluster": ALPHA, "error": f"no answer within {FLEET_TIMEOUT:g} seconds"}]


async def test_a_rotated_secret_replaces_the_clients_built_from_it(
    capi_fleet: CapiFleet, fleet_settings: Settings
) -> None:
    server = create_server(fleet_settings.replace(result_format="text"))
    async with create_client(server) as client:
        ask = {"verb": "get", "resource": "pods", "cluster": "alpha"}
        assert "as user 'kubernetes-admin'" in (await call_text(client, "k8s_can_i", ask))
        pool = server_parts(server).clients
        clients_before = len(pool)
        rotate_kubeconfig(capi_fleet, "alpha", user="rotated-admin", groups=("system:masters",))
        text = await eventually(lambda: call_text(client, "k8s_can_i", ask), "as user 'rotated-admin'")
        assert "yes" in text
        assert len(pool) == clients_before  # the old client was closed, not kept beside the new one


async def test_allowed_and_denied_clusters(fleet_settings: Settings) -> None:
    settings = fleet_settings.replace(denied_clusters=("fleet-b/*",))
    async with create_client(settings=settings) as client:
        denied = await call_error(client, "k8s_list_resources", {"kind": "cm", "cluster": "beta"})
        assert denied == f"Cluster '{BETA}' is outside what this server may reach (--allowed/--denied-clusters)."
        listed = await call_ok(client, "capi_list_clusters")
        assert BETA not in _rows(listed)
        fleet = await call_ok(client, "k8s_list_resources", {"kind": "ns", "clusters": ["*"]})
        assert BETA not in fleet["clusters"] and ALPHA in fleet["clusters"]
    async with create_client(settings=fleet_settings.replace(allowed_clusters=("fleet-a/alpha",))) as client:
        assert (await call_ok(client, "k8s_list_resources", {"kind": "ns", "clusters": ["*"]}))["clusters"] == [ALPHA]


async def test_read_only_still_serves_the_cluster_api_reads(fleet_settings: Settings) -> None:
    async with create_client(settings=fleet_settings.replace(read_only=True)) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert {"capi_list_clusters", "capi_get_cluster", "capi_resolve_cluster", "capi_cluster_health"} <= listed
        assert "helm_install" not in listed
        health = await call_ok(client, "capi_cluster_health", {"name": "alpha"})
        assert health["probes"][0]["ok"] and health["version"]
        gone = await call_ok(client, "capi_cluster_health", {"name": OLD})
        assert not gone["healthy"] and "Cannot reach the Kubernetes API server" in gone["unreachable"]


async def test_capi_tools_are_not_served_without_cluster_api() -> None:
    async with create_client(settings=Settings(cluster_provider="kubeconfig")) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert not {name for name in listed if name.startswith("capi_")}
        refused = await call_error(client, "capi_list_clusters")
        assert refused == "Tool 'capi_list_clusters' needs --cluster-provider capi."


# --- over HTTP, each caller is itself on the workload cluster -----------------------------------


@pytest.fixture(scope="module")
def issuer_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[pki.KeyPair, pki.KeyPair]:
    """The issuer serves https (an apiserver trusts no other): its CA, and its serving certificate."""
    directory = tmp_path_factory.mktemp("capi-issuer-tls")
    ca = pki.create_ca(directory, common_name="capi-issuer-ca")
    return ca, pki.issue(ca, directory, "issuer", common_name="127.0.0.1", sans=["IP:127.0.0.1"], server=True)


@pytest.fixture(scope="module")
def issuer(issuer_ca: tuple[pki.KeyPair, pki.KeyPair]) -> Iterator[Issuer]:
    serving = issuer_ca[1]
    with Issuer(tls=(serving.cert, serving.key)) as running:
        yield running


IMPERSONATOR = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: capi-discovery-impersonates}
rules: [{apiGroups: [""], resources: [users, groups], verbs: [impersonate]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: capi-discovery-impersonates}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: capi-discovery-impersonates}
subjects: [{kind: ServiceAccount, name: kubehelm-mcp, namespace: kubehelm-system}]
"""


@pytest.fixture(scope="module")
def callers(capi_fleet: CapiFleet) -> None:
    """On the management cluster: alice and carol may read fleet-a's Clusters, bob nothing; the
    discovery account may impersonate (capi_* tools read Clusters as the caller). On alpha: alice
    reads ConfigMaps in `shop`, carol nothing."""
    management = capi_fleet.management
    for user in ("alice", "carol"):
        restrict_user(
            management, user, "fleet-a", ["get", "list"], resources=("clusters",), api_groups=("cluster.x-k8s.io",)
        )
    management.kubectl("apply", "-f", "-", stdin=IMPERSONATOR)
    restrict_user(capi_fleet.alpha.plane, "alice", "shop", ["get", "list"])


@pytest.fixture(scope="module")
def impersonating(
    fleet_settings: Settings,
    issuer: Issuer,
    issuer_ca: tuple[pki.KeyPair, pki.KeyPair],
    callers: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[HttpServer]:
    workdir = tmp_path_factory.mktemp("capi-impersonate")
    env = {
        **FLEET_ENV,
        "KUBEHELM_MCP_OIDC_ISSUER": issuer.url,
        "KUBEHELM_MCP_OIDC_AUDIENCE": AUDIENCE,
        "KUBEHELM_MCP_CLUSTER_IDENTITY": "impersonate",
        "KUBEHELM_MCP_AUDIT_LOG": str(workdir / "audit.log"),
        "SSL_CERT_FILE": str(issuer_ca[0].cert),  # the server fetches the issuer's keys over https
    }
    server = start_http_server(fleet_settings, workdir, env=env)
    yield server
    stop_http_server(server)


async def test_each_caller_is_itself_on_the_workload_cluster(impersonating: HttpServer, issuer: Issuer) -> None:
    configmaps = {"kind": "cm", "namespace": "shop", "cluster": "alpha"}
    async with bearer_client(impersonating.mcp_url, issuer.token(sub="alice")) as alice:
        assert (await call_ok(alice, "k8s_list_resources", configmaps))["items"]
        elsewhere = await call_error(alice, "k8s_list_resources", {**configmaps, "namespace": "default"})
        assert "forbidden" in elsewhere.lower() and '"alice"' in elsewhere  # the apiserver names who it saw
        assert set(_rows(await call_ok(alice, "capi_list_clusters", {"namespace": "fleet-a"}))) == {ALPHA, OLD}
    async with bearer_client(impersonating.mcp_url, issuer.token(sub="carol")) as carol:
        refused = await call_error(carol, "k8s_list_resources", configmaps)
        assert "forbidden" in refused.lower() and '"carol"' in refused  # not alice's cached client
    async with bearer_client(impersonating.mcp_url, issuer.token(sub="alice")) as alice:
        assert (await call_ok(alice, "k8s_list_resources", configmaps))["items"]  # nor carol's
    async with bearer_client(impersonating.mcp_url, issuer.token(sub="bob")) as bob:
        hidden = await call_error(bob, "k8s_list_resources", configmaps)  # bob may not read the Cluster
        assert hidden.startswith(f"No cluster '{ALPHA}' is known.")
        assert "forbidden" in (await call_error(bob, "capi_list_clusters")).lower()


async def test_the_audit_log_and_metrics_name_the_cluster(impersonating: HttpServer, issuer: Issuer) -> None:
    async with bearer_client(impersonating.mcp_url, issuer.token(sub="alice")) as alice:
        await call_ok(alice, "k8s_list_resources", {"kind": "cm", "namespace": "shop", "cluster": "alpha"})
    audit = Path(impersonating.log).parent / "audit.log"
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    calls = [line for line in lines if line.get("tool") == "k8s_list_resources" and line.get("outcome") == "ok"]
    assert calls and calls[-1]["cluster"] == ALPHA and calls[-1]["identity"] == "impersonate"
    status, metrics = await anyio.to_thread.run_sync(get, f"{impersonating.base}/metrics")
    assert status == 200
    assert f'kubehelm_mcp_cluster_calls_total{{cluster="{ALPHA}",outcome="ok"}}' in metrics


async def test_a_cluster_asking_for_impersonation_refuses_an_anonymous_caller(
    capi_fleet: CapiFleet, fleet_settings: Settings, tmp_path: Path
) -> None:
    """A loopback HTTP server without auth runs calls as itself, but beta asks (by annotation) to be
    reached as the caller: a call without one is refused, never run as the Secret's admin."""
    annotate(capi_fleet, BETA, "impersonation")
    server = start_http_server(fleet_settings, tmp_path, env=FLEET_ENV)
    try:
        async with Client(streamable_http_client(server.mcp_url)) as anonymous:
            on_beta = {"kind": "cm", "cluster": "beta"}
            refused = await eventually(lambda: call_error(anonymous, "k8s_list_resources", on_beta), "no authenticated")
            assert "--cluster-identity impersonate" in refused
            assert (await call_ok(anonymous, "k8s_list_resources", {"kind": "cm", "cluster": "alpha"}))["items"]
    finally:
        stop_http_server(server)
        annotate(capi_fleet, BETA, None)


async def test_a_cluster_cannot_ask_for_its_admin_on_a_server_of_many_callers(
    capi_fleet: CapiFleet, impersonating: HttpServer, issuer: Issuer
) -> None:
    annotate(capi_fleet, ALPHA, "kubeconfig")
    try:
        async with bearer_client(impersonating.mcp_url, issuer.token(sub="alice")) as alice:
            on_alpha = {"kind": "cm", "cluster": "alpha", "namespace": "shop"}
            refused = await eventually(lambda: call_error(alice, "k8s_list_resources", on_alpha), "own credentials")
        assert refused.startswith(f"Cluster {ALPHA} asks to be reached with its kubeconfig's own credentials")
    finally:
        annotate(capi_fleet, ALPHA, None)


async def test_no_answer_carries_a_workload_clusters_credentials(capi_fleet: CapiFleet, text_client: Client) -> None:
    """The kubeconfig Secrets hold client keys: no capi_* answer, fleet answer or error shows them,
    and reading the Secret itself shows it redacted."""
    config = yaml.safe_load(secret_kubeconfig(capi_fleet, "beta"))
    key_data = config["users"][0]["user"]["client-key-data"]
    forms = (key_data, base64.b64decode(key_data).decode().splitlines()[1])
    calls: list[tuple[str, dict[str, Any]]] = [
        ("capi_list_clusters", {}),
        ("capi_get_cluster", {"name": "beta"}),
        ("capi_resolve_cluster", {"name": "bet"}),
        ("capi_cluster_health", {"name": "beta"}),
        ("k8s_get_cluster_health", {"clusters": ["*"]}),
        ("k8s_list_resources", {"kind": "secret", "namespace": "fleet-b", "output": "yaml"}),
        ("k8s_get_resource", {"kind": "secret", "namespace": "fleet-b", "name": capi_fleet.beta.secret_name}),
        ("k8s_list_resources", {"kind": "cm", "cluster": "nope"}),
    ]
    for name, arguments in calls:
        answer = (await text_client.call_tool(name, arguments)).model_dump_json()
        assert not [form for form in forms if form in answer], name


async def test_capi_tools_declare_the_clusters_they_read(fleet_settings: Settings) -> None:
    """--denied-kinds refuses the capi_* tools by the kind they read, before they read it."""
    async with create_client(settings=fleet_settings.replace(denied_kinds=("clusters.cluster.x-k8s.io",))) as client:
        for name in ("capi_list_clusters", "capi_get_cluster", "capi_resolve_cluster", "capi_cluster_health"):
            refused = await call_error(client, name, {} if name == "capi_list_clusters" else {"name": "alpha"})
            assert "Cluster" in refused and "--denied-kinds" in refused, (name, refused)


# --- a cluster reached with the caller's own SSO token (last: it adds a Cluster to the fleet) --------


@pytest.fixture(scope="module")
def sso_cluster(
    capi_fleet: CapiFleet, test_binaries: Binaries, issuer: Issuer, issuer_ca: tuple[pki.KeyPair, pki.KeyPair]
) -> Iterator[ControlPlane]:
    """fleet-b/gamma: an apiserver trusting the issuer, annotated sso-passthrough, with a CA Secret
    and no kubeconfig Secret at all, so nothing but the caller's token can reach it. carol may read
    its ConfigMaps in `default`, and gamma's Cluster object on the management cluster."""
    plane = ControlPlane.start(None, test_binaries, apiserver_args=trusting_apiserver_args(issuer, issuer_ca[0].cert))
    try:
        restrict_user(plane, "carol", "default", ["get", "list"], resources=("configmaps",))
        cluster = cluster_v1beta2("fleet-b", "gamma", int(plane.server.rsplit(":", 1)[1]), {"env": "sso"})
        cluster["metadata"]["annotations"] = {IDENTITY_ANNOTATION: "sso-passthrough"}
        ca = capi_secret("fleet-b", "gamma", "gamma-ca", {"tls.crt": plane.ca_file.read_bytes(), "tls.key": b"-"})
        objects = json.dumps({"apiVersion": "v1", "kind": "List", "items": [cluster, ca]})
        capi_fleet.management.kubectl("apply", "-f", "-", stdin=objects)
        clusters = ("clusters",)
        restrict_user(
            capi_fleet.management, "carol", "fleet-b", ["get"], resources=clusters, api_groups=("cluster.x-k8s.io",)
        )
        wait_until_trusted(plane, issuer.token(sub="probe"))
        yield plane
    finally:
        plane.stop()


async def test_an_sso_cluster_gets_the_callers_own_token(
    sso_cluster: ControlPlane, impersonating: HttpServer, issuer: Issuer
) -> None:
    on_gamma = {"kind": "cm", "namespace": "default", "cluster": "fleet-b/gamma"}
    async with bearer_client(impersonating.mcp_url, issuer.token(sub="carol")) as carol:
        assert (await call_ok(carol, "k8s_list_resources", on_gamma))["items"]  # kube-root-ca.crt at least
        denied = await call_error(carol, "k8s_list_resources", {**on_gamma, "kind": "secrets"})
        # gamma learnt "carol" from her token: the server holds no credentials for gamma to impersonate with
        assert 'User "carol" cannot list resource "secrets"' in denied


async def test_the_kubeconfigs_made_from_secrets_are_out_of_every_tools_reach(
    fleet_settings: Settings, tmp_path: Path
) -> None:
    """The Secret's kubeconfig the server writes for itself (client key inside) is one of its own
    credential files: a caller naming it as a values file is refused."""
    from kubehelm_mcp.kube.kubeconfig import private_directory

    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    async with create_client(settings=fleet_settings) as client:
        await call_ok(client, "k8s_list_resources", {"kind": "ns", "cluster": "alpha"})
        directory = private_directory()
        assert directory is not None
        made = sorted(directory.iterdir())
        assert made
        for path in made:
            template = {"release_name": "r", "chart": str(chart), "values_files": [str(path)]}
            refused = await call_error(client, "helm_template", template)
            assert "one of the server's own credential files" in refused, refused
