"""Plugin tools with a tiny real plugin, installed from a directory, an archive and a local git
repository (the only kind `helm plugin update` updates), with the real helm v3 and v4."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from tests.support.helm_servers import QuietFiles, git, local_settings
from tests.support.loopback import LocalHttpServer
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]  # helm_home, chart_repo, repo_client

MAJORS = pytest.mark.parametrize("major", ["v3", "v4"])


def write_plugin(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "plugin.yaml").write_text(
        f"name: hello\nversion: {version}\nusage: say hello\ndescription: says hello\n"
        'command: "$HELM_PLUGIN_DIR/hello.sh"\n'
    )
    script = directory / "hello.sh"
    script.write_text("#!/bin/sh\necho hello from plugin\n")
    script.chmod(0o755)
    return directory


async def _plugins(client: Client, major: str) -> dict[str, str]:
    listed = await call_ok(client, "helm_plugin_list", {"helm_version": major})
    return {p["name"]: p["version"] for p in listed["items"]}


@MAJORS
async def test_plugin_from_directory(repo_client: Client, tmp_path: Path, major: str) -> None:
    v = {"helm_version": major}
    source = write_plugin(tmp_path / "hello", "0.1.0")
    assert await _plugins(repo_client, major) == {}
    installed = await call_ok(repo_client, "helm_plugin_install", {**v, "url_or_path": str(source)})
    assert installed["name"] == "hello"
    assert await _plugins(repo_client, major) == {"hello": "0.1.0"}

    message = await call_error(repo_client, "helm_plugin_install", {**v, "url_or_path": str(source)})
    assert message.startswith("That plugin is already installed."), message
    # helm links a directory install, so its changes are live; `plugin update` refuses it
    message = await call_error(repo_client, "helm_plugin_update", {**v, "name": "hello"})
    assert message.startswith("Plugin hello was not installed from a VCS repository"), message

    await call_ok(repo_client, "helm_plugin_uninstall", {**v, "name": "hello"})
    assert await _plugins(repo_client, major) == {}
    message = await call_error(repo_client, "helm_plugin_uninstall", {**v, "name": "hello"})
    assert message.startswith("Plugin hello is not installed."), message


@MAJORS
async def test_plugin_from_archive(repo_client: Client, tmp_path: Path, major: str) -> None:
    source = write_plugin(tmp_path / "src" / "hello", "0.3.0")
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "hello-0.3.0.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        if major == "v3":  # v3 installs archives from URLs only, with plugin.yaml at the root
            for member in source.iterdir():
                tar.add(member, arcname=member.name)
        else:  # v4 wants the plugin in a top directory named like the archive
            tar.add(source, arcname="hello")
    server = LocalHttpServer(QuietFiles.serving(served))
    try:
        args: dict[str, Any] = {"helm_version": major, "url_or_path": f"{server.url}/{archive.name}"}
        if major == "v4":  # unsigned: v4 verifies by default; a local archive path works too
            args = {**args, "url_or_path": str(archive), "verify": False}
        await call_ok(repo_client, "helm_plugin_install", args)
    finally:
        server.close()
    assert await _plugins(repo_client, major) == {"hello": "0.3.0"}


@MAJORS
async def test_plugin_update_from_git(repo_client: Client, tmp_path: Path, major: str) -> None:
    v = {"helm_version": major}
    repo = write_plugin(tmp_path / "hello-git", "1.0.0")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "v1")
    install = {**v, "url_or_path": f"file://{repo}", **({"verify": False} if major == "v4" else {})}
    await call_ok(repo_client, "helm_plugin_install", install)
    assert await _plugins(repo_client, major) == {"hello": "1.0.0"}
    write_plugin(repo, "1.1.0")
    git(repo, "commit", "-qam", "v2")
    await call_ok(repo_client, "helm_plugin_update", {**v, "name": "hello"})
    assert await _plugins(repo_client, major) == {"hello": "1.1.0"}


async def test_plugin_bad_input(repo_client: Client, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-plugin"
    message = await call_error(repo_client, "helm_plugin_install", {"url_or_path": str(missing)})
    assert message == f"Plugin path {missing} does not exist."
    source = write_plugin(tmp_path / "hello", "0.1.0")
    message = await call_error(
        repo_client, "helm_plugin_install", {"helm_version": "v3", "url_or_path": str(source), "verify": True}
    )
    assert message.startswith("Helm v3 cannot verify plugin signatures")
    message = await call_error(repo_client, "helm_plugin_update", {"name": "hello"})
    assert message.startswith("Plugin hello is not installed.")
    assert await _plugins(repo_client, "v4") == {}


def hooked_plugin(directory: Path, marker: Path) -> Path:
    """A plugin whose install hook leaves `marker`: proof that its code ran on the server."""
    write_plugin(directory, "0.1.0")
    with (directory / "plugin.yaml").open("a") as spec:
        spec.write(f'hooks:\n  install: "touch {marker}"\n')
    return directory


@MAJORS
async def test_installing_a_plugin_runs_no_code_the_operator_did_not_allow(
    helm_binaries: dict[str, Path], helm_home: Path, tmp_path: Path, major: str
) -> None:
    marker = tmp_path / "hook-ran"
    trusted = tmp_path / "trusted"
    untrusted = hooked_plugin(tmp_path / "untrusted" / "hello", marker)
    (trusted / "plugins").mkdir(parents=True)
    (trusted / "plugins" / "linked").symlink_to(untrusted)  # a link inside the allowed tree leads out of it
    install = {"helm_version": major, "url_or_path": str(untrusted), **({"verify": False} if major == "v4" else {})}
    plain = local_settings(helm_binaries, allow_destructive=False, allowed_plugin_sources=())
    async with create_client(settings=plain) as default:
        message = await call_error(default, "helm_plugin_install", install)
        assert "destructive" in message and "--allow-destructive" in message, message
        assert "destructive" in await call_error(default, "helm_plugin_update", {"helm_version": major, "name": "x"})
    async with create_client(settings=plain.replace(read_only=True)) as read_only:
        listed = {tool.name for tool in (await read_only.list_tools()).tools}
        assert not {"helm_plugin_install", "helm_plugin_update"} & listed
        assert "read-only" in await call_error(read_only, "helm_plugin_install", install)
    async with create_client(settings=plain.replace(allow_destructive=True)) as destructive:
        message = await call_error(destructive, "helm_plugin_install", install)
        assert "is not among the server's --allowed-plugin-sources" in message, message
    only_trusted = plain.replace(allow_destructive=True, allowed_plugin_sources=(f"{trusted}/*",))
    async with create_client(settings=only_trusted) as guarded:
        for source in (untrusted, trusted / "plugins" / "linked", f"file://{untrusted}"):
            message = await call_error(guarded, "helm_plugin_install", {**install, "url_or_path": str(source)})
            assert "--allowed-plugin-sources" in message, message
        assert await _plugins(guarded, major) == {}
    assert not marker.exists(), "a plugin's install hook ran on the server"

    allowed = hooked_plugin(trusted / "plugins" / "hello", marker)
    async with create_client(settings=only_trusted) as guarded:
        await call_ok(guarded, "helm_plugin_install", {**install, "url_or_path": str(allowed)})
    assert marker.exists()  # what the operator allowed does run
