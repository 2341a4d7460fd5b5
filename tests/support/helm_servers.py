"""Real local counterparts for the Helm repository, search and plugin tools, all on 127.0.0.1:
a chart repository (static files over HTTP), an Artifact-Hub-compatible search endpoint,
charts made with the real helm and plugins in git repositories."""

from __future__ import annotations

import functools
import http.server
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

from kubehelm_mcp.settings import Settings
from tests.support.cli import run
from tests.support.loopback import LocalHttpServer, send_json

HELM_HOME_VARS = ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")
HUB_SEARCH_PATH = "/api/chartsvc/v1/charts/search"


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Static files, without a log line per request."""

    @classmethod
    def serving(cls, directory: Path) -> Any:
        return functools.partial(cls, directory=str(directory))

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def guess_type(self, path: str | Any) -> str:
        # helm v3 installs a plugin from a URL only when it is served as a gzip archive
        return "application/gzip" if str(path).endswith(".tgz") else super().guess_type(path)


class ChartRepo(LocalHttpServer):
    """A chart repository: packaged charts plus index.yaml in one directory, served statically."""

    def __init__(self, helm: Path, root: Path) -> None:
        self.helm = helm
        self.root = root
        self.sources = root.parent / f"{root.name}-src"
        root.mkdir(parents=True, exist_ok=True)
        self.sources.mkdir(parents=True, exist_ok=True)
        super().__init__(QuietFiles.serving(root))

    def publish(self, name: str, version: str) -> Path:
        """`helm create` + `helm package` a chart version, then rebuild the index."""
        archive = make_chart(self.helm, self.sources, name, version, self.root)
        run(self.helm, "repo", "index", str(self.root), "--url", self.url)
        return archive


def make_chart(helm: Path, workdir: Path, name: str, version: str, destination: Path) -> Path:
    source = workdir / name
    if not source.exists():
        run(helm, "create", str(source))
    chart_yaml = source / "Chart.yaml"
    lines = chart_yaml.read_text().splitlines()
    chart_yaml.write_text("\n".join(f"version: {version}" if ln.startswith("version:") else ln for ln in lines))
    run(helm, "package", str(source), "--destination", str(destination))
    return destination / f"{name}-{version}.tgz"


class HubServer(LocalHttpServer):
    """Answers helm search hub's Monocular-compatible search API from a fixed chart list."""

    def __init__(self, charts: list[dict[str, str]]) -> None:
        self.charts = charts
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                hub.requests.append(self.path)
                parsed = urllib.parse.urlparse(self.path)
                if parsed.path != HUB_SEARCH_PATH:
                    self.send_error(404)
                    return
                query = urllib.parse.parse_qs(parsed.query).get("q", [""])[0]
                send_json(self, {"data": [hub.result(c) for c in hub.charts if query in c["name"]]})

        super().__init__(Handler)

    @staticmethod
    def result(chart: dict[str, str]) -> dict[str, Any]:
        return {
            "id": f"{chart['repo']}/{chart['name']}",
            "attributes": {
                "name": chart["name"],
                "description": chart["description"],
                "repo": {"name": chart["repo"], "url": chart["repo_url"]},
            },
            "relationships": {
                "latestChartVersion": {"data": {"version": chart["version"], "app_version": chart["app_version"]}}
            },
        }


def local_settings(helm_binaries: dict[str, Path], **changes: Any) -> Settings:
    """A server for the repository tools: no cluster needed, destructive tools (plugin installs from
    any source among them) allowed."""
    return Settings(
        **{
            "result_format": "structured",
            "helm_v3_binary": str(helm_binaries["v3"]),
            "helm_v4_binary": str(helm_binaries["v4"]),
            "allow_destructive": True,
            "allowed_hosts": ("127.0.0.1",),  # the local repository, registry and hub servers
            "allowed_plugin_sources": ("*",),
            **changes,
        }
    )


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.email=test@kubehelm.test", "-c", "user.name=test"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True)


def git_plugin(directory: Path) -> Path:
    """A minimal helm plugin committed to a fresh git repository (installable by path or file:// URL)."""
    directory.mkdir(parents=True)
    (directory / "plugin.yaml").write_text("name: hello\nversion: 0.1.0\nusage: u\ndescription: d\ncommand: echo\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "v1"]):
        git(directory, *args)
    return directory
