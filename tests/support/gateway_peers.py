"""Third-party MCP servers the gateway tests front (and mcp-proxy, the gateway bench's peer),
installed from PyPI and npm into a cache BEFORE any test runs: `python -m tests.support.gateway_peers`
(scripts/test runs it). Tests only look the programs up here and fail loudly when one is missing.

Each PyPI package gets a venv of its own: they pin `mcp` versions of their own, unrelated to ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

CACHE = Path.home() / ".cache" / "kubehelm-mcp" / "gateway-peers"
PYPI = {"mcp-server-time": "mcp-server-time==2026.10.19", "mcp-proxy": "mcp-proxy==0.13.0"}
NPM = ("@modelcontextprotocol/server-everything@2026.8.31", "@modelcontextprotocol/server-memory@2026.8.31")


@dataclass(frozen=True)
class Peers:
    """Commands (argv) that start each peer over stdio."""

    time: list[str]
    everything: list[str]
    memory: list[str]
    mcp_proxy: list[str]


def _venv_bin(name: str) -> Path:
    return CACHE / "venvs" / name / "bin"


def _node_bin(package: str) -> Path:
    return CACHE / "npm" / "node_modules" / package / "dist" / "index.js"


def node_modules() -> Path:
    """Where the npm peers (and the TypeScript SDK they bring) are installed."""
    return CACHE / "npm" / "node_modules"


def peers() -> Peers:
    """The installed peers; an AssertionError naming the install command if one is missing."""
    found = Peers(
        time=[str(_venv_bin("mcp-server-time") / "mcp-server-time"), "--local-timezone", "UTC"],
        everything=["node", str(_everything_entry()), "stdio"],
        memory=["node", str(_node_bin("@modelcontextprotocol/server-memory"))],
        mcp_proxy=[str(_venv_bin("mcp-proxy") / "mcp-proxy")],
    )
    for argv in (found.time, found.everything, found.memory, found.mcp_proxy):
        program = Path(argv[1] if argv[0] == "node" else argv[0])
        assert program.exists(), f"{program} is missing: run `.venv/bin/python -m tests.support.gateway_peers` first"
    return found


def _everything_entry() -> Path:
    package = CACHE / "npm" / "node_modules" / "@modelcontextprotocol" / "server-everything"
    manifest = package / "package.json"
    if manifest.is_file():
        bin_field = json.loads(manifest.read_text()).get("bin", {})
        target = bin_field if isinstance(bin_field, str) else next(iter(bin_field.values()), "dist/index.js")
        return package / target
    return package / "dist" / "index.js"


def _log(message: str) -> None:
    print(f"[gateway-peers] {message}", file=sys.stderr, flush=True)


def install() -> None:
    for name, requirement in PYPI.items():
        home = CACHE / "venvs" / name
        stamp = home / ".installed"
        if stamp.is_file() and stamp.read_text() == requirement:
            continue
        _log(f"installing {requirement} from PyPI")
        venv.create(home, with_pip=True, clear=True)
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, requirement], check=True)
        stamp.write_text(requirement)
    npm_home = CACHE / "npm"
    stamp = npm_home / ".installed"
    if not (stamp.is_file() and stamp.read_text() == "\n".join(NPM)):
        _log(f"installing {', '.join(NPM)} from npm")
        npm_home.mkdir(parents=True, exist_ok=True)
        command = ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(npm_home), *NPM]
        subprocess.run(command, check=True)
        stamp.write_text("\n".join(NPM))
    peers()


if __name__ == "__main__":
    install()
