"""The reusable input types: what each accepts and the one sentence it refuses with. URL checks use
literal IPs and localhost only, so no test looks up an external name."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from kubehelm_mcp.errors import InvalidInput
from kubehelm_mcp.helm.values import ValueSources, values_args
from kubehelm_mcp.kube.manifests import parse_manifest
from kubehelm_mcp.localfiles import ServerFiles, read_local_file
from kubehelm_mcp.pipeline.validation import validate_arguments
from kubehelm_mcp.settings import Settings
from kubehelm_mcp.validators import (
    ChartRef,
    CliWord,
    Duration,
    FieldSelector,
    KubeconfigPath,
    LabelSelector,
    LocalPath,
    NamespaceName,
    ObjectName,
    PluginSource,
    RegistryHost,
    ReleaseName,
    RepoUrl,
)


class Probe(BaseModel):
    namespace: NamespaceName | None = None
    name: ObjectName | None = None
    release: ReleaseName | None = None
    labels: LabelSelector | None = None
    fields: FieldSelector | None = None
    timeout: Duration | None = None
    word: CliWord | None = None
    path: LocalPath | None = None
    kubeconfig: KubeconfigPath | None = None
    url: RepoUrl | None = None
    chart: ChartRef | None = None
    plugin: PluginSource | None = None
    registry: RegistryHost | None = None


def check(settings: Settings | None = None, **arguments: Any) -> str | None:
    """None when accepted, else the one sentence the pipeline would answer with."""
    context = {"settings": settings} if settings else None
    try:
        validate_arguments("probe", Probe, arguments, context)
    except InvalidInput as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("namespace", "kube-system"),
        ("name", "web-1.example"),
        ("name", "system:node-proxier"),
        ("release", "my-release.v2"),
        ("labels", "app=web,tier!=cache"),
        ("labels", "env in (a, b),!canary,example.com/part-of==shop"),
        ("fields", "status.phase=Running,metadata.name!=x"),
        ("timeout", "1h30m"),
        ("word", "nginx"),
        ("path", "charts/web"),
        ("url", "https://93.184.216.34/charts"),
        ("chart", "bitnami/nginx"),
        ("chart", "oci://93.184.216.34/charts/web"),
    ],
)
def test_valid_values_are_accepted(field: str, value: str) -> None:
    arguments: dict[str, Any] = {field: value}
    assert check(**arguments) is None


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    [
        ("namespace", "Kube_System", "is not a valid namespace"),
        ("namespace", "a" * 64, "longer than 63"),
        ("name", "../etc", "is not a valid object name"),
        ("name", "web\x00", "control characters"),
        ("release", "r" * 54, "longer than 53"),
        ("labels", "app=web;rm -rf /", "label selector term"),
        ("labels", "in (", "label selector term"),
        ("fields", "status.phase", "field selector term"),
        ("timeout", "25h", "24h maximum"),
        ("timeout", "soon", "not a duration"),
        ("word", "--kubeconfig=/x", "starts with '-'"),
        ("word", "a\nb", "control characters"),
        ("path", "/etc/shadow", "never reads or writes"),
        ("path", "/proc/self/environ", "never reads or writes"),
        ("path", "~/.ssh/id_rsa", "never reads or writes"),
        ("path", "~/.kube/config", "never reads or writes"),
        ("path", "-rf", "starts with '-'"),
        ("url", "ftp://93.184.216.34/", "must use one of the schemes"),
        ("url", "http://127.0.0.1:8879/", "loopback"),
        ("url", "http://localhost/", "loopback"),
        ("url", "http://10.0.0.1/", "private"),
        ("url", "http://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("url", "http://[fd00:ec2::254]/", "cloud metadata"),
        ("url", "http://[::ffff:127.0.0.1]/", "loopback"),
        ("url", "http://0.0.0.0/", "unspecified"),
        ("url", "http:///nohost", "has no host"),
        ("chart", "oci://127.0.0.1:5000/charts/web", "loopback"),
        ("chart", "/etc/shadow", "never reads or writes"),
        ("plugin", "file:///proc/self", "never reads or writes"),
        ("registry", "169.254.169.254", "cloud metadata"),
        ("registry", "host/path", "registry host"),
    ],
)
def test_hostile_values_are_refused_in_one_sentence(field: str, value: str, sentence: str) -> None:
    arguments: dict[str, Any] = {field: value}
    message = check(**arguments)
    assert message is not None and sentence in message, message
    assert message.startswith("Invalid arguments for probe:") and message.count("\n") == 0


def test_kubeconfig_inputs_may_use_dot_kube() -> None:
    assert check(kubeconfig="~/.kube/config") is None
    assert "never reads or writes" in (check(kubeconfig="~/.ssh/config") or "")


def test_symlinks_are_resolved_before_the_check(tmp_path: Path) -> None:
    (tmp_path / "innocent").symlink_to("/etc/shadow")
    assert "never reads or writes" in (check(path=str(tmp_path / "innocent")) or "")


def test_allowed_paths_confine_local_paths(tmp_path: Path) -> None:
    settings = Settings(allowed_paths=(str(tmp_path),))
    assert check(settings, path=str(tmp_path / "chart")) is None
    assert "outside the server's --allowed-paths" in (check(settings, path=str(tmp_path / ".." / "x")) or "")


def test_a_chart_directory_is_refused_for_a_link_anywhere_in_it(tmp_path: Path) -> None:
    """Every entry of the tree is judged, however deep; a linked directory is judged, not entered."""
    chart = tmp_path / "web"
    (chart / "templates" / "files" / "deep").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    assert check(chart=str(chart)) is None
    (chart / "templates" / "files" / "ok.txt").symlink_to(chart / "Chart.yaml")  # a link inside the chart is fine
    assert check(chart=str(chart)) is None
    (chart / "templates" / "files" / "deep" / "k").symlink_to(Path.home() / ".ssh" / "id_rsa")
    message = check(chart=str(chart)) or ""
    assert "holds the symlink templates/files/deep/k, which leads to" in message and "never reads" in message
    (chart / "templates" / "files" / "deep" / "k").unlink()
    (chart / "templates" / "proc").symlink_to("/proc/self")
    assert "holds the symlink templates/proc" in (check(chart=str(chart)) or "")
    settings = Settings(allowed_paths=(str(chart),))
    (chart / "templates" / "proc").unlink()
    (chart / "out").symlink_to(tmp_path)
    assert "holds the symlink out, which is outside the server's --allowed-paths" in (
        check(settings, chart=str(chart)) or ""
    )


def test_allowed_hosts_permit_named_hosts_and_networks() -> None:
    by_cidr = Settings(allowed_hosts=("127.0.0.0/8",))
    by_glob = Settings(allowed_hosts=("local*",))
    assert check(by_cidr, url="http://127.0.0.1:8879/") is None
    assert check(by_glob, url="http://localhost:8879/") is None
    assert check(by_cidr, registry="127.0.0.1:5000") is None
    assert "private" in (check(by_cidr, url="http://10.0.0.1/") or "")


BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def test_a_yaml_bomb_manifest_is_refused_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="expand to more than"):
        parse_manifest(BILLION_LAUGHS)
    with pytest.raises(InvalidInput, match="refers to the node that contains it"):
        parse_manifest("&a [*a]")
    with pytest.raises(InvalidInput, match="nested too deeply"):
        parse_manifest("[" * 20000 + "]" * 20000)
    assert time.perf_counter() - started < 5


def test_a_few_aliases_still_work() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &d {a: '1'}\nbinaryData: *d\n"
    assert parse_manifest(text)[0]["binaryData"] == {"a": "1"}


def read_file(path: str, what: str) -> bytes:
    return read_local_file(path, what, Settings(), ServerFiles())


def test_a_yaml_bomb_values_file_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "values.yaml"
    bomb.write_text(BILLION_LAUGHS)
    with (
        pytest.raises(InvalidInput, match="is refused because its aliases expand"),
        values_args(ValueSources(values_files=[str(bomb)]), read_file),
    ):
        pass


def test_models_validate_without_a_context() -> None:
    with pytest.raises(ValidationError):
        Probe.model_validate({"url": "http://127.0.0.1/"})
