"""The pure parts of --cluster-identity: claims to names, the per-mode target, cluster-only
kubeconfigs, helm's impersonation flags and SDK options, config checks, the audit log."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from kubehelm_mcp.audit import AuditLog
from kubehelm_mcp.caller import Caller, Principal
from kubehelm_mcp.errors import PolicyDenied
from kubehelm_mcp.helm.args import impersonation_flags
from kubehelm_mcp.helm.models import HelmTarget
from kubehelm_mcp.helm.sdk import config_options
from kubehelm_mcp.identity.exchange import ExchangedToken
from kubehelm_mcp.identity.impersonation import impersonated
from kubehelm_mcp.kube.cluster_only import cluster_only_kubeconfig, cluster_only_kubeconfig_file
from kubehelm_mcp.kube.target import ClusterTarget
from kubehelm_mcp.pipeline.identity import CallerIdentity, identity_secrets
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.tooling import ClusterCredentials, ToolInput
from kubehelm_mcp.web.oidc import JwksCache, OidcValidator
from tests.support.oidc import public_jwk, rsa_key

pytestmark = pytest.mark.anyio

TOKEN = "eyJhbGciOiJSUzI1NiJ9.incoming-token.signature"
ALICE = Principal("alice-sub", "app", scopes=("mcp",), groups=("readers", "ops"), username="alice", token=TOKEN)
HTTP = Settings(transport="http", oidc_issuer="https://issuer.test", oidc_audience="aud")
BASE = ClusterTarget(kubeconfig="/k/config", context="prod")


def test_the_principal_never_shows_or_compares_its_token() -> None:
    assert TOKEN not in repr(ALICE) and TOKEN not in repr(Caller(ALICE, "127.0.0.1:1"))
    assert Principal("alice-sub", "app", ("mcp",), groups=("readers", "ops"), username="alice", token="x") == ALICE


def test_impersonated_names_are_prefixed_deduplicated_and_never_kubernetes_own() -> None:
    settings = Settings(impersonation_prefix="oidc:", impersonation_groups_prefix="oidc-group:")
    doubled = Principal("s", "c", groups=("a", "b", "a"), username="alice")
    assert impersonated(doubled, settings.identity) == ("oidc:alice", ("oidc-group:a", "oidc-group:b"))
    for principal in (
        Principal("s", "c", username="system:admin"),
        Principal("s", "c", groups=("readers", "system:masters"), username="alice"),
    ):
        with pytest.raises(PolicyDenied, match="reserved by Kubernetes"):
            impersonated(principal, Settings().identity)
    # behind a prefix the same claim is harmless
    assert impersonated(Principal("s", "c", groups=("system:masters",), username="a"), settings.identity)[1] == (
        "oidc-group:system:masters",
    )
    with pytest.raises(PolicyDenied, match="'email' claim"):
        impersonated(Principal("s", "c"), Settings(impersonation_user_claim="email").identity)
    with pytest.raises(PolicyDenied, match="not printable"):
        impersonated(Principal("s", "c", username="alice\r\nImpersonate-Group: system:masters"), Settings().identity)


class Exchanger:
    """Stands in for the identity provider's token endpoint (tests/test_identity.py uses a real one)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def exchange(
        self, subject_token: str, subject_expires_at: float | None = None, audience: str | None = None
    ) -> ExchangedToken:
        self.seen.append(subject_token)
        return ExchangedToken("exchanged-token", 4000.0)


def identity(**changes: Any) -> tuple[CallerIdentity, Exchanger]:
    exchanger = Exchanger()
    return CallerIdentity(HTTP.replace(**changes), exchanger), exchanger


async def test_each_mode_gives_its_target_and_only_passthrough_forwards_the_incoming_token() -> None:
    caller = Caller(ALICE, "127.0.0.1:5")
    args = ToolInput()
    server, _ = identity()
    assert await server.resolve(BASE, caller, args) == BASE

    impersonating, _ = identity(cluster_identity="impersonate")
    target = await impersonating.resolve(BASE, caller, args)
    assert (target.impersonate_user, target.impersonate_groups) == ("alice", ("readers", "ops"))
    assert target.token is None and target.user_credentials

    passing, _ = identity(cluster_identity="passthrough")
    target = await passing.resolve(BASE, Caller(dataclasses.replace(ALICE, expires_at=123.0)), args)
    assert (target.token, target.user_credentials, target.expires_at) == (TOKEN, False, 123.0)
    assert (target.kubeconfig, target.context, target.impersonate_user) == ("/k/config", "prod", None)

    obo, exchanger = identity(cluster_identity="obo")
    target = await obo.resolve(BASE, caller, args)
    assert (target.token, target.user_credentials, target.expires_at) == ("exchanged-token", False, 4000.0)
    assert exchanger.seen == [TOKEN]
    assert identity_secrets(caller, target) == (TOKEN, "exchanged-token")


async def test_stdio_is_always_the_server_and_http_without_a_caller_is_refused() -> None:
    for mode in ("impersonate", "obo", "passthrough"):
        stdio, _ = identity(cluster_identity=mode, transport="stdio")
        assert stdio.mode_for(Caller()) == "server"
        assert await stdio.resolve(BASE, Caller(), ToolInput()) == BASE
        http, exchanger = identity(cluster_identity=mode)
        with pytest.raises(PolicyDenied, match="no authenticated caller"):
            await http.resolve(BASE, Caller(remote="127.0.0.1:9"), ToolInput())
        with pytest.raises(PolicyDenied, match="Per-call cluster credentials"):
            await http.resolve(BASE, Caller(ALICE), ClusterCredentials(kube_token="mine"))
        assert exchanger.seen == []
    for mode in ("obo", "passthrough"):  # a static-token principal has no OIDC token to send
        http, _ = identity(cluster_identity=mode)
        with pytest.raises(PolicyDenied, match="access token"):
            await http.resolve(BASE, Caller(Principal("static-token", "static-token")), ToolInput())


def test_the_identity_is_part_of_the_pool_key_but_not_the_tokens_expiry() -> None:
    alice = ClusterTarget(context="c", impersonate_user="alice", impersonate_groups=("a", "b"))
    keys = {
        t.pool_key
        for t in (
            ClusterTarget(context="c"),
            alice,
            ClusterTarget(context="c", impersonate_user="alice", impersonate_groups=("a",)),
            ClusterTarget(context="c", token="t", user_credentials=False),
            ClusterTarget(context="c", token="t"),
        )
    }
    assert len(keys) == 5
    assert ClusterTarget(token="t", expires_at=1.0).pool_key == ClusterTarget(token="t", expires_at=2.0).pool_key
    assert alice.impersonation_headers() == [
        ("Impersonate-User", "alice"),
        ("Impersonate-Group", "a"),
        ("Impersonate-Group", "b"),
    ]
    assert ClusterTarget().impersonation_headers() == [] and "secret" not in repr(ClusterTarget(token="secret"))


def test_helm_gets_the_impersonation_as_flags_and_sdk_options() -> None:
    target = ClusterTarget(kubeconfig="/k", context="c", impersonate_user="alice", impersonate_groups=("a,b", "c"))
    assert impersonation_flags(target) == ["--kube-as-user=alice", "--kube-as-group=a,b", "--kube-as-group=c"]
    assert impersonation_flags(ClusterTarget()) == []
    options = config_options(HelmTarget(cluster=target, namespace="ns"))
    assert (options["kube_as_user"], options["kube_as_groups"]) == ("alice", ["a,b", "c"])
    assert "kube_as_user" not in config_options(HelmTarget(cluster=ClusterTarget(), namespace="ns"))


def write_kubeconfig(directory: Path) -> Path:
    (directory / "certs").mkdir()
    (directory / "certs" / "ca.crt").write_text("CA")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "prod",
        "clusters": [
            {
                "name": "prod-cluster",
                "cluster": {"server": "https://prod:6443", "certificate-authority": "certs/ca.crt"},
            }
        ],
        "users": [{"name": "admin", "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod-cluster", "user": "admin", "namespace": "team"}}],
    }
    path = directory / "config"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_cluster_only_kubeconfig_keeps_the_cluster_and_drops_the_user(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path)
    target = ClusterTarget(kubeconfig=str(path), token="caller-token", user_credentials=False)
    config = cluster_only_kubeconfig(target)
    assert config["users"] == [{"name": "caller", "user": {}}]
    assert config["clusters"][0]["cluster"] == {
        "server": "https://prod:6443",
        "certificate-authority": str(tmp_path / "certs" / "ca.crt"),  # relative to the kubeconfig's directory
    }
    assert config["current-context"] == "prod" and config["contexts"][0]["context"]["namespace"] == "team"
    override = cluster_only_kubeconfig(ClusterTarget(kubeconfig=str(path), apiserver="https://other:443"))
    assert override["clusters"][0]["cluster"]["server"] == "https://other:443"

    written, context = cluster_only_kubeconfig_file(target)
    assert context == "prod" and stat.S_IMODE(os.stat(written).st_mode) == 0o600
    text = Path(written).read_text()
    assert "caller-token" not in text and "Q0VSVA==" not in text and json.loads(text) == config
    assert cluster_only_kubeconfig_file(target)[0] == written  # one file per distinct content


def test_an_in_cluster_cluster_only_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cluster = cluster_only_kubeconfig(ClusterTarget(in_cluster=True))["clusters"][0]["cluster"]
    assert cluster == {
        "server": "https://10.0.0.1:443",
        "certificate-authority": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    }


def identity_config_problem(settings: Settings) -> str | None:
    """The identity group's own check, given the transport and issuer as check_settings gives them."""
    return next(iter(settings.identity.problems(settings.server.transport, settings.auth.oidc_issuer)), None)


def audit_problem(settings: Settings) -> str | None:
    """The telemetry group's own check (the audit log can be opened)."""
    return next(iter(settings.telemetry.problems()), None)


def test_identity_settings_are_checked_before_serving() -> None:
    assert identity_config_problem(Settings(cluster_identity="impersonate")) is None  # stdio: always server
    assert "needs --oidc-issuer" in str(identity_config_problem(Settings(transport="http", cluster_identity="obo")))
    assert identity_config_problem(HTTP.replace(cluster_identity="passthrough")) is None
    missing = identity_config_problem(HTTP.replace(cluster_identity="obo", obo_client_id="id"))
    assert missing == "--cluster-identity obo needs --obo-token-url, --obo-client-secret."
    obo = HTTP.replace(cluster_identity="obo", obo_client_id="id", obo_client_secret="s3cret")
    assert "https" in str(identity_config_problem(obo.replace(obo_token_url="http://idp.example/token")))
    assert identity_config_problem(obo.replace(obo_token_url="http://127.0.0.1:8/token")) is None
    assert identity_config_problem(obo.replace(obo_token_url="https://idp.example/token")) is None
    assert "s3cret" not in repr(obo)


async def test_the_oidc_validator_fills_the_cluster_name_and_groups() -> None:
    key = rsa_key()

    async def fetch(url: str) -> dict[str, Any]:
        return {"jwks_uri": "https://issuer.test/jwks"} if "openid" in url else {"keys": [public_jwk("k", key)]}

    def token(**claims: Any) -> str:
        body = {"iss": "https://issuer.test", "aud": "aud", "sub": "id-7", "exp": int(time.time()) + 60, **claims}
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k"})

    jwks = JwksCache("https://issuer.test", None, fetch=fetch)
    by_sub = OidcValidator("https://issuer.test", "aud", jwks, keep_token=True)
    raw = token(groups=["a", "b", 3])
    principal = await by_sub.validate(raw)
    assert (principal.username, principal.groups, principal.token) == ("id-7", ("a", "b"), raw)
    assert (await OidcValidator("https://issuer.test", "aud", jwks).validate(raw)).token is None  # not kept
    by_email = OidcValidator("https://issuer.test", "aud", jwks, user_claim="email", groups_claim="roles")
    verified = await by_email.validate(token(email="a@x.test", email_verified=True, roles="one group"))
    assert (verified.username, verified.groups) == ("a@x.test", ("one group",))
    assert (await by_email.validate(token(email="a@x.test", email_verified=False))).username is None
    assert (await by_email.validate(token())).username is None


def test_the_audit_log_writes_chosen_fields_to_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog.open(Settings(audit_log=str(path), kubeconfig=str(write_kubeconfig(tmp_path))))
    audit.auth(ALICE, "ok", "10.0.0.9:5")
    audit.call(Caller(ALICE, "10.0.0.9:5"), "k8s_get_resource", {"kube_token": "x" * 40}, None, "ok", 0.0123, "obo")
    audit.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    auth, call = (json.loads(line) for line in path.read_text().splitlines())
    assert (auth["event"], auth["subject"], auth["scopes"], auth["remote"]) == (
        "auth",
        "alice-sub",
        ["mcp"],
        "10.0.0.9:5",
    )
    assert (call["tool"], call["cluster"], call["namespace"], call["duration_ms"], call["identity"]) == (
        "k8s_get_resource",
        "prod",
        "team",
        12.3,
        "obo",
    )
    assert TOKEN not in path.read_text() and "x" * 40 not in path.read_text()
    assert not AuditLog(Settings()).enabled
    assert audit_problem(Settings(audit_log=str(tmp_path / "missing-dir" / "a.log"))) is not None
    assert audit_problem(Settings(audit_log="-")) is None
