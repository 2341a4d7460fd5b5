from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pytest

from kubehelm_mcp import cli
from kubehelm_mcp.api import create_server
from kubehelm_mcp.settings import (
    AuthSettings,
    FileSettings,
    HelmSettings,
    HttpLimitSettings,
    HttpSettings,
    IdentitySettings,
    KubeSettings,
    OutputSettings,
    PolicySettings,
    ResilienceSettings,
    ServerSettings,
    Settings,
    SettingsError,
    TelemetrySettings,
    add_settings_arguments,
    check_settings,
    flag_name,
    load_settings,
    settings_fields,
    settings_table,
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults() -> None:
    s = load_settings(parse(), environ={})
    assert (s.server.transport, s.http.host, s.http.port, s.http.path) == ("stdio", "127.0.0.1", 8080, "/mcp")
    assert not s.policy.read_only and not s.policy.allow_destructive and not s.kube.per_call_credentials
    assert s.server.toolsets == ("kubernetes", "helm", "capi")


def test_environment_then_flags_win() -> None:
    env = {"KUBEHELM_MCP_PORT": "9000", "KUBEHELM_MCP_READ_ONLY": "true", "KUBEHELM_MCP_TOOLSETS": "helm"}
    from_env = load_settings(parse(), environ=env)
    assert (from_env.http.port, from_env.policy.read_only, from_env.server.toolsets) == (9000, True, ("helm",))
    flagged = load_settings(parse("--port", "9100", "--no-read-only", "--toolsets", "kubernetes,helm"), environ=env)
    assert (flagged.http.port, flagged.policy.read_only, flagged.server.toolsets) == (
        9100,
        False,
        ("kubernetes", "helm"),
    )


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ((), {"KUBEHELM_MCP_PORT": "eighty"}, "KUBEHELM_MCP_PORT must be a int"),
        (("--transport", "carrier-pigeon"), {}, "--transport must be one of stdio, http, sse"),
        (("--toolsets", "kubernetes,terraform"), {}, "Unknown toolset(s) terraform"),
        ((), {"KUBEHELM_MCP_READ_ONLY": "perhaps"}, "KUBEHELM_MCP_READ_ONLY must be a bool"),
        (("--path", "mcp"), {}, "--path must start with '/'"),
        ((), {"KUBEHELM_MCP_REQUEST_STATE_KEYS": "short"}, "each key must be at least 32 bytes"),
    ],
)
def test_bad_values_are_named(argv: tuple[str, ...], env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(parse(*argv), environ=env)
    assert message in str(caught.value)


def test_table_lists_every_flag_with_its_variable() -> None:
    table = settings_table()
    assert "`--read-only` | `KUBEHELM_MCP_READ_ONLY` | `False`" in table
    assert "`--port` | `KUBEHELM_MCP_PORT` | `8080`" in table


# Groups: built with flat names, read by group, each checking itself; one check for CLI and API.

GROUP_SIZES = {
    "server": 4,
    "http": 9,
    "http_limits": 11,
    "auth": 9,
    "identity": 10,
    "kube": 6,
    "clusters": 6,
    "policy": 14,
    "output": 3,
    "files": 3,
    "helm": 6,
    "resilience": 12,
    "telemetry": 4,
}


def test_every_setting_has_one_group() -> None:
    fields = settings_fields()
    assert len({f.name for f in fields}) == len(fields) == sum(GROUP_SIZES.values())
    sizes: dict[str, int] = {}
    for f in fields:
        sizes[f.metadata["group"]] = sizes.get(f.metadata["group"], 0) + 1
    assert sizes == GROUP_SIZES
    assert list(Settings.GROUPS) == list(GROUP_SIZES)


def test_flat_names_route_into_their_groups() -> None:
    s = Settings(kubeconfig="/k", port=9000, read_only=True, helm_v3_binary="/h3")
    assert (s.kube.kubeconfig, s.http.port, s.policy.read_only, s.helm.helm_v3_binary) == ("/k", 9000, True, "/h3")
    changed = s.replace(per_call_credentials=True, port=9001)
    assert (changed.kube.per_call_credentials, changed.http.port, changed.kube.kubeconfig) == (True, 9001, "/k")
    assert (s.kube.per_call_credentials, s.http.port) == (False, 9000)  # frozen: replace copies
    whole = Settings(http=HttpSettings(port=1), host="::1")  # a whole group, and a flat name on top
    assert (whole.http.port, whole.http.host) == (1, "::1")
    assert changed == s.replace(per_call_credentials=True).replace(port=9001)
    with pytest.raises(TypeError, match="unknown setting"):
        Settings(no_such_setting=1)
    with pytest.raises(TypeError, match="unknown setting"):
        s.replace(prot=1)


def test_secrets_stay_out_of_the_repr() -> None:
    s = Settings(auth_token="tok-s3cret", obo_client_secret="obo-s3cret", request_state_keys=("k" * 32,))
    assert not {"tok-s3cret", "obo-s3cret", "k" * 32} & set(repr(s).replace("'", " ").split())
    assert "s3cret" not in repr(s)


def test_server_group_checks_its_toolsets() -> None:
    assert ServerSettings().problems() == []
    assert ServerSettings(toolsets=("kubernetes", "terraform")).problems() == [
        "Unknown toolset(s) terraform; choose from kubernetes, helm, capi."
    ]


def test_http_group_checks_path_and_tls(tmp_path: Path) -> None:
    assert HttpSettings().problems("http") == []
    assert HttpSettings(path="mcp").problems("stdio") == ["--path must start with '/', got 'mcp'."]
    half = HttpSettings(tls_cert=str(tmp_path / "c.pem"))
    assert half.problems("stdio") == []  # stdio serves no TLS
    assert half.problems("http") == ["--tls-cert needs --tls-key: HTTPS takes a certificate and its private key."]


def test_http_limits_group_checks_its_bounds() -> None:
    assert HttpLimitSettings().problems() == []
    found = HttpLimitSettings(max_body_bytes=10, read_timeout=0, max_sse_streams=0, shutdown_grace=-1).problems()
    assert found == [
        "--max-body-bytes must be at least 1024.",
        "--read-timeout must be more than 0.",
        "--max-sse-streams must be at least 1.",
        "--shutdown-grace must be 0 or more.",
    ]


def test_auth_group_refuses_an_open_remote_endpoint() -> None:
    assert AuthSettings().problems("stdio", "0.0.0.0") == []  # noqa: S104 (only a settings value)
    assert AuthSettings().problems("http", "127.0.0.1") == []
    assert "--allow-unauthenticated" in AuthSettings().problems("sse", "10.0.0.5")[0]
    assert AuthSettings(auth_token="t").problems("http", "10.0.0.5") == []
    assert "--oidc-audience" in AuthSettings(oidc_issuer="https://idp.example").problems("http", "127.0.0.1")[0]


def test_identity_group_needs_oidc_and_an_exchange() -> None:
    assert IdentitySettings(cluster_identity="obo").problems("stdio", None) == []
    assert "needs --oidc-issuer" in IdentitySettings(cluster_identity="impersonate").problems("http", None)[0]
    assert IdentitySettings(cluster_identity="obo").problems("http", "https://idp.example") == [
        "--cluster-identity obo needs --obo-token-url, --obo-client-id, --obo-client-secret."
    ]


def test_groups_without_rules_accept_their_defaults() -> None:
    assert KubeSettings().problems() == [] and HelmSettings().problems() == []


def test_policy_group_checks_keys_and_confirm_rules() -> None:
    assert PolicySettings().problems() == []
    found = PolicySettings(request_state_keys=("short",), confirm=("delete:Deployment",)).problems()
    assert len(found) == 2
    assert "each key must be at least 32 bytes" in found[0]
    assert found[1] == "--confirm rule 'delete:Deployment' must be a tool name or glob, or verb:kind:namespace."


def test_output_and_files_groups_check_their_budgets() -> None:
    assert OutputSettings().problems() == [] and FileSettings().problems() == []
    assert OutputSettings(max_response_bytes=10).problems() == ["--max-response-bytes must be at least 1024."]
    assert FileSettings(max_file_bytes=10).problems() == ["--max-file-bytes must be at least 1024."]


def test_resilience_group_checks_its_bounds_and_times() -> None:
    assert ResilienceSettings().problems() == []
    found = ResilienceSettings(retry_attempts=0, chart_timeout=0, read_cache_ttl=-1).problems()
    assert found == [
        "--retry-attempts must be at least 1.",
        "--chart-timeout must be more than 0.",
        "--read-cache-ttl must be 0 (off) or more.",
    ]
    assert ResilienceSettings(repo_timeout=7).timeout_for("repo") == 7


def test_telemetry_group_checks_the_audit_log(tmp_path: Path) -> None:
    assert TelemetrySettings(audit_log="-").problems() == []
    assert TelemetrySettings(audit_log=str(tmp_path / "audit.jsonl")).problems() == []
    found = TelemetrySettings(audit_log=str(tmp_path / "missing-dir" / "a.log")).problems()
    assert len(found) == 1 and found[0].startswith("--audit-log ") and "cannot be opened" in found[0]


def _cli_refusal(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    for name in [n for n in os.environ if n.startswith("KUBEHELM_MCP_")]:
        monkeypatch.delenv(name)
    assert cli.main(["serve", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kubehelm-mcp: ")
    return err.removeprefix("kubehelm-mcp: ")


@pytest.mark.parametrize(
    ("argv", "overrides", "message"),
    [
        (
            ["--transport", "http", "--host", "0.0.0.0"],  # noqa: S104 (only a settings value)
            {"transport": "http", "host": "0.0.0.0"},  # noqa: S104
            "Refusing to serve MCP without authentication on non-loopback host 0.0.0.0",
        ),
        (
            ["--transport", "sse", "--cluster-identity", "impersonate"],
            {"transport": "sse", "cluster_identity": "impersonate"},
            "--cluster-identity impersonate needs --oidc-issuer",
        ),
        (
            ["--confirm", "delete:Deployment"],
            {"confirm": ("delete:Deployment",)},
            "--confirm rule 'delete:Deployment' must be",
        ),
    ],
)
def test_create_server_refuses_what_the_cli_refuses(
    argv: list[str],
    overrides: dict[str, Any],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = _cli_refusal(argv, capsys, monkeypatch)
    assert message in said
    with pytest.raises(SettingsError) as refused:
        create_server(**overrides)
    assert str(refused.value) == said
    with pytest.raises(SettingsError) as again:
        create_server(Settings(**overrides))
    assert str(again.value) == said == check_settings_message(Settings(**overrides))


def check_settings_message(settings: Settings) -> str:
    with pytest.raises(SettingsError) as refused:
        check_settings(settings)
    return str(refused.value)


def test_check_settings_passes_a_usable_configuration() -> None:
    remote = Settings(transport="http", host="0.0.0.0", auth_token="t" * 32)  # noqa: S104
    assert check_settings(remote) is remote and remote.problems() == []


@pytest.mark.parametrize("command", ["serve", "gateway"])
def test_help_lists_every_setting(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from kubehelm_mcp.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert all(flag_name(f) in shown for f in settings_fields())
    assert "90%" in shown  # help texts are shown as written, percent signs included
