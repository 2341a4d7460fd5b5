"""Pure helpers behind the Helm tools: durations, version constraints, value sources and
redaction, manifest splitting, and helm's error lines."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kubehelm_mcp.errors import InvalidInput, NotFound, ToolError
from kubehelm_mcp.helm.args import (
    ArgList,
    check_version_constraint,
    duration_seconds,
    require_v4,
    rollback_on_failure_flag,
)
from kubehelm_mcp.helm.cli import helm_error, parse_json_output
from kubehelm_mcp.helm.manifests import hooks_text, render_documents, split_manifest
from kubehelm_mcp.helm.values import ValueSources, coalesce_values, redact_values, values_args


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m0s", 300), ("1h30m", 5400), ("1.5s", 1.5)])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "soon", "5 m", "-1s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a duration"):
        duration_seconds(text)


@pytest.mark.parametrize(
    "constraint",
    [
        "1.2.3",
        "v1.2.3",
        "^1.2",
        "~1.2.0",
        ">=1.0 <2.0",
        ">=1.0, <2.0",
        "1.x",
        "*",
        "1.2 - 1.4",
        "1.0.0-rc.1",
        ">1 || <0.5",
        "~> 2.1",
    ],
)
def test_version_constraints(constraint: str) -> None:
    assert check_version_constraint(constraint) == constraint


@pytest.mark.parametrize("constraint", ["not a version!", ">=1.0 <<2", "1..2", "latest", ""])
def test_bad_version_constraints(constraint: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid version constraint"):
        check_version_constraint(constraint)


def test_major_specific_flags() -> None:
    assert rollback_on_failure_flag("v3") == "--atomic"
    assert rollback_on_failure_flag("v4") == "--rollback-on-failure"
    require_v4("v4", ["server_side_apply"])
    require_v4("v3", ["take_ownership"])
    with pytest.raises(InvalidInput, match=r"force_conflicts .* only in Helm v4"):
        require_v4("v3", ["force_conflicts"])


def test_arg_list() -> None:
    args = ArgList(["install"]).flag("--wait", True).flag("--atomic", False).opt("--timeout", "5m").opt("--x", None)
    assert args.each("--set", ["a=1", "b=2"]) == [
        "install",
        "--wait",
        "--timeout",
        "5m",
        "--set",
        "a=1",
        "--set",
        "b=2",
    ]


def test_inline_values_travel_in_a_private_temp_file(tmp_path: Path) -> None:
    values_file = tmp_path / "v.yaml"
    values_file.write_text("a: 1\n")
    sources = ValueSources({"secret": "x"}, [str(values_file)], ["a=2"], ["b=c"], ["d=" + str(values_file)])
    with values_args(sources) as args:
        temp = args[3]
        assert args[:4] == ["--values", str(values_file), "--values", temp]
        assert args[4:] == ["--set", "a=2", "--set-string", "b=c", "--set-file", f"d={values_file}"]
        assert stat.S_IMODE(os.stat(temp).st_mode) == 0o600
        assert Path(temp).read_text() == "secret: x\n"
    assert not Path(temp).exists()


def test_values_files_are_checked_first(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    for path, message in (
        (bad, "is not valid YAML"),
        (scalar, "must hold a YAML mapping"),
        (tmp_path / "no", "does not exist"),
    ):
        with pytest.raises(InvalidInput, match=message), values_args(ValueSources(values_files=[str(path)])):
            pass


def test_redaction_of_credential_like_keys() -> None:
    values = {
        "auth": {"password": "p", "user": "u"},
        "apiKey": "k",
        "tls_key": "t",
        "monkey": "m",
        "keyring": "r",
        "credentials": {"nested": ["a", {"b": 1}]},
        "tokens": None,
        "image": {"tag": "1"},
    }
    assert redact_values(values) == {
        "auth": {"password": "[REDACTED]", "user": "u"},
        "apiKey": "[REDACTED]",
        "tls_key": "[REDACTED]",
        "monkey": "m",
        "keyring": "r",
        "credentials": {"nested": ["[REDACTED]", {"b": "[REDACTED]"}]},
        "tokens": None,
        "image": {"tag": "1"},
    }
    assert redact_values(values, reveal=True) is values


def test_coalesce_values_like_helm_get_values_all() -> None:
    defaults = {"a": {"b": 1, "c": 2}, "d": 3, "e": [1]}
    assert coalesce_values(defaults, {"a": {"b": 9}, "d": None, "e": [2], "f": 4}) == {
        "a": {"b": 9, "c": 2},
        "e": [2],
        "f": 4,
    }
    assert defaults == {"a": {"b": 1, "c": 2}, "d": 3, "e": [1]}


def test_manifest_documents_round_trip() -> None:
    text = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n---\nkind: C\n"
    docs = split_manifest(text)
    assert docs == [
        {"source": "c/templates/a.yaml", "object": {"kind": "A"}},
        {"source": "c/templates/b.yaml", "object": {"kind": "B"}},
        {"source": None, "object": {"kind": "C"}},
    ]
    assert split_manifest(render_documents(docs)) == docs
    hooks = [{"path": "c/templates/t.yaml", "manifest": "kind: Pod\nmetadata:\n  name: t"}]
    assert split_manifest(hooks_text(hooks)) == [
        {"source": "c/templates/t.yaml", "object": {"kind": "Pod", "metadata": {"name": "t"}}}
    ]
    assert split_manifest("") == []


def test_helm_errors_keep_multierror_causes() -> None:
    err = helm_error("Error: 1 error occurred:\n\t* pod web-test failed\n\n", "helm test web")
    assert str(err) == "helm test web: pod web-test failed."
    assert isinstance(helm_error("Error: release: not found", "helm history x"), NotFound)


def test_json_output_after_progress_lines() -> None:
    out = 'Pulled: 127.0.0.1:5000/c/demo:1.2.3\nDigest: sha256:ab\n{"name": "oci", "version": 1}\n'
    assert parse_json_output(out, "helm install") == {"name": "oci", "version": 1}
    assert parse_json_output("", "helm list") is None
    with pytest.raises(ToolError, match="not JSON"):
        parse_json_output("Error-ish text", "helm list")
