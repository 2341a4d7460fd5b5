"""Local files, attacked through a real MCP client with the real helm v3 and v4: the server's own
credential files are never read into an answer (by path, symlink or hard link, read-only or not),
what a tool reads is size-capped, and what a tool writes stays under --allowed-paths (relative
untar_dir, a symlink flipped in and out of the allowed tree)."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubehelm_mcp import create_client
from kubehelm_mcp.settings import Settings
from tests.support.helm_servers import ChartRepo
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]  # helm_home, chart_repo

MAJORS = pytest.mark.parametrize("major", ["v3", "v4"])
KEY_MARK = "server-own-client-key-material"
DUMP_VALUES = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dump}\ndata:\n  all: {{ toYaml .Values | quote }}\n"


def _dump_chart(directory: Path) -> Path:
    """A chart that renders every value it is given into its output."""
    (directory / "templates").mkdir(parents=True)
    (directory / "Chart.yaml").write_text("apiVersion: v2\nname: dump\nversion: 0.1.0\n")
    (directory / "templates" / "dump.yaml").write_text(DUMP_VALUES)
    return directory


def _server_credentials(real_kubeconfig: Path, home: Path) -> dict[str, Path]:
    """A kubeconfig of the server's whose client key lives in a file of its own, plus TLS files and
    an audit log, all in `home`."""
    home.mkdir()
    config = yaml.safe_load(real_kubeconfig.read_text())
    key = home / "client.key"
    key.write_text(f"-----BEGIN PRIVATE KEY-----\n{KEY_MARK}\n-----END PRIVATE KEY-----\n")
    for entry in config["users"]:
        entry["user"].pop("client-key-data", None)
        entry["user"]["client-key"] = "client.key"  # relative to the kubeconfig, as kubectl reads it
        entry["user"]["token"] = KEY_MARK
    kubeconfig = home / "config"
    kubeconfig.write_text(yaml.safe_dump(config))
    files = {"kubeconfig": kubeconfig, "client key": key}
    for name in ("tls.crt", "tls.key", "audit.log"):
        files[name] = home / name
        files[name].write_text(f"{KEY_MARK} {name}\n")
    return files


@pytest.fixture
def own(kubeconfig: Path, helm_home: Path, tmp_path: Path) -> dict[str, Path]:
    files = _server_credentials(kubeconfig, tmp_path / "server")
    registry = helm_home / "registry.json"  # HELM_REGISTRY_CONFIG (helm_home)
    repositories = Path(os.environ["HELM_CONFIG_HOME"]) / "repositories.yaml"
    repositories.parent.mkdir(parents=True)
    auth = base64.b64encode(f"user:{KEY_MARK}".encode()).decode()
    registry.write_text(f'{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}}}}}\n')
    repositories.write_text(f"repositories:\n- name: r\n  url: http://127.0.0.1:1\n  password: {KEY_MARK}\n")
    return {**files, "registry config": registry, "repository config": repositories}


def _settings(server_settings: Settings, own: dict[str, Path], **changes: Any) -> Settings:
    return server_settings.replace(
        kubeconfig=str(own["kubeconfig"]),
        tls_cert=str(own["tls.crt"]),
        tls_key=str(own["tls.key"]),
        audit_log=str(own["audit.log"]),
        **changes,
    )


@MAJORS
@pytest.mark.parametrize("mode", ["default", "read-only"])
async def test_no_tool_reads_the_servers_own_credentials(
    server_settings: Settings, own: dict[str, Path], tmp_path: Path, major: str, mode: str
) -> None:
    chart = _dump_chart(tmp_path / "dump")
    links = tmp_path / "links"
    links.mkdir()
    candidates: list[Path] = []
    for label, path in own.items():
        soft, hard = links / f"{label}-soft", links / f"{label}-hard"
        soft.symlink_to(path)
        os.link(path, hard)  # the same file under another name: only its identity gives it away
        candidates += [path, soft, hard]
    settings = _settings(server_settings, own, read_only=mode == "read-only")
    async with create_client(settings=settings) as client:
        base = {"release_name": "dump", "chart": str(chart), "helm_version": major}
        for path in candidates:
            for extra in ({"values_files": [str(path)]}, {"set_file": [f"x={path}"]}):
                message = await call_error(client, "helm_template", {**base, **extra})
                assert "the server's own credential files" in message, (path, message)
                assert KEY_MARK not in message and base64.b64encode(KEY_MARK.encode()).decode() not in message
        rendered = await call_ok(client, "helm_template", {**base, "set": ["x=ordinary"]})
        assert "ordinary" in str(rendered) and KEY_MARK not in str(rendered)


FILES_GET = (
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\ndata:\n  got: {{ .Files.Get "kept.txt" | quote }}\n'
)


@MAJORS
async def test_a_chart_directory_linking_to_the_servers_credentials_is_refused(
    server_settings: Settings, own: dict[str, Path], tmp_path: Path, major: str
) -> None:
    """Helm follows symlinks in a chart directory: a chart whose `.Files.Get` reads a link to the
    server's client key would render the key. Every tool that reads a local chart refuses it."""
    chart = _dump_chart(tmp_path / "leaky")
    (chart / "templates" / "leak.yaml").write_text(FILES_GET)
    (chart / "kept.txt").symlink_to(own["client key"])
    settings = _settings(server_settings, own)
    refused = "holds the symlink kept.txt, which leads to"
    async with create_client(settings=settings) as client:
        v = {"helm_version": major}
        for tool, args in (
            ("helm_template", {"release_name": "leak", "chart": str(chart)}),
            ("helm_lint", {"paths": [str(chart)]}),
            ("helm_package", {"path": str(chart), "destination": str(tmp_path)}),
            ("helm_dependency_list", {"chart_path": str(chart)}),
            ("helm_show_values", {"chart": str(chart)}),
        ):
            message = await call_error(client, tool, {**args, **v})
            assert refused in message and "credential files" in message, (tool, message)
            assert KEY_MARK not in message
        (chart / "kept.txt").unlink()
        (chart / "kept.txt").write_text("plain file\n")
        rendered = await call_ok(client, "helm_template", {"release_name": "leak", "chart": str(chart), **v})
        assert "plain file" in str(rendered)


async def test_values_and_set_files_are_size_capped(server_settings: Settings, helm_home: Path, tmp_path: Path) -> None:
    chart = _dump_chart(tmp_path / "dump")
    sparse = tmp_path / "sparse.yaml"
    with sparse.open("wb") as out:
        out.truncate(300 * 1024 * 1024)  # 300 MB that take no disk: reading them would take the memory
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # a reader would wait forever
    small = tmp_path / "small.yaml"
    small.write_text("x: fits\n")
    async with create_client(settings=server_settings.replace(max_file_bytes=64 * 1024)) as client:
        base = {"release_name": "dump", "chart": str(chart)}
        for extra in ({"values_files": [str(sparse)]}, {"set_file": [f"x={sparse}"]}):
            message = await call_error(client, "helm_template", {**base, **extra})
            assert "is larger than the server's --max-file-bytes (65536 bytes) and was not read" in message, message
        message = await call_error(client, "helm_template", {**base, "values_files": [str(fifo)]})
        assert "is not a regular file" in message, message
        rendered = await call_ok(client, "helm_template", {**base, "values_files": [str(small)]})
        assert "fits" in str(rendered)


@MAJORS
async def test_pull_unpacks_where_it_was_checked(
    chart_repo: ChartRepo, helm_binaries: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, major: str
) -> None:
    allowed = tmp_path / "allowed"
    workdir = allowed / "a" / "b"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)  # the server's cwd is deep inside the allowed tree
    settings = Settings(
        result_format="structured",
        helm_v3_binary=str(helm_binaries["v3"]),
        helm_v4_binary=str(helm_binaries["v4"]),
        allowed_paths=(str(allowed),),
        allowed_hosts=("127.0.0.1",),
    )
    pull = {"chart": "alpha", "repo": chart_repo.url, "destination": str(allowed), "untar": True, "helm_version": major}
    async with create_client(settings=settings) as client:
        message = await call_error(client, "helm_pull", {**pull, "untar_dir": "../outside"})
        assert "outside the server's --allowed-paths" in message, message
        pulled = await call_ok(client, "helm_pull", {**pull, "untar_dir": "unpacked"})
    assert not (tmp_path / "outside").exists()
    assert (allowed / "unpacked" / "alpha" / "Chart.yaml").is_file(), pulled


@pytest.fixture
def flipping(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    """allowed/link flips between allowed/real and outside as fast as it can (atomic renames)."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "real").mkdir(parents=True)
    outside.mkdir()
    link, spare = allowed / "link", allowed / "link.next"
    link.symlink_to(allowed / "real")
    stop = threading.Event()

    def flip() -> None:
        targets = (outside, allowed / "real")
        turn = 0
        while not stop.is_set():
            spare.unlink(missing_ok=True)
            spare.symlink_to(targets[turn % 2])
            os.replace(spare, link)
            turn += 1

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    yield allowed, outside, link
    stop.set()
    flipper.join()


@MAJORS
async def test_a_symlink_flipped_in_and_out_of_allowed_paths_never_lets_a_write_escape(
    server_settings: Settings, helm_home: Path, flipping: tuple[Path, Path, Path], major: str
) -> None:
    allowed, outside, link = flipping
    settings = server_settings.replace(allowed_paths=(str(allowed),))
    created = 0
    async with create_client(settings=settings) as client:
        for i in range(40):
            result = await client.call_tool("helm_create", {"name": str(link / f"chart{i}"), "helm_version": major})
            created += not result.is_error
    assert list(outside.iterdir()) == [], "a chart was written outside --allowed-paths"
    assert created == len(list((allowed / "real").iterdir()))
