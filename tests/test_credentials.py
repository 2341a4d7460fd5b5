"""Per-call credentials: absent from tools/list unless enabled; when enabled, a call can target
the apiserver with a ServiceAccount token, RBAC denials read clearly and the token never leaks."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.mcp import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio

CREDENTIAL_INPUTS = {"kube_apiserver", "kube_token", "kube_tls_server_name", "kube_insecure_tls"}

ACCOUNTS = """apiVersion: v1
kind: ServiceAccount
metadata: {name: viewer, namespace: default}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: nobody, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: khm-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: viewer, namespace: default}]
"""


@pytest.fixture(scope="session")
def tokens(kube_cluster: Any, kubectl: Any) -> dict[str, str]:
    kubectl("apply", "-f", "-", stdin=ACCOUNTS)
    return {name: kube_cluster.service_account_token("default", name) for name in ("viewer", "nobody")}


async def test_credential_inputs_only_when_enabled(server_settings: Settings) -> None:
    async with create_client(settings=server_settings) as plain:
        plain_tools = (await plain.list_tools()).tools
    async with create_client(settings=server_settings.replace(per_call_credentials=True)) as extended:
        extended_tools = (await extended.list_tools()).tools
    async with create_client(settings=server_settings.replace(per_call_kubeconfig=True)) as with_kubeconfig:
        kubeconfig_tools = (await with_kubeconfig.list_tools()).tools
    for tool in plain_tools:
        assert not {"kubeconfig", *CREDENTIAL_INPUTS} & set(tool.input_schema["properties"]), tool.name
    for tool in extended_tools:  # a kubeconfig path input needs its own opt-in
        assert set(tool.input_schema["properties"]) >= CREDENTIAL_INPUTS, tool.name
        assert "kubeconfig" not in tool.input_schema["properties"], tool.name
    for tool in kubeconfig_tools:
        assert "kubeconfig" in tool.input_schema["properties"], tool.name
    plain_size = len(json.dumps([t.input_schema for t in plain_tools]))
    extended_size = len(json.dumps([t.input_schema for t in extended_tools]))
    assert plain_size < extended_size


async def test_service_account_token_per_call(
    server_settings: Settings, kube_cluster: Any, tokens: dict[str, str], sample_objects: str
) -> None:
    async with create_client(settings=server_settings.replace(per_call_credentials=True)) as client:
        as_viewer = {"kube_apiserver": kube_cluster.server, "kube_token": tokens["viewer"], "kube_insecure_tls": True}
        listed = await call_ok(
            client, "k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects, **as_viewer}
        )
        assert len(listed["items"]) >= 30

        denied_secret = await call_error(
            client,
            "k8s_get_resource",
            {"kind": "secret", "name": "db-credentials", "namespace": sample_objects, **as_viewer},
        )
        assert denied_secret.startswith("Forbidden:") and "system:serviceaccount:default:viewer" in denied_secret

        as_nobody = {**as_viewer, "kube_token": tokens["nobody"]}
        denied = await call_error(client, "k8s_list_resources", {"kind": "pods", **as_nobody})
        assert "Forbidden" in denied and 'cannot list resource "pods"' in denied

        untrusted = await call_error(
            client,
            "k8s_list_resources",
            {"kind": "pods", "kube_apiserver": kube_cluster.server, "kube_token": tokens["viewer"]},
        )
        assert "TLS verification" in untrusted

        wrong = await call_error(
            client, "k8s_list_resources", {"kind": "pods", **as_viewer, "kube_token": "not-a-real-token-value"}
        )
        assert "401" in wrong and "not-a-real-token-value" not in wrong

        for result_text in (denied_secret, denied, untrusted, wrong, json.dumps(listed)):
            assert tokens["viewer"] not in result_text and tokens["nobody"] not in result_text

        # Helm reads run as the caller too: the view role may not read release Secrets
        for engine_major in ("v4", "v3"):
            helm_denied = await call_error(
                client, "helm_list", {"namespace": "default", "helm_version": engine_major, **as_viewer}
            )
            assert "Forbidden" in helm_denied and "secrets" in helm_denied

        # the server's own kubeconfig identity is untouched by per-call credentials
        admin = await client.call_tool(
            "k8s_get_resource", {"kind": "secret", "name": "db-credentials", "namespace": sample_objects}
        )
        assert not admin.is_error, text_of(admin)


async def test_helm_cli_engine_runs_as_the_caller(
    server_settings: Settings, kube_cluster: Any, tokens: dict[str, str], helm_releases: Any
) -> None:
    settings = server_settings.replace(per_call_credentials=True, helm_read_engine="cli")
    async with create_client(settings=settings) as client:
        as_viewer = {"kube_apiserver": kube_cluster.server, "kube_token": tokens["viewer"], "kube_insecure_tls": True}
        denied = await call_error(client, "helm_list", {"namespace": "khm-helm", **as_viewer})
        assert "forbidden" in denied.lower() and tokens["viewer"] not in denied
        own = await call_ok(client, "helm_list", {"namespace": "khm-helm"})
        assert {r["name"] for r in own["items"]} >= {"alpha", "bravo"}


def plugin_kubeconfig(real: Path, user: dict[str, Any]) -> str:
    """The test cluster's kubeconfig with its user replaced by `user` (a credential plugin)."""
    config = yaml.safe_load(real.read_text())
    for entry in config["users"]:
        entry["user"] = user
    return yaml.safe_dump(config)


async def test_a_per_call_kubeconfig_never_runs_anything(
    server_settings: Settings, kubeconfig: Path, tmp_path: Path, sample_objects: str
) -> None:
    marker = tmp_path / "plugin-ran"
    command = tmp_path / "plugin.sh"
    command.write_text(f"#!/bin/sh\ntouch {marker}\n")
    command.chmod(0o755)
    exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(command)}}
    provider_user = {"auth-provider": {"name": "gcp", "config": {"cmd-path": str(command)}}}
    hostile: dict[str, Path] = {}
    for name, user in (("exec", exec_user), ("auth-provider", provider_user)):
        hostile[name] = tmp_path / f"{name}.yaml"
        hostile[name].write_text(plugin_kubeconfig(kubeconfig, user))
    clean = tmp_path / "clean.yaml"  # a copy (another file) of the server's own: an ordinary caller's kubeconfig
    clean.write_text(kubeconfig.read_text())

    async with create_client(settings=server_settings.replace(per_call_credentials=True)) as no_opt_in:
        message = await call_error(no_opt_in, "k8s_list_resources", {"kind": "pods", "kubeconfig": str(clean)})
        assert "'kubeconfig' is not an argument" in message, message

    for engine in ("storage", "cli"):
        settings = server_settings.replace(per_call_kubeconfig=True, helm_read_engine=engine)
        async with create_client(settings=settings) as client:
            for plugin, path in hostile.items():
                calls = [("k8s_list_resources", {"kind": "configmaps", "namespace": sample_objects})]
                calls += [("helm_list", {"namespace": "default", "helm_version": major}) for major in ("v3", "v4")]
                for tool, arguments in calls:
                    message = await call_error(client, tool, {**arguments, "kubeconfig": str(path)})
                    assert f"uses an {plugin} credential plugin" in message, message
            own = await call_error(client, "k8s_list_resources", {"kind": "pods", "kubeconfig": str(kubeconfig)})
            assert "server's own credential files" in own, own
            as_caller = {"namespace": sample_objects, "kubeconfig": str(clean)}
            listed = await call_ok(client, "k8s_list_resources", {"kind": "configmaps", **as_caller})
            assert len(listed["items"]) >= 30
            await call_ok(client, "helm_list", {"namespace": "default", "kubeconfig": str(clean)})
    assert not marker.exists(), "a per-call kubeconfig ran a command on the server"


async def test_a_caller_chosen_apiserver_never_gets_the_servers_credentials(server_settings: Settings) -> None:
    """kube_apiserver without kube_token would have sent the server's kubeconfig client certificate
    to that address: the call is refused before any connection, and the listener sees nothing."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    address = f"https://127.0.0.1:{listener.getsockname()[1]}"
    try:
        async with create_client(settings=server_settings.replace(per_call_credentials=True)) as client:
            for tool, args in (("k8s_list_resources", {"kind": "pods"}), ("helm_list", {})):
                message = await call_error(client, tool, {**args, "kube_apiserver": address})
                assert "kube_apiserver needs kube_token" in message, message
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody came
    finally:
        listener.close()
