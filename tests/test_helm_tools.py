"""The Helm tools against the real apiserver and real helm v3 and v4 binaries.

Release reads are answered by every read engine (in-process storage decoding, the helm CLI and the
Helm Go SDK); all must agree with each other and with what `helm list` itself prints.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
from mcp import Client

from kubehelm_mcp import create_client
from kubehelm_mcp.helm.models import normalize_time
from kubehelm_mcp.settings import HelmReadEngine, Settings
from tests.conftest import HELM_NAMESPACE
from tests.support.cli import run_json
from tests.support.mcp import call_error, call_ok

pytestmark = pytest.mark.anyio

READ_ENGINES: tuple[str, ...] = get_args(HelmReadEngine)  # a missing SDK fails, never skips


def _cli_rows(helm: Path, kubeconfig: Path, *flags: str) -> list[dict[str, Any]]:
    rows = run_json(helm, "list", *flags, kubeconfig=kubeconfig)
    return [
        {
            "name": r["name"],
            "namespace": r["namespace"],
            "revision": int(r["revision"]),
            "updated": normalize_time(r["updated"]),
            "status": r["status"],
            "chart": r["chart"],
            "app_version": r["app_version"],
        }
        for r in rows
    ]


async def test_helm_version_for_both_majors(client: Client) -> None:
    v4 = await call_ok(client, "helm_version", {})
    assert v4["version"].startswith("v4.")
    assert v4["go_version"].startswith("go")
    v3 = await call_ok(client, "helm_version", {"helm_version": "v3", "short": True})
    assert v3["version"].startswith("v3.")


LIST_CASES: list[dict[str, Any]] = [
    {},
    {"all": True},
    {"uninstalled": True},
    {"superseded": True},
    {"deployed": True, "uninstalled": True},
    {"filter": "^(alpha|bravo)$"},
    {"sort_by": "date", "sort_reverse": True},
    {"limit": 1, "offset": 1},
]

CLI_FLAGS: dict[str, list[str] | Callable[[Any], list[str]]] = {
    "all": ["--all"],
    "uninstalled": ["--uninstalled"],
    "superseded": ["--superseded"],
    "deployed": ["--deployed"],
    "filter": lambda v: ["--filter", v],
    "sort_by": lambda v: ["--date"],
    "sort_reverse": ["--reverse"],
    "limit": lambda v: ["--max", str(v)],
    "offset": lambda v: ["--offset", str(v)],
}


def _flags(case: dict[str, Any], major: str) -> list[str]:
    flags: list[str] = []
    for key, value in case.items():
        spec = CLI_FLAGS[key]
        flags += spec(value) if callable(spec) else spec
    return [f for f in flags if not (major == "v4" and f == "--all")]  # v4 lists every state already


@pytest.mark.parametrize(("engine", "major"), list(itertools.product(READ_ENGINES, ["v3", "v4"])))
async def test_helm_list_matches_the_helm_cli(
    engine: str,
    major: str,
    server_settings: Settings,
    helm_releases: dict[str, Any],
    helm_binaries: dict[str, Path],
    kubeconfig: Path,
) -> None:
    async with create_client(settings=server_settings.replace(helm_read_engine=engine)) as client:
        for case in LIST_CASES:
            got = await call_ok(client, "helm_list", {"namespace": HELM_NAMESPACE, "helm_version": major, **case})
            flags = _flags(case, major)
            expected = _cli_rows(helm_binaries[major], kubeconfig, "--namespace", HELM_NAMESPACE, *flags)
            assert got.get("items", []) == expected, case
        everywhere = await call_ok(client, "helm_list", {"all_namespaces": True, "helm_version": major})
        assert {(r["namespace"], r["name"]) for r in everywhere["items"]} >= {
            (HELM_NAMESPACE, "alpha"),
            (HELM_NAMESPACE, "bravo"),
            ("default", "delta"),
        }


async def test_helm_list_content(client: Client, helm_releases: dict[str, Any]) -> None:
    v3_default = await call_ok(client, "helm_list", {"namespace": HELM_NAMESPACE, "helm_version": "v3"})
    assert {r["name"] for r in v3_default["items"]} == {"alpha", "bravo"}  # v3 hides uninstalled charlie
    listed = await call_ok(client, "helm_list", {"namespace": HELM_NAMESPACE})
    by_name = {r["name"]: r for r in listed["items"]}
    assert set(by_name) == {"alpha", "bravo", "charlie"}  # v4 shows every state
    assert by_name["charlie"]["status"] == "uninstalled"
    assert by_name["alpha"]["revision"] == 2
    assert by_name["alpha"]["status"] == "deployed"
    assert by_name["alpha"]["chart"] == "demo-0.1.0"
    assert by_name["bravo"]["app_version"] == "1.16.0"


@pytest.mark.parametrize("engine", READ_ENGINES)
async def test_helm_status(
    engine: str,
    server_settings: Settings,
    helm_releases: dict[str, Any],
    helm_binaries: dict[str, Path],
    kubeconfig: Path,
) -> None:
    async with create_client(settings=server_settings.replace(helm_read_engine=engine)) as client:
        status = await call_ok(client, "helm_status", {"release_name": "alpha", "namespace": HELM_NAMESPACE})
        assert status["revision"] == 2
        assert status["status"] == "deployed"
        assert status["chart"] == "demo-0.1.0"
        assert "kubectl" in status["notes"] or "NOTES" in status["notes"] or status["notes"]
        first = await call_ok(
            client, "helm_status", {"release_name": "alpha", "namespace": HELM_NAMESPACE, "revision": 1}
        )
        assert first["revision"] == 1
        assert first["status"] == "superseded"
        cli = run_json(helm_binaries["v4"], "status", "alpha", "--namespace", HELM_NAMESPACE, kubeconfig=kubeconfig)
        assert status["last_deployed"] == normalize_time(cli["info"]["last_deployed"])
        assert status["description"] == cli["info"]["description"]
        uninstalled = await call_ok(client, "helm_status", {"release_name": "charlie", "namespace": HELM_NAMESPACE})
        assert uninstalled["status"] == "uninstalled"

        missing = await call_error(client, "helm_status", {"release_name": "zulu", "namespace": HELM_NAMESPACE})
        assert "not found" in missing
        bad_name = await call_error(client, "helm_status", {"release_name": "x" * 60})
        assert "'release_name'" in bad_name


async def test_missing_helm_major_is_one_clear_error(server_settings: Settings, tmp_path: Path) -> None:
    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    async with create_client(settings=server_settings.replace(helm_v3_binary=str(fake))) as client:
        message = await call_error(client, "helm_version", {"helm_version": "v3"})
        assert "--helm-v3-binary" in message and "does not run" in message
