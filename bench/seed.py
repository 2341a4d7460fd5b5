"""Objects, charts and releases the benchmarks measure against, made with kubectl and helm."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from testcluster.controlplane import ControlPlane
from testcluster.install import Binaries
from testcluster.procs import wait_for

from bench.helmcli import helm


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(name: str, ns: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def apply(plane: ControlPlane, docs: list[dict[str, Any]]) -> None:
    plane.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def create_chart(plane: ControlPlane, binaries: Binaries, path: Path, extra: dict[str, str] | None = None) -> Path:
    """`helm create`'s chart, plus extra templates (file name -> text) to make it bigger."""
    helm(plane, binaries, "create", str(path))
    for name, text in (extra or {}).items():
        (path / "templates" / name).write_text(text)
    return path


def wait_until(check: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    wait_for(check, timeout=timeout, what=what, interval=1.0)
