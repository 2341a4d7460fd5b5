"""Running the real kubectl and helm binaries against the test cluster."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def run(binary: Path | str, *args: str, kubeconfig: Path | None = None, stdin: str | None = None) -> str:
    env_args = ["--kubeconfig", str(kubeconfig)] if kubeconfig else []
    proc = subprocess.run(
        [str(binary), *env_args, *args], input=stdin, capture_output=True, text=True, timeout=180, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"{Path(binary).name} {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def run_json(binary: Path | str, *args: str, kubeconfig: Path | None = None) -> Any:
    return json.loads(run(binary, *args, "-o", "json", kubeconfig=kubeconfig))
