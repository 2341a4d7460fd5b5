"""What the server's helm writes under its HELM_* homes (repository and registry configs, caches,
plugins) is private: no group or other permission bits, files 0600 inside 0700 directories, for
Helm v3 and v4, including files that were already there with looser modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from mcp import Client
from testcluster.registry import TEST_PASSWORD, TEST_USER, OciRegistry

from tests.support.helm_servers import ChartRepo, git_plugin
from tests.support.mcp import call_ok

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.support.helm_fixtures"]  # helm_home, chart_repo, repo_client


def modes(root: Path) -> dict[str, int]:
    """Permission bits of every file and directory below root (symlinks are not followed)."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(directory, name)
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode):
                found[str(path.relative_to(root))] = stat.S_IMODE(mode)
    return found


@pytest.mark.parametrize("major", ["v3", "v4"])
async def test_helm_homes_stay_private(
    repo_client: Client,
    chart_repo: ChartRepo,
    oci_registry_auth: OciRegistry,
    helm_home: Path,
    tmp_path: Path,
    major: str,
) -> None:
    # a config written earlier by someone with a looser umask
    config_home = Path(os.environ["HELM_CONFIG_HOME"])
    config_home.mkdir(parents=True)
    config_home.chmod(0o755)
    (config_home / "repositories.yaml").write_text("apiVersion: ''\nrepositories: []\n")
    (config_home / "repositories.yaml").chmod(0o644)

    v = {"helm_version": major}
    await call_ok(repo_client, "helm_repo_add", {**v, "name": "local", "url": chart_repo.url})
    await call_ok(repo_client, "helm_repo_update", v)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    await call_ok(repo_client, "helm_pull", {**v, "chart": "local/alpha", "destination": str(downloads)})
    login = {"hostname": oci_registry_auth.host, "username": TEST_USER, "password": TEST_PASSWORD}
    await call_ok(repo_client, "helm_registry_login", {**v, **login, "plain_http": True})
    plugin = git_plugin(tmp_path / "hello-git")
    await call_ok(
        repo_client,
        "helm_plugin_install",
        {**v, "url_or_path": f"file://{plugin}", **({"verify": False} if major == "v4" else {})},
    )

    written = modes(helm_home)
    config = str(config_home.relative_to(helm_home))
    assert written[f"{config}/repositories.yaml"] == 0o600, written
    assert written["registry.json"] == 0o600, written  # HELM_REGISTRY_CONFIG (conftest's helm_home)
    assert any(path.endswith("-index.yaml") for path in written), written  # the repository cache
    loose = {path: oct(mode) for path, mode in written.items() if mode & 0o077}
    assert loose == {}
    assert all(mode == 0o700 for path, mode in written.items() if (helm_home / path).is_dir()), written
