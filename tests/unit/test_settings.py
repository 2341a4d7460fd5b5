from __future__ import annotations

import argparse

import pytest

from kubehelm_mcp.settings import SettingsError, add_settings_arguments, load_settings, settings_table


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults() -> None:
    s = load_settings(parse(), environ={})
    assert (s.transport, s.host, s.port, s.path) == ("stdio", "127.0.0.1", 8080, "/mcp")
    assert not s.read_only and not s.allow_destructive and not s.per_call_credentials
    assert s.toolsets == ("kubernetes", "helm")


def test_environment_then_flags_win() -> None:
    env = {"KUBEHELM_MCP_PORT": "9000", "KUBEHELM_MCP_READ_ONLY": "true", "KUBEHELM_MCP_TOOLSETS": "helm"}
    from_env = load_settings(parse(), environ=env)
    assert (from_env.port, from_env.read_only, from_env.toolsets) == (9000, True, ("helm",))
    flagged = load_settings(parse("--port", "9100", "--no-read-only", "--toolsets", "kubernetes,helm"), environ=env)
    assert (flagged.port, flagged.read_only, flagged.toolsets) == (9100, False, ("kubernetes", "helm"))


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
