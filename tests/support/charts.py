"""Rendering a chart of this repository with a real helm binary, and picking objects out of it:
what the charts' render tests share (tests/test_chart_kubehelm.py, tests/test_chart_mcp_server.py)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Objects = list[dict[str, Any]]


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120, check=False)


@dataclass(frozen=True)
class Chart:
    """A chart directory, rendered as release `rel` in `namespace`."""

    path: Path
    namespace: str

    def _template(self, helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return run_helm(helm, "template", "rel", str(self.path), "--namespace", self.namespace, *args)

    def render(self, helm: Path, *args: str) -> Objects:
        done = self._template(helm, *args)
        assert done.returncode == 0, done.stderr
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    def render_error(self, helm: Path, *args: str) -> str:
        done = self._template(helm, *args)
        assert done.returncode != 0, "rendering should have failed"
        return done.stderr

    def lint(self, helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return run_helm(helm, "lint", "--strict", str(self.path), *args)


def of_kind(objects: Objects, kind: str) -> Objects:
    return [o for o in objects if o["kind"] == kind]


def one(objects: Objects, kind: str) -> dict[str, Any]:
    (found,) = of_kind(objects, kind)
    return found


def pod_specs(objects: Objects) -> Objects:
    """The pod spec of every Deployment, then of every bare Pod (a helm test's)."""
    specs = [d["spec"]["template"]["spec"] for d in of_kind(objects, "Deployment")]
    return specs + [p["spec"] for p in of_kind(objects, "Pod")]
