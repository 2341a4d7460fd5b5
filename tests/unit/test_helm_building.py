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
from kubehelm_mcp.helm.values import ValueSources, coalesce_values, values_args
from kubehelm_mcp.localfiles import ServerFiles, read_local_file
from kubehelm_mcp.settings import Settings


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


def read_file(path: str, what: str) -> bytes:
    """The default local-file policy, as a handler's ctx.read_file applies it."""
    return read_local_file(path, what, Settings(), ServerFiles())


def test_values_and_files_travel_in_private_temp_copies(tmp_path: Path) -> None:
    values_file = tmp_path / "v.yaml"
    values_file.write_text("a: 1\n")
    sources = ValueSources({"secret": "x"}, [str(values_file)], ["a=2"], ["b=c"], ["d=" + str(values_file)])
    with values_args(sources, read_file) as args:
        copy, temp, file_copy = args[1], args[3], args[-1].removeprefix("d=")
        assert args[::2][:2] == ["--values", "--values"]
        assert args[4:-1] == ["--set", "a=2", "--set-string", "b=c", "--set-file"]
        for private in (copy, temp, file_copy):
            assert stat.S_IMODE(os.stat(private).st_mode) == 0o600 and private != str(values_file)
        assert Path(temp).read_text() == "secret: x\n"
        assert Path(copy).read_text() == Path(file_copy).read_text() == "a: 1\n"
    assert not Path(temp).exists() and not Path(copy).exists()


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
        with pytest.raises(InvalidInput, match=message), values_args(ValueSources(values_files=[str(path)]), read_file):
            pass


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
